"""La boucle des auteurs : `bilans check NEW --since OLD` et `bilans check DRAFT --watch`.

Both run several checks in one process. A `Session` keeps what does not change between them:
Great Expectations (its import and context, built once in pipelines.validate.suites, and the
verdicts of each suite's last batch), and the store's other reports copied into memory once. A check
that makes the cross-report frames again writes its draft there, where it stays until the next such
check rewrites the tables whose rows changed; the other rules, and every rule of a check whose
cross-report frames are kept, read the draft from its rows (frames.from_rows, validate.DraftLookups).
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import signal
import sys
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd

from pipelines.check import (
    _SEVERITY_FR,
    _unique_ids,
    copy_vintages,
    documents_of,
    findings_for,
    notices,
    unreadable_row,
    warn_missing,
)
from pipelines.errors import BilansError, Terminated, UnusableInput
from pipelines.flow import insert
from pipelines.store import SCHEMA, column_names
from pipelines.terminal import ascii_json, pluriel, reader_gone, terminated
from pipelines.validate.frames import Store, from_rows, load
from pipelines.validate.versions import FIXED, NEW, OPEN, changes, compare, counts

# watchfiles: yield 15 ms after the last event of a save (an editor writes, renames, touches),
# at most 300 ms after the first; wake every 500 ms to catch a save made while a check ran. The
# step is the latency before a check starts (measured: 50 ms at a 30 ms step, 20 to 30 ms at 15 ms); a
# save still being written when it ends fails in one line, and its next event checks it again.
_STEP_MS, _DEBOUNCE_MS, _WAKE_MS = 15, 300, 500
# an unreadable draft is said only if it still has not moved after this pause (a save being written)
_SETTLE_S = 0.2
# Ctrl-C ends a watch, a normal end (exit 0), whenever it comes: also while it starts (pipelines.cli)
WATCH_STOPPED = "bilans : surveillance arrêtée"


class Session:
    """An in-memory copy of the store's vintages, reused by every check of the same drafts
    (same organismes and years); `scratch` is what `check.findings_for` writes a draft into."""

    def __init__(self, db_path: Path | None):
        self.db_path = db_path
        self._con = None
        self._key = None
        self._warned = [False]  # shared with the sessions of its drafts (`of`): the store said once
        self._drafts: dict[str, Session] = {}  # document id -> its session (`of`)
        self._frozen = False
        self._vintages: Store | None = None
        self._verdicts = None
        self.columns: dict[str, list[str]] = {}  # table -> its columns, for writing each draft
        self._checked: OrderedDict[tuple, tuple[pd.DataFrame, list]] = OrderedDict()
        self.versions_reused = 0
        self.missing: str | None = None  # why the store was not read (check.not_made), None when it was
        self._in_store: dict[tuple, bytes] = {}  # (table, table_id of cells) -> digest of the rows written (`write`)
        self._cross: OrderedDict[tuple, tuple] = OrderedDict()  # CrossMemo's frames, by inputs and lines
        self.cross_reused = 0  # checks that reused the cross-report frames of an earlier one
        self.own_reused = 0  # checks that reused the checks of the drafts alone (CrossMemo.own)
        self.figures = KeptFigures()  # the curated figures of the vintages, computed once per copy
        self.table_rows: dict[str, list[dict]] = {}  # the check rows of each draft table seen (totals.table_checks)
        self._store_stamp = None  # the store's stamp when the vintages were copied (`store_stamp`)

    KEPT = 8  # versions of the drafts whose findings are kept: the last edits, undone or redone
    ASOF_LOOP = 2000  # figures of the drafts up to which an ASOF JOIN is a nested loop (DuckDB's default: 64)

    def cross_memo(self, reads) -> CrossMemo:
        """Where the cross-report and series frames of the drafts `reads` are kept, by what those
        rules read of them (CrossMemo.inputs): a save that changed none of it (a word of the prose, a
        sentence without a figure) reuses them."""
        return CrossMemo(self._cross, reads, self.figures, self.table_rows)

    def version(self, files, org, year) -> tuple | None:
        """What decides a check: the drafts' paths and bytes (a digest), the organisme and year given,
        and the store (`store_stamp`: a store rebuilt during a session gives other findings). None
        when a draft cannot be read (the check says why)."""
        try:
            digests = tuple((str(f), hashlib.blake2b(Path(f).read_bytes(), digest_size=32).digest()) for f in files)
        except OSError:
            return None
        return (digests, org, year, self.store_stamp())

    def store_stamp(self) -> tuple | None:
        """Who the store is now: (device, inode, mtime ns, size) of its file and of its write-ahead log
        (None for a file absent). `bilans build` replaces the file or writes into it: either moves this."""
        if self.db_path is None:
            return None
        stamps = []
        for path in (Path(self.db_path), Path(f"{self.db_path}.wal")):
            try:
                st = path.stat()
            except OSError:
                stamps.append(None)
                continue
            stamps.append((st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(stamps)

    def checked(self, key) -> tuple[pd.DataFrame, list] | None:
        """(findings, reads) of a version checked before, else None (the check is deterministic: the
        same bytes against the same store give the same findings)."""
        if key is None or key not in self._checked:
            return None
        self._checked.move_to_end(key)
        found, reads = self._checked[key]
        self.versions_reused += 1
        return found.copy(), reads

    def keep(self, key, found: pd.DataFrame, reads: list) -> None:
        if key is None:
            return
        self._checked[key] = (found.copy(), reads)
        while len(self._checked) > self.KEPT:
            self._checked.popitem(last=False)

    @property
    def verdicts(self):
        """GE's last verdicts of each suite (suites.Verdicts), reused for a batch that only moved."""
        if self._verdicts is None:
            from pipelines.validate.suites import Verdicts

            self._verdicts = Verdicts()
        return self._verdicts

    def _reload(self, docs, key) -> None:
        import duckdb

        from pipelines.curate.views import create_views
        from pipelines.store import create_schema

        self.close()
        self._checked.clear()  # found against the vintages of another copy
        self._cross.clear()
        self.figures = KeptFigures()
        self._store_stamp = self.store_stamp()  # before the copy: a build during it makes it again
        # one thread: a draft and its vintages are thousands of rows, where DuckDB's threads cost
        # more to start and join than they save; for the same reason the ASOF JOINs of a draft's figures
        # (vintages.curated_shifts, curated_restated_checks: their later side, a few hundred rows) run
        # as nested loops, not as DuckDB's partitioned sorts (15 ms of a save whose figures changed)
        self._con = duckdb.connect(":memory:", config={"threads": 1, "asof_loop_join_threshold": self.ASOF_LOOP})
        create_schema(self._con)
        missing = copy_vintages(self._con, self.db_path, [
            {"document_id": d.document_id, "org": d.org, "report_year": d.report_year} for d in docs])
        if not self._warned[0]:  # the same store each time: said once
            warn_missing(missing)
            self._warned[0] = missing is not None
        warn_missing(None, documents_of(docs))  # a draft without organisme or exercice: for these drafts
        self.missing = missing
        create_views(self._con)  # plain views: they see each draft written afterwards
        self._vintages = load(self._con)
        self.columns = {t: column_names(t) for t in SCHEMA}
        self._key = key

    @staticmethod
    def rows(reads) -> dict[str, list[dict]]:
        """The rows of the drafts `reads` (flow.Read), table by table."""
        rows: dict[str, list[dict]] = {}
        for read in reads:
            for table, table_rows in read.rows.items():
                rows.setdefault(table, []).extend(table_rows)
        return rows

    def store(self, rows: dict[str, list[dict]]) -> Store:
        """What the rules read: the vintages read once, and the drafts of `rows` (`Session.rows`) as
        the store would give them back once written (frames.from_rows: neither written nor read)."""
        return self._vintages.plus(from_rows(rows))

    @contextmanager
    def scratch(self, docs):
        """The session's store, where the drafts `docs` (flow.Read) may be written (`write`). They stay
        there after the check: the next one rewrites only the tables whose rows changed."""
        key = frozenset((d.document_id, d.org, d.report_year) for d in docs)
        # another organisme or year: other vintages; a store rebuilt or changed: its vintages again
        if key != self._key or self.store_stamp() != self._store_stamp:
            self._reload(docs, key)
        try:
            yield self._con
        finally:
            self._freeze()

    def write(self, docs) -> None:
        """Make the rows of the drafts `docs` (flow.Read) in the session's store theirs, for the rules
        that read them there (the cross-report rules and series.break: their frames were not kept), but
        the tables they never read (CrossMemo.UNREAD: lines of text, sections); the other rules and the
        findings read the drafts' rows (validate.DraftLookups). Only the tables whose rows differ from
        those written last (a digest of their text) are deleted and written again, the cells table by
        table: a save that changed one figure rewrites the cells of its table and its curated rows, not
        the eleven tables. A write that fails leaves a copy made again at the next check."""
        parts: dict[tuple[str, str], list[dict]] = {}  # (table, table_id of cells or "") -> rows
        for read in docs:
            for table, rows in read.rows.items():
                if table == "cells":
                    for r in rows:
                        parts.setdefault((table, r["table_id"]), []).append(r)
                elif table not in CrossMemo.UNREAD:
                    parts.setdefault((table, ""), []).extend(rows)
        digests = {p: hashlib.blake2b(repr(rows).encode(), digest_size=32).digest() for p, rows in parts.items()}
        changed = sorted(p for p in set(digests) | set(self._in_store) if digests.get(p) != self._in_store.get(p))
        if not changed:
            return
        try:
            self._forget([d.document_id for d in docs], [p for p in changed if p in self._in_store])
            written: dict[str, list[dict]] = {}
            for part in changed:
                self._in_store.pop(part, None)
                written.setdefault(part[0], []).extend(parts.get(part, []))
            for table, rows in written.items():
                insert(self._con, table, rows, self.columns.get(table))
            self._in_store.update({p: digests[p] for p in changed if p in parts})
        except BaseException:
            self.close()  # rows of two versions, maybe: the next check copies the vintages again
            raise

    def _forget(self, ids: list[str], parts: list[tuple[str, str]]) -> None:
        """Delete the rows of the drafts `ids` written to the `parts` (table, and for cells the table_id)."""
        con = self._con
        cells = [tid for table, tid in parts if table == "cells"]
        if cells:
            con.execute("DELETE FROM cells WHERE list_contains(?::VARCHAR[], table_id)", [cells])
        for table in sorted({table for table, _ in parts if table != "cells"}):
            con.execute(f'DELETE FROM "{table}" WHERE list_contains(?::VARCHAR[], document_id)', [ids])

    def _freeze(self) -> None:
        """After the first check, what stays (GE, its context, the vintages) leaves the garbage
        collector's reach: a full collection over that heap cost a third of each re-check."""
        if not self._frozen:
            gc.collect()
            gc.freeze()
            self._frozen = True

    def of(self, document_id: str) -> Session:
        """The session of one draft among several checked together (`--watch a.docx b.pdf`): a copy of
        the store's vintages of its own, which never holds the other drafts — drafts checked together
        are each compared with the store's reports, not with each other (check.check_findings)."""
        if document_id not in self._drafts:
            self._drafts[document_id] = Session(self.db_path)
            self._drafts[document_id]._warned = self._warned
        return self._drafts[document_id]

    def close(self) -> None:
        for draft in self._drafts.values():
            draft.close()
        self._in_store = {}
        if self._con is not None:
            self._con.close()
            self._con, self._key = None, None


