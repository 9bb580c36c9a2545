"""The custom Great Expectations of pipelines/validate/expectations: each judged through GE on a
tiny check frame (one passing case, one failing case with its unexpected rows), the suites as the
rule catalogue, and offline Data Docs in French."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.validate.frames import check_row, frame  # noqa: E402

FIELDS = ("check_id", "rule", "severity", "document_id", "line", "found", "expected")


def _validate(expectation, rows: list[dict]) -> list[tuple]:
    """Run one expectation through GE on the check rows; its unexpected rows as tuples."""
    from pipelines.validate.suites import ge_context

    _, source = ge_context()
    df = frame(rows)
    df["check_id"] = range(len(df))
    df["tableau"] = "Répartition"
    name = f"test_{type(expectation).__name__}"
    try:
        asset = source.get_asset(name)
    except Exception:  # noqa: BLE001 — first use in this process
        asset = source.add_dataframe_asset(name)
        asset.add_batch_definition_whole_dataframe("tout")
    batch = asset.get_batch_definition("tout").get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(expectation)
    unexpected = result.result["unexpected_rows"]
    assert result.success == (not unexpected)
    return [tuple(u[k] for k in FIELDS) for u in unexpected]


def _row(rule, line, **kw):
    return check_row(rule=rule, document_id="d", line=line, table_id="d@1", **kw)


def _total(line, value, items, exact=False, relation="=", rule="total.column"):
    return _row(rule, line, valeur=value, reference=float(sum(items)), unites=[1.0] * len(items), unite=1.0,
                denombrement=exact, relation=relation, found=None if value is None else str(value),
                expected=str(sum(items)))


def test_totals_foot_within_n_u_over_2():
    from pipelines.validate.expectations import ExpectTotalsToFoot

    assert _validate(ExpectTotalsToFoot(), [_total(3, 30, [10, 20]), _total(7, 30, [10, 20], exact=True)]) == []


def test_totals_that_do_not_foot():
    from pipelines.validate.expectations import ExpectTotalsToFoot

    rows = [_total(3, 31, [5, 10, 15]),  # below 3·1/2: rounding
            _total(4, 35, [10, 20]),  # beyond: error
            _total(5, 31, [10, 20], exact=True),  # a count is exact
            _total(6, None, [10, 20], rule="value.missing"),  # blank total
            _total(8, 9, [4, 7], relation=">="),  # « dont » lines above their line
            _total(9, 12, [4, 7], relation=">="),  # « dont » lines below their line: fine
            _total(10, 30, [10, 20], rule="total.row"),
            _total(11, 31, [10, 20])]  # reaches 2·1/2: the bound is excluded, an error
    assert _validate(ExpectTotalsToFoot(), rows) == [
        (0, "total.rounding", "info", "d", 3, "31", "30"),
        (1, "total.column", "error", "d", 4, "35", "30"),
        (2, "total.column", "error", "d", 5, "31", "30"),
        (3, "value.missing", "error", "d", 6, None, "30"),
        (4, "total.column", "error", "d", 8, "9", "11"),
        (7, "total.column", "error", "d", 11, "31", "30")]
    # the policy is a kwarg: exact totals make the rounding case an error
    assert _validate(ExpectTotalsToFoot(arrondi="exact"), rows[:1]) == [(0, "total.column", "error", "d", 3, "31", "30")]


def _pct(line, pv, a=50.0, b=200.0):
    return _row("percent.ratio", line, valeur=pv, unite=1.0, numerateur=a, unite_numerateur=1.0,
                denominateur=b, unite_denominateur=1.0, found=f"{pv} %", expected="25 %")


def test_percent_matches_ratio():
    from pipelines.validate.expectations import ExpectPercentToMatchRatio

    assert _validate(ExpectPercentToMatchRatio(), [_pct(2, 25.0)]) == []
    assert _validate(ExpectPercentToMatchRatio(), [_pct(2, 25.0), _pct(3, 30.0)]) == [
        (1, "percent.ratio", "error", "d", 3, "30.0 %", "25 %")]


def test_budget_sections_balance():
    from pipelines.validate.expectations import ExpectBudgetSectionsToBalance

    ok = _row("budget.balance", 4, valeur=100.0, reference=100.005, found="100", expected="100,01")
    bad = _row("budget.balance", 5, severity="warning", valeur=100.0, reference=110.0, found="100", expected="110")
    assert _validate(ExpectBudgetSectionsToBalance(), [ok]) == []
    assert _validate(ExpectBudgetSectionsToBalance(), [ok, bad]) == [(1, "budget.balance", "warning", "d", 5, "100", "110")]


@pytest.mark.parametrize("name, rule", [("ExpectStatedChangesToMatchFigures", "text.percent"),
                                        ("ExpectTablesToAgree", "crosstable")])
def test_gap_against_tolerance(name, rule):
    import pipelines.validate.expectations as exps

    exp = getattr(exps, name)()
    ok = _row(rule, 2, ecart=0.0, tolerance=0.5, found="77", expected="77")
    bad = _row(rule, 3, ecart=4.0, tolerance=0.5, found="77", expected="73")
    assert _validate(exp, [ok]) == []
    assert _validate(exp, [ok, bad]) == [(1, rule, "error", "d", 3, "77", "73")]


@pytest.mark.parametrize("name, rule, statut, severity", [
    ("ExpectYearHeadersToBeWellFormed", "header.year", "malformed", "warning"),
    ("ExpectHeaderLabelsToBeMeaningful", "header.label", "placeholder", "warning"),
    ("ExpectNumbersToBeReadable", "value.malformed", "irregular", "info"),
    ("ExpectNarrativeYearsToMatchReport", "text.year", "annee", "error"),
    ("ExpectNarrativeFiguresToMatchTables", "text.table", "contredit", "error"),
    ("ExpectFiguresToMatchEarlierReports", "vintage.stale", "reprise", "warning"),
    ("ExpectSeriesToStayComparable", "series.break", "rupture", "warning"),
    ("ExpectOneReportPerYear", "vintage.duplicate", "doublon", "warning"),
])
def test_qualitative_rules(name, rule, statut, severity):
    import pipelines.validate.expectations as exps

    exp = getattr(exps, name)()
    ok = _row(rule, 2, found="2021", expected="2021")
    bad = _row(rule, 3, statut=statut, severity=severity, found="2 021", expected="2021")
    other = _row("total.column", 4, statut="vide")  # another rule's row is not this expectation's
    assert _validate(exp, [ok, other]) == []
    assert _validate(exp, [ok, bad, other]) == [(1, rule, severity, "d", 3, "2 021", "2021")]


def test_suites_are_the_rule_catalogue():
    """Every rule a suite announces is judged by one of its expectations, with its parameters."""
    from great_expectations.expectations.registry import get_expectation_impl

    import pipelines.validate.expectations  # noqa: F401
    from pipelines.validate.suites import load_suites

    for name, spec in load_suites().items():
        covered = set()
        for e in spec["expectations"]:
            impl = get_expectation_impl(e["type"])
            impl(**e["kwargs"])  # the kwargs are the class's parameters
            covered |= set(impl.rules)
        assert set(spec["meta"]["rules"]) <= covered, name
    totaux = load_suites()["totaux"]["expectations"]
    assert [(e["type"], e["kwargs"]["arrondi"], e["kwargs"]["denombrements"]) for e in totaux] == [
        ("expect_totals_to_foot", "n*u/2", "exact")]


def test_data_docs_offline_and_in_french(tmp_path):
    from test_validate_helpers import store_of

    from pipelines.publish.authors import write_reports
    from pipelines.validate import validate_store
    from pipelines.validate.stored_results import gx_dir

    text = ("Bilan d'activité 2017 du SIIM94\n\n1 Pôle SI\n\nRépartition\n\n"
            "Activité\t2016\t2017\nMCO\t10\t4\nProjet\t20\t5\nTotal\t31\t9\n")
    con = store_of(tmp_path, {"d": (text, "SIIM94", 2017)})
    db = tmp_path / "s.duckdb"
    validate_store(con, gx_dir=gx_dir(db))  # the check run writes the Data Docs, the report copies them
    con.execute(f"ATTACH '{db}' AS disk")
    for t in ("documents", "sections", "lignes", "tables", "cells", "narratifs", "findings"):
        con.execute(f'CREATE TABLE disk."{t}" AS SELECT * FROM "{t}"')
    con.execute("DETACH disk")
    con.close()
    assert write_reports(db, tmp_path / "reports") == 0
    docs = tmp_path / "reports" / "data_docs"
    pages = {p: p.read_text(encoding="utf-8") for p in docs.rglob("*.html")}
    assert docs / "index.html" in pages
    external = re.compile(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
    assert [p for p, t in pages.items() if external.search(t)] == []
    totaux = pages[docs / "validations" / "totaux.html"]
    assert "Les totaux doivent être la somme de leurs lignes, à l'arrondi près (n·u/2)" in totaux
    rows = [[re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.DOTALL)]
            for tr in re.findall(r"<tr[^>]*>((?:(?!<tr).)*?)</tr>", totaux, re.DOTALL)]
    i = rows.index(["Document", "Tableau", "Ligne", "Règle", "Gravité", "Trouvé", "Attendu", "Constat"])
    assert rows[i + 1][:7] == ["d", "Répartition", "10", "total.column", "erreur", "31", "30"]
    assert rows[i + 1][7].startswith("Le total « Total », colonne « 2016 » (31)")


def test_data_docs_tell_apart_two_findings_of_one_line(tmp_path):
    """Two totals left blank on one row: same document, table, line, rule, found and expected; the
    Data Docs row and the stored result say which column each is about."""
    import html
    import json

    from test_validate_helpers import store_of

    from pipelines.validate import validate_store
    from pipelines.validate.stored_results import gx_dir

    text = ("Bilan d'activité 2017 du SIIM94\n\n1 Pôle SI\n\nRépartition\n\n"
            "Activité\tReports 2016\tReports 2017\nMCO\t10\t10\nProjet\t20\t20\nTotal\t\t\n")
    con = store_of(tmp_path, {"d": (text, "SIIM94", 2017)})
    gx = gx_dir(tmp_path / "s.duckdb")
    validate_store(con, gx_dir=gx)
    page = (gx / "data_docs" / "validations" / "totaux.html").read_text(encoding="utf-8")
    rows = [[html.unescape(re.sub(r"<[^>]+>|\s+", " ", c).strip())
             for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.DOTALL)]
            for tr in re.findall(r"<tr[^>]*>((?:(?!<tr).)*?)</tr>", page, re.DOTALL)]
    missing = [r for r in rows if "value.missing" in r]
    assert [r[:7] for r in missing] == [["d", "Répartition", "10", "value.missing", "erreur", "—", "30"]] * 2
    assert [r[7] for r in missing] == [
        f"Le total « Total », colonne « Reports {y} » est vide alors que les lignes qu'il résume ont des valeurs "
        "(somme : 30)." for y in (2016, 2017)]
    stored = json.loads((gx / "validations" / "totaux.json").read_text(encoding="utf-8"))
    assert [u["message"] for r in stored["results"] for u in r["result"]["unexpected_rows"]] == [r[7] for r in missing]


def test_offline_html_drops_css_urls_to_the_internet():
    """GE's stylesheet puts its logo on S3 (`url('https://…')`): offline, nothing is fetched."""
    from pipelines.validate.data_docs import offline_html

    page = ("<html><head><style>.navbar-brand a { background: url('https://example.org/logo.png') }"
            " .x { background: url(data:image/png;base64,AAAA) }</style></head><body></body></html>")
    out = offline_html(page, "")
    assert "https://" not in out and "background: none" in out and "url(data:image/png" in out


