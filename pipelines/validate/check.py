"""`bilans check FILE…` : contrôler des rapports, brouillons compris, contre les millésimes du magasin."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

from pipelines.errors import UnusableInput

_SEVERITY_FR = {"error": "ERREUR", "warning": "ALERTE", "info": "info"}
_COPIED = ("documents", "sections", "lignes", "tables", "cells", "narratifs")
# curated rows of the other reports, for the series checks (series.break)
_CURATED = ("finances", "contributions", "activite", "formations", "tickets", "indicateurs", "effectifs")


def check(files: list[Path], org: str | None, year: int | None, as_json: bool, db_path: Path) -> int:
    from pipelines.build import extract_files, write_store
    from pipelines.store import create_schema

    for f in files:
        if not Path(f).is_file():
            raise UnusableInput(f"fichier introuvable : {f}")
    docs = extract_files([(Path(f), org, year, None) for f in files])
    for f, doc in zip(files, docs, strict=True):
        if not any(line.strip() for line in doc.lines):
            raise UnusableInput(f"{f} : fichier vide")
    _unique_ids(docs)

    con = duckdb.connect(":memory:")
    create_schema(con)
    ids = [d.document_id for d in docs]
    _copy_vintages(con, db_path, docs)
    from pipelines.curate import curate
    from pipelines.curate.views import create_views

    write_store(con, docs, curate(docs)[0])
    create_views(con)
    from pipelines.validate import findings

    found = findings(con, document_ids=ids)
    paths = {d.document_id: str(f) for d, f in zip(docs, files, strict=True)}
    found["document"] = found["document_id"].map(paths)
    _print(found, docs, as_json)
    return 1 if (found["severity"] == "error").any() else 0


def _unique_ids(docs) -> None:
    seen: dict[str, int] = {}
    for d in docs:
        n = seen.get(d.document_id, 0)
        seen[d.document_id] = n + 1
        if n:
            d.document_id = f"{d.document_id}~{n}"


def _copy_vintages(con, db_path: Path, docs) -> None:
    """Other reports of the same organismes, for vintage.* (the draft replaces its own year)."""
    if not db_path or not Path(db_path).exists():
        return
    try:
        src = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return  # a store being rebuilt or locked: check the files alone
    try:
        keep = src.execute("SELECT document_id, org, report_year FROM documents").df()
        drafts = {(d.org, d.report_year) for d in docs}
        orgs = {d.org for d in docs}
        ids_new = {d.document_id for d in docs}
        keep = keep[keep["org"].isin(orgs) & ~keep["document_id"].isin(ids_new)
                    & ~keep.apply(lambda r: (r["org"], r["report_year"]) in drafts, axis=1)]
        if keep.empty:
            return
        wanted = ", ".join("'" + i.replace("'", "''") + "'" for i in keep["document_id"])
        for table in _COPIED + _CURATED:
            if table == "cells":
                q = (f"SELECT c.* FROM cells c JOIN tables t USING (table_id) WHERE t.document_id IN ({wanted})")
            elif table == "lignes":
                continue  # findings quote only the checked files
            else:
                q = f'SELECT * FROM "{table}" WHERE document_id IN ({wanted})'
            try:
                df = src.execute(q).df()
            except duckdb.CatalogException:
                continue  # a store written before this table existed
            if len(df):
                con.register("_v", df)
                con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _v')
                con.unregister("_v")
    finally:
        src.close()


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
