"""Socle des attentes Great Expectations de l'atelier : une ligne de contrôle par total, en-tête, phrase…

A rule expectation is a BatchExpectation over a check frame (pipelines.validate.check_frames):
it reads the frame through one table metric, keeps the rows of its rules, judges each row
with a pure verdict of pipelines.validate.verdicts and its own kwargs, and returns the
unexpected rows with what a finding needs (document, table, line, rule, severity, found,
expected). Its renderers write Data Docs in French.
"""

from __future__ import annotations

import html
import math
import string
from typing import Any, ClassVar

import pandas as pd
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider
from great_expectations.render import (
    LegacyDiagnosticRendererType,
    LegacyRendererType,
    RenderedStringTemplateContent,
    RenderedTableContent,
)
from great_expectations.render.renderer.renderer import renderer

from pipelines.publish.fmt import pluriel
from pipelines.validate.stored_results import expectation_result

METRIC = "bilans.lignes_de_controle"
# What an unexpected row shows, in Data Docs and in the result: key -> French column title. The
# finding's message tells apart two findings of one line (two columns of a total row left blank:
# « colonne « Reports 2016 » », « colonne « Reports 2017 » ») whose other fields are equal.
UNEXPECTED_FIELDS = {"document_id": "Document", "table_id": "Tableau", "line": "Ligne", "rule": "Règle",
                     "severity": "Gravité", "found": "Trouvé", "expected": "Attendu", "message": "Constat"}
# The columns every rule expectation reads: which rule a row checks, and where its finding is.
IDENTITY = ("rule", "severity", "document_id", "line")
SEVERITIES_FR = {"error": "erreur", "warning": "avertissement", "info": "information"}
SAMPLE = 200  # unexpected rows drawn in Data Docs (all of them stay in the result)



class _FrenchNumbers(string.Formatter):
    """A rule's parameters written as a French reader reads them (CLDR through Babel): 0.005 as
    « 0,005 », 1e-06 as « 0,000001 », and with the spec `%` (« {ecart:%} » in regles.toml) 0.02 as « 2 % »."""

    def format_field(self, value, format_spec: str) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            from babel.numbers import format_decimal, format_percent

            if format_spec == "%":
                return format_percent(value, locale="fr_FR")
            return format_decimal(value, locale="fr_FR", decimal_quantization=False)
        return super().format_field(value, format_spec)


_FRENCH = _FrenchNumbers()

