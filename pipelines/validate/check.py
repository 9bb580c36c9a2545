"""`bilans check FILE…` : contrôler des rapports, brouillons compris, contre les millésimes du magasin."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from pipelines import catalogue
from pipelines.errors import UnusableInput

_SEVERITY_FR = {"error": "ERREUR", "warning": "ALERTE", "info": "info"}
_COPIED = ("documents", "sections", "lignes", "tables", "cells", "narratifs")
# curated rows of the other reports, for the series checks (series.break)
_CURATED = catalogue.noms_familles(series_seulement=True)


def check(files: list[Path], org: str | None, year: int | None, as_json: bool, db_path: Path,
          annotate: Path | None = None, include_info: bool = False) -> int:
    """Check the files; print their findings; with ``annotate``, write the annotated copy of each
    DOCX or PDF draft there (pipelines.publish.annotate). Exit code 1 when a finding is an error."""
    found, docs = findings_for(files, org, year, db_path, annotate=annotate)
    _print(found, docs, as_json)
    if annotate is not None:
        _annotate(docs, found, annotate, include_info)
    return 1 if (found["severity"] == "error").any() else 0


def read_drafts(files: list[Path], org: str | None, year: int | None) -> list:
    """The files read as Documents (ids made unique). UnusableInput: missing or empty file."""
    from pipelines.build import extract_files

    for f in files:
        if not Path(f).exists():  # a folder, a FIFO or a device: refused by the reading budget
            raise UnusableInput(f"fichier introuvable : {f}")
    docs = extract_files([(Path(f), org, year, None) for f in files])
    for f, doc in zip(files, docs, strict=True):
        if not any(line.strip() for line in doc.lines):
            raise UnusableInput(f"{f} : fichier vide")
    _unique_ids(docs)
    return docs


def findings_for(files: list[Path], org: str | None, year: int | None, db_path: Path | None,
                 session=None, annotate: Path | None = None) -> tuple[pd.DataFrame, list]:
    """(findings of FINDING_COLUMNS with `document` = the path given, Documents read) for the files.
    `session` (pipelines.validate.live.Session) keeps the store's vintages and GE loaded between
    calls (--since, --watch); without it the vintages are copied afresh into a store in memory.
    With ``annotate``, a copy that cannot be written there is said before the check, not after."""
    from pipelines.build import write_store
    from pipelines.curate import curate
    from pipelines.validate import findings

    docs = read_drafts(files, org, year)
    if annotate is not None:
        from pipelines.publish.annotate import targets

        targets(docs, annotate)
    ids = [d.document_id for d in docs]
    with (session or _Fresh(db_path)).scratch(docs) as con:
        write_store(con, docs, curate(docs)[0])
        found = findings(con, document_ids=ids, store=session.store(con, ids) if session else None)
    paths = {d.document_id: str(f) for d, f in zip(docs, files, strict=True)}
    found["document"] = found["document_id"].map(paths)
    return found, docs


class _Fresh:
    """A store in memory for one check: schema, vintages of the store, views (plain views: the files
    written afterwards are seen by them)."""

    def __init__(self, db_path: Path | None):
        self.db_path = db_path

    @contextmanager
    def scratch(self, docs):
        from pipelines.curate.views import create_views
        from pipelines.store import create_schema

        con = duckdb.connect(":memory:")
        try:
            create_schema(con)
            warn_missing(_copy_vintages(con, self.db_path, docs))
            create_views(con)
            yield con
        finally:
            con.close()


def warn_missing(missing: str | None) -> None:
    if missing:  # said, never silent: a check run outside the repository lost every cross-report rule
        print(f"bilans : avertissement : {missing} ; contrôles entre rapports (millésimes, séries) non faits",
              file=sys.stderr)


def _annotate(docs, found, out: Path, include_info: bool) -> None:
    """The annotated copies, said on stderr (stdout may be --json); a text draft is said, not annotated."""
    from pipelines.publish.annotate import annotate_drafts

    for d in docs:
        if d.format not in ("docx", "pdf"):
            print(f"bilans : --annotate annote seulement les brouillons DOCX ou PDF ; {d.path} est un texte "
                  "(constats ci-dessus)", file=sys.stderr)
    for a in annotate_drafts(docs, found, out, include_info):
        print(f"bilans : copie annotée : {a.path} ({a.placed} commentaire(s) dans le texte"
              + (f", {a.summary} en tête du document" if a.summary else "") + ")", file=sys.stderr)


def _unique_ids(docs) -> None:
    seen: dict[str, int] = {}
    for d in docs:
        n = seen.get(d.document_id, 0)
        seen[d.document_id] = n + 1
        if n:
            d.document_id = f"{d.document_id}~{n}"


def _copy_vintages(con, db_path: Path, docs) -> str | None:
    """Other reports of the same organismes, for vintage.* and series.break (the draft replaces
    its own year). The store is attached read-only and copied table to table inside DuckDB.
    Returns why the store could not be read (None when it was)."""
    if not db_path or not Path(db_path).is_file():
        return f"magasin introuvable : {db_path} (--db, ou lancez « bilans build » à la racine du projet)"
    path = str(Path(db_path).resolve()).replace("'", "''")
    try:
        con.execute(f"ATTACH '{path}' AS magasin (READ_ONLY)")
    except duckdb.Error as exc:  # a store being rebuilt, locked or unreadable: check the files alone
        return f"magasin illisible : {db_path} ({str(exc).splitlines()[0][:120]})"
    try:
        wanted = _other_reports(con, docs)
        if wanted:
            con.register("_voulus", pd.DataFrame({"document_id": wanted}))
            for table in _COPIED + _CURATED:
                _copy_table(con, table)
            con.unregister("_voulus")
    finally:
        con.execute("DETACH magasin")


def _other_reports(con, docs) -> list[str]:
    drafts = {(d.org, d.report_year) for d in docs}
    orgs = {d.org for d in docs}
    ids_new = {d.document_id for d in docs}
    rows = con.execute("SELECT document_id, org, report_year FROM magasin.documents").fetchall()
    return [i for i, org, year in rows if org in orgs and i not in ids_new and (org, year) not in drafts]


def _copy_table(con, table: str) -> None:
    if table == "lignes":
        return  # findings quote only the checked files
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


def _print(found, docs, as_json: bool) -> None:
    if as_json:
        records = json.loads(found.drop(columns=["highlight"], errors="ignore").to_json(orient="records",
                                                                                         force_ascii=False))
        json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    for d in docs:
        mine = found[found["document_id"] == d.document_id]
        counts = mine["severity"].value_counts()
        print(f"{d.path} : {d.org or 'organisme ?'} {d.report_year or 'année ?'} — "
              f"{counts.get('error', 0)} erreur(s), {counts.get('warning', 0)} alerte(s), "
              f"{counts.get('info', 0)} information(s)")
        for r in mine.to_dict("records"):
            exp = f" (attendu : {r['expected']})" if r["expected"] else ""
            place = f" ({r['place']})" if r.get("place") else ""
            print(f"  {d.path}:{r['line']}{place}  {_SEVERITY_FR.get(r['severity'], r['severity'])}  "
                  f"[{r['rule']}] {r['message']}{exp}")