class CrossMemo:
    """The check frames of the cross-report rules (pipelines/validate/vintages.py) and of series.break
    for one set of inputs, kept by a Session (its vintages are fixed until it reloads them); beside them,
    the checks of the drafts alone that read no line of text (`own`, validate._report_checks).

    Those rules read of a draft its document's organisme and year, its tables, cells, prose figures
    and curated rows, with their lines — never its lines of text nor its sections (the store's
    `lignes`, `sections`), nor the digest of its bytes or its count of lines. And they read its lines
    only to order figures and to say where they are: two drafts equal in all they read but for lines
    moved in the same order (a paragraph inserted above a table) give the same frames, with the lines
    and table ids (« document@first line ») of the second. So the inputs are kept with each line
    replaced by its rank among the draft's lines and each table id by its table's rank (`inputs`), and
    frames found again are moved to the new lines (`_moved`). A move is not reused when a text of a
    check row of the draft (its message…) cites a moved line or table, or when the table ids would sort
    in another order (« @99 » before « @100 » as text): those frames are made again.
    The cold check of the same bytes is the reference (tests/validate/test_watch_session.py)."""

    UNREAD = ("lignes", "sections")  # tables of a draft the cross-report rules never read
    UNREAD_DOCUMENT = ("sha256", "n_lines")  # every save has its own digest; lines count nothing
    LINES = ("line", "line_start", "line_end", "sentence_start", "sentence_end")  # columns holding a line
    TEXTS = ("message", "found", "expected", "suggestion", "highlight", "key")  # what a check row says
    _CITED = re.compile(r"\blignes? (\d+)")

    def __init__(self, memo: OrderedDict, reads, figures: KeptFigures | None = None, tables: dict | None = None):
        self.memo = memo
        self.ids = [r.document_id for r in reads]
        self._reads = reads
        self._figures = figures
        self.table_rows = tables  # the check rows of the drafts' tables seen before (totals.table_checks)
        self.key, self.lines, self.tables = self.inputs(reads)
        self.reused = self.own_reused = False  # the cross-report frames, the checks of the drafts alone
        self._figured = False  # whether `figures` gave this check's figures from the KeptFigures
        self._asked, self._got = False, None

    @classmethod
    def inputs(cls, reads) -> tuple[bytes, list[int], list[str]]:
        """(a digest of what the rules read of the drafts `reads` (flow.Read), lines and table ids as
        ranks; the draft's lines in order; its table ids in order). The rows are written out by `repr`
        (a pickle of equal rows differs with the strings they happen to share)."""
        rows_of = [(table, read.rows[table]) for read in reads for table in sorted(read.rows)
                   if table not in cls.UNREAD]
        lines = sorted({r[c] for _, rows in rows_of for r in rows for c in cls.LINES
                        if isinstance(r.get(c), int) and not isinstance(r.get(c), bool)})
        tables = [t["table_id"] for read in reads for t in read.rows.get("tables", [])]
        line_rank = {n: ("ligne", i) for i, n in enumerate(lines)}
        table_rank = {t: ("tableau", i) for i, t in enumerate(tables)}
        digest = hashlib.blake2b(digest_size=32)
        for table, rows in rows_of:
            ranked = []
            for r in rows:
                r = {k: v for k, v in r.items() if table != "documents" or k not in cls.UNREAD_DOCUMENT}
                for c in cls.LINES:
                    if c in r:
                        r[c] = line_rank.get(r[c], r[c])
                if "table_id" in r:
                    r["table_id"] = table_rank.get(r["table_id"], r["table_id"])
                ranked.append(r)
            digest.update(repr((table, ranked)).encode())
        return digest.digest(), lines, tables

    def figures(self, con, compared: list[str] | None = None):
        """points.figures_table for the cross-report rules of these drafts (vintages.cross_report_checks):
        the figures of the session's vintages kept (KeptFigures), those of the drafts made again."""
        from pipelines.validate.points import figures_table

        if self._figures is None or compared is not None:
            return figures_table(con, compared)
        self._figured = True
        return self._figures.table(con, Session.rows(self._reads))

    def series_rows(self, con, document_ids: list[str] | None) -> list[dict] | None:
        """The series.break rows of the drafts `document_ids` (KeptFigures.series_rows) once this check's
        figures were made by its KeptFigures (`figures`: the families' inputs are those of these drafts);
        None otherwise (series_break_checks makes them all)."""
        if not self._figured or document_ids is None:
            return None
        return self._figures.series_rows(con, document_ids)

    def get(self) -> tuple[dict, dict] | None:
        """(cross-report frames, series frames) copied (the caller adds columns) and moved to the
        draft's lines, else None."""
        if self._asked:  # asked before the draft was written (check.findings_for), then by the rules
            return self._got
        found = self._found("cross", lambda _line: True, whole=True)
        self.reused, self._asked = found is not None, True
        self._got = found and (found["cross"], found["series"])
        return self._got

    def own(self) -> dict:
        """The checks of the drafts that read no line of text (validate._report_checks: its frames, and
        the rows of the text), by name, copied and moved to the draft's lines: those found (a check whose
        texts cite a moved line is made again). Those rules also read how far apart two lines are (a
        sentence within 40 lines of a table): they are reused only when every line the inputs hold moved
        by the same count (a paragraph inserted above them all), or none."""
        found = self._found("own", lambda line: len({m - n for n, m in line.items()}) <= 1, whole=False)
        self.own_reused = bool(found)
        return found or {}

    def _found(self, part: str, fits, whole: bool) -> dict | None:
        """The kept `part` (a dict of frames or rows), moved, of the latest version of the same inputs
        whose lines `fits` accepts: all of it (`whole`), else what could be moved; None when nothing."""
        # the same lines first (nothing to move), then the latest versions of the same inputs
        exact = (self.key, tuple(self.lines), tuple(self.tables))
        for kept in [exact] * (exact in self.memo) + [k for k in reversed(self.memo) if k[0] == self.key]:
            parts = self.memo[kept]
            line = dict(zip(kept[1], self.lines, strict=True))
            if part not in parts or not fits(line):
                continue
            moved = self._moved(parts[part], line, dict(zip(kept[2], self.tables, strict=True)))
            if moved and (not whole or len(moved) == len(parts[part])):
                self.memo.move_to_end(kept)
                return moved
        return None

    def put(self, cross: dict, series: dict) -> None:
        self._keep("cross", {"cross": cross, "series": series})

    def put_own(self, checks: dict) -> None:
        self._keep("own", checks)

    def _keep(self, part: str, kept: dict) -> None:
        """Copies of `kept` (name -> a dict of frames, a frame or a list of check rows)."""
        self.memo.setdefault((self.key, tuple(self.lines), tuple(self.tables)), {})[part] = {
            name: self._copy(x) for name, x in kept.items()}
        while len(self.memo) > Session.KEPT:
            self.memo.popitem(last=False)

    @staticmethod
    def _copy(kept):
        if isinstance(kept, dict):
            return {name: df.copy() for name, df in kept.items()}
        return kept.copy() if isinstance(kept, pd.DataFrame) else [dict(r) for r in kept]

    def _moved(self, kept: dict, line: dict[int, int], table: dict[str, str]) -> dict:
        """Copies of the kept parts whose rows of the drafts have the new lines and table ids, by name:
        none when the table ids sort otherwise; without a part of which a text cites a moved line or
        table."""
        if sorted(table[t] for t in sorted(table)) != [table[t] for t in sorted(table)]:
            return {}
        moves = (line, table, {n for n, m in line.items() if n != m}, [t for t, u in table.items() if t != u])
        out = {}
        for name, part in kept.items():
            if isinstance(part, dict):
                frames = {k: self._move_frame(df, *moves) for k, df in part.items()}
                if all(df is not None for df in frames.values()):
                    out[name] = frames
            elif (moved := (self._move_frame if isinstance(part, pd.DataFrame) else self._move_records)(
                    part, *moves)) is not None:
                out[name] = moved
        return out

    def _move_frame(self, df: pd.DataFrame, line, table, moved_lines, moved_tables) -> pd.DataFrame | None:
        df = df.copy()
        if moved_lines or moved_tables:
            mine = df["document_id"].isin(self.ids).to_numpy()
            if mine.any() and not self._move_rows(df, mine, line, table, moved_lines, moved_tables):
                return None
        return df

    def _cites(self, text, moved_lines: set, moved_tables: list) -> bool:
        return isinstance(text, str) and (any(int(n) in moved_lines for n in self._CITED.findall(text))
                                          or any(t in text for t in moved_tables))

    def _move_records(self, kept: list[dict], line: dict, table: dict, moved_lines: set,
                      moved_tables: list) -> list[dict] | None:
        """`_move_frame` for check rows as dicts."""
        rows = [dict(r) for r in kept]
        for r in rows:
            if r.get("document_id") not in self.ids:
                continue
            if any(self._cites(r.get(c), moved_lines, moved_tables) for c in self.TEXTS):
                return None
            n = r.get("line")
            if n is not None and n == n:
                if int(n) not in line:
                    return None
                r["line"] = type(n)(line[int(n)])
            if r.get("table_id") in table:
                r["table_id"] = table[r["table_id"]]
        return rows

    def _move_rows(self, df: pd.DataFrame, mine, line: dict, table: dict, moved_lines: set,
                   moved_tables: list) -> bool:
        for column in self.TEXTS:
            for text in df.loc[mine, column].tolist() if column in df else ():
                if self._cites(text, moved_lines, moved_tables):
                    return False
        lines = df["line"].tolist()
        for i in range(len(df)):
            n = lines[i]
            if mine[i] and n is not None and n == n:  # NaN: no line
                if int(n) not in line:
                    return False  # a line the inputs do not hold: nothing says where it went
                lines[i] = type(n)(line[int(n)])
        df["line"] = pd.Series(lines, index=df.index, dtype=df["line"].dtype)
        ids = [table.get(t, t) if m else t for t, m in zip(df["table_id"].tolist(), mine, strict=True)]
        df["table_id"] = pd.Series(ids, index=df.index, dtype=df["table_id"].dtype)
        return True


