"""Le flux : extraction -> curation -> validation, dans une connexion DuckDB donnée.

One function, `run_stages`, runs the stages for a list of sources into a connection whose
schema exists: `bilans build` over the manifest into a new store (pipelines/build.py),
`bilans check` over drafts into an in-memory store that holds the other reports of the same
organismes (pipelines/check.py). validate/ only computes findings from a connection.

Memory stays flat with the corpus: a document is extracted and curated by a worker (or in
process for a few), travels back as rows, and is written in batches of `BATCH` documents;
nothing holds the whole corpus in Python. With `previous` (the store being replaced), a
document whose bytes, reader version, organisme and year are unchanged is not read again: its
rows are copied from there, and so are its findings made by the same checks — all of them when
its organisme did not change, else those the change cannot reach (findings.scope: « rapport »,
and « entre_rapports » for a report no later than the earliest one changed or that no change
reaches, vintages.reached_by_changes), the others being redone (see `_validation_scope`,
`_cross_reach`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.errors import UnusableInput
from pipelines.extract import extract_document
from pipelines.extract.records import document_records
from pipelines.fingerprints import checks_version, reader_version
from pipelines.terminal import Progress

BATCH = 16  # documents per insert: the memory of a build is that of a batch, not of the corpus
PARALLEL_FROM = 12  # a worker process costs ~0.3 s to start: a few documents are read in process
# Tables whose rows belong to one document (documents_refuses and findings are handled apart).
DOCUMENT_TABLES = ("documents", "sections", "lignes", "tables", "cells", "narratifs")


@dataclass(frozen=True)
class Source:
    """A document to read: org and year None are inferred from its text; `shown` is the path the
    store and the findings quote (a path relative to the project, or the path as given)."""

    path: Path
    org: str | None = None
    report_year: int | None = None
    document_id: str | None = None
    title: str | None = None
    shown: str | None = None


@dataclass
class Read:
    """One document once extracted and curated, as the rows of every store table it feeds;
    or its one-line refusal."""

    source: Source
    document_id: str | None = None
    org: str | None = None
    report_year: int | None = None
    rows: dict[str, list[dict]] = field(default_factory=dict)
    n_tables: int = 0
    unmapped: list[tuple[str, str | None]] = field(default_factory=list)
    unknown: list[tuple[str, str, str]] = field(default_factory=list)
    blank: bool = False
    refusal: str | None = None


@dataclass
class Outcome:
    """What a run of the stages did: documents (document_id, org, report_year, path, n_tables,
    reused) in source order, refusals (rows of `documents_refuses`), tables of no family
    (table_id, caption), labels absent from the referentiels, findings of the validated scope."""

    documents: list[dict] = field(default_factory=list)
    refusals: list[dict] = field(default_factory=list)
    unmapped: list[tuple[str, str | None]] = field(default_factory=list)
    unknown: list[tuple[str, str, str]] = field(default_factory=list)
    findings: pd.DataFrame | None = None
    n_findings: int = 0

    @property
    def reused(self) -> int:
        return sum(d["reused"] for d in self.documents)




def sha256_of(path: Path) -> str | None:
    """The sha256 of the file at `path` (hex), None when it cannot be read. A build asks it twice of every
    report (seed_plan, then run_stages): the digest is kept for the file as it stands (device, inode,
    size and modification time), until `forget_digests` (each build starts with it: a file rewritten
    within one tick of the clock, at the same size, is not taken for the one digested before)."""
    try:
        st = os.stat(path)
        return _digest(os.fspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        return None


def forget_digests() -> None:
    _digest.cache_clear()


@functools.lru_cache(maxsize=8192)
def _digest(path: str, *stat: int) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# ---------------------------------------------------------------- extraction and curation


def read_one(source: Source, keep_going: bool = True) -> Read:
    """Extract and curate one document (in a worker process for a corpus). An unusable document
    is its refusal with `keep_going`, else raises UnusableInput."""
    from pipelines.curate import curate_document
    from pipelines.curate.referentiels import load

    try:
        try:
            doc = extract_document(source.path, source.org, source.report_year, source.document_id)
        except UnicodeDecodeError as exc:  # the reader should have said so; never a traceback
            raise UnusableInput(f"{source.path} : encodage illisible ({exc.reason})") from exc
    except UnusableInput as exc:
        if not keep_going:
            raise
        return Read(source, refusal=str(exc))
    doc.title = source.title or doc.title
    doc.path = source.shown or str(source.path)
    refs = load()
    refs.unknown.clear()  # the referentiels are cached per process: this document's labels only
    curated, unmapped = curate_document(doc, refs)
    rows = document_records(doc)  # after curation, which gives each table its family
    rows["documents"][0]["reader_version"] = reader_version()
    for family, family_rows in curated.items():
        rows.setdefault(family, []).extend(family_rows)
    return Read(source, doc.document_id, doc.org, doc.report_year, rows, len(doc.tables),
                [(t.table_id, t.caption) for t in unmapped], sorted(refs.unknown),
                blank=not any(line.strip() for line in doc.lines))


def _read_kept(source: Source) -> Read:
    return read_one(source, keep_going=True)


def _read_strict(source: Source) -> Read:
    return read_one(source, keep_going=False)


def read_all(sources: list[Source], workers: int | None = None, keep_going: bool = True) -> Iterator[Read]:
    """Read every source, in order, one at a time; in worker processes for a corpus."""
    one = _read_kept if keep_going else _read_strict
    workers = workers or (os.cpu_count() or 1)
    if len(sources) < PARALLEL_FROM or workers == 1:
        yield from map(one, sources)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(one, sources, chunksize=4)


# ---------------------------------------------------------------- writing


def insert(con, table: str, rows: list[dict], columns: list[str] | None = None) -> None:
    """Append rows (dicts) to a store table; keys the table lacks are not stored. `columns`: the
    table's columns, when the caller knows them (a query less per table)."""
    if not rows:
        return
    columns = columns or [d[0] for d in con.execute(f'SELECT * FROM "{table}" LIMIT 0').description]
    present = set().union(*rows)
    kept = [c for c in columns if c in present]  # extra keys of a shaper are not stored
    try:  # column by column into Arrow: a third of the time of a pandas frame (--watch re-checks)
        frame = pa.table({c: pa.array([r.get(c) for r in rows]) for c in kept})
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column of mixed types: pandas keeps it as objects
        frame = pd.DataFrame(rows)[kept]
    # read by DuckDB's replacement scan (the local name `_new_rows`): half the time of register + unregister
    _new_rows = frame  # noqa: F841
    con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _new_rows')


