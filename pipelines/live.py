"""La boucle des auteurs : `bilans check NEW --since OLD` et `bilans check DRAFT --watch`.

Both run several checks in one process. A `Session` keeps what does not change between them:
Great Expectations (its import and context, built once in pipelines.validate.suites, and the
verdicts of each suite's last batch), and the store's other reports copied into memory once — each check writes its draft inside a transaction
that is rolled back, so the next check starts from the same copy.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
import time
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd

from pipelines.check import _SEVERITY_FR, copy_vintages, documents_of, findings_for, notices, warn_missing
from pipelines.errors import BilansError, Terminated, UnusableInput
from pipelines.terminal import pluriel, reader_gone, terminated
from pipelines.validate.frames import Store, load
from pipelines.validate.versions import FIXED, NEW, OPEN, changes, compare, counts

# watchfiles: yield 15 ms after the last event of a save (an editor writes, renames, touches),
# at most 300 ms after the first; wake every 500 ms to catch a save made while a check ran. The
# step is the latency before a check starts (measured: 50 ms at a 30 ms step, 20 to 30 ms at 15 ms); a
# save still being written when it ends fails in one line, and its next event checks it again.
_STEP_MS, _DEBOUNCE_MS, _WAKE_MS = 15, 300, 500
# an unreadable draft is said only if it still has not moved after this pause (a save being written)
_SETTLE_S = 0.2


class Session:
    """An in-memory copy of the store's vintages, reused by every check of the same drafts
    (same organismes and years); `scratch` is what `check.findings_for` writes a draft into."""

    def __init__(self, db_path: Path | None):
        self.db_path = db_path
        self._con = None
        self._key = None
        self._warned = False
        self._frozen = False
        self._vintages: Store | None = None
        self._verdicts = None
        self.columns: dict[str, list[str]] = {}  # table -> its columns, for writing each draft
        self._checked: OrderedDict[tuple, tuple[pd.DataFrame, list]] = OrderedDict()
        self.versions_reused = 0
        self.missing: str | None = None  # why the store was not read (check.not_made), None when it was

    KEPT = 8  # versions of the drafts whose findings are kept: the last edits, undone or redone

    @staticmethod
    def version(files, org, year) -> tuple | None:
        """What decides a check besides the session's store: the drafts' paths and bytes (a digest),
        the organisme and year given. None when a draft cannot be read (the check says why)."""
        try:
            digests = tuple((str(f), hashlib.blake2b(Path(f).read_bytes(), digest_size=32).digest()) for f in files)
        except OSError:
            return None
        return (digests, org, year)

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
        # one thread: a draft and its vintages are thousands of rows, where DuckDB's threads cost
        # more to start and join than they save
        self._con = duckdb.connect(":memory:", config={"threads": 1})
        create_schema(self._con)
        missing = copy_vintages(self._con, self.db_path, [
            {"document_id": d.document_id, "org": d.org, "report_year": d.report_year} for d in docs])
        if not self._warned:  # the same store each time: said once
            warn_missing(missing)
            self._warned = missing is not None
        warn_missing(None, documents_of(docs))  # a draft without organisme or exercice: for these drafts
        self.missing = missing
        create_views(self._con)  # plain views: they see each draft written afterwards
        self._vintages = load(self._con)
        self.columns = {t: [c[0] for c in self._con.execute(f'SELECT * FROM "{t}" LIMIT 0').description]
                        for t, kind in self._con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                                         "WHERE table_schema = 'main'").fetchall()
                        if kind == "BASE TABLE"}
        self._key = key

    def store(self, con, document_ids: list[str]) -> Store:
        """What the rules read: the vintages read once, and the drafts just written."""
        return self._vintages.plus(load(con, document_ids))

    @contextmanager
    def scratch(self, docs):
        key = frozenset((d.document_id, d.org, d.report_year) for d in docs)
        if key != self._key:  # another organisme or year: other vintages
            self._reload(docs, key)
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield self._con
        finally:
            self._con.execute("ROLLBACK")
            self._freeze()

    def _freeze(self) -> None:
        """After the first check, what stays (GE, its context, the vintages) leaves the garbage
        collector's reach: a full collection over that heap cost a third of each re-check."""
        if not self._frozen:
            gc.collect()
            gc.freeze()
            self._frozen = True

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con, self._key = None, None


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
    try:
        new, reads = findings_for(files, org, year, db_path, session)
        before, _ = findings_for([old], org, year, db_path, session)
    finally:
        session.close()
    compared = compare(new, before)
    said = pd.DataFrame(notices(documents_of(reads), session.missing))  # as in a plain check --json
    if html_out is not None:
        from pipelines.publish.versions_report import render_versions_html

        Path(html_out).write_text(render_versions_html(compared, str(files[0]), str(old)), encoding="utf-8")
    try:
        if as_json:
            json.dump(_records(pd.concat([compared, said], ignore_index=True)), sys.stdout, ensure_ascii=False, indent=1)
            sys.stdout.write("\n")
        else:
            _print_since(compared, str(files[0]), str(old), html_out)
    except BrokenPipeError:  # `… --since OLD | head`: the exit code still says NEW's verdict
        reader_gone()
    return _exit_code(new)


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
    try:
        state.recheck()
        if not as_json:
            print(f"Surveillance de {', '.join(map(str, files))} : chaque enregistrement est recontrôlé "
                  "(Ctrl-C pour arrêter).", file=out, flush=True)
        for events in watchfiles.watch(*{str(Path(t).parent) for t in targets}, recursive=False,
                                       watch_filter=lambda _change, path: str(Path(path).resolve()) in targets,
                                       step=_STEP_MS, debounce=_DEBOUNCE_MS, rust_timeout=_WAKE_MS,
                                       yield_on_timeout=True, stop_event=stop_event):
            if events or state.stamp() != state.checked:
                state.recheck()
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):  # a service stop keeps its own exit code
            raise
        if terminated():  # watchfiles turned SIGTERM into a plain KeyboardInterrupt: exit 143 all the same
            raise Terminated() from None
        print("bilans : surveillance arrêtée", file=sys.stderr, flush=True)
    finally:
        session.close()
    return 0