class KeptFigures:
    """points.figures_table of a Session's store, as a build reads its kept figures: each report's
    figures without their `rang` (points.store_figures: a report's figures come from its own rows),
    those of the vintages computed once per copy (Session._reload makes a new KeptFigures), those of
    the drafts at each check for the families whose inputs changed since the last (points.family_inputs:
    a figure changed in one table redoes the figures of its family, not the fixed cost of the seven),
    and figures_table(…, stored=…) gives them their `rang` among the reports compared. The cold check
    of the same bytes is the reference (tests/validate/test_watch_figures.py).
    Beside them, the drafts' series.break rows of each family (`series_rows`), made again for the
    families whose inputs changed."""

    # temporary, as figures_table's: none of the store's tables (Session.write, the copy's schema)
    KEPT = "_chiffres_millesimes"  # the vintages' figures, for the copy's lifetime
    DRAFTS = "_chiffres_brouillons"  # the drafts' figures, of this check
    BOTH = "_chiffres_comparables"  # the view figures_table reads: both

    def __init__(self):
        self.curated: bool | None = None
        self.made = 0  # times the vintages' figures were computed (tests)
        self.inputs: dict[str, bytes] = {}  # family -> points.family_inputs of the drafts' figures held
        self.redone: list[str] = []  # the families whose drafts' figures the last check computed (tests)
        self.series: dict[str, tuple] = {}  # family -> (its inputs, the drafts, series.family_checks rows)
        self.series_redone: list[str] = []  # the families whose series.break rows the last check made (tests)

    @contextmanager
    def table(self, con, rows: dict[str, list[dict]]):
        """The name of figures_table's relation over every report of `con`, the drafts of `rows`
        (Session.rows, as written in `con`) among them (None when `con` has no curated families),
        with its latest_of_year() relation, for the block."""
        from pipelines.validate import points

        if self.curated is None:
            self.curated = points.has_curated(con)
        if not self.curated:
            yield None
            return
        ids = [r[0] for r in con.execute("SELECT document_id FROM documents ORDER BY document_id").fetchall()]
        drafts = {d["document_id"] for d in rows.get("documents", [])}
        if not self.made:
            points.store_figures(con, [i for i in ids if i not in drafts], table=self.KEPT, temporary=True)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {self.DRAFTS} AS SELECT * FROM {self.KEPT} LIMIT 0")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {self.BOTH} AS SELECT * FROM {self.KEPT} "
                        f"UNION ALL SELECT * FROM {self.DRAFTS}")
            self.made += 1
        self._redo(con, [i for i in ids if i in drafts], points.family_inputs(rows))
        with points.figures_table(con, ids, stored=self.BOTH) as name:
            yield name

    def series_rows(self, con, document_ids: list[str]) -> list[dict] | None:
        """series_break_checks(con, document_ids) after `table` made this check's figures: a series is of
        one family and reads its curated rows only (the `series` view), which the family's inputs
        (points.family_inputs) hold, so the rows of a family whose inputs are those of the rows kept are
        those rows; the families without inputs (no curated figures: catalogue a_des_series) are made
        again each time. None when `con` has no curated families."""
        from pipelines import catalogue
        from pipelines.validate import series

        if not self.curated:
            return None
        ids = tuple(sorted(set(document_ids)))
        families = [f.nom for f in catalogue.familles()]
        self.series_redone = [f for f in families if f not in self.inputs
                              or self.series.get(f, (None, None))[:2] != (self.inputs[f], ids)]
        for family in self.series_redone:
            self.series.pop(family, None)
        made = series.family_checks(con, list(ids), self.series_redone) if self.series_redone else {}
        self.series.update({f: (self.inputs.get(f), ids, rows) for f, rows in made.items()})
        return series.in_series_order([keyed for f in families for keyed in self.series[f][2]])

    def _redo(self, con, drafts: list[str], inputs: dict[str, bytes]) -> None:
        """The drafts' figures of the families whose `inputs` changed, in place of those held. A family
        is forgotten before its figures are deleted: a check stopped on the way redoes it."""
        from pipelines.validate import points

        self.redone = [f for f, digest in inputs.items() if self.inputs.get(f) != digest]
        if not self.redone:
            return
        for family in self.redone:
            self.inputs.pop(family, None)
        con.execute(f"DELETE FROM {self.DRAFTS} WHERE list_contains(?::VARCHAR[], famille)", [self.redone])
        points.store_figures(con, drafts, table=self.DRAFTS, temporary=True, families=self.redone)
        self.inputs.update({f: inputs[f] for f in self.redone})