def flush(con, batch: list[Read], columns: dict[str, list[str]] | None = None) -> None:
    """Write the rows of `batch` and empty it; `columns`: table -> its columns, when known."""
    tables: dict[str, list[dict]] = {}
    for read in batch:
        for table, rows in read.rows.items():
            tables.setdefault(table, []).extend(rows)
    for table, rows in tables.items():
        insert(con, table, rows, (columns or {}).get(table))
    batch.clear()


# ---------------------------------------------------------------- reuse of the previous store

# Tables a build computes from the others, beside those of store.SCHEMA: the vintages of the metrics
# (metrics.create_metric_views) and the figures the cross-report checks compare (points.STORED_FIGURES).
DERIVED_TABLES = ("metriques_millesimes", "chiffres_comparables")
# The new store starts as a byte copy of the previous one (`seed_plan`) when it keeps at least this share
# of its documents (else deleting most of the copy costs more than copying the rest row by row)...
SEED_KEPT = 0.5
# ...and at most this share of the previous store's blocks is free (or at most SEED_SLACK_MB of them: a
# small store rewrites most of its few blocks at each build): a copy keeps the free blocks of the rows
# deleted build after build; past it the store is written anew, compact (DuckDB has no VACUUM that gives
# space back). A store just built has about a fifth of its blocks free.
SEED_FREE = 0.4
SEED_SLACK_MB = 16


def seed_plan(previous: Path | None, sources: list[Source]) -> bool:
    """Whether the store replacing `previous` may start as a byte copy of it (store.atomic_store's
    seed; run_stages then deletes what changed): `previous` has the tables of this version (same
    columns, types and keys; no other table but DERIVED_TABLES), at most SEED_FREE of its blocks (or
    SEED_SLACK_MB) are free, and at least SEED_KEPT of its documents are unchanged in `sources`. False
    for a store that cannot be read: the build reads everything, as without it."""
    if previous is None:
        return False
    from pipelines.store import create_schema

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_sql_string(str(Path(previous).resolve()))} AS previous (READ_ONLY)")
        create_schema(con)
        if not _same_schema(con):
            return False
        known = _previous_fingerprints(con)
        total, free, block = con.execute("SELECT total_blocks, free_blocks, block_size FROM pragma_database_size() "
                                         "WHERE database_name = 'previous'").fetchone()
    except duckdb.Error:
        return False
    finally:
        con.close()
    kept = sum(_reusable(s, known) for s in sources)
    compact = free <= SEED_FREE * total or free * block <= SEED_SLACK_MB * 2**20
    return bool(known) and kept >= SEED_KEPT * len(known) and compact


