"""`bilans check FILE…` : contrôler des rapports, brouillons compris, contre les millésimes du magasin.

Each draft runs through the stages (pipelines.flow) into an in-memory store of its own that first
receives, from the project's store (pipelines.locate), the other reports of its organisme: the
cross-report checks (vintage.*, series.break) compare the draft with them, never with another draft
checked in the same run (a DOCX and its PDF, two versions: each would be the other's latest vintage
of the year, and hide its findings). `check` returns the
exit code; `print_findings` is the only place that writes the result. `findings_for` is the
same check for the authors' loop (pipelines/live.py: --since, --watch), which keeps the store's
vintages and Great Expectations loaded between checks in a `Session`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from multiprocessing import get_context
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd

from pipelines.errors import UnusableInput
from pipelines.extract import document_id_for, extract_document
from pipelines.flow import Read, Source, read_one, run_stages
from pipelines.store import CURATED_FAMILIES, create_schema, unreadable_store
from pipelines.terminal import ascii_json, pluriel, reader_gone

_SEVERITY_FR = {"error": "ERREUR", "warning": "ALERTE", "info": "info"}
_COPIED = ("documents", "sections", "tables", "cells", "narratifs")  # lignes: findings quote only the drafts
# curated rows of the other reports, for the series checks (series.break)
_CURATED = tuple(f for f in CURATED_FAMILIES if f != "applications")


def check(files: list[Path], org: str | None, year: int | None, as_json: bool, db_path: Path | None,
          annotate: Path | None = None, include_info: bool = False) -> int:
    """Exit code: 1 when a finding is an error, else 0; UnusableInput (exit 2) for a file that
    cannot be read. db_path None: no store (the cross-report checks are said not made). With
    ``annotate``, the annotated copy of each DOCX or PDF draft is written there
    (pipelines.publish.annotate); a copy that cannot be written is said before the check."""
    if annotate is not None:
        from pipelines.publish.annotate import targets

        targets(_planned(files), annotate)
    refused: list[dict] = []
    found, documents, missing = check_findings(files, org, year, db_path, refused)
    for r in refused:  # one line each; the other drafts are still checked and reported below
        print(f"bilans : {r['message']}", file=sys.stderr)
    if not documents and not as_json:
        return 2
    code = 2 if refused else 1 if (found["severity"] == "error").any() else 0  # the worst
    try:
        print_findings(found, documents, as_json, missing, refused=refused, order=_unique_ids(files))
    except BrokenPipeError:  # `bilans check … | head`: the reader left, the verdict is still the exit code
        reader_gone()
        return code
    if annotate is not None:
        checked = {d["path"] for d in documents}
        _annotate([f for f in files if str(f) in checked], org, year, found, annotate, include_info)
    return code



_FORMATS = {".docx": "docx", ".pdf": "pdf"}


def _planned(files: list[Path]) -> list[SimpleNamespace]:
    """What `annotate.targets` needs of each draft before it is read: its path, format and id."""
    return [SimpleNamespace(path=str(f), format=_FORMATS.get(Path(f).suffix.lower(), "texte"), document_id=i)
            for f, i in zip(files, _unique_ids(files), strict=True)]


def _annotate(files, org, year, found: pd.DataFrame, out: Path, include_info: bool) -> None:
    """The annotated copies, said on stderr (stdout may be --json); a text draft is said, not annotated.
    The drafts are read again as Documents (their text layers and line origins come from the cache)."""
    from pipelines.publish.annotate import annotate_drafts

    docs = []
    for f, i in zip(files, _unique_ids(files), strict=True):
        doc = extract_document(Path(f), org, year, i)
        doc.path = str(f)
        if doc.format not in _FORMATS.values():
            print(f"bilans : --annotate annote seulement les brouillons DOCX ou PDF ; {f} est un texte "
                  "(constats ci-dessus)", file=sys.stderr)
        docs.append(doc)
    for a in annotate_drafts(docs, found, out, include_info):
        print(f"bilans : copie annotée : {a.path} ({pluriel(a.placed, 'commentaire', 'commentaires')} dans le texte"
              + (f", {a.summary} en tête du document" if a.summary else "") + ")", file=sys.stderr)


def check_findings(files: list[Path], org: str | None, year: int | None, db_path: Path | None,
                   refused: list[dict] | None = None) -> tuple[pd.DataFrame, list[dict], str | None]:
    """(findings of the files, their documents in order, why the store was not read or None).
    A file that cannot be used (absent, empty, binary…) raises UnusableInput; with `refused`, a
    dict (document_id, path, message: its one-line French reason) is appended there instead and the
    other files are checked."""
    sources = []
    for f, i in zip(files, _unique_ids(files), strict=True):
        if Path(f).exists():  # a folder, a FIFO or a device: refused by the reading budget
            sources.append(Source(Path(f), org, year, i, shown=str(f)))
        elif refused is None:
            raise UnusableInput(f"fichier introuvable : {f}")
        else:
            refused.append({"document_id": i, "path": str(f), "message": f"fichier introuvable : {f}"})
    found, documents, missing = [], [], None
    for outcome, why in _checked(sources, db_path, keep_going=refused is not None):
        missing = missing or why
        if refused is not None:
            refused += [{k: r[k] for k in ("document_id", "path", "message")} for r in outcome.refusals]
        if outcome.findings is not None:  # None: the file could not be used, nothing was checked
            found.append(outcome.findings)
            documents += outcome.documents
    if not found:
        from pipelines.validate import FINDING_COLUMNS

        return pd.DataFrame(columns=FINDING_COLUMNS), [], None
    found = pd.concat(found, ignore_index=True)
    paths = {s.document_id: str(s.path) for s in sources}
    found["document"] = found["document_id"].map(paths)
    return found, documents, missing


# Drafts from which a command checks them in worker processes, one per core: each worker imports Great
# Expectations (3 s), a draft costs about 0,5 s checked alone.
APART_FROM = 8


def _checked(sources: list[Source], db_path: Path | None, keep_going: bool) -> Iterator[tuple]:
    """`_check_one` of each source, in order: in worker processes (one per core, started from a fresh
    server process, which copies neither the handlers of the command nor a thread) from APART_FROM drafts on.
    Ctrl-C is the command's: the server and the workers start with SIGINT ignored (inherited, and kept
    by Python), and are stopped (multiprocessing.Pool.terminate: ProcessPoolExecutor, stopped, may wait
    for ever on a worker writing a large result nobody reads any more)."""
    one = functools.partial(_check_one, db_path=db_path, keep_going=keep_going)
    workers = min(os.cpu_count() or 1, len(sources))
    if len(sources) < APART_FROM or workers == 1:
        yield from map(one, sources)
        return
    with _sigint_ignored():
        _quiet_tracker()
        pool = get_context("forkserver").Pool(workers)  # the processes start here
    try:
        yield from pool.imap(one, sources)
        pool.close()
    except BaseException:  # Ctrl-C, an error, or the caller gone: the workers stopped, not waited for
        pool.terminate()
        raise
    finally:
        pool.join()


def _quiet_tracker() -> None:
    """Start multiprocessing's resource tracker without its warnings: the pool stopped by Ctrl-C leaves
    it a few semaphores, which it removes, saying so in English on the terminal. It copies the -W options
    of this process as it starts (subprocess._args_from_interpreter_flags)."""
    from multiprocessing import resource_tracker

    option = "ignore::UserWarning"
    sys.warnoptions.append(option)
    try:
        resource_tracker.ensure_running()
    finally:
        sys.warnoptions.remove(option)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile (what processes started then inherit); signals are the main thread's only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


def _check_one(source: Source, db_path: Path | None, keep_going: bool):
    """(flow.Outcome, why the store was not read or None) of one draft, in an in-memory store of its
    own with the store's other reports of its organisme: the cross-report rules (vintage.*,
    series.break) compare it with them only — another draft of the same year checked in the same run
    would otherwise be its latest vintage of that year, and hide its findings."""
    con = duckdb.connect(":memory:")
    create_schema(con)
    missing: list[str | None] = [None]

    def vintages(con, outcome) -> None:  # once read: an organisme or year may come from the text
        missing[0] = copy_vintages(con, db_path, outcome.documents)

    try:
        outcome = run_stages(con, [source], keep_going=keep_going, on_read=_not_blank, before_checks=vintages)
    finally:
        con.close()
    return outcome, missing[0]


def findings_for(files: list[Path], org: str | None, year: int | None, db_path: Path | None,
                 session=None) -> tuple[pd.DataFrame, list[Read]]:
    """(findings of FINDING_COLUMNS with `document` = the path given, the drafts read) — the check
    of `check_findings`; with `session` (pipelines.live.Session) the store's vintages and GE stay
    loaded between calls (--since, --watch), the cross-report frames and the checks of the draft alone
    whose inputs were seen are reused (live.CrossMemo), and a draft is written into the session's store
    (and deleted from it afterwards, Session.scratch) only when the cross-report rules run: the others
    read its rows (Session.store, validate.DraftLookups). Several drafts are checked each alone, in
    a session of its own (Session.of), as `check_findings` does."""
    if session is None:
        found, documents, missing = check_findings(files, org, year, db_path)
        warn_missing(missing, documents)
        return found, []
    for f in files:
        if not Path(f).exists():
            raise UnusableInput(f"fichier introuvable : {f}")
    sources = [Source(Path(f), org, year, i, shown=str(f)) for f, i in zip(files, _unique_ids(files), strict=True)]
    if len(sources) == 1:
        return _findings_in(session, sources[0])
    # each alone, in a session of its own: drafts checked together are not compared with each other
    found, reads = zip(*(_findings_in(session.of(s.document_id), s) for s in sources), strict=True)
    session.missing = session.of(sources[0].document_id).missing  # the same store for each
    return pd.concat(found, ignore_index=True), [r for mine in reads for r in mine]


def _findings_in(session, source: Source) -> tuple[pd.DataFrame, list[Read]]:
    """`findings_for` of one draft in `session`, which holds the store's vintages and no other draft."""
    from pipelines.validate import findings

    key = session.version([source.path], source.org, source.report_year)
    if (known := session.checked(key)) is not None:  # the same bytes checked before: an edit undone
        return known
    reads = [read_one(source, keep_going=False)]
    for read in reads:
        _not_blank(read)
    ids = [r.document_id for r in reads]
    rows = session.rows(reads)
    with session.scratch(reads) as con:
        memo = session.cross_memo(reads)
        if memo.get() is None:  # the cross-report rules run: they read the drafts in the store
            session.write(reads)
        found = findings(con, document_ids=ids, store=session.store(rows), verdicts=session.verdicts,
                         cross_memo=memo, rows=rows)
    session.cross_reused += memo.reused
    session.own_reused += memo.own_reused
    found["document"] = found["document_id"].map({source.document_id: str(source.path)})
    if session.version([source.path], source.org, source.report_year) == key:  # not saved again while it was read
        session.keep(key, found, reads)
    return found, reads