class _Watched:
    """The files under watch, their last findings and the stamp (mtime, size) they were checked at."""

    def __init__(self, files, org, year, db_path, session, as_json: bool, out):
        self.files, self.org, self.year, self.db_path = files, org, year, db_path
        self.session, self.as_json, self.out = session, as_json, out
        self.found: pd.DataFrame | None = None
        self.checked = None
        self.said = None  # the last unreadable-draft message, not repeated while it stays true

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
        appeared, gone = changes(before, found)
        self.found = found
        self._show(appeared, gone, len(found), time.perf_counter() - started)

    def _unreadable(self, exc: Exception) -> None:
        """A draft that cannot be read, often a save still being written (an editor empties the file,
        then writes it): after _SETTLE_S, said only if the file has not moved since, and once until a
        check succeeds; the watch goes on and the next save is checked."""
        time.sleep(_SETTLE_S)
        if self.stamp() != self.checked:
            return
        why = f"{exc.filename} : fichier absent ou illisible" if isinstance(exc, OSError) else str(exc)
        message = f"bilans : {why} — enregistrement en cours ? Contrôlé de nouveau au prochain enregistrement."
        if message != self.said:
            print(message, file=sys.stderr, flush=True)
            self.said = message

    def _show(self, appeared: pd.DataFrame, gone: pd.DataFrame, total: int, seconds: float) -> None:
        if self.as_json:
            records = _records(appeared, change="appeared") + _records(gone, change="disappeared")
            print(json.dumps(records, ensure_ascii=False), file=self.out, flush=True)
            return
        when = datetime.now().strftime("%H:%M:%S")
        took = f"{seconds:.2f}".replace(".", ",")
        if appeared.empty and gone.empty:
            print(f"[{when}] aucun changement ({pluriel(total, 'constat', 'constats')}, {took} s)", file=self.out, flush=True)
            return
        print(f"[{when}] {pluriel(len(appeared), 'constat apparu', 'constats apparus')}, "
              f"{pluriel(len(gone), 'disparu', 'disparus')} ; {total} en tout "
              f"({took} s)", file=self.out, flush=True)
        for r in appeared.to_dict("records"):
            print(finding_line(r, "+"), file=self.out)
        for r in gone.to_dict("records"):
            print(finding_line(r, "-"), file=self.out)
        self.out.flush()