def _same_schema(con) -> bool:
    """Whether the store attached as « previous » to `con` has the tables `con` has (store.create_schema),
    with the same columns, types and keys, and no other table but DERIVED_TABLES."""
    from pipelines.store import SCHEMA

    def tables(db: str) -> set[str]:
        return {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                                          [db]).fetchall()}

    def shape(db: str) -> list[tuple]:
        names = sorted(SCHEMA)
        columns = con.execute("SELECT table_name, column_index, column_name, data_type FROM duckdb_columns() "
                              "WHERE database_name = ? AND list_contains(?, table_name) ORDER BY ALL",
                              [db, names]).fetchall()
        keys = con.execute("SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
                           "WHERE database_name = ? AND list_contains(?, table_name) ORDER BY ALL",
                           [db, names]).fetchall()
        return columns + keys

    here = con.execute("SELECT current_database()").fetchone()[0]
    return tables("previous") - set(DERIVED_TABLES) == tables(here) and shape("previous") == shape(here)


def _previous_fingerprints(con) -> dict[str, tuple]:
    try:
        rows = con.execute("SELECT document_id, sha256, reader_version, org, report_year, checks_version, path "
                           "FROM previous.documents").fetchall()
    except duckdb.Error:  # a store from before reader_version: nothing is reused
        return {}
    if not _holds_every_column(con):  # a store changed by hand: its rows are read again
        return {}
    try:
        con.execute("SELECT 1 FROM previous.gx_parts LIMIT 0")
    except duckdb.Error:  # a store from before GE's result parts: its findings are made again
        rows = [(*r[:5], None, r[6]) for r in rows]
    return {r[0]: tuple(r[1:]) for r in rows}


def _copied_tables() -> tuple[str, ...]:
    from pipelines.store import CURATED_FAMILIES

    return (*DOCUMENT_TABLES, *CURATED_FAMILIES)


def _holds_every_column(con) -> bool:
    """True when every table of the previous store that rows are copied from has the columns this
    version writes (a column dropped by hand: nothing can be copied; one added is left out)."""
    from pipelines.store import column_names

    held: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                     "WHERE database_name = 'previous'").fetchall():
        held.setdefault(table, set()).add(column)
    return all(set(column_names(t)) <= held.get(t, set()) for t in _copied_tables())


def _reusable(source: Source, known: dict[str, tuple]) -> bool:
    """Same document id, bytes, reader version, and the organisme and year the manifest gives
    (a document whose org or year is inferred is always read again)."""
    before = known.get(source.document_id or "")
    if before is None or source.org is None or source.report_year is None:
        return False
    return before[:4] == (sha256_of(source.path), reader_version(), source.org, source.report_year)


def _copy_previous(con, ids: list[str], sources: dict[str, Source]) -> None:
    """Every row of the documents `ids` from the attached previous store, with the title and path
    the manifest gives now."""
    from pipelines.store import column_names

    con.register("_reused", pd.DataFrame({"document_id": ids}))
    try:
        for table in _copied_tables():
            # the columns this version writes, by name: a column a user added to the store is left out
            cols = ", ".join(f'x."{c}"' for c in column_names(table))
            if table == "cells":
                source = (f"SELECT {cols} FROM previous.cells x JOIN previous.tables t USING (table_id) "
                          "WHERE t.document_id IN (SELECT document_id FROM _reused)")
            else:
                source = f'SELECT {cols} FROM previous."{table}" x WHERE document_id IN (SELECT document_id FROM _reused)'
            con.execute(f'INSERT INTO "{table}" BY NAME {source}')
    finally:
        con.unregister("_reused")
    _show_as_now(con, ids, sources)


def _show_as_now(con, ids: list[str], sources: dict[str, Source]) -> None:
    """The title and path the manifest gives now to the documents `ids` copied from the previous store
    (only the rows that differ are rewritten: most often none)."""
    shown = pd.DataFrame({"document_id": ids, "path": [sources[i].shown or str(sources[i].path) for i in ids],
                          "title": [sources[i].title for i in ids]})
    con.register("_shown", shown)
    try:
        con.execute("UPDATE documents d SET path = s.path, title = coalesce(s.title, d.title) "
                    "FROM _shown s WHERE d.document_id = s.document_id "
                    "AND (d.path IS DISTINCT FROM s.path OR d.title IS DISTINCT FROM coalesce(s.title, d.title))")
    finally:
        con.unregister("_shown")


# Keeps a row of a document table whose document is kept (a NULL document_id is not one).
_OF_KEPT = "coalesce({column} IN (SELECT document_id FROM _kept), false)"