class CheckRows(TableMetricProvider):
    """The check frame itself: rule expectations judge whole rows, not one column."""

    metric_name = METRIC

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration):
        df, _, _ = execution_engine.get_compute_domain(
            domain_kwargs=metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
        return df


def _plain(value: Any) -> Any:
    """JSON-friendly scalar (GE stores and renders the result)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


class RuleExpectation(BatchExpectation):
    """A rule of the catalogue judged on check rows; subclasses set `rules`, `template_fr`, `verdict`."""

    rules: ClassVar[tuple[str, ...]] = ()
    template_fr: ClassVar[str] = ""
    # The check frame's columns the verdict reads, besides IDENTITY (CHECK_COLUMNS of frames.py).
    columns: ClassVar[tuple[str, ...]] = ()
    metric_dependencies: ClassVar[tuple[str, ...]] = (METRIC,)
    success_keys: ClassVar[tuple[str, ...]] = ()
    library_metadata: ClassVar[dict] = {"maturity": "experimental", "tags": ["bilans"], "contributors": []}

    @classmethod
    def is_abstract(cls) -> bool:
        return not cls.rules

    def verdict(self, row: dict) -> tuple[str, str] | None:
        raise NotImplementedError

    @classmethod
    def description_fr(cls, kwargs: dict | None = None) -> str:
        """The rule in French, its parameters filled in from the suite kwargs."""
        params = {name: f.default for name, f in cls.__fields__.items()}
        params.update({k: v for k, v in (kwargs or {}).items() if v is not None})
        params = {k: v.replace("*", "·") if isinstance(v, str) else v for k, v in params.items()}
        return _FRENCH.format(cls.template_fr, **params) + f" (règles : {', '.join(cls.rules)})"

    @classmethod
    def missing_columns(cls, df: pd.DataFrame) -> list[str]:
        """The columns this expectation reads that the batch lacks."""
        return [c for c in (*IDENTITY, *cls.columns) if c not in df.columns]

    def judge(self, df: pd.DataFrame) -> tuple[int, list[dict]]:
        """(rows judged, unexpected rows in frame order); df has every column `missing_columns` asks."""
        mine = df[df["rule"].isin(self.rules)]
        out = []
        for row in mine.to_dict("records"):
            v = self.verdict(row)
            if v is None:
                continue
            rec = {k: _plain(row.get(k)) for k in UNEXPECTED_FIELDS}
            rec.update(rule=v[0], severity=v[1], check_id=_plain(row.get("check_id")),
                       tableau=_plain(row.get("tableau")))
            out.append(rec)
        return len(mine), out

    def _validate(self, metrics: dict, runtime_configuration=None, execution_engine=None):
        df = metrics[METRIC]
        missing = self.missing_columns(df)
        if missing:  # a batch of other rows is a failure, never « 0 constat sur 0 contrôle »
            return {"success": False, "result": {
                "observed_value": f"colonnes absentes du lot : {', '.join(missing)}",
                "colonnes_absentes": missing, "element_count": 0, "unexpected_count": 0,
                "unexpected_rows": [], "unexpected_index_list": []}}
        n, unexpected = self.judge(df)
        return {"success": not unexpected,
                "result": expectation_result({"element_count": n, "unexpected_rows": unexpected})}

    # --- Data Docs, in French ---------------------------------------------------------------

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive_renderer(cls, configuration=None, result=None, runtime_configuration=None):
        if configuration is None and result is not None:
            configuration = result.expectation_config
        kwargs = dict(configuration.kwargs) if configuration is not None else {}
        return [RenderedStringTemplateContent(content_block_type="string_template", string_template={
            "template": cls.description_fr(kwargs).replace("$", "$$"), "params": {}})]

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.OBSERVED_VALUE)
    def _diagnostic_observed_value_renderer(cls, configuration=None, result=None, runtime_configuration=None):
        return (result.result or {}).get("observed_value", "--") if result is not None else "--"

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.UNEXPECTED_STATEMENT)
    def _diagnostic_unexpected_statement_renderer(cls, configuration=None, result=None, runtime_configuration=None):
        if result is None or result.success or not (result.result or {}).get("unexpected_count"):
            return []
        r = result.result
        return [RenderedStringTemplateContent(content_block_type="string_template", string_template={
            "template": f"{pluriel(r['unexpected_count'], 'constat', 'constats')} sur "
                        f"{pluriel(r['element_count'], 'contrôle', 'contrôles')} :",
            "params": {}, "tag": "strong", "styling": {"classes": ["text-danger"]}})]

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.UNEXPECTED_TABLE)
    def _diagnostic_unexpected_table_renderer(cls, configuration=None, result=None, runtime_configuration=None):
        rows = ((result.result or {}).get("unexpected_rows") or []) if result is not None else []
        if not rows:
            return None
        table = [[_cell(u, k) for k in UNEXPECTED_FIELDS] for u in rows[:SAMPLE]]
        count = result.result.get("unexpected_count", len(rows))  # all of them: `rows` may hold the first only
        header = pluriel(count, "constat", "constats") + (f", les {SAMPLE} premiers :" if count > SAMPLE else " :")
        return [RenderedTableContent(content_block_type="table", table=table, header=header,
                                     header_row=list(UNEXPECTED_FIELDS.values()),
                                     styling={"body": {"classes": ["table-bordered", "table-sm", "mt-3"]}})]


def _cell(row: dict, key: str) -> str:
    """A Data Docs cell. GE inserts cell strings into the page as HTML, and a report's text can
    hold markup (`numbers.clean` turns `&lt;img …&gt;` back into `<img …>`): escaped here, it
    reaches the page as text."""
    if key == "table_id":
        text = str(row.get("tableau") or row.get("table_id") or "—")
    elif key == "severity":
        text = SEVERITIES_FR.get(row.get(key), row.get(key) or "—")
    else:
        value = row.get(key)
        text = "—" if value is None else str(value)
    return html.escape(text)