# --- verdicts reused by a session (bilans check --watch) --------------------------------------------

class _Reads(dict):
    """A check row that records the columns a verdict reads."""

    def __init__(self, row, seen: set):
        super().__init__(row)
        self.seen = seen

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.seen.add(key)
        return super().get(key, default)


def test_verdicts_read_only_their_declared_columns_never_where_a_row_is():
    """What lets a session reuse GE's verdicts of a batch whose lines moved (suites.Verdicts)."""
    import pipelines.validate.expectations as exps
    from pipelines.validate.expectations.base import IDENTITY, RuleExpectation
    from pipelines.validate.suites import LOCATION

    figures = dict(valeur=31.0, reference=30.0, unites=[1.0, 1.0], unite=1.0, relation="=", denombrement=True,
                   numerateur=1.0, unite_numerateur=1.0, denominateur=4.0, unite_denominateur=1.0,
                   ecart=2.0, tolerance=0.5)
    checked = 0
    for cls in vars(exps).values():
        if not (isinstance(cls, type) and issubclass(cls, RuleExpectation)) or cls.is_abstract():
            continue
        seen: set[str] = set()
        for rule in cls.rules:
            for statut in ("ok", "malformed", "placeholder", "contredit", "reprise", "rupture", "annee", "ecart",
                           "doublon"):
                cls().verdict(_Reads(_row(rule, 3, statut=statut, **figures), seen))
                checked += 1
        assert not seen & set(LOCATION), cls.__name__
        assert seen <= {*IDENTITY, *cls.columns}, (cls.__name__, seen - {*IDENTITY, *cls.columns})
    assert checked > 100