def warn_missing(missing: str | None, documents: list[dict] = ()) -> None:
    """Said, never silent: a check without a store, or of a draft whose organisme or exercice is
    unknown (`documents`: dicts with path, org, report_year), loses every cross-report rule."""
    if missing:
        print(f"bilans : avertissement : {not_made(missing)}", file=sys.stderr)
    for d in documents:
        if unknown_scope(d):
            print(f"bilans : avertissement : {scope_not_known(d)}", file=sys.stderr)


# The checks that compare a report with the other reports of its organisme (see validate/vintages.py
# and validate/series.py): what a check without a store cannot do.
CROSS_REPORT_RULES = ("vintage.restated", "vintage.stale", "header.year (en-tête décalé d'un an)",
                      "text.year (chiffre du texte redonné par un autre rapport)", "series.break")


def not_made(missing: str) -> str:
    """One French line: why there is no store, and which cross-report checks were not made."""
    return (f"{missing} ; contrôles entre rapports non faits ({', '.join(CROSS_REPORT_RULES)}) — "
            "indiquer le magasin par --db ou BILANS_DB, ou lancer la commande dans le projet")


def unknown_scope(document: dict) -> str | None:
    """What the cross-report checks of `document` lack: « organisme », « exercice », both, or None."""
    gaps = [name for name, key in (("organisme", "org"), ("exercice", "report_year")) if not document.get(key)]
    return " et ".join(gaps) or None