def finding_line(r: dict, mark: str = " ") -> str:
    """« + brouillon.txt:12 (page 3)  ERREUR  [total.column] message (attendu : 2 018) »."""
    exp = f" (attendu : {r['expected']})" if r.get("expected") else ""
    place = f" ({r['place']})" if r.get("place") else ""
    return (f" {mark} {r['document']}:{r['line']}{place}  {_SEVERITY_FR.get(r['severity'], r['severity'])}  "
            f"[{r['rule']}] {r['message']}{exp}")


def _records(found: pd.DataFrame, **extra) -> list[dict]:
    """JSON-ready findings (NaN as null, without the internal `highlight`), with `extra` fields."""
    frame = found.drop(columns=["highlight"], errors="ignore").assign(**extra)
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def _exit_code(found: pd.DataFrame) -> int:
    return 1 if (found["severity"] == "error").any() else 0


# --- bilans check NEW --since OLD ---------------------------------------------------------------

def check_since(files: list[Path], old: Path, org: str | None, year: int | None, as_json: bool,
                db_path: Path | None, html_out: Path | None = None) -> int:
    """Check NEW, check OLD, print the three lists; exit code of NEW alone (1: an error in NEW)."""
    if len(files) != 1:
        raise BilansError("--since compare un seul rapport à sa version précédente "
                          f"({len(files)} fichiers donnés)")
    if html_out is not None and (Path(html_out).is_dir() or not Path(html_out).parent.is_dir()):
        raise BilansError(f"--html {html_out} : donnez le chemin d'une page dans un dossier existant")
    session = Session(db_path)
    unread = []  # the --json row of an OLD that cannot be read
    try:
        try:
            new, reads = findings_for(files, org, year, db_path, session)
        except BilansError as exc:
            if as_json:  # --json always gives an array: the row of the unusable NEW
                print(f"bilans : {exc}", file=sys.stderr)
                _dump([unreadable_row(str(files[0]), None, str(exc))])
                return 2
            raise
        try:
            before, _ = findings_for([old], org, year, db_path, session)
        except BilansError as exc:  # NEW is still reported: every finding « nouveau »
            print(f"bilans : {exc} — version précédente illisible : tous les constats de {files[0]} sont "
                  "donnés comme nouveaux", file=sys.stderr)
            before = new.iloc[0:0]
            unread = [unreadable_row(str(old), None, str(exc), severity="info")]  # NEW's verdict alone
    finally:
        session.close()
    compared = compare(new, before)
    said = pd.DataFrame(notices(documents_of(reads), session.missing) + unread)  # as in a plain check --json
    if html_out is not None:
        from pipelines.publish.versions_report import render_versions_html

        Path(html_out).write_text(render_versions_html(compared, str(files[0]), str(old)), encoding="utf-8")
    try:
        if as_json:
            _dump(_records(pd.concat([compared, said], ignore_index=True)))
        else:
            _print_since(compared, str(files[0]), str(old), html_out)
    except BrokenPipeError:  # `… --since OLD | head`: the exit code still says NEW's verdict
        reader_gone()
    return _exit_code(new)


