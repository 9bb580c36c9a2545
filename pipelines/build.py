"""`bilans build` : manifeste -> extraction -> curation -> validation -> magasin DuckDB (atomique)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from pipelines.errors import BilansError, UnusableInput
from pipelines.extract import extract_document
from pipelines.extract.model import Document
from pipelines.extract.records import document_records
from pipelines.manifest import Entry, read_manifest
from pipelines.store import atomic_store


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


def extract_all(entries: list[Entry], workers: int | None = None) -> tuple[list[Document], list[dict]]:
    """Extract every report of the manifest, titled as the manifest says and located by a path
    relative to the working directory when under it (« data/raw/… », not a machine's path).
    Returns (documents read, refusals): a document refused is a row for `documents_refuses`
    and the build goes on with the others."""
    read = extract_files([(e.path, e.org, e.report_year, e.document_id) for e in entries], workers,
                         keep_going=True)
    docs, refusals = [], []
    for doc, e in zip(read, entries, strict=True):
        relative = os.path.relpath(e.path)
        path = relative if not relative.startswith("..") else str(e.path)
        if isinstance(doc, str):
            refusals.append({"document_id": e.document_id, "org": e.org, "report_year": e.report_year,
                             "path": path, "message": doc})
            continue
        doc.title = e.title or doc.title
        doc.path = path
        docs.append(doc)
    return docs, refusals


def extract_files(specs: list[tuple], workers: int | None = None, keep_going: bool = False) -> list:
    """specs: (path, org, year, document_id) as `extract_document` takes them; in parallel for
    a large corpus (a worker process costs ~0.3 s to start). An unusable document raises, or with
    ``keep_going`` takes the place of its Document as its one-line refusal (a str)."""
    one = _extract_or_refusal if keep_going else _extract
    workers = workers or (os.cpu_count() or 1)
    if len(specs) < 12 or workers == 1:
        return [one(s) for s in specs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(one, specs, chunksize=8))


def insert(con, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    columns = [d[0] for d in con.execute(f'SELECT * FROM "{table}" LIMIT 0').description]
    frame = pd.DataFrame(rows)
    frame = frame[[c for c in columns if c in frame.columns]]  # extra keys of a shaper are not stored
    con.register("_rows", frame)
    con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _rows')
    con.unregister("_rows")


def write_store(con, documents: list[Document], curated: dict[str, list[dict]]) -> None:
    records: dict[str, list[dict]] = defaultdict(list)
    for doc in documents:
        for table, rows in document_records(doc).items():
            records[table] += rows
    for table, rows in {**records, **curated}.items():
        insert(con, table, rows)


def build(raw_dir: Path, db_path: Path, validate: bool = True, workers: int | None = None) -> int:
    started = time.perf_counter()
    entries = read_manifest(raw_dir)
    missing = [e for e in entries if not e.path.exists()]
    if missing:
        raise BilansError(f"fichier du manifeste introuvable : {missing[0].path}")
    documents, refusals = extract_all(entries, workers)
    if entries and not documents:
        raise BilansError(f"aucun document lisible, magasin inchangé ({refusals[0]['message']})")
    from pipelines.curate import curate

    curated, unmapped = curate(documents)
    with atomic_store(db_path) as con:
        write_store(con, documents, curated)
        insert(con, "documents_refuses", refusals)
        from pipelines.curate.views import create_views

        create_views(con)
        n_findings = 0
        if validate:
            from pipelines.validate import validate_store

            n_findings = validate_store(con)
    export_parquet(db_path)
    _summary(documents, curated, unmapped, n_findings, db_path, time.perf_counter() - started)
    _refusals(refusals)
    return 0


def export_parquet(db_path: Path) -> None:
    """Curated tables as Parquet partitioned by org and exercice (for DuckDB-on-S3, Spark, Trino)."""
    import duckdb

    from pipelines.store import CURATED_FAMILIES

    out = db_path.parent / "parquet"
    tmp = db_path.parent / ".parquet-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        for table in CURATED_FAMILIES:
            if con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]:
                con.execute(f"COPY (SELECT * FROM \"{table}\") TO '{tmp / table}' "
                            "(FORMAT PARQUET, PARTITION_BY (org, exercice), OVERWRITE_OR_IGNORE)")
    finally:
        con.close()
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def _refusals(refusals: list[dict]) -> None:
    """The documents left out, each with its one-line reason (also in the table `documents_refuses`)."""
    if refusals:
        print(f"  {len(refusals)} document(s) refusé(s), absent(s) du magasin (voir la table documents_refuses) :")
        for r in refusals:
            print(f"    {r['message']}")
    sys.stdout.flush()


def _summary(documents, curated, unmapped, n_findings, db_path, seconds) -> None:
    n_tables = sum(len(d.tables) for d in documents)
    print(f"Magasin écrit : {db_path} ({len(documents)} documents, {n_tables} tableaux, "
          f"{n_findings} constats, {seconds:.1f} s)")
    for family, rows in curated.items():
        if family != "findings":
            print(f"  {family:<14} {len(rows):>6} lignes")
    if unmapped:
        print(f"  {len(unmapped)} tableaux non rattachés à une famille :")
        for t in unmapped:
            print(f"    {t.table_id} « {(t.caption or '—')[:70]} »")
    from pipelines.curate import unknown_labels

    unknown = unknown_labels()
    if unknown:
        print(f"  {len(unknown)} libellés ou en-têtes absents des référentiels (gardés tels qu'imprimés ; "
              "à ajouter dans data/referentiels/ s'ils désignent une entité, un concept ou une mesure connus) :")
        by_doc: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for document_id, kind, printed in unknown:
            by_doc[document_id].append((kind, printed))
        for document_id, labels in by_doc.items():
            print(f"    {document_id} :")
            for kind, printed in labels:
                print(f"      {kind} « {printed[:70]} »")
    sys.stdout.flush()