def scope_not_known(document: dict) -> str:
    """One French line: the draft's organisme or exercice was neither given nor read in its text."""
    gaps = unknown_scope(document)
    return (f"{document['path']} : {gaps} {pluriel(gaps.count(' et ') + 1, 'inconnu', 'inconnus', False)} "
            "(ni --org/--year, ni reconnu dans le texte) ; contrôles entre rapports non faits — "
            "les donner par --org ORGANISME --year ANNÉE")


def notices(documents: list[dict], missing: str | None) -> list[dict]:
    """The rows of --json that say which checks were not made (plain check, --since, --watch), one per
    document and cause: rule `check.magasin` (no store, see `not_made`) and rule `check.perimetre`
    (organisme or exercice unknown, see `scope_not_known`). Every column of FINDING_COLUMNS, like
    the other rows, None where nothing applies (no line, table, figure). `documents`: dicts with
    document_id, path, org, report_year."""
    from pipelines.validate import FINDING_COLUMNS

    rows = []
    for d in documents:
        causes = [("check.magasin", not_made(missing) if missing else None,
                   "Indiquer le magasin par --db ou BILANS_DB, ou lancer la commande dans le projet."),
                  ("check.perimetre", scope_not_known(d) if unknown_scope(d) else None,
                   "Donner l'organisme et l'exercice par --org ORGANISME --year ANNÉE.")]
        for rule, message, suggestion in causes:
            if message:
                row = dict.fromkeys(FINDING_COLUMNS)
                row.update(document=d["path"], rule=rule, severity="info", message=message, suggestion=suggestion,
                           document_id=d["document_id"], org=d["org"], report_year=d["report_year"])
                rows.append(row)
    return rows