def _dump(records: list[dict]) -> None:
    json.dump(records, sys.stdout, ensure_ascii=ascii_json(), indent=1)
    sys.stdout.write("\n")


def _print_since(compared: pd.DataFrame, new_path: str, old_path: str, html_out) -> None:
    n = counts(compared)
    print(f"{new_path} depuis {old_path} : {pluriel(n[FIXED], 'corrigé', 'corrigés')}, "
          f"{pluriel(n[OPEN], 'toujours présent', 'toujours présents')}, {pluriel(n[NEW], 'nouveau', 'nouveaux')}")
    for status, heading in ((FIXED, f"Corrigés (lignes de {old_path})"), (OPEN, "Toujours présents"),
                            (NEW, "Nouveaux")):
        group = compared[compared["version_status"] == status]
        print(f"{heading} : {len(group) or 'aucun'}")
        for r in group.to_dict("records"):
            was = f" (avant : ligne {r['old_line']})" if status == OPEN and r["old_line"] != r["line"] else ""
            print(finding_line(r) + was)
    if html_out is not None:
        print(f"Page pour les auteurs : {html_out}")


# --- bilans check DRAFT --watch ------------------------------------------------------------------

def watch(files: list[Path], org: str | None, year: int | None, as_json: bool, db_path: Path | None,
          stop_event=None, out=None) -> int:
    """Check the files, then again on every save, printing the findings that appeared (+) or
    disappeared (−); with `as_json` one JSON array per check on one line (`change`: « appeared »,
    « disappeared »). Ctrl-C (or `stop_event` set) stops: exit 0. A missing file: UnusableInput."""
    import watchfiles

    out = out or sys.stdout
    for f in files:
        if Path(f).is_dir():
            raise UnusableInput(f"{f} : c'est un dossier, pas un fichier")
        if not Path(f).is_file():
            raise UnusableInput(f"fichier introuvable : {f}")
    targets = {str(Path(f).resolve()) for f in files}
    session = Session(db_path)
    state = _Watched(files, org, year, db_path, session, as_json, out)
    interrupted, previous = _note_ctrl_c()
    try:
        state.recheck()
        if interrupted:  # Ctrl-C that a query turned into its own error, caught on the way
            raise KeyboardInterrupt
        if not as_json:
            print(f"Surveillance de {', '.join(map(str, files))} : chaque enregistrement est recontrôlé "
                  "(Ctrl-C pour arrêter).", file=out, flush=True)
        for events in watchfiles.watch(*{str(Path(t).parent) for t in targets}, recursive=False,
                                       watch_filter=lambda _change, path: str(Path(path).resolve()) in targets,
                                       step=_STEP_MS, debounce=_DEBOUNCE_MS, rust_timeout=_WAKE_MS,
                                       yield_on_timeout=True, stop_event=stop_event):
            if events or state.stamp() != state.checked:
                state.recheck()
            if interrupted:
                raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):  # a service stop keeps its own exit code
            raise
        if terminated():  # watchfiles turned SIGTERM into a plain KeyboardInterrupt: exit 143 all the same
            raise Terminated() from None
        print(WATCH_STOPPED, file=sys.stderr, flush=True)
    except Exception:
        if not _INTERRUPTED:
            raise
        print(WATCH_STOPPED, file=sys.stderr, flush=True)  # DuckDB's « Query interrupted » after a Ctrl-C
    finally:
        session.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return 0


