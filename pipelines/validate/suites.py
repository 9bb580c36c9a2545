"""Les suites Great Expectations de `expectations/` exécutées sur les tableaux de contrôles.

GE is the engine of record: a check row becomes a finding only when an expectation of its
suite reports it as unexpected. This is the one place where the suites run (`bilans build`,
`bilans check`, the publications check of `bilans run`); given a results folder, the run also
stores GE's validation results and writes the Data Docs there (data_docs.py), so that
`bilans report` only reads them. Importing this module imports GE (seconds): the modules that
only read the suite files use suite_specs.py.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import great_expectations as gx
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

import pipelines.validate.expectations  # noqa: F401 — registers the workbench's expectations with GE
from pipelines.errors import BilansError
from pipelines.validate import data_docs
from pipelines.validate.row_order import in_order
from pipelines.validate.suite_specs import EXPECTATIONS_DIR, load_suites, suite_for_rule

__all__ = ["EXPECTATIONS_DIR", "Verdicts", "ge_context", "load_suites", "refresh", "run_suites", "suite",
           "suite_for_rule"]

# Asked by the validation of each suite: every unexpected row, with its check_id to find it back.
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["check_id"]}
# What makes a finding readable but is judged by no expectation: GE gets the check rows without
# these texts (fingerprinting and copying them was a third of a validation); `_unexpected` brings
# them back to the rows it flags, by check_id.
NOT_JUDGED = ("message", "suggestion", "highlight", "key", "family", "exercice")


@lru_cache(maxsize=1)
def ge_context():
    """(ephemeral GE context, its pandas data source « bilans »), created once per process, with
    progress bars and usage statistics off (a CLI prints French lines, not GE's bars)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # read when the context is created
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context, context.data_sources.add_pandas("bilans")


def suite(name: str, spec: dict | None = None) -> gx.ExpectationSuite:
    """The GE suite of `expectations/<name>.json` (or of the given spec). An expectation GE refuses
    raises (ExpectationSuite(expectations=…) would only log it and drop it)."""
    spec = spec or load_suites()[name]
    out = gx.ExpectationSuite(name=name, meta=spec.get("meta", {}))
    for e in spec["expectations"]:
        out.add_expectation_configuration(
            ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {})))
    return out


def _unexpected(df: pd.DataFrame, flagged: list[dict]) -> pd.DataFrame:
    """The check rows flagged (in the order of `flagged`; a row flagged twice is there twice), with the
    rule and severity of each verdict (total.rounding for a total within the rounding tolerance)."""
    if not flagged:
        return df.iloc[0:0]
    rows = df.iloc[[u["check_id"] for u in flagged]]  # check_id is the row's position
    rows["rule"] = [u["rule"] for u in flagged]
    rows["severity"] = [u["severity"] for u in flagged]
    return rows


def _asset(source, name: str):
    """One dataframe asset per suite (its name titles the Data Docs page), created once per process:
    each creation rewrites GE's project configuration."""
    asset_name = f"controles_{name}"
    try:
        return source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
        asset.add_batch_definition_whole_dataframe("tout")
        return asset


def failure(name: str, result: ExpectationSuiteValidationResult) -> str | None:
    """Why a validation gave no verdict, in one French line: an expectation that raised, or a batch
    without the columns an expectation reads. None when every expectation judged its rows."""
    for r in result.results:
        kind = r.expectation_config.type if r.expectation_config is not None else "?"
        missing = (r.result or {}).get("colonnes_absentes")
        if missing:
            return (f"suite « {name} » : le lot n'a pas les colonnes {', '.join(missing)} que lit "
                    f"{kind} ; validation en échec, aucun constat n'a pu être établi")
        for info in _exception_infos(r.exception_info):
            if info.get("raised_exception"):
                message = (str(info.get("exception_message") or "").strip().splitlines() or ["?"])[0][:200]
                return f"suite « {name} » : {kind} a échoué ({message}) ; validation en échec"
    return None


def _exception_infos(info) -> list[dict]:
    """GE gives one exception_info dict, or one per failed metric."""
    if not isinstance(info, dict):
        return []
    if "raised_exception" in info:
        return [info]
    return [v for v in info.values() if isinstance(v, dict)]


def validate_frame(name: str, df: pd.DataFrame) -> ExpectationSuiteValidationResult:
    """GE's validation of the suite `name` on a check frame (which carries `check_id`).
    BilansError (one French line) when the validation gave no verdict (see `failure`)."""
    _, source = ge_context()
    batch = _asset(source, name).get_batch_definition("tout").get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite(name), result_format=RESULT_FORMAT)
    why = failure(name, result)
    if why:
        raise BilansError(why)
    return result


# Where a finding is, not what it says: no verdict of expectations/ reads these columns (a test checks
# it), so two batches equal but for them get the same verdicts, row for row.
LOCATION = ("document_id", "line", "table_id", "check_id", "tableau")


def row_keys(df: pd.DataFrame) -> list[bytes]:
    """What the expectations judge of each row of a batch (every column but NOT_JUDGED and LOCATION),
    as bytes: two rows of equal keys get the same verdicts, wherever they are."""
    import pickle

    columns = [df[c].tolist() for c in df.columns if c not in NOT_JUDGED and c not in LOCATION]
    return [pickle.dumps(row, protocol=5) for row in zip(*columns, strict=True)]