def documents_of(reads: list[Read]) -> list[dict]:
    """The documents of `notices` and `warn_missing` for drafts read one by one (pipelines.live)."""
    return [{"document_id": r.document_id, "path": r.source.shown or str(r.source.path), "org": r.org,
             "report_year": r.report_year} for r in reads]


def unreadable_row(path: str, document_id: str | None, message: str, severity: str = "error") -> dict:
    """The --json row of a file that could not be read (absent, empty, binary…): rule
    `check.lecture`, `message` its one-line French reason; every column of FINDING_COLUMNS but the
    internal `highlight`, None where nothing applies."""
    from pipelines.validate import FINDING_COLUMNS

    row = dict.fromkeys(c for c in FINDING_COLUMNS if c != "highlight")
    row.update(document=path, document_id=document_id, rule="check.lecture", severity=severity, message=message,
               suggestion="Vérifier le fichier : un rapport en texte, DOCX ou PDF, non vide.")
    return row


def _not_blank(read: Read) -> None:
    if read.blank:
        raise UnusableInput(f"{read.source.path} : fichier vide")


def _unique_ids(files: list[Path]) -> list[str]:
    """Document ids of the files, `~n` added to repeats (two drafts named alike in two folders)."""
    seen: dict[str, int] = {}
    out = []
    for f in files:
        base = document_id_for(Path(f))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(f"{base}~{n}" if n else base)
    return out