def _prune_copy(con, ids: list[str], sources: dict[str, Source]) -> None:
    """`con` starts as a byte copy of the previous store (`seed_plan`): delete the rows of every
    document but `ids` (read again, or gone) in each document table and curated family, the findings
    and GE result parts of those documents (`_prune_findings` then drops those of `ids` that are redone),
    the rows no document owns that a build writes afresh (refusals, the publications' register and its
    findings, which build.keep_publications copies again; a table of SCHEMA not known here is emptied,
    as in a new store), and the views (create_views makes them again); then the title and path of
    today, as `_copy_previous`. The store then holds what `_copy_previous` would have copied."""
    from pipelines.store import CURATED_FAMILIES, SCHEMA

    with _kept(con, ids), _transaction(con):
        of_kept = _OF_KEPT.format(column="document_id")
        con.execute(f"DELETE FROM cells WHERE NOT coalesce(table_id IN (SELECT table_id FROM tables WHERE {of_kept}), "
                    "false)")
        owned = (*DOCUMENT_TABLES, *CURATED_FAMILIES, "findings", "gx_parts")
        for table in owned:
            if table != "cells":  # cells belong to their table, pruned above
                con.execute(f'DELETE FROM "{table}" WHERE NOT {of_kept}')
        for table in set(SCHEMA) - set(owned):
            con.execute(f'DELETE FROM "{table}"')
        for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                   "AND database_name = current_database()").fetchall():
            con.execute(f'DROP VIEW "{view}"')
        _show_as_now(con, ids, sources)


@contextlib.contextmanager
def _transaction(con):
    """The statements of the block in one transaction: one commit instead of one per statement (a
    tenth of a second for fifty views)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _prune_findings(con, kept: list[str], earlier: list[str], own: list[str], unreached: list[str]) -> int:
    """In a store pruned by `_prune_copy`: keep the findings and GE result parts `_validate` would
    copy (every one of `kept`, those of SCOPE_REPORT and SCOPE_CROSS of `earlier`, of SCOPE_REPORT of
    `own`, and series.break's of `unreached`, as `_copy_series`), quoting the path of today; delete the
    others, which are made again. Returns how many findings are kept."""
    from pipelines.validate import SCOPE_CROSS, SCOPE_REPORT

    keep = pa.table({"document_id": pa.array([*kept, *earlier, *own], pa.string()),
                     "scopes": pa.array([None] * len(kept) + [[SCOPE_REPORT, SCOPE_CROSS]] * len(earlier)
                                        + [[SCOPE_REPORT]] * len(own), pa.list_(pa.string()))})
    con.register("_gardes", keep)
    con.register("_series_gardees", pa.table({"document_id": pa.array(unreached, pa.string())}))
    try:
        with _transaction(con):
            for table, series in (("findings", "rule = 'series.break'"), ("gx_parts", "suite = 'series'")):
                con.execute(f'DELETE FROM "{table}" t WHERE NOT EXISTS (SELECT 1 FROM _gardes g WHERE g.document_id '
                            "= t.document_id AND (g.scopes IS NULL OR list_contains(g.scopes, t.scope))) "
                            f"AND NOT coalesce(t.scope = 'organisme' AND t.{series} "
                            "AND t.document_id IN (SELECT document_id FROM _series_gardees), false)")
            con.execute("UPDATE findings f SET document = d.path FROM documents d "
                        "WHERE f.document_id = d.document_id AND f.document IS DISTINCT FROM d.path")
    finally:
        con.unregister("_gardes")
        con.unregister("_series_gardees")
    return con.execute("SELECT count(*) FROM findings").fetchone()[0]


def _stored_unmapped(con, ids: list[str]) -> dict[str, list[tuple[str, str | None]]]:
    """document_id -> (table_id, caption) of its tables of no family, for the documents `ids` copied
    from the previous store (what their reading said when they were read)."""
    con.register("_reused", pd.DataFrame({"document_id": ids}))
    try:
        rows = con.execute("SELECT document_id, table_id, caption FROM tables WHERE family IS NULL AND document_id "
                           "IN (SELECT document_id FROM _reused) ORDER BY line_start, table_id").fetchall()
    finally:
        con.unregister("_reused")
    out: dict[str, list[tuple[str, str | None]]] = {}
    for document_id, table_id, caption in rows:
        out.setdefault(document_id, []).append((table_id, caption))
    return out


@contextlib.contextmanager
def _kept(con, ids: list[str]):
    """The documents `ids` as the relation `_kept` of `con`, for the block."""
    con.register("_kept", pd.DataFrame({"document_id": ids}))
    try:
        yield
    finally:
        con.unregister("_kept")


def _insert_kept(con, table: str, scopes: tuple[str, ...] | None) -> None:
    """Rows of the previous store's `table` for the documents `_kept` (of `scopes` only, when given)."""
    only = "" if scopes is None else " AND list_contains(?, scope)"
    con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM previous."{table}" '
                f"WHERE document_id IN (SELECT document_id FROM _kept){only}", [] if scopes is None else [list(scopes)])