class Verdicts:
    """GE's verdicts of every row each suite judged, for a process that checks one draft again and
    again (`bilans check --watch`). The expectations judge a row from its own columns, never from
    where it is nor from the other rows (RuleExpectation.judge; tests/validate/test_expectations.py
    checks what each verdict reads): a row seen before — lines moved by an inserted paragraph, a table
    unchanged beside a changed one, an edit undone — keeps its verdicts, and GE judges only the rows
    it has not seen (none: GE is not run at all)."""

    LIMIT = 200_000  # rows remembered per suite: a session of a day's edits, not a corpus

    def __init__(self):
        self._rows: dict[str, dict[bytes, tuple]] = {}
        self.reused = 0  # batches judged without running GE
        self.rows_reused = 0  # rows whose verdicts were remembered

    def known(self, name: str) -> dict[bytes, tuple]:
        memo = self._rows.setdefault(name, {})
        if len(memo) > self.LIMIT:
            memo.clear()
        return memo


@lru_cache(maxsize=64)
def _read_by(name: str, columns: tuple[str, ...]) -> list[str]:
    """Of `columns`, those the expectations of the suite `name` read (their IDENTITY and `columns`,
    what an unexpected row shows, check_id): GE fingerprints every column of a batch, and a session
    judges a few rows at a time (Verdicts). All of them when an expectation is not a RuleExpectation
    (tests/validate/test_expectations.py checks that a verdict reads its declared columns only)."""
    from great_expectations.expectations.registry import get_expectation_impl

    from pipelines.validate.expectations.base import IDENTITY, UNEXPECTED_FIELDS, RuleExpectation

    read = {*IDENTITY, *UNEXPECTED_FIELDS, "check_id", "tableau"}
    for e in load_suites()[name]["expectations"]:
        impl = get_expectation_impl(e["type"])
        if not (isinstance(impl, type) and issubclass(impl, RuleExpectation)):
            return [c for c in columns if c not in NOT_JUDGED]
        read |= set(impl.columns)
    return [c for c in columns if c in read and c not in NOT_JUDGED]


def _judged(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in NOT_JUDGED if c in df.columns])


def _flagged(name: str, df: pd.DataFrame, verdicts: Verdicts | None):
    """(GE's result, or None with `verdicts`, the unexpected rows of each expectation of the suite;
    with `verdicts`, each one a dict of check_id, rule and severity only). `df`: the check frame with
    its check_id; GE gets it without NOT_JUDGED."""
    if verdicts is None:
        result = validate_frame(name, _judged(df))
        return result, [list(r.result.get("unexpected_rows") or []) for r in result.results]
    keys, memo = row_keys(df), verdicts.known(name)
    fresh = [i for i, k in enumerate(keys) if k not in memo]
    verdicts.rows_reused += len(keys) - len(fresh)
    if fresh:  # check_id still says the row's position
        result = validate_frame(name, _judged(df.iloc[fresh])[_read_by(name, tuple(df.columns))])
        by_expectation = [{u["check_id"]: (u["rule"], u["severity"]) for u in r.result.get("unexpected_rows") or []}
                          for r in result.results]
        for i in fresh:
            memo[keys[i]] = tuple(flags.get(i) for flags in by_expectation)
    else:
        verdicts.reused += 1
    rows = [memo[k] for k in keys]
    return None, [[{"check_id": i, "rule": v[e][0], "severity": v[e][1]} for i, v in enumerate(rows) if v[e]]
                  for e in range(len(rows[0]))]


def run_suites(frames: dict[str, pd.DataFrame], keep_results: bool = False, gx_dir: Path | None = None,
               replace_all: bool = False, verdicts: Verdicts | None = None):
    """frames: suite name -> check frame. Returns the unexpected rows (with the rule and severity the
    expectation's verdict assigns) and, if asked, the GE validation results (suite name -> result).

    With `gx_dir`, the results of the suites of `frames` are stored there with their Data Docs
    (data_docs.write: a suite whose frame is empty loses its old result; `replace_all` drops the
    results of the other suites too, for a store rebuilt from scratch).
    With `verdicts` (a session's Verdicts; not with gx_dir or keep_results, which need every result),
    the rows judged before keep their verdicts and GE judges the others only.
    BilansError when a suite gives no verdict (missing columns, an expectation that raised)."""
    unexpected: list[pd.DataFrame] = []
    results = {}
    for name, df in frames.items():
        if df.empty:
            continue
        df = in_order(df)  # a new frame (copy on write): the caller's keeps its columns
        df["check_id"] = range(len(df))
        result, flagged = _flagged(name, df, None if gx_dir or keep_results else verdicts)
        if result is not None:
            results[name] = result
            data_docs.with_messages(result, df)  # the texts GE did not get, back on the rows it flags
        rows = _unexpected(df, [u for rows_flagged in flagged  # expectation by expectation, in row order
                                for u in sorted(rows_flagged, key=lambda u: u["check_id"])])
        if not rows.empty:
            rows["suite"] = name
            unexpected.append(rows)
    if gx_dir is not None:
        data_docs.write(Path(gx_dir), results, {n: suite(n) for n in results}, list(frames), replace_all)
    found = pd.concat(unexpected, ignore_index=True) if unexpected else pd.DataFrame()
    if not found.empty:
        found = found.drop_duplicates(["suite", "check_id", "rule"])
    return (found, results) if keep_results else found


def refresh(con, directory: Path, parts: str | None = None) -> bool:
    """Write GE's results and Data Docs of the store `con` into its results folder `directory`, from
    its result parts (stored_results.PARTS, or the relation `parts`), in place of every stored result;
    nothing when they were written from the same parts and checks (stored_results.pending).
    Returns whether they were written."""
    from pipelines.validate.stored_results import PARTS, pending

    todo = pending(con, Path(directory), parts or PARTS)
    if todo is None:  # the same results: only the run time is this run's
        data_docs.restamp(Path(directory))
        return False
    parts, stamp, digests = todo  # each suite's parts read as its result is written: one suite at a time
    data_docs.write_combined(Path(directory), parts, {name: suite(name) for name in parts}, stamp, digests)
    return True
