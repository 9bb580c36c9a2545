"""Validation : suites Great Expectations -> table `findings`.

Each rule family derives a frame of checks from the store (one row per total,
header, sentence, figure…); the GE suites of `expectations/` decide which rows
fail; failures become findings with their exact source line.
"""

from __future__ import annotations

import bisect
import importlib
import sys
import types
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from pipelines.sidecar import InProcess
from pipelines.terminal import Progress
from pipelines.validate.frames import VALUE_ROLES, Store, frame, load
from pipelines.validate.stored_results import PARTS, PARTS_COLUMNS, part_rows

# Great Expectations imports altair, whose jsonschema checks the « iri » format with rfc3987_syntax
# when that package is installed (it comes with Jupyter): 38 Lark grammars compiled at import, about
# 4 s of every build and check on 2 cores. No suite validates an IRI; marked absent before GE is
# imported, jsonschema leaves that one format unchecked (it imports it under suppress(ImportError)).
sys.modules.setdefault("rfc3987_syntax", None)


class _OnFirstUse(types.ModuleType):
    """A module that is imported when one of its names is first read (or one of its submodules is
    imported: `__path__`), not when it is imported; the other dunder names (what tools probe in
    sys.modules) are no use of it."""

    def __getattr__(self, name: str):
        if name.startswith("__") and name not in ("__path__", "__all__"):
            raise AttributeError(name)
        del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)  # the modules that hold this one now read the real one
        return getattr(real, name)


# Great Expectations imports, for expectations that no suite uses (distributions: KL divergence,
# Kolmogorov-Smirnov; their charts), scipy.stats and altair when GE is imported: 2,5 s of the 5 s of
# that import. Held until a name of theirs is read, they are imported only by what uses them.
for _name in ("scipy.stats", "altair"):
    sys.modules.setdefault(_name, _OnFirstUse(_name))

FINDING_COLUMNS = [
    "document", "line", "rule", "severity", "message", "found", "expected", "table", "document_id",
    "section", "source_line", "suggestion", "org", "report_year", "family", "exercice", "key", "highlight",
    "page", "place", "label_line", "label_source",
]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# What decides a finding (column `scope` of the findings, beside FINDING_COLUMNS):
# - SCOPE_REPORT: the report alone (totals, headers, values, text, budget: `_document_frames`);
# - SCOPE_CROSS: the report against the earlier reports of its organisme (vintages, shifted year
#   headers, prose figures given again: `_cross_frames`), which only a report of an earlier or equal
#   year added, changed or removed may change;
# - SCOPE_ORG: the series of the whole organisme (series.break: `_series_frames`), whose latest
#   vintage of a year may move to another report when any report of the organisme changes; and its
#   reports of one year (vintage.duplicate), which a report added or removed changes.
# An incremental build keeps what the change cannot reach and redoes the rest (pipelines/flow.py).
SCOPE_REPORT, SCOPE_CROSS, SCOPE_ORG = "rapport", "entre_rapports", "organisme"
STORED_COLUMNS = [*FINDING_COLUMNS, "scope"]


def check_frames(con, store: Store | None = None, document_ids: list[str] | None = None,
                 cross_memo=None, lignes: list[dict] | None = None) -> dict[str, pd.DataFrame]:
    """The check frames of every suite, for the documents asked (all by default). `cross_memo`
    (pipelines/live.py CrossMemo): the cross-report and series frames kept from a check whose inputs
    were the same, or where to keep those made now. `lignes`: the lines of text of the documents
    asked (document_id, line, text), when the caller has them (else read from `con`)."""
    from pipelines.validate.text import table_figures
    from pipelines.validate.vintages import dated_figures

    store = store or load(con)
    # the rules that read one report at a time run on the documents asked only (not on the other
    # reports a draft is checked against); the cross-report rules read the whole store
    mine = store if document_ids is None else store.only(document_ids)
    kept = cross_memo.get() if cross_memo is not None else None
    kept_own = cross_memo.own() if cross_memo is not None else {}
    tc = table_figures(store) if kept is None or "texte" not in kept_own else []  # read by the rules made again
    tc_mine = tc if mine is store else [c for c in tc if c["document_id"] in mine.documents]
    # one after the other, in this thread: DuckDB's Python client takes the GIL back after each task of
    # a query (to see a Ctrl-C), so that a query beside a thread running Python (these rules of one
    # report) waited for it at each task — 20 queries of a --watch re-check: 0,8 s alone, 3,8 s beside
    lignes = _lignes(con, document_ids) if lignes is None else lignes
    own_frames, checks = _document_parts(mine, lignes, tc_mine, kept_own,
                                         cross_memo.table_rows if cross_memo is not None else None)
    if cross_memo is not None and len(kept_own) < len(checks):
        cross_memo.put_own(checks)
    if kept is None:
        cross = _cross_frames(store, dated_figures(store, tc), _with_year_before(store, mine), con, document_ids,
                              cross_memo.figures if cross_memo is not None else None)
        # series.break of the documents asked only: _finish keeps no other row
        series = _series_frames(con, None, document_ids is not None,
                                cross_memo.series_rows(con, document_ids) if cross_memo is not None else None,
                                document_ids)
        if cross_memo is not None:
            cross_memo.put(cross, series)
    else:
        cross, series = kept
    return _finish(_merged([own_frames, cross, series]), _captions(store), document_ids)