_INTERRUPTED: list[int] = []  # the Ctrl-C received by the watch of the main thread


def _note_interrupt(signum, frame) -> None:
    _INTERRUPTED.append(signum)
    signal.default_int_handler(signum, frame)


def _note_ctrl_c():
    """Note each Ctrl-C (still raised as KeyboardInterrupt): DuckDB turns one that lands during a
    query into its own RuntimeError (« Query interrupted »), which may be caught on the way, and the
    watch must stop all the same. (the list of notes, the handler to put back or None) — outside
    the main thread, where Python handles no signal: ([], None)."""
    if threading.current_thread() is not threading.main_thread():
        return [], None
    _INTERRUPTED.clear()
    return _INTERRUPTED, signal.signal(signal.SIGINT, _note_interrupt)


class _Watched:
    """The files under watch, their last findings and the stamp (mtime, size) they were checked at."""

    def __init__(self, files, org, year, db_path, session, as_json: bool, out):
        self.files, self.org, self.year, self.db_path = files, org, year, db_path
        self.session, self.as_json, self.out = session, as_json, out
        self.found: pd.DataFrame | None = None
        self.checked = None
        self.said = None  # the last unreadable-draft message, not repeated while it stays true
        self.unread: dict | None = None  # the check.lecture row shown by --json, until a check succeeds

    def stamp(self):
        stamps = []
        for f in self.files:
            try:
                st = Path(f).stat()
                stamps.append((st.st_mtime_ns, st.st_size))
            except OSError:  # between an editor's delete and its rename
                stamps.append(None)
        return tuple(stamps)

    def recheck(self) -> None:
        self.checked = self.stamp()
        started = time.perf_counter()
        try:
            found, reads = findings_for(self.files, self.org, self.year, self.db_path, self.session)
        except (BilansError, OSError) as exc:  # emptied, cut, or gone between an editor's delete and rename
            self._unreadable(exc)
            return
        if self.stamp() != self.checked:  # saved again while it was read: a half-written version, not shown;
            return  # the save's own events (or the next wake) check what it ends with
        self.said = None
        if self.as_json:  # the rows saying which checks were not made, as in a plain check --json
            found = pd.concat([found, pd.DataFrame(notices(documents_of(reads), self.session.missing))],
                              ignore_index=True)
        before = self.found if self.found is not None else found.iloc[0:0]
        appeared, gone, moved = changes(before, found)
        self.found = found
        self._show(appeared, gone, moved, len(found), time.perf_counter() - started)

    def _unreadable(self, exc: Exception) -> None:
        """A draft that cannot be read, often a save still being written (an editor empties the file,
        then writes it): after _SETTLE_S, said only if the file has not moved since, and once until a
        check succeeds (on stderr; with --json also on stdout, an array of one `check.lecture` row, as
        `bilans check --json` gives an unusable file, « disappeared » at the next check that reads it);
        the watch goes on and the next save is checked."""
        time.sleep(_SETTLE_S)
        if self.stamp() != self.checked:
            return
        why = f"{exc.filename} : fichier absent ou illisible" if isinstance(exc, OSError) else str(exc)
        # an empty or absent draft is most often a save being written; a binary one is not
        pending = " — enregistrement en cours ?" if any(st is None or st[1] == 0 for st in self.checked) else "."
        message = f"bilans : {why}{pending} Contrôlé de nouveau au prochain enregistrement."
        if message == self.said:
            return
        print(message, file=sys.stderr, flush=True)
        self.said = message
        if self.as_json:
            path, document_id = self._culprit(exc)
            self.unread = unreadable_row(path, document_id, why)
            print(json.dumps([{**self.unread, "change": "appeared"}], ensure_ascii=ascii_json(self.out)), file=self.out, flush=True)

    def _culprit(self, exc: Exception) -> tuple[str, str]:
        """(path, document id) of the draft that could not be read: the one the error names, else the first."""
        named = str(exc.filename) if isinstance(exc, OSError) else str(exc)
        pairs = list(zip(map(str, self.files), _unique_ids(self.files), strict=True))
        for shown in (lambda f: f, lambda f: Path(f).name):  # the path given, else the file's name
            found = [(f, i) for f, i in pairs if named == shown(f) or named.startswith(f"{shown(f)} ")
                     or named.endswith(f" {shown(f)}")]
            if found:
                return found[0]
        return pairs[0]

    def _show(self, appeared: pd.DataFrame, gone: pd.DataFrame, moved: pd.DataFrame, total: int,
              seconds: float) -> None:
        unread, self.unread = self.unread, None
        if self.as_json:
            records = (_records(appeared, change="appeared") + _records(gone, change="disappeared")
                       + _records(moved, change="moved"))
            if unread is not None:
                records.append({**unread, "change": "disappeared"})
            print(json.dumps(records, ensure_ascii=ascii_json(self.out)), file=self.out, flush=True)
            return
        when = datetime.now().strftime("%H:%M:%S")
        took = f"{seconds:.2f}".replace(".", ",")
        if appeared.empty and gone.empty and moved.empty:
            print(f"[{when}] aucun changement ({pluriel(total, 'constat', 'constats')}, {took} s)", file=self.out, flush=True)
            return
        shifted = f", {pluriel(len(moved), 'déplacé', 'déplacés')}" if len(moved) else ""
        print(f"[{when}] {pluriel(len(appeared), 'constat apparu', 'constats apparus')}, "
              f"{pluriel(len(gone), 'disparu', 'disparus')}{shifted} ; {total} en tout "
              f"({took} s)", file=self.out, flush=True)
        for r in appeared.to_dict("records"):
            print(finding_line(r, "+"), file=self.out)
        for r in gone.to_dict("records"):
            print(finding_line(r, "-"), file=self.out)
        for r in moved.to_dict("records"):  # where it is now: the line the author looks for
            print(finding_line(r, "~") + f" (avant : ligne {r['old_line']})", file=self.out)
        self.out.flush()