def copy_vintages(con, db_path: Path | None, documents: list[dict]) -> str | None:
    """Other reports of the same organismes, for vintage.* and series.break (a draft replaces
    its own year). The store is attached read-only and copied table to table inside DuckDB.
    Returns why the store could not be read (None when it was)."""
    if db_path is None:
        from pipelines.store import no_store_reason

        return no_store_reason()
    if not Path(db_path).is_file():
        return f"magasin introuvable : {db_path}"
    path = str(Path(db_path).resolve()).replace("'", "''")
    try:
        con.execute(f"ATTACH '{path}' AS magasin (READ_ONLY)")
    except duckdb.Error as exc:  # a store being rebuilt, locked or unreadable: check the files alone
        return unreadable_store(db_path, exc)
    try:
        wanted = _other_reports(con, documents)
        if wanted:
            con.register("_voulus", pd.DataFrame({"document_id": wanted}))
            for table in _COPIED + _CURATED:
                _copy_table(con, table)
            con.unregister("_voulus")
    finally:
        con.execute("DETACH magasin")
    return None


def _other_reports(con, documents: list[dict]) -> list[str]:
    drafts = {(d["org"], d["report_year"]) for d in documents}
    orgs = {d["org"] for d in documents}
    ids_new = {d["document_id"] for d in documents}
    rows = con.execute("SELECT document_id, org, report_year FROM magasin.documents").fetchall()
    return [i for i, org, year in rows if org in orgs and i not in ids_new and (org, year) not in drafts]


def _copy_table(con, table: str) -> None:
    if table == "cells":
        source = ("SELECT c.* FROM magasin.cells c JOIN magasin.tables t USING (table_id) "
                  "WHERE t.document_id IN (SELECT document_id FROM _voulus)")
    else:
        source = f'SELECT * FROM magasin."{table}" WHERE document_id IN (SELECT document_id FROM _voulus)'
    try:
        con.execute(f'INSERT INTO "{table}" BY NAME {source}')
    except duckdb.CatalogException:
        pass  # a store written before this table existed
    except duckdb.BinderException:
        pass  # a store whose columns differ beyond what BY NAME reconciles


def print_findings(found: pd.DataFrame, documents: list[dict], as_json: bool, missing: str | None = None,
                   refused: list[dict] = (), order: list[str] = ()) -> None:
    """The findings as a JSON array (--json) or one French line each, per document. `missing`:
    why the cross-report checks were not made (see `not_made`), said on stderr, and in --json
    as an info row of rule `check.magasin` per document (and `check.perimetre`: see `notices`).
    In --json each file of `refused` (see check_findings) is an error row of rule `check.lecture`
    (`unreadable_row`), and the rows follow `order` (the document ids in command-line order)."""
    warn_missing(missing, documents)
    if as_json:
        hidden = ("highlight",)  # the printed form the annotation looks for, not part of the answer
        records = json.loads(found.drop(columns=list(hidden), errors="ignore").to_json(orient="records",
                                                                                        force_ascii=False))
        rows = notices(documents, missing) + [unreadable_row(r["path"], r["document_id"], r["message"])
                                              for r in refused]
        records += [{k: v for k, v in row.items() if k not in hidden} for row in rows]
        rank = {i: n for n, i in enumerate(order)}
        records.sort(key=lambda r: rank.get(r.get("document_id"), len(rank)))  # stable: rules keep their order
        json.dump(records, sys.stdout, ensure_ascii=ascii_json(), indent=1)
        sys.stdout.write("\n")
        return
    for d in documents:
        mine = found[found["document_id"] == d["document_id"]]
        counts = mine["severity"].value_counts()
        print(f"{d['path']} : {d['org'] or 'organisme ?'} {d['report_year'] or 'année ?'} — "
              f"{pluriel(counts.get('error', 0), 'erreur', 'erreurs')}, "
              f"{pluriel(counts.get('warning', 0), 'alerte', 'alertes')}, "
              f"{pluriel(counts.get('info', 0), 'information', 'informations')}")
        for r in mine.to_dict("records"):
            exp = f" (attendu : {r['expected']})" if r["expected"] else ""
            place = f" ({r['place']})" if r.get("place") else ""
            print(f"  {d['path']}:{r['line']}{place}  {_SEVERITY_FR.get(r['severity'], r['severity'])}  "
                  f"[{r['rule']}] {r['message']}{exp}")