def _document_frames(store: Store, lignes: list[dict], tc: list[dict]) -> dict[str, pd.DataFrame]:
    """Checks of one report at a time (totals, headers, values, text, budget): a batch of documents
    gives the frames of its documents."""
    return _document_parts(store, lignes, tc)[0]


def _document_parts(store: Store, lignes: list[dict], tc: list[dict], kept: dict | None = None,
                    tables: dict | None = None) -> tuple[dict, dict]:
    """(the frames of `_document_frames`, the checks `_report_checks` gave them). `kept`: part of those
    checks, from a check whose inputs were the same (pipelines/live.py CrossMemo.own); text.year, which
    reads the lines of text (`lignes`), is always made again. `tables`: the check rows of the tables
    seen before (totals.table_checks' `kept`)."""
    from pipelines.validate.text import year_checks

    checks = _report_checks(store, tc, kept or {}, tables)
    return _scoped({
        "totaux": checks["totaux"], "entetes": checks["entetes"], "valeurs": checks["valeurs"],
        "texte": frame(year_checks(store, lignes) + checks["texte"]),
        "budget": checks["budget"],
    }, SCOPE_REPORT), checks


def _report_checks(store: Store, tc: list[dict], kept: dict, tables: dict | None = None) -> dict:
    """The checks of one report that read no line of text, by name: frames totaux, entetes, valeurs
    and budget, and the rows of text.table and text.percent (« texte », beside text.year in its frame);
    those of `kept` are taken from there."""
    from pipelines.validate.budget import balance_checks, crosstable_checks
    from pipelines.validate.headers import header_checks, malformed_checks
    from pipelines.validate.text import percent_text_checks, table_text_checks
    from pipelines.validate.totals import table_checks

    made = {"totaux": lambda: frame(table_checks(store, tables)), "entetes": lambda: frame(header_checks(store)),
            "valeurs": lambda: frame(malformed_checks(store)),
            "texte": lambda: table_text_checks(store, tc) + percent_text_checks(store, tc),
            "budget": lambda: frame(balance_checks(store) + crosstable_checks(store))}
    return {name: kept[name] if name in kept else make() for name, make in made.items()}


def _cross_frames(store: Store, dated: list[dict], stale: Store | None = None, con=None,
                  document_ids: list[str] | None = None, figures_of=None) -> dict[str, pd.DataFrame]:
    """Checks across the reports of an organisme (vintages, shifted year headers, prose figures):
    `store` holds its reports (header cells are enough), `dated` their figures under a year;
    `stale` the reports vintage.stale compares (by default `store`); `con` the connection whose
    curated series are compared first (pipelines/validate/points.py), for `document_ids`;
    `figures_of`: see vintages.cross_report_checks."""
    from pipelines.validate.vintages import cross_report_checks

    cross = cross_report_checks(con, store, dated, document_ids, stale_store=stale, figures_of=figures_of)
    return _scoped({name: frame(rows) for name, rows in cross.items()}, SCOPE_CROSS)