def _copy_findings(con, ids: list[str], scopes: tuple[str, ...] | None = None) -> int:
    """Findings of unchanged documents made by the same checks (those of `scopes` only, when given),
    quoting the path of today. Returns how many were copied."""
    if not ids:
        return 0
    with _kept(con, ids):
        before = con.execute("SELECT count(*) FROM findings").fetchall()[0][0]
        _insert_kept(con, "findings", scopes)
        con.execute("UPDATE findings f SET document = d.path FROM documents d "
                    "WHERE f.document_id = d.document_id AND f.document_id IN (SELECT document_id FROM _kept)")
        return con.execute("SELECT count(*) FROM findings").fetchall()[0][0] - before


def _copy_parts(con, ids: list[str], scopes: tuple[str, ...] | None = None) -> None:
    """GE's result parts (stored_results.PARTS) of unchanged documents, as `_copy_findings` copies
    their findings: the stored results and Data Docs, their sum, then describe the whole store."""
    if ids:
        with _kept(con, ids):
            _insert_kept(con, "gx_parts", scopes)


# ---------------------------------------------------------------- the flow


def run_stages(con, sources: list[Source], *, validate: bool = True, write_findings: bool = False,
               keep_going: bool = True, workers: int | None = None, previous: Path | None = None,
               on_read: Callable[[Read], None] | None = None,
               before_checks: Callable[[object, Outcome], None] | None = None,
               echo: Callable[[str], None] | None = None, gx_dir: Path | None = None,
               seeded: bool = False, checks=None) -> Outcome:
    """Extract, curate and validate `sources` into `con` (a store whose schema exists).

    - keep_going: an unusable document becomes a refusal row (build) instead of raising
      UnusableInput (check); `on_read(read)` may refuse a read document by raising
      UnusableInput (a refusal like the others with keep_going);
      `before_checks(con, outcome)` runs once every document is written (check adds the other
      reports of the drafts' organismes there).
    - previous: a store whose unchanged documents are copied rather than read again; the
      documents of `con` and the refusals are written, not `documents_refuses` (the caller's).
    - seeded: `con` starts as a byte copy of `previous` (store.atomic_store's seed, when `seed_plan`
      says so): the rows of the documents not kept are deleted from it (`_prune_copy`) rather than
      those of the kept ones copied, for the same store.
    - validate: findings of every rule for the documents read by this run, and of the cross-report
      rules that a change may reach for the other documents of an organisme that changed; with
      write_findings they go to `findings`, together with the kept findings of the unchanged
      documents (`_validation_scope`).
    - echo: where the progress of a long corpus is said (None: silent).
    - gx_dir: where GE's results and Data Docs are written (stored_results.gx_dir of the store):
      with write_findings, those of the whole store (the sum of its result parts, kept and made,
      suites.refresh), else those of the checks made by this run; None: not written
      (`bilans build` writes them once the store is in place).
    - checks: where Great Expectations judges the check frames (pipelines/sidecar.py: `bilans build`'s
      process aside); None: in this process, imported in a thread meanwhile when few documents are read.
    """
    outcome = Outcome()
    known: dict[str, tuple] = {}
    if previous is not None:
        try:
            con.execute(f"ATTACH {_sql_string(str(Path(previous).resolve()))} AS previous (READ_ONLY)")
            known = _previous_fingerprints(con)
        except duckdb.Error:  # unreadable now (another version, damaged): everything is read again
            previous = None
    try:
        kept = {s.document_id for s in sources if known and _reusable(s, known)}
        reused = [s for s in sources if s.document_id in kept]
        fresh = [s for s in sources if s.document_id not in kept]
        by_id = {s.document_id: s for s in reused}
        if validate and checks is None and len(fresh) < PARALLEL_FROM:
            import_checks_meanwhile()
        if seeded:
            _prune_copy(con, list(by_id), by_id)
        elif reused:
            _copy_previous(con, list(by_id), by_id)
        unmapped = _read_into(con, fresh, outcome, keep_going, workers, on_read, echo)
        unmapped.update(_stored_unmapped(con, list(by_id)) if reused else {})
        outcome.unmapped = [t for s in sources for t in unmapped.pop(s.document_id, [])]
        outcome.unmapped += [t for tables in unmapped.values() for t in tables]  # a document whose reading gave another id
        for s in reused:
            org, year = known[s.document_id][2:4]
            outcome.documents.append({"document_id": s.document_id, "org": org, "report_year": year,
                                      "path": s.shown or str(s.path), "n_tables": None, "reused": True})
        if before_checks is not None:
            before_checks(con, outcome)
        from pipelines.curate.views import create_views

        with (_changed_reports(con, outcome, known if previous is not None and known else None) as changed,
              _transaction(con)):
            create_views(con, previous=None if changed is None else (None if seeded else "previous", changed))
        if validate:
            _validate(con, outcome, known, write_findings, gx_dir, seeded, checks, echo)
        else:  # copied documents said the checks of their old findings: this store has none
            con.execute("UPDATE documents SET checks_version = NULL")
            if seeded:
                con.execute("DELETE FROM findings")
                con.execute("DELETE FROM gx_parts")
            from pipelines.validate.points import STORED_FIGURES

            con.execute(f"DROP TABLE IF EXISTS {STORED_FIGURES}")  # the figures of the checks: made again
    finally:
        if previous is not None:
            con.execute("DETACH previous")
    return outcome