def test_rows_seen_before_keep_their_verdicts_ge_judges_the_others():
    from pipelines.validate.suites import Verdicts, run_suites

    def totals(shift: int, wrong: float) -> dict:
        return {"totaux": frame([_total(3 + shift, 31, [5, 10, 15]), _total(4 + shift, wrong, [10, 20])])}

    verdicts = Verdicts()
    first = run_suites(totals(0, 35), verdicts=verdicts)
    assert sorted(zip(first["line"], first["rule"], strict=True)) == [(3, "total.rounding"), (4, "total.column")]
    moved = run_suites(totals(10, 35), verdicts=verdicts)  # a paragraph inserted above the table
    assert verdicts.reused == 1
    assert sorted(zip(moved["line"], moved["rule"], moved["found"], strict=True)) == [
        (13, "total.rounding", "31"), (14, "total.column", "35")]
    fixed = run_suites(totals(10, 30), verdicts=verdicts)  # the wrong total corrected: GE judges that row
    assert (verdicts.reused, verdicts.rows_reused) == (1, 3)
    assert list(zip(fixed["line"], fixed["rule"], strict=True)) == [(13, "total.rounding")]
    undone = run_suites(totals(0, 35), verdicts=verdicts)  # the correction undone: every row seen before
    assert (verdicts.reused, verdicts.rows_reused) == (2, 5)
    assert sorted(zip(undone["line"], undone["rule"], strict=True)) == [(3, "total.rounding"), (4, "total.column")]
    alone = run_suites({"totaux": frame([_total(7, 35, [10, 20])])}, verdicts=verdicts)  # a row removed
    assert (verdicts.reused, verdicts.rows_reused) == (3, 6)
    assert list(zip(alone["line"], alone["rule"], alone["found"], strict=True)) == [(7, "total.column", "35")]
