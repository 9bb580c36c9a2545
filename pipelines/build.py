"""`bilans build` : manifeste -> extraction -> curation -> validation -> magasin DuckDB (atomique)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.errors import BilansError, UnusableInput
from pipelines.extract import extract_document
from pipelines.extract.model import Document
from pipelines.extract.records import document_records
from pipelines.flow import (
    PARALLEL_FROM,
    Outcome,
    Source,
    forget_digests,
    insert,
    run_stages,
    say,
    seed_plan,
)
from pipelines.manifest import Entry, Manifest, load_manifest
from pipelines.sidecar import checks_aside, write_beside
from pipelines.store import TEMP_PREFIX, atomic_store, default_mode
from pipelines.terminal import duree, interrupted, nombre, pluriel, safe
from pipelines.validate.stored_results import forget

LOCK_NAME = ".bilans.lock"
PARQUET_PREFIX = ".parquet-"
# a replaced export, renamed at once out of the readers' way, then deleted in the background (a few
# thousand files: seconds that no build needs to wait for)
TRASH_PREFIX = ".corbeille-"
# What DuckDB may hold of a build (the buffers of the store, the joins of the cross-report checks); past
# it, DuckDB writes to disk: with the Python side bounded by batches of reports, the peak memory of a
# build stays near 1 GB whatever the corpus (bench/growth.py measures it). An operator that cannot
# write to disk and needs more raises: the build is then made again without the bound (_write_store).
MEMORY_LIMIT_MB = 300
# What DuckDB may hold while it writes the Parquet export (its partitioned COPY buffers every partition:
# 0,48 Go above the build at 6 400 reports without a bound, 0,25 Go with this one), beside the process
# of Great Expectations that writes the Data Docs meanwhile.
EXPORT_MEMORY_LIMIT_MB = 200


def _extract(spec: tuple) -> Document:
    try:
        return extract_document(*spec)
    except UnicodeDecodeError as exc:  # the reader should have said so; never a traceback
        raise UnusableInput(f"{spec[0]} : encodage illisible ({exc.reason})") from exc


def _extract_or_refusal(spec: tuple) -> Document | str:
    """A document, or the one-line reason it is refused (unreadable, or over its reading budget)."""
    try:
        return _extract(spec)
    except UnusableInput as exc:
        return str(exc)


def shown_path(path: Path) -> str:
    """The path a store quotes: relative to the working directory when under it (« data/raw/… »,
    not a machine's path)."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


def sources_of(entries: list[Entry]) -> list[Source]:
    """The manifest's reports, titled as the manifest says."""
    return [Source(e.path, e.org, e.report_year, e.document_id, e.title or None, shown_path(e.path))
            for e in entries]


def extract_all(entries: list[Entry], workers: int | None = None) -> tuple[list[Document], list[dict]]:
    """Extract every report of the manifest into Documents (for the bench and the analysts; a build
    streams them through pipelines.flow instead). Returns (documents read, refusal rows)."""
    read = extract_files([(e.path, e.org, e.report_year, e.document_id) for e in entries], workers,
                         keep_going=True)
    docs, refusals = [], []
    for doc, e in zip(read, entries, strict=True):
        if isinstance(doc, str):
            refusals.append({"document_id": e.document_id, "org": e.org, "report_year": e.report_year,
                             "path": shown_path(e.path), "message": doc})
            continue
        doc.title = e.title or doc.title
        doc.path = shown_path(e.path)
        docs.append(doc)
    return docs, refusals


def extract_files(specs: list[tuple], workers: int | None = None, keep_going: bool = False) -> list:
    """specs: (path, org, year, document_id) as `extract_document` takes them; in parallel for
    a large corpus (a worker process costs ~0.3 s to start). An unusable document raises, or with
    ``keep_going`` takes the place of its Document as its one-line refusal (a str)."""
    one = _extract_or_refusal if keep_going else _extract
    workers = workers or (os.cpu_count() or 1)
    if len(specs) < PARALLEL_FROM or workers == 1:
        return [one(s) for s in specs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(one, specs, chunksize=8))


def write_store(con, documents: list[Document], curated: dict[str, list[dict]]) -> None:
    """Documents already extracted and curated (tests, notebooks) into `con`."""
    for doc in documents:
        for table, rows in document_records(doc).items():
            insert(con, table, rows)
    for table, rows in curated.items():
        insert(con, table, rows)


def build(raw_dir: Path, db_path: Path, validate: bool = True, workers: int | None = None,
          force: bool = False, incremental: bool = True, checks=None) -> int:
    """Build the store from the manifest of raw_dir; 0 on success.

    The stages run through `pipelines.flow.run_stages` into a new store swapped in atomically;
    with `incremental`, the documents of the current store whose bytes and reader version are
    unchanged are copied from it rather than read again.

    BilansError (exit 2, store untouched) when the manifest or its header is unusable, when
    another build holds the lock, or — unless `force` — when the build would hold no document
    or would drop documents of the current store (« rien de perdu »).
    `checks`: where Great Expectations runs (sidecar.checks_aside, which the command line starts before
    it imports the build); by default a process started here, none without `validate`.
    """
    if validate and checks is None:
        with checks_aside() as checks:
            return build(raw_dir, db_path, validate, workers, force, incremental, checks)
    started = time.perf_counter()
    if db_path.exists() and not db_path.is_file():
        raise BilansError(f"--db {db_path} n'est pas un fichier (un dossier ?) : donnez le chemin du magasin, "
                          "par exemple data/curated/bilans.duckdb")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(db_path.parent):
        remove_leftovers(db_path.parent)
        forget_digests()  # the reports as they are now
        manifest = load_manifest(raw_dir)
        for line in manifest.refused:
            print(f"bilans : {line}", file=sys.stderr)
        current = _current_store(db_path, force)  # opened once: its documents, its export's stamp
        guard(manifest, set() if current is None else current[0], force)
        previous = db_path if incremental and current is not None else None
        before = current[0] if previous is not None else set()
        exported_from = current[1] if previous is not None else None
        with _said_if_interrupted(db_path, _identity(db_path)):
            try:
                outcome, counts = _write_store(db_path, manifest, checks, workers, previous, MEMORY_LIMIT_MB)
            except duckdb.Error as exc:
                if not _out_of_memory(exc):
                    raise
                print(f"bilans : la construction dépasse la mémoire bornée de DuckDB ({MEMORY_LIMIT_MB} Mo) ; "
                      "reprise sans cette borne", file=sys.stderr)
                outcome, counts = _write_store(db_path, manifest, checks, workers, previous, None)
            # the Parquet export (DuckDB's COPY, which releases the GIL) beside GE's rendering (Python)
            with ThreadPoolExecutor(1, thread_name_prefix="export-parquet") as pool:
                changed = _changed_documents(outcome, before) if previous is not None else None
                # the export written from the store replaced holds rows of its documents only
                exported = pool.submit(export_parquet, db_path, changed, exported_from,
                                       None if changed is None else changed & before)
                _write_gx(db_path, checks)
                exported.result()
    removed = len(before - {d["document_id"] for d in outcome.documents})
    _summary(outcome, counts, db_path, time.perf_counter() - started, validate, removed)
    _refusals(outcome.refusals)
    return 0


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, None without one: a store swapped in is another file."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


@contextlib.contextmanager
def _said_if_interrupted(db_path: Path, before: tuple[int, int] | None):
    """A Ctrl-C or SIGTERM (or DuckDB's error for one) once the new store is swapped in — the file at
    `db_path` is no longer the one of identity `before`: the store is the new one (the CLI's
    « interrompu » alone would let the user believe it unchanged); what is left undone is written by
    the next build (GE's results and the Parquet export carry the stamp of the store they describe)."""
    try:
        yield
    except BaseException as exc:
        if not (isinstance(exc, KeyboardInterrupt) or interrupted()) or _identity(db_path) == before:
            raise
        print(f"bilans : le magasin {shown_path(db_path)} est déjà remplacé par la nouvelle construction ; "
              "résultats Great Expectations, Data Docs ou export Parquet pas écrits : relancez « bilans build » "
              "pour les écrire", file=sys.stderr)
        raise


def _write_store(db_path: Path, manifest, checks, workers, previous, memory_limit_mb: int | None):
    """(outcome, rows per family) of a new store built from `manifest` and swapped in atomically, checked
    where `checks` says (None: not checked, --no-validate).
    `memory_limit_mb`: what DuckDB may hold, in MB (None: its default, 80 % of the memory); past it an operator
    that cannot write to disk raises duckdb.OutOfMemoryException, and the store is left untouched."""
    from pipelines.validate.publications import keep_publications

    validate = checks is not None
    sources = sources_of(manifest.entries)
    seeded = seed_plan(previous, sources)  # a byte copy of the store replaced, pruned, when most of it stays
    with atomic_store(db_path, seed=previous if seeded else None) as con:
        if memory_limit_mb is not None:
            con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
        outcome = run_stages(con, sources, validate=validate, write_findings=True, workers=workers,
                             previous=previous, echo=say, seeded=seeded, checks=checks)
        if manifest.entries and not outcome.documents:
            raise BilansError(f"aucun document lisible, magasin inchangé ({outcome.refusals[0]['message']})")
        insert(con, "documents_refuses", outcome.refusals)
        keep_publications(con, db_path, with_findings=validate)  # the pages' register is not the reports'
        return outcome, _family_counts(con)


def _out_of_memory(exc: Exception) -> bool:
    """DuckDB past its memory_limit: OutOfMemoryException, or a commit that could not allocate a
    block (a TransactionException saying « could not allocate »)."""
    return isinstance(exc, duckdb.OutOfMemoryException) or "could not allocate" in str(exc).lower()


def _write_gx(db_path: Path, checks) -> None:
    """GE's results and Data Docs of the store now in place, written from its result parts (the whole
    corpus, whatever the build redid; not written again when they already describe it) where the build
    runs GE (`checks`, pipelines/sidecar.py); none beside a store built without its checks (`checks`
    None). After the store is swapped in: a build that failed leaves the folder of the store still in place."""
    if checks is None:
        forget(db_path)  # no stale Data Docs beside a store without findings
        return
    checks.submit(write_beside, db_path)()


def _family_counts(con) -> dict[str, int]:
    from pipelines.store import CURATED_FAMILIES

    return {f: con.execute(f'SELECT count(*) FROM "{f}"').fetchone()[0] for f in ("tables", *CURATED_FAMILIES)}


def _current_store(db_path: Path, force: bool) -> tuple[set[str], str | None] | None:
    """(document_id of the current store, its stamp for the Parquet export: `_store_stamp`), read in one
    opening; None when there is no store yet, or — with `force` — when db_path is a file but not a store
    (nothing to keep). BilansError without `force` for such a file (`--db` aimed at the wrong file)."""
    if not db_path.is_file():
        return None
    try:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            return ({r[0] for r in con.execute("SELECT document_id FROM documents").fetchall()},
                    _store_stamp(db_path, con))
        finally:
            con.close()
    except duckdb.Error as exc:
        if force:
            return None
        reason = str(exc).splitlines()[0][:160]
        raise BilansError(f"{db_path} existe mais n'est pas un magasin lisible ({reason}) : il n'est pas "
                          "remplacé (« bilans build --force » pour l'écraser)") from None


def guard(manifest: Manifest, before: set[str], force: bool) -> None:
    """Refuse a build that would lose documents: none at all, or fewer than the store holds (`before`,
    its document_id) — a manifest re-saved by a spreadsheet, a renamed column, a deleted line. `force`
    accepts it."""
    if force:
        return
    refused = f" ({pluriel(len(manifest.refused), 'ligne refusée', 'lignes refusées')}, voir ci-dessus)" if manifest.refused else ""
    if not manifest.entries:
        raise BilansError(f"le manifeste {manifest.path} ne donne aucun document{refused} ; magasin inchangé "
                          "(« bilans build --force » pour construire quand même)")
    lost = sorted(before - {e.document_id for e in manifest.entries})
    if lost:
        shown = ", ".join(safe(d) for d in lost[:5]) + (", …" if len(lost) > 5 else "")
        raise BilansError(f"{pluriel(len(lost), 'document du magasin absent', 'documents du magasin absents')} "
                          f"du manifeste ({shown}){refused} : "
                          f"le magasin en perdrait, il reste inchangé (« bilans build --force » pour les retirer)")


@contextlib.contextmanager
def build_lock(directory: Path):
    """One build at a time per store folder: an exclusive lock on a file beside the store,
    released by the kernel when the process dies (kill -9 leaves no stale lock)."""
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BilansError(f"une autre construction du magasin est en cours dans {directory} "
                              f"(verrou {path}) ; relancez « bilans build » quand elle sera finie") from None
        yield
    finally:
        os.close(fd)


def remove_leftovers(directory: Path) -> list[str]:
    """Temp stores, WAL files and Parquet folders left by a build killed before its cleanup.
    Called with the lock held, so none of them belongs to a live build; the folder the
    `parquet` link points to is the current export and stays."""
    link = directory / "parquet"
    current = link.resolve() if link.is_symlink() else None
    removed = []
    for path in directory.iterdir():
        if path.name.startswith(TRASH_PREFIX) or (path.name.startswith(PARQUET_PREFIX) and path.resolve() != current):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(TEMP_PREFIX):
            path.unlink(missing_ok=True)
        else:
            continue
        removed.append(path.name)
    return removed


def _sql_string(text: str) -> str:
    """A SQL string literal (COPY … TO takes no bound parameter for its file)."""
    return "'" + text.replace("'", "''") + "'"


def _changed_documents(outcome: Outcome, before: set[str]) -> set[str]:
    """The documents whose rows may differ from the previous store's: read by this build, or gone."""
    reused = {d["document_id"] for d in outcome.documents if d["reused"]}
    return {d["document_id"] for d in outcome.documents if not d["reused"]} | (before - reused)


STAMP = ".magasin"  # in an export: the stamp (_store_stamp) of the store it was written from


def _store_stamp(db_path: Path, con) -> str | None:
    """What the Parquet export of a store must match to be reused: the store's path and its documents
    (id, bytes, reader version), as a digest; None when the store (open in `con`) cannot say."""
    import hashlib
    import json

    try:
        rows = con.execute("SELECT document_id, sha256, reader_version FROM documents ORDER BY ALL").fetchall()
    except duckdb.Error:
        return None
    return hashlib.sha256(json.dumps([str(db_path.resolve()), rows]).encode()).hexdigest()


def export_parquet(db_path: Path, changed: set[str] | None = None, exported_from: str | None = None,
                   exported: set[str] | None = None) -> None:
    """Curated tables as Parquet partitioned by org and exercice (for DuckDB-on-S3, Spark, Trino).

    `parquet` is a symbolic link to a folder written under a unique name; the link is swapped
    atomically, so a reader sees the previous export or the new one, never a partial one.
    `changed`: the documents whose rows may differ from the current export (None: unknown): the
    partitions holding none of their rows, before or after, are that export's files, linked (hard
    links, no copy), and the others written; a table whose columns or row count then differ from the
    store's is written whole. Only an export written from the store this build replaced is reused:
    its stamp (`STAMP`, `_store_stamp`) must be `exported_from`, that store's (another store of the
    same folder, or a store restored from a backup, has its own rows). `exported`: those of `changed`
    that may have rows in that export (the documents of the store it was written from; None: any),
    the only ones looked for in its files.
    """
    link = db_path.parent / "parquet"
    previous = link.resolve() if link.is_symlink() and link.resolve().is_dir() else None
    if previous is not None and (exported_from is None or _stamp_in(previous) != exported_from):
        previous = None
    folder = Path(tempfile.mkdtemp(prefix=PARQUET_PREFIX, dir=db_path.parent))
    try:
        os.chmod(folder, default_mode(directory=True))  # readable as the store is, not 0700
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            try:
                con.execute(f"SET memory_limit = '{EXPORT_MEMORY_LIMIT_MB}MB'")
                _export_tables(con, previous, folder, changed, exported)
            except duckdb.Error as exc:
                if not _out_of_memory(exc):
                    raise
                print(f"bilans : l'export Parquet dépasse sa mémoire bornée ({EXPORT_MEMORY_LIMIT_MB} Mo) ; "
                      "reprise sans cette borne", file=sys.stderr)
                con.execute("RESET memory_limit")  # an operator that cannot write to disk: unbounded, as the build
                for written in folder.iterdir():
                    shutil.rmtree(written)
                _export_tables(con, previous, folder, changed, exported)
            (folder / STAMP).write_text(_store_stamp(db_path, con) or "", encoding="utf-8")
        finally:
            con.close()
        _swap_link(link, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _export_tables(con, previous: Path | None, folder: Path, changed: set[str] | None,
                   exported: set[str] | None) -> None:
    """Write each curated table of `con` into `folder` (export_parquet)."""
    from pipelines.store import CURATED_FAMILIES

    for table in CURATED_FAMILIES:
        if not con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]:
            continue
        if previous is None or changed is None or not _partial_export(con, table, previous, folder, changed, exported):
            shutil.rmtree(folder / table, ignore_errors=True)
            _copy_partitions(con, f'SELECT * FROM "{table}"', folder / table)


def _stamp_in(export: Path) -> str | None:
    try:
        return (export / STAMP).read_text(encoding="utf-8") or None
    except OSError:  # an export written before the stamp: not reused
        return None


def _copy_partitions(con, query: str, target: Path, params: list | None = None) -> None:
    con.execute(f"COPY ({query}) TO {_sql_string(str(target))} "
                "(FORMAT PARQUET, PARTITION_BY (org, exercice), OVERWRITE_OR_IGNORE)", params or [])


def _partial_export(con, table: str, previous: Path, folder: Path, changed: set[str],
                    exported: set[str] | None = None) -> bool:
    try:
        return _export_partitions(con, table, previous, folder, changed, exported)
    except (duckdb.Error, OSError, pa.ArrowException):  # an export this version cannot read: written whole
        return False


def _export_partitions(con, table: str, previous: Path, folder: Path, changed: set[str],
                       exported: set[str] | None = None) -> bool:
    """Export `table` into `folder` from the previous export `previous`: the partitions (org, exercice)
    where a `changed` document has rows, now or in that export, written from the store, the others
    linked. `exported`: the changed documents that may have rows in that export (None: any of them),
    the only ones its files are read for. False when that export cannot serve (no such table, other
    columns, another row count once done): the caller writes the table whole."""
    old = previous / table
    if not old.is_dir():
        return False
    glob = _sql_string(str(old / "**" / "*.parquet"))
    try:
        columns = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({glob}, "
                                                   "hive_partitioning = true)").fetchall()}
    except duckdb.Error:
        return False
    types = {r[0]: r[1] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    if sorted(columns) != sorted(types):
        return False
    ids = sorted(changed)
    keys = con.execute(f'SELECT DISTINCT org, exercice FROM "{table}" WHERE list_contains(?::VARCHAR[], document_id)',
                       [ids]).fetchall()
    looked = ids if exported is None else sorted(exported)
    if looked:  # the partitions where these documents had rows
        keys += con.execute(f"""SELECT DISTINCT CAST(org AS {types['org']}), CAST(exercice AS {types['exercice']})
                                FROM read_parquet({glob}, hive_partitioning = true)
                                WHERE list_contains(?::VARCHAR[], document_id)""", [looked]).fetchall()
    keys = sorted(set(keys), key=repr)
    con.register("_cles", pa.table({"org": pa.array([k[0] for k in keys], pa.string()),
                                    "exercice": pa.array([k[1] for k in keys], pa.int64())}))
    try:
        # the folders DuckDB names for these keys, as it names them: written once with a column of nothing
        names = folder / f".{table}.cles"
        _copy_partitions(con, f"SELECT CAST(org AS {types['org']}) AS org, CAST(exercice AS {types['exercice']}) "
                              "AS exercice, NULL::BOOLEAN AS _ FROM _cles", names)
        redone = {p.parent.relative_to(names) for p in names.rglob("*.parquet")} if names.is_dir() else set()
        shutil.rmtree(names, ignore_errors=True)
        _copy_partitions(con, f'SELECT t.* FROM "{table}" t SEMI JOIN _cles k '
                              "ON k.org IS NOT DISTINCT FROM t.org AND k.exercice IS NOT DISTINCT FROM t.exercice",
                         folder / table)
    finally:
        con.unregister("_cles")
    for path in old.rglob("*.parquet"):
        part = path.parent.relative_to(old)
        if part not in redone:
            (folder / table / part).mkdir(parents=True, exist_ok=True)
            os.link(path, folder / table / part / path.name)
    written = con.execute(f"SELECT count(*) FROM read_parquet({_sql_string(str(folder / table / '**' / '*.parquet'))})"
                          ).fetchone()[0]
    return written == con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def _swap_link(link: Path, folder: Path) -> None:
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():  # a real folder from an older version: moved aside once
        old = Path(tempfile.mkdtemp(prefix=PARQUET_PREFIX, dir=link.parent))
        os.replace(link, old / "ancien")
        previous = old
    tmp_link = link.with_name(f"{TEMP_PREFIX}{folder.name}.lien")
    tmp_link.unlink(missing_ok=True)
    os.symlink(folder.name, tmp_link)
    os.replace(tmp_link, link)
    if previous is not None and previous != folder.resolve() and previous.parent == link.parent.resolve():
        trash = previous.with_name(TRASH_PREFIX + previous.name)
        try:
            os.replace(previous, trash)
        except OSError:  # gone already, or not ours to move: removed where it is
            shutil.rmtree(previous, ignore_errors=True)
            return
        _remove_in_background(trash)


def _remove_in_background(folder: Path) -> None:
    """Delete `folder` without waiting: by `rm -rf` in its own session (it outlives a build that ends
    first), else in a thread. One not finished is a leftover the next build removes (remove_leftovers)."""
    import subprocess
    import threading

    rm = shutil.which("rm")
    if rm:
        with contextlib.suppress(OSError):
            subprocess.Popen([rm, "-rf", "--", str(folder)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
            return
    threading.Thread(target=shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True}, daemon=True).start()


def _refusals(refusals: list[dict]) -> None:
    """The documents left out, each with its one-line reason (also in the table `documents_refuses`)."""
    if refusals:
        print(f"  {pluriel(len(refusals), 'document refusé, absent', 'documents refusés, absents')} du magasin (voir la table documents_refuses) :")
        for r in refusals:
            print(f"    {r['message']}")
    sys.stdout.flush()


def _duplicates_said(db_path: Path) -> list[str]:
    """The years of a report covered by several documents (validate.duplicates), read in the store now in place."""
    from pipelines.validate.duplicates import said_in_summary

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return [safe(line) for line in said_in_summary(con)]
    finally:
        con.close()


def _summary(outcome: Outcome, counts: dict[str, int], db_path: Path, seconds: float, validate: bool = True,
             removed: int = 0) -> None:
    """The build's summary; `removed`: documents of the previous store no longer in the manifest."""
    reused = f" dont {outcome.reused} repris du magasin précédent" if outcome.reused else ""
    if removed:
        reused += f", {pluriel(removed, 'retiré', 'retirés')}"
    checked = pluriel(outcome.n_findings, "constat", "constats") if validate else "contrôles non faits (--no-validate)"
    print(f"Magasin écrit : {db_path} ({pluriel(len(outcome.documents), 'document', 'documents')}{reused}, "
          f"{pluriel(counts.pop('tables'), 'tableau', 'tableaux')}, {checked}, {duree(seconds)})")
    for family, n in counts.items():
        if n:
            print(f"  {family:<14} {nombre(n):>9} {pluriel(n, 'ligne', 'lignes', False)}")
    for line in _duplicates_said(db_path):
        print(line)
    if outcome.unmapped:
        print(f"  {pluriel(len(outcome.unmapped), 'tableau non rattaché', 'tableaux non rattachés')} à une famille :")
        for table_id, caption in outcome.unmapped:
            print(f"    {safe(table_id)} « {safe(caption or '—')[:70]} »")
    unknown = sorted(set(outcome.unknown))
    if unknown:
        n = len(unknown)
        kept = pluriel(n, "gardé tel qu'imprimé", "gardés tels qu'imprimés", False)
        meant = pluriel(n, "s'il désigne", "s'ils désignent", False)
        print(f"  {pluriel(n, 'libellé ou en-tête absent', 'libellés ou en-têtes absents')} des référentiels "
              f"({kept} ; à ajouter dans data/referentiels/ {meant} une entité, un concept ou une mesure connus) :")
        by_doc: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for document_id, kind, printed in unknown:
            by_doc[document_id].append((kind, printed))
        for document_id, labels in by_doc.items():
            print(f"    {safe(document_id)} :")
            for kind, printed in labels:
                print(f"      {kind} « {safe(printed)[:70]} »")
    sys.stdout.flush()