@contextlib.contextmanager
def _changed_reports(con, outcome: Outcome, known: dict[str, tuple] | None):
    """The (org, report_year) of the reports read by this run or gone from the previous store (whose
    fingerprints are `known`; None: no previous store, or one whose documents are unknown), as a
    relation of `con` named for the block; None without them. The derived tables of the other reports
    may be copied from the previous store (metrics.create_metric_views)."""
    if known is None:
        yield None
        return
    reused = {d["document_id"] for d in outcome.documents if d["reused"]}
    pairs = {(d["org"], d["report_year"]) for d in outcome.documents if not d["reused"]}
    pairs |= {(fp[2], fp[3]) for i, fp in known.items() if i not in reused}
    pairs_ = sorted(pairs, key=str)
    con.register("_rapports_changes", pa.table({"org": pa.array([o for o, _ in pairs_], pa.string()),
                                                "report_year": pa.array([y for _, y in pairs_], pa.int64())}))
    try:
        yield "_rapports_changes"
    finally:
        con.unregister("_rapports_changes")


_IMPORTING: list[threading.Thread] = []  # the thread of `import_checks_meanwhile`, once started


def import_checks_meanwhile() -> None:
    """Import the checks (Great Expectations: about 5 s) in a thread while the documents are copied
    and read: DuckDB releases the GIL, so an incremental build waits for the longer of the two, not
    for their sum. Not beside worker processes (a fork during an import would inherit its locks).
    Once per process: a second call does nothing."""
    if _IMPORTING or "pipelines.validate.suites" in sys.modules:
        return

    def target() -> None:
        with contextlib.suppress(Exception):  # the checks' own import says what went wrong
            import pipelines.validate.suites  # noqa: F401

    _IMPORTING.append(threading.Thread(target=target, name="import-ge", daemon=True))
    _IMPORTING[0].start()


def _read_into(con, sources, outcome: Outcome, keep_going, workers, on_read,
               echo) -> dict[str, list[tuple[str, str | None]]]:
    """Read `sources` into `con` and `outcome`; returns document_id -> its tables of no family."""
    unmapped: dict[str, list[tuple[str, str | None]]] = {}
    progress = Progress(len(sources), echo)
    batch: list[Read] = []
    for read in read_all(sources, workers, keep_going):
        progress.tick()
        if read.refusal is None and on_read is not None:
            read.refusal = _refused(on_read, read, keep_going)
        if read.refusal is not None:
            s = read.source
            outcome.refusals.append({"document_id": s.document_id, "org": s.org, "report_year": s.report_year,
                                     "path": s.shown or str(s.path), "message": read.refusal})
            continue
        outcome.documents.append({"document_id": read.document_id, "org": read.org,
                                  "report_year": read.report_year, "path": read.source.shown or str(read.source.path),
                                  "n_tables": read.n_tables, "reused": False})
        unmapped.setdefault(read.document_id, []).extend(read.unmapped)
        outcome.unknown += read.unknown
        batch.append(read)
        if len(batch) >= BATCH:
            flush(con, batch)
    flush(con, batch)
    return unmapped


def _refused(on_read, read: Read, keep_going: bool) -> str | None:
    """Why `on_read` refuses `read` (its UnusableInput), None when it accepts it; without keep_going
    the refusal is raised, as for a document that cannot be read at all."""
    try:
        on_read(read)
    except UnusableInput as exc:
        if not keep_going:
            raise
        return str(exc)
    return None


