"""Les suites Great Expectations de `expectations/` exécutées sur les tableaux de contrôles.

GE is the engine of record: a check row becomes a finding only when an
expectation of its suite reports it as unexpected. GE is imported lazily and
once (its import costs seconds), in an ephemeral context with progress bars off.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from pipelines.catalogue import completer_suite

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"


@lru_cache(maxsize=1)
def load_suites(directory: str | None = None) -> dict[str, dict]:
    base = Path(directory) if directory else EXPECTATIONS_DIR
    return {p.stem: completer_suite(p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(base.glob("*.json"))}


def suite_for_rule(rule: str) -> str:
    for name, suite in load_suites().items():
        if rule in suite["meta"]["rules"]:
            return name
    raise KeyError(rule)


@lru_cache(maxsize=1)
def _context():
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx

    import pipelines.validate.expectations  # noqa: F401 — registers the rule expectations with GE

    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # noqa: BLE001 — cosmetic only
        pass
    source = context.data_sources.add_pandas("bilans")
    return gx, context, source


def _suite(gx, name: str, spec: dict):
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    suite = gx.ExpectationSuite(name=name, meta=spec.get("meta", {}))
    for e in spec["expectations"]:
        suite.add_expectation_configuration(
            ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {})))
    return suite


def _unexpected(df: pd.DataFrame, flagged: list[dict]) -> pd.DataFrame:
    """The check rows an expectation flagged, with the rule and severity of its verdict
    (total.rounding for a total within the rounding tolerance)."""
    if not flagged:
        return df.iloc[0:0]
    verdict = pd.DataFrame([(u["check_id"], u["rule"], u["severity"]) for u in flagged],
                           columns=["check_id", "rule", "severity"])
    rows = df.drop(columns=["rule", "severity"]).merge(verdict, on="check_id")
    return rows.sort_values("check_id", kind="stable")[list(df.columns)]


def _asset(source, suite: str):
    """One dataframe asset per suite (its name titles the Data Docs page), created once per process:
    each creation rewrites GE's project configuration."""
    name = f"controles_{suite}"
    try:
        return source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
        asset.add_batch_definition_whole_dataframe("tout")
        return asset


def run_suites(frames: dict[str, pd.DataFrame], keep_results: bool = False):
    """frames: suite name -> check frame. Returns the unexpected rows (with the rule and
    severity the expectation's verdict assigns) and, if asked, the GE validation results."""
    gx, context, source = _context()
    suites = load_suites()
    unexpected: list[pd.DataFrame] = []
    results = {}
    for name, df in frames.items():
        if df.empty:
            continue
        spec = suites[name]
        df = df.reset_index(drop=True).copy()
        df["check_id"] = range(len(df))
        batch = _asset(source, name).get_batch_definition("tout").get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(_suite(gx, name, spec), result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": ["check_id"]})
        if keep_results:
            results[name] = result
        for r in result.results:
            rows = _unexpected(df, r.result.get("unexpected_rows") or [])
            if not rows.empty:
                rows["suite"] = name
                unexpected.append(rows)
    found = pd.concat(unexpected, ignore_index=True) if unexpected else pd.DataFrame()
    if not found.empty:
        found = found.drop_duplicates(["suite", "check_id", "rule"])
    return (found, results) if keep_results else found