def _series_frames(con, orgs: list | None = None, drafts: bool = False,
                   series_rows: list[dict] | None = None, document_ids: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """series.break over the curated series of the store, and vintage.duplicate over its documents (of
    the organismes `orgs` only, when given). `drafts`: the documents checked are drafts, which are
    never compared with each other nor put in the store together: no vintage.duplicate then (two
    versions of one draft checked at once, or a DOCX and its PDF, are not two reports of a year).
    `series_rows`: the series.break rows, made already (series.SeriesPlan of an incremental build);
    `document_ids`: the series.break rows of these reports only (all by default)."""
    from pipelines.validate.duplicates import duplicate_report_checks
    from pipelines.validate.series import series_break_checks

    duplicates = [] if drafts else duplicate_report_checks(con, orgs=orgs)
    rows = series_rows if series_rows is not None else series_break_checks(con, document_ids, orgs=orgs)
    return _scoped({"series": frame(rows), "millesimes": frame(duplicates)}, SCOPE_ORG)


def _scoped(frames: dict[str, pd.DataFrame], scope: str) -> dict[str, pd.DataFrame]:
    """Each check row says which kind of rule made it (SCOPE_REPORT, SCOPE_CROSS or SCOPE_ORG): its
    finding keeps it in the column `scope`."""
    for df in frames.values():
        df["scope"] = scope
    return frames


def _merged(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    out: dict[str, list[pd.DataFrame]] = {}
    for part in parts:
        for name, df in part.items():
            out.setdefault(name, []).append(df)
    return {name: pd.concat(dfs, ignore_index=True) if len(dfs) > 1 else dfs[0] for name, dfs in out.items()}


def _captions(store: Store) -> dict[str, str | None]:
    """What Data Docs call each table: its caption, else where it starts (never its internal id)."""
    return {t["table_id"]: t["caption"] or f"tableau sans titre, ligne {t['line_start']}" for t in store.tables}


def _finish(frames: dict[str, pd.DataFrame], captions: dict, document_ids: list[str] | None) -> dict[str, pd.DataFrame]:
    """percent.ratio apart from the totals, the caption of each table, the documents asked only."""
    totaux = frames["totaux"]
    pct = [r == "percent.ratio" for r in totaux["rule"].tolist()]
    frames["pourcentages"] = _rows_where(totaux, pct)
    frames["totaux"] = _rows_where(totaux, [not p for p in pct])
    wanted = None if document_ids is None else set(document_ids)
    # the dtype `Series.map(captions)` gives (NaN where no caption; float when there is none at all)
    typed = pd.Series(captions).dtype if captions else float
    out = {}
    for name, df in frames.items():
        if wanted is not None:
            df = _rows_where(df, [d in wanted for d in df["document_id"].tolist()])
        # Data Docs name the table by its caption
        df["tableau"] = pd.Series([captions.get(t, _NAN) for t in df["table_id"].tolist()], index=df.index,
                                  dtype=typed)
        out[name] = df
    return out


_NAN = float("nan")


def _rows_where(df: pd.DataFrame, keep: list[bool]) -> pd.DataFrame:
    """The rows of `df` where `keep`, index reset (a copy: the caller adds columns); plain Python
    and one `take`, not pandas' boolean indexing, over the few hundred rows of a re-check."""
    return df.take([i for i, k in enumerate(keep) if k]).reset_index(drop=True)


def _with_year_before(store: Store, mine: Store) -> Store:
    """vintage.stale compares a report with the report of the year before it only: the documents
    asked and those of the year before theirs."""
    if mine is store:
        return store
    years = {(d["org"], d["report_year"] - 1) for d in mine.documents.values() if d["report_year"] is not None}
    before = [i for i, d in store.documents.items() if (d["org"], d["report_year"]) in years]
    return store.only([*mine.documents, *before])


def _lignes(con, document_ids):
    where = ""
    if document_ids is not None:
        where = " WHERE document_id IN (" + ", ".join("'" + d.replace("'", "''") + "'" for d in document_ids) + ")"
    cur = con.execute("SELECT document_id, line, text FROM lignes" + where)
    return [dict(document_id=d, line=n, text=t) for d, n, t in cur.fetchall()]


def findings(con, document_ids: list[str] | None = None, gx_dir: Path | None = None,
             store: Store | None = None, verdicts=None, cross_memo=None,
             rows: dict[str, list[dict]] | None = None) -> pd.DataFrame:
    """Run every suite and return the findings as a frame (columns of FINDING_COLUMNS). With `gx_dir`
    (stored_results.gx_dir of the store), GE's results and Data Docs are written there, in place of
    every earlier result.
    `store`: the store already read (`frames.load`), when the caller keeps part of it between checks;
    `verdicts`: its suites.Verdicts, GE's last verdicts (see run_suites); `cross_memo`: see
    check_frames. `rows` (with `store`): the rows of the documents `document_ids` (flow.Read.rows,
    table -> dicts), whose lines, sections, tables and cells are then read there rather than from `con`
    (`DraftLookups`: `bilans check --watch` does not write a draft the rules read nothing else of)."""
    from pipelines.validate.suites import run_suites

    lookups = DraftLookups(store, rows) if rows is not None and store is not None else None
    frames = check_frames(con, store=store, document_ids=document_ids, cross_memo=cross_memo,
                          lignes=lookups.lignes() if lookups else None)
    found = run_suites(frames, gx_dir=gx_dir, replace_all=True, verdicts=verdicts)
    return _enrich(con, found, lookups)[FINDING_COLUMNS]


BATCH = 64  # reports loaded at a time by `findings_in_batches`


def findings_in_batches(con, document_ids: list[str] | None = None, batch: int = BATCH,
                        gx_dir: Path | None = None, cross_only: list[str] | None = None,
                        series_only: list[str] | None = None, with_scope: bool = False,
                        keep_parts: bool = False,
                        sink: Callable[[pd.DataFrame], object] | None = None,
                        drafts: bool = False, series_rows: list[dict] | None = None,
                        stored_figures: str | None = None, checks=None,
                        echo: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The findings of `findings(con, document_ids)`, with a memory bounded by a batch of reports
    rather than by the store: the checks of one report run `batch` reports at a time, those across
    reports once per organisme over what they compare, read from DuckDB (figures under a year, prose
    figures, year headers, curated series). Unchanged reports of an organisme that changed get only
    part of the rules: `cross_only` those of SCOPE_CROSS and SCOPE_ORG, `series_only` those of
    SCOPE_ORG (the caller keeps their other findings). With `with_scope`, the findings have the
    column `scope` after FINDING_COLUMNS (STORED_COLUMNS, what the store keeps). Frames are judged by the suites batch by
    batch, and GE's results cut into parts, one per suite, document and scope
    (stored_results.part_rows): with `keep_parts` they are added to the store's table
    stored_results.PARTS (an incremental build copies the others, pipelines/flow.py); with `gx_dir`,
    the results of this run's parts are combined per suite (stored_results.combined) and stored with
    their Data Docs there, in place of every earlier result.
    With `sink`, the findings of each batch are given to it as they come (a build writes them to the
    store: 74 000 findings of 1 600 reports are not held together) and an empty frame is returned.
    `drafts`: the documents are drafts checked (bilans check), not a store's reports (see _series_frames).
    `series_rows`: the series.break rows of the reports whose series are redone (series.SeriesPlan: an
    incremental build copies those of the others), in place of every series of the organismes.
    `stored_figures`: a table of `con` holding points.report_figures_sql() of every report (a build's,
    points.store_figures), read by the cross-report checks instead of computing them.
    `checks`: where GE judges the batches (pipelines/sidecar.py: a build's process aside; by default
    this process), each batch sent as soon as it is made (`judge_batch`).
    `echo`: where the progress of the checks of a long corpus is said, batch by batch judged
    (« contrôles : 45/203 lots de rapports (22 %), 120,4 s »)."""
    full = None if document_ids is None else set(document_ids)
    cross = None if full is None else full | set(cross_only or ())
    wanted = None if cross is None else cross | set(series_only or ())
    found: list[pd.DataFrame] = []
    columns = STORED_COLUMNS if with_scope else FINDING_COLUMNS
    # GE's result parts go to the store batch by batch, as the findings: those of 1 600 reports are
    # not held together (`_gx_parts_of_run`: this run's, from which gx_dir is written)
    part_tables = [(PARTS, False)] * keep_parts + [(_RUN_PARTS, True)] * (gx_dir is not None)
    con.execute(f"DROP TABLE IF EXISTS {_RUN_PARTS}")
    for table, temporary in part_tables:
        _insert_parts(con, [], table, temporary)

    def keep(answer: Callable[[], tuple[pd.DataFrame, list[dict]]]) -> None:
        rows, parts = answer()
        for table, temporary in part_tables:
            _insert_parts(con, parts, table, temporary)
        if sink is None:
            found.append(rows)
        elif not rows.empty:
            sink(_enrich(con, rows)[columns])
        progress.tick()

    checks = checks or InProcess()
    try:
        orgs = _organismes(con, wanted)
        long = sum(map(len, orgs.values())) >= PROGRESS_FROM
        progress = Progress(_lots(orgs, full, cross, batch), echo if long else None, "contrôles", "lots de rapports",
                            minimum=1)
        waiting: deque = deque()  # the batches sent to GE, judged in order
        for frames in _all_frames(con, orgs, full, cross, wanted, batch, drafts, series_rows, stored_figures):
            waiting.append(checks.submit(judge_batch, frames, bool(part_tables)))
            if len(waiting) >= AHEAD:
                keep(waiting.popleft())
        while waiting:
            keep(waiting.popleft())
        if gx_dir is not None:
            from pipelines.validate.suites import refresh

            refresh(con, Path(gx_dir), _RUN_PARTS)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_RUN_PARTS}")
    found = [f for f in found if not f.empty]
    return _enrich(con, pd.concat(found, ignore_index=True) if found else pd.DataFrame())[columns]


_RUN_PARTS = "_gx_parts_of_run"
# Batches of check frames made before the first of them is judged: the frames read DuckDB only (no
# finding, no result part), so that they are the same whenever they are made. A build's process aside
# (pipelines/sidecar.py) judges a batch while the next is made; in this process, the frames of a changed
# organisme are made (its report, then the curated series it compares: seconds in DuckDB) while Great
# Expectations is imported in a thread (flow.import_checks_meanwhile), instead of waiting for it first.
# At most AHEAD batches are held at once.
AHEAD = 2


def judge_batch(frames: dict[str, pd.DataFrame], with_parts: bool) -> tuple[pd.DataFrame, list[dict]]:
    """GE's verdicts on a batch of check frames (suite -> frame): the check rows flagged (suites.run_suites)
    and, with `with_parts`, GE's result of each suite cut into parts (stored_results.part_rows). Runs
    where the build runs Great Expectations (findings_in_batches' `checks`)."""
    from pipelines.validate.suites import run_suites

    rows, by_suite = run_suites(frames, keep_results=True)
    return rows, [p for name, result in by_suite.items() if with_parts for p in part_rows(name, frames[name], result)]


# Reports from which the checks say their progress (as the reading of the documents does).
PROGRESS_FROM = 40


def _lots(orgs: dict[str, list[str]], full: set | None, cross: set | None, batch: int) -> int:
    """How many frame dicts `_all_frames` yields: per organisme its reports' own batches and its
    cross-report batches, then one of every organisme's series."""
    def batches(ids: list[str], kept: set | None) -> int:
        return -(-sum(1 for i in ids if kept is None or i in kept) // batch)

    return sum(batches(ids, full) + batches(ids, cross) for ids in orgs.values()) + bool(orgs)


def _all_frames(con, orgs: dict[str, list[str]], full: set | None, cross: set | None, wanted: set | None,
                batch: int, drafts: bool, series_rows: list[dict] | None,
                stored_figures: str | None = None) -> Iterator[dict[str, pd.DataFrame]]:
    """The check frames of findings_in_batches, batch after batch, in the order the suites judge them:
    per organisme its reports' own checks then its cross-report checks, then every organisme's series."""
    for ids in orgs.values():
        mine = [i for i in ids if full is None or i in full]
        for start in range(0, len(mine), batch):
            yield _report_frames(con, mine[start:start + batch])
        targets = [i for i in ids if cross is None or i in cross]
        if targets:
            yield from _organisme_frames(con, _compared(con, ids, targets), targets, batch, stored_figures)
    if orgs:
        series = _series_frames(con, None if wanted is None else list(orgs), drafts, series_rows)
        yield _finish({**_empty_frames(), **series}, {}, None if wanted is None else sorted(wanted))


def _insert_parts(con, parts: list[dict], table: str, temporary: bool = False) -> None:
    """Add result parts (stored_results.part_rows) to `table` of `con`, created when absent (a store
    built before the parts were kept)."""
    con.execute(f'CREATE {"TEMPORARY " if temporary else ""}TABLE IF NOT EXISTS "{table}" ({PARTS_COLUMNS})')
    if not parts:
        return
    con.register("_parts", pd.DataFrame(parts, columns=["suite", "document_id", "scope", "n_rows", "part"]))
    try:
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _parts')
    finally:
        con.unregister("_parts")


def _report_frames(con, chunk: list[str]) -> dict[str, pd.DataFrame]:
    """The check frames of the rules that read one report at a time, for the reports `chunk`."""
    from pipelines.validate.text import table_figures

    store = load(con, chunk)
    frames = _document_frames(store, _lignes(con, chunk), table_figures(store))
    return _finish({**_empty_frames(), **frames}, _captions(store), chunk)


def _organisme_frames(con, ids: list[str], targets: list[str], batch: int = BATCH,
                      stored_figures: str | None = None) -> Iterator[dict[str, pd.DataFrame]]:
    """The check frames of the cross-report rules for the reports `targets`, against every report
    `ids` of their organisme, `batch` reports of `targets` at a time (one frame dict per batch, as
    GE judges them): the curated series of these reports compared in DuckDB, the figures under a
    year read from DuckDB (vintages.stored_dated_figures) for the tables the raw labels may pair, the
    dated prose figures (no cell, no table is loaded). The frames of the batches are, row for row,
    those of one batch of every target (vintages.cross_report_batches). `stored_figures`: see
    findings_in_batches."""
    from pipelines.validate.vintages import cross_report_batches, stored_dated_figures

    light = _prose_store(con, ids)
    batches = cross_report_batches(con, light, lambda curated: stored_dated_figures(con, ids, curated), ids,
                                   targets, batch, _OwnYearProse(con, light), stored_figures)
    for chunk, cross in batches:
        frames = _scoped({name: frame(rows) for name, rows in cross.items()}, SCOPE_CROSS)
        yield _finish({**_empty_frames(), **frames}, _stored_captions(con, frames), chunk)


def _compared(con, ids: list[str], targets: list[str]) -> list[str]:
    """The reports of `ids` (one organisme) the cross-report checks of `targets` read: the targets and
    the reports of a year before the latest target's (a check compares a report with earlier years
    only, vintages.reached_by_changes); all of them when a year is unknown."""
    if len(targets) == len(ids):
        return ids
    years = dict(con.execute("SELECT document_id, report_year FROM documents WHERE list_contains(?::VARCHAR[], "
                             "document_id)", [ids]).fetchall())
    if any(years.get(i) is None for i in ids):
        return ids
    last, mine = max(years[i] for i in targets), set(targets)
    return [i for i in ids if i in mine or years[i] < last]


def _prose_store(con, ids: list[str]) -> Store:
    """What the prose rules across reports (vintages.narrative_checks) read of the reports `ids`: the
    reports, and their prose figures that may be compared (vintages.comparable_prose), read by
    slices and held without their sentence; no table, no cell."""
    from pipelines.validate.vintages import comparable_prose

    where = "WHERE list_contains(?::VARCHAR[], document_id)"
    docs = {d["document_id"]: d for d in _records(con, f"SELECT * FROM documents {where}", [ids])}
    cur = con.execute(f"""
        SELECT document_id, line, value, unit, exercice, text, table_id, parse_status, sujet, mesure, sentence
        FROM narratifs {where} AND parse_status = 'ok' AND value IS NOT NULL AND exercice IS NOT NULL
             AND table_id IS NULL AND sujet IS NOT NULL AND mesure IS NOT NULL""", [ids])
    names = [d[0] for d in cur.description]
    kept = comparable_prose(dict(zip(names, row, strict=True))
                            for rows in iter(lambda: cur.fetchmany(10000), []) for row in rows)
    # sorted here, once the sentences are dropped: DuckDB would sort them with the figures
    return Store(docs, [], {}, sorted(kept, key=lambda n: (n["document_id"], n["line"])))


class _OwnYearProse:
    """What vintage.stale of the prose (vintages.stale_checks) compares for a batch of reports: a
    Store of these reports and of every report of the year before theirs (`_with_year_before`), with
    their prose figures of their report's own year only, read from DuckDB. The reports read for a
    batch are kept for the next one, which mostly needs the same year before."""

    def __init__(self, con, store: Store) -> None:
        self.con, self.documents, self.kept = con, store.documents, {}

    def __call__(self, chunk: list[str]) -> Store:
        from pipelines.validate.vintages import OwnYearProse

        docs = self.documents
        years = {(docs[i]["org"], docs[i]["report_year"] - 1) for i in chunk if docs[i]["report_year"] is not None}
        wanted = sorted({*chunk, *(i for i, d in docs.items() if (d["org"], d["report_year"]) in years)})
        missing = [i for i in wanted if i not in self.kept]
        self.kept = {i: self.kept.get(i, []) for i in wanted}
        for n in _slotted(self.con, OwnYearProse, """
                SELECT n.document_id, n.line, n.section, n.label, n.value, n.unit, n.exercice, n.text, n.table_id,
                       n.mesure, n.parse_status
                FROM narratifs n JOIN documents d USING (document_id)
                WHERE list_contains(?::VARCHAR[], n.document_id) AND n.parse_status = 'ok' AND n.value IS NOT NULL
                  AND n.exercice = d.report_year
                ORDER BY n.document_id, n.line""", [missing]) if missing else ():
            self.kept[n["document_id"]].append(n)
        return Store({i: docs[i] for i in wanted}, [], {}, [n for i in wanted for n in self.kept[i]])


def _records(con, query: str, params: list) -> list[dict]:
    cur = con.execute(query, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _slotted(con, kind: type, query: str, params: list) -> list:
    """The rows of `query` as `kind` records (vintages._Slotted: its slots are the query's columns, in
    order), read by slices; the strings repeated from row to row (a report's id, its sections, units,
    labels, the figures its copies print again) held once. _OwnYearProse reads every report of the
    year before a batch's: an organisme printing a thousand reports a year holds all their figures."""
    cur = con.execute(query, params)
    names = tuple(d[0] for d in cur.description)
    if names != kind.__slots__:
        raise ValueError(f"{kind.__name__} : colonnes {names}")
    same: dict = {}
    return [kind([same.setdefault(v, v) if isinstance(v, str) else v for v in row])
            for rows in iter(lambda: cur.fetchmany(10000), []) for row in rows]


def _stored_captions(con, frames: dict[str, pd.DataFrame]) -> dict[str, str | None]:
    """table_id -> caption of the tables the check rows name."""
    tables = sorted({t for df in frames.values() for t in df["table_id"].dropna().unique()})
    rows = con.execute("SELECT table_id, caption FROM tables WHERE list_contains(?::VARCHAR[], table_id)",
                       [tables]).fetchall()
    return dict(rows)


def _empty_frames() -> dict[str, pd.DataFrame]:
    return {"totaux": frame([])}


def _organismes(con, wanted: set[str] | None) -> dict[object, list[str]]:
    """organisme -> document_id of its every report, for each organisme holding a wanted report
    (every organisme when `wanted` is None), in document order."""
    rows = con.execute("SELECT document_id, org FROM documents ORDER BY document_id").fetchall()
    by_org: dict[object, list[str]] = {}
    for document_id, org in rows:
        by_org.setdefault(org, []).append(document_id)
    return {org: ids for org, ids in by_org.items() if wanted is None or wanted & set(ids)}


def _enrich(con, found: pd.DataFrame, lookups: DraftLookups | None = None) -> pd.DataFrame:
    """The found check rows as findings (STORED_COLUMNS): the document's path, organisme and year,
    the table's caption, the source line, its page and place, the row label printed on another line,
    and the section around the line; read from DuckDB for the documents and tables found only, or
    from `lookups` (the same, from the documents' rows)."""
    if found.empty:
        return pd.DataFrame(columns=STORED_COLUMNS)
    docs, tables, src, labels = lookups.of(found) if lookups is not None else _lookups(con, found)
    return _enriched(found, docs, tables, src, labels)


def _lookups(con, found: pd.DataFrame) -> tuple[dict, dict, dict, dict]:
    """(document_id -> (path, org, report_year); table_id -> (caption, section, family); (document_id,
    line) -> (text, page, place, section number, section title); (table_id, line) -> (label line, its
    text)) for the found rows, read from DuckDB."""
    # an execute first: it closes a result an earlier check left half read, which `register` refuses
    docs = _by_key(con.execute("SELECT document_id, path, org, report_year FROM documents "
                               "WHERE list_contains(?::VARCHAR[], document_id)",
                               [found["document_id"].dropna().unique().tolist()]).fetchall(), 1)
    con.register("_found", found[["document_id", "table_id", "line"]].drop_duplicates())
    try:
        tables = _by_key(con.execute("SELECT table_id, caption, section, family FROM tables "
                                     "WHERE table_id IN (SELECT table_id FROM _found)").fetchall(), 1)
        src = _by_key(con.execute("""
            SELECT DISTINCT w.document_id, w.line, l.text AS source_line, l.page, l.place,
                   s.number AS section_number, s.title AS section_title
            FROM (SELECT DISTINCT document_id, line FROM _found) w
            LEFT JOIN lignes l ON l.document_id = w.document_id AND l.line = w.line
            ASOF LEFT JOIN sections s ON s.document_id = w.document_id AND w.line >= s.line""").fetchall(), 2)
        labels = _by_key(_label_lines(con), 2)
    finally:
        con.unregister("_found")
    return docs, tables, src, labels


def _enriched(found: pd.DataFrame, docs: dict, tables: dict, src: dict, labels: dict) -> pd.DataFrame:
    # one look-up per finding (documents, tables, lines and labels are unique by their key), and the
    # frame built once from Python lists: pandas' column assignments, sort and `where` over a few
    # hundred rows cost more than the rest of the enrichment (a re-check of --watch)
    col = {c: found[c].astype(object).tolist() for c in found.columns}  # the scalars `astype(object)` gives
    ids, tids = col["document_id"], col["table_id"]
    where = [(d, _none(n)) for d, n in zip(ids, col["line"], strict=True)]
    d_, t_ = [docs.get(i, (None,) * 3) for i in ids], [tables.get(t, (None,) * 3) for t in tids]
    s_ = [src.get(w, (None,) * 5) for w in where]
    l_ = [labels.get((t, w[1]), (None, None)) for t, w in zip(tids, where, strict=True)]
    col["path"], col["org"], col["report_year"] = _columns(d_, 3)
    caption, section, table_family = _columns(t_, 3)
    col["caption"] = caption
    col["source_line"], page, col["place"], number, title = _columns(s_, 5)
    label_line, col["label_source"] = _columns(l_, 2)
    col["page"], col["label_line"] = ([None if _missing(n) else int(n) for n in x] for x in (page, label_line))
    # a year is an integer (store: INTEGER), whatever the dtype the rule's frame gave it (float beside a NaN)
    col["exercice"] = [None if _missing(n) else int(n) for n in col.get("exercice", [None] * len(ids))]
    col["section"] = [  # the table's section, else the last heading above the line
        s if isinstance(s, str) and s else (f"{n} {t}".strip() if isinstance(t, str) else None)
        for s, n, t in zip(section, number, title, strict=True)]
    col["family"] = [f if not _missing(f) else tf  # the check's, else the table's
                     for f, tf in zip(col.get("family", [None] * len(ids)), table_family, strict=True)]
    col["table"] = [c if c is not None else t for c, t in zip(caption, tids, strict=True)]
    col["document"] = col["path"]
    # by document, line (none last), severity and rule; equal keys keep their order (pandas' stable sort)
    keys = list(zip(*([_sort_key(v) for v in values] for values in (
        ids, col["line"], [SEVERITY_ORDER.get(s) for s in col["severity"]], col["rule"])), strict=True))
    order = sorted(range(len(ids)), key=keys.__getitem__)
    return pd.DataFrame({c: [_none(col[c][i]) for i in order] if c in col else [None] * len(order)
                         for c in STORED_COLUMNS}, columns=STORED_COLUMNS, dtype=object)


def _sort_key(value) -> tuple:
    """Missing values last, as pandas sorts them."""
    return (1, 0) if _none(value) is None else (0, value)


def _none(value):
    """None for what pandas counts missing (None, NaN, NA), else the value."""
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else value


def _by_key(rows: list[tuple], width: int) -> dict:
    """Rows of a query as key (its first `width` columns; one column: itself) -> the other columns."""
    return {(r[0] if width == 1 else r[:width]): r[width:] for r in rows}


def _columns(rows: list[tuple], n: int) -> list[list]:
    """Tuples of `n` values as `n` lists (columns)."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(n)]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _label_lines(con) -> list[tuple]:
    """(table, line of a value) -> line and text of its row label, when the value is printed on
    another line (PDF text: « TOTAL » nine lines above « 1282 agents »): the report quotes both.
    For the tables of the registered relation `_found` (table_id)."""
    return con.execute("""
        SELECT v.table_id, v.line, min(l.line) AS label_line, any_value(t.text) AS label_source
        FROM cells v JOIN cells l ON l.table_id = v.table_id AND l.row = v.row AND l.role = 'label'
        JOIN tables d ON d.table_id = v.table_id
        JOIN lignes t ON t.document_id = d.document_id AND t.line = l.line
        WHERE v.role IN ('value', 'subtotal', 'total') AND v.line <> l.line
          AND v.table_id IN (SELECT table_id FROM _found)
        GROUP BY v.table_id, v.line HAVING count(DISTINCT l.line) = 1""").fetchall()


class DraftLookups:
    """What `_lookups` and `_lignes` read from DuckDB, read from the documents' rows (flow.Read.rows)
    and their Store (`frames.from_rows`, beside other reports): the same answers, for documents that
    are not written (a --watch re-check whose cross-report frames are kept). Lines of text and sections
    are those of `rows` only, as the session's store holds no other report's lines."""

    def __init__(self, store: Store, rows: dict[str, list[dict]]):
        self.store = store
        self.rows = rows
        self.lines = {(r["document_id"], r["line"]): r for r in rows.get("lignes", [])}

    def lignes(self) -> list[dict]:
        """`_lignes` of the documents: (document_id, line, text), in their order."""
        return [dict(document_id=r["document_id"], line=r["line"], text=r.get("text"))
                for r in self.rows.get("lignes", [])]

    def of(self, found: pd.DataFrame) -> tuple[dict, dict, dict, dict]:
        """`_lookups` of the found rows."""
        ids = set(found["document_id"].dropna().tolist())
        docs = {i: (d["path"], d["org"], d["report_year"]) for i, d in self.store.documents.items() if i in ids}
        tids = set(found["table_id"].dropna().tolist())
        table_of = {t["table_id"]: t for t in self.store.tables if t["table_id"] in tids}
        tables = {i: (t["caption"], t["section"], t["family"]) for i, t in table_of.items()}
        src = {}
        for d, n in set(zip(found["document_id"].tolist(), found["line"].tolist(), strict=True)):
            n = _none(n)
            line = self.lines.get((d, n)) if n is not None else None
            heading = self._section(d, n) if n is not None else None
            src[(d, n)] = ((line.get("text"), line.get("page"), line.get("place")) if line else (None,) * 3) \
                + ((heading.get("number"), heading.get("title")) if heading else (None, None))
        return docs, tables, src, self._labels(table_of)

    def _section(self, document_id: str, line) -> dict | None:
        """The last section of the document starting at or above `line` (the ASOF join of `_lookups`)."""
        if not hasattr(self, "_sections"):
            self._sections: dict[str, list[dict]] = {}
            for s in sorted((s for s in self.rows.get("sections", []) if s.get("line") is not None),
                            key=lambda s: s["line"]):
                self._sections.setdefault(s["document_id"], []).append(s)
        starts = self._sections.get(document_id, [])
        at = bisect.bisect_right([s["line"] for s in starts], line)
        return starts[at - 1] if at else None

    def _labels(self, tables: dict[str, dict]) -> dict:
        """`_label_lines` of the tables found: (table_id, line of a value) -> (line, text) of its row
        label printed on one other line, a line of the documents' text."""
        out = {}
        for tid, t in tables.items():
            cells = self.store.table_cells(tid)
            label_lines: dict[int, set] = {}
            for c in cells:
                if c["role"] == "label" and c["line"] is not None and (t["document_id"], c["line"]) in self.lines:
                    label_lines.setdefault(c["row"], set()).add(c["line"])
            found: dict = {}
            for v in cells:
                if v["role"] in VALUE_ROLES and v["line"] is not None:
                    found.setdefault(v["line"], set()).update(n for n in label_lines.get(v["row"], ()) if n != v["line"])
            for line, labels in found.items():
                if len(labels) == 1:
                    (n,) = labels
                    out[(tid, line)] = (n, self.lines[(t["document_id"], n)].get("text"))
        return out


def write_findings(con, df: pd.DataFrame) -> int:
    if df.empty:
        return 0
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'findings'").fetchall()}
    cols = [c for c in STORED_COLUMNS if c in existing and c in df.columns]
    frame_ = df[cols].copy()
    frame_["line"] = frame_["line"].astype("Int64")
    for c in ("report_year", "exercice", "page", "label_line"):
        if c in frame_:
            frame_[c] = pd.to_numeric(frame_[c], errors="coerce").astype("Int64")
    con.register("_findings", frame_)
    con.execute(f'INSERT INTO findings ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM _findings')
    con.unregister("_findings")
    return len(frame_)


def validate_store(con, gx_dir: Path | None = None) -> int:
    """Run all rule families on every document of the store and fill `findings` (and, with `gx_dir`,
    write GE's results and Data Docs there, from the store's result parts, made again)."""
    from pipelines.fingerprints import checks_version

    con.execute("DELETE FROM findings")
    con.execute(f"DROP TABLE IF EXISTS {PARTS}")
    n = write_findings(con, findings_in_batches(con, with_scope=True, keep_parts=True))
    con.execute("UPDATE documents SET checks_version = ?", [checks_version()])  # checked: see bilans report
    if gx_dir is not None:
        from pipelines.validate.suites import refresh

        refresh(con, Path(gx_dir))
    return n