def _validate(con, outcome: Outcome, known: dict[str, tuple], write_findings: bool,
              gx_dir: Path | None = None, seeded: bool = False, checks=None,
              echo: Callable[[str], None] | None = None) -> None:
    """Findings of the documents read (every rule); the unchanged documents keep the findings of
    the previous store made by the same checks, except those a change in their organisme may reach
    (see `_validation_scope`), which are redone. `seeded`: `con` holds the previous store's findings
    (`_prune_copy`): those not kept are deleted before any is made, instead of the kept ones copied."""
    from pipelines.validate import SCOPE_CROSS, SCOPE_REPORT
    from pipelines.validate import findings_in_batches as findings
    from pipelines.validate import write_findings as write

    kept, earlier, own, scope = _validation_scope(outcome, known, checks_version())
    earlier, own = _cross_reach(con, outcome, known, earlier, own)
    series = _series_reach(con, outcome, known, earlier + own, scope) if write_findings and (earlier or own) else None
    unreached = [] if series is None else [i for i in earlier + own if i not in series.redone]
    kept_here = _prune_findings(con, kept, earlier, own, unreached) if seeded else 0
    figures = _keep_figures(con, [*kept, *earlier, *own], seeded) if write_findings else None
    written = [0]

    def sink(batch: pd.DataFrame) -> None:  # a build writes each batch's findings as they come
        written[0] += write(con, batch)

    found = (findings(con, document_ids=scope, cross_only=own, series_only=earlier,
                      gx_dir=None if write_findings else gx_dir, with_scope=write_findings,
                      keep_parts=write_findings, sink=sink if write_findings else None,
                      drafts=not write_findings, series_rows=None if series is None else series.rows,
                      stored_figures=figures, checks=checks, echo=echo)
             if scope or own or earlier else None)
    outcome.findings = found
    if not write_findings:
        outcome.n_findings = 0 if found is None else len(found)
        return
    if seeded:
        outcome.n_findings = written[0] + kept_here
    else:
        outcome.n_findings = (written[0] + _copy_findings(con, kept)
                              + _copy_findings(con, earlier, (SCOPE_REPORT, SCOPE_CROSS))
                              + _copy_findings(con, own, (SCOPE_REPORT,)) + _copy_series(con, unreached))
        _copy_parts(con, kept)
        _copy_parts(con, earlier, (SCOPE_REPORT, SCOPE_CROSS))
        _copy_parts(con, own, (SCOPE_REPORT,))
    con.execute("UPDATE documents SET checks_version = ?", [checks_version()])
    if gx_dir is not None:
        from pipelines.validate.suites import refresh

        refresh(con, gx_dir)


def _keep_figures(con, same: list[str], seeded: bool) -> str | None:
    """The store's table of the reports' figures (points.STORED_FIGURES, what the cross-report checks
    compare) brought up to date, its name returned (None without curated families): the rows of the
    reports `same` (unchanged, their findings made by the same checks, so their figures by the same
    code) are kept from the previous store, those of the others computed (points.store_figures). A
    previous store without that table, or none of whose reports is `same`, has its figures computed anew.
    `seeded`: `con` is a copy of the previous store, else the previous store is attached as « previous »."""
    from pipelines.validate.points import STORED_FIGURES, has_curated, store_figures

    if not has_curated(con):
        return None
    usable = bool(same) and _has_table(con, "previous" if not seeded else None, STORED_FIGURES)
    with _kept(con, same), _transaction(con):
        if seeded:
            con.execute(f"DROP TABLE IF EXISTS {STORED_FIGURES}" if not usable else
                        f"DELETE FROM {STORED_FIGURES} WHERE document_id NOT IN (SELECT document_id FROM _kept)")
        elif usable:
            con.execute(f"CREATE TABLE {STORED_FIGURES} AS SELECT * FROM previous.{STORED_FIGURES} "
                        "WHERE document_id IN (SELECT document_id FROM _kept)")
        mine = set(same) if usable else set()
        store_figures(con, [i for (i,) in con.execute("SELECT document_id FROM documents").fetchall() if i not in mine])
    return STORED_FIGURES


def _has_table(con, database: str | None, table: str) -> bool:
    """Whether `table` is a table of the database `database` attached to `con` (None: its own)."""
    where = "database_name = current_database()" if database is None else "database_name = ?"
    return bool(con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE {where} AND table_name = ?",
                            [*([database] if database else []), table]).fetchall()[0][0])


def _validation_scope(outcome: Outcome, known: dict[str, tuple], version: str) -> tuple[list, list, list, list]:
    """Which findings are kept, in source order: (documents whose findings are all kept; documents
    whose SCOPE_ORG findings only are redone; documents whose SCOPE_CROSS and SCOPE_ORG findings are
    redone; documents checked by every rule).

    A document is unchanged when it was reused (same bytes, reader, organisme and year) and its
    findings were made by the checks of `version`. An organisme changed when one of its reports was
    read again (under its organisme of today or of the previous store) or left the store. The
    cross-report rules compare a report with reports of earlier years only (validate._cross_frames):
    an unchanged report of a year up to the earliest year changed in its organisme keeps them. A
    report of no year there makes every report of the organisme redo them. An organisme one of whose
    reports moved (same bytes, another path) redoes its SCOPE_ORG findings, which quote the paths."""
    reused = {d["document_id"] for d in outcome.documents if d["reused"]}
    events = [(d["org"], d["report_year"]) for d in outcome.documents if not d["reused"]]
    events += [(fp[2], fp[3]) for i, fp in known.items() if i not in reused]  # removed, or read again
    events += [(d["org"], None) for d in outcome.documents if d["report_year"] is None]
    since: dict[object, int | None] = {}  # organisme changed -> its earliest year changed (None: any)
    for org, year in events:
        if org in since or year is None:
            since[org] = None if year is None or since.get(org) is None else min(since[org], year)
        else:
            since[org] = year
    same = [d for d in outcome.documents if d["reused"] and known[d["document_id"]][4] == version]
    moved = {d["org"] for d in same if known[d["document_id"]][5] != d["path"]} - set(since)
    kept = [d["document_id"] for d in same if d["org"] not in since and d["org"] not in moved]
    earlier = [d["document_id"] for d in same if d["org"] in moved or (
        d["org"] in since and since[d["org"]] is not None and d["report_year"] <= since[d["org"]])]
    own = [d["document_id"] for d in same if d["org"] in since and d["document_id"] not in set(earlier)]
    done = set(kept) | set(earlier) | set(own)
    return kept, earlier, own, [d["document_id"] for d in outcome.documents if d["document_id"] not in done]


def _cross_reach(con, outcome: Outcome, known: dict[str, tuple], earlier: list[str],
                 own: list[str]) -> tuple[list[str], list[str]]:
    """(earlier, own) of `_validation_scope` once the reports of `own` that no change can reach keep
    their SCOPE_CROSS findings too (moved to `earlier`): those whose cross-report checks read no
    changed report's version, before or after (vintages.reached_by_changes, which says why per rule).
    The previous store is attached to `con` as « previous »."""
    if not own:
        return earlier, own
    from pipelines.validate.vintages import reached_by_changes

    reused = [d["document_id"] for d in outcome.documents if d["reused"]]
    changes = [(d["document_id"], "") for d in outcome.documents if not d["reused"]]
    changes += [(i, "previous.") for i in sorted(set(known) - set(reused))]  # removed, or read again
    reached = reached_by_changes(con, changes, own, reused)
    moved = set(earlier) | {i for i in own if i not in reached}
    return ([d["document_id"] for d in outcome.documents if d["document_id"] in moved],
            [i for i in own if i in reached])


def _series_reach(con, outcome: Outcome, known: dict[str, tuple], same: list[str], scope: list[str]):
    """series.SeriesPlan of the change (what series.break redoes: the reports whose series a change
    reaches), for the reports `same` (unchanged, same checks) of the organismes that changed; None
    when every series is redone (a report read by other checks, which has no findings to keep)."""
    from pipelines.validate.series import series_plan

    reused = {d["document_id"] for d in outcome.documents if d["reused"]}
    if any(i in reused for i in scope):
        return None
    changes = [(d["document_id"], "") for d in outcome.documents if not d["reused"]]
    changes += [(i, "previous.") for i in sorted(set(known) - reused)]  # removed, or read again
    return series_plan(con, changes, same)


def _copy_series(con, ids: list[str]) -> int:
    """series.break findings and result parts of the previous store for the reports `ids`, whose
    series no change reaches (_series_reach). Returns how many findings were copied."""
    if not ids:
        return 0
    with _kept(con, ids):
        before = con.execute("SELECT count(*) FROM findings").fetchall()[0][0]
        mine = "document_id IN (SELECT document_id FROM _kept) AND scope = 'organisme'"
        con.execute(f"INSERT INTO findings BY NAME SELECT * FROM previous.findings WHERE {mine} AND rule = 'series.break'")
        con.execute(f"INSERT INTO gx_parts BY NAME SELECT * FROM previous.gx_parts WHERE {mine} AND suite = 'series'")
        con.execute("UPDATE findings f SET document = d.path FROM documents d WHERE f.document_id = d.document_id "
                    "AND f.rule = 'series.break' AND f.document_id IN (SELECT document_id FROM _kept)")
        return con.execute("SELECT count(*) FROM findings").fetchall()[0][0] - before


def _sql_string(text: str) -> str:
    """A SQL string literal (ATTACH and COPY … TO take no bound parameter for their file)."""
    return "'" + text.replace("'", "''") + "'"


def say(line: str) -> None:
    print(line)
    sys.stdout.flush()
