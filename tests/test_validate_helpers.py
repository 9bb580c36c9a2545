"""Shared helpers for the validation tests: a fixture text -> in-memory store -> findings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb

# pipelines.extract.sections.find_toc takes the longest run of « label … number » lines for the
# table of contents; real reports have one, these small fixtures get one at their end so that their
# tables are not mistaken for it (line numbers above it are unchanged).
TOC = "\n\nSommaire\n" + "".join(f"{i} Chapitre numéro {i}\t{i + 2}\n" for i in range(1, 13))


def store_of(tmp_path: Path, texts: dict[str, tuple[str, str, int]]):
    """texts: document_id -> (text, org, report_year). Returns the connection."""
    from pipelines.build import insert
    from pipelines.curate import curate
    from pipelines.curate.views import create_views
    from pipelines.extract import extract_document
    from pipelines.extract.records import document_records
    from pipelines.store import create_schema

    con = duckdb.connect(":memory:")
    create_schema(con)
    docs = []
    for doc_id, (text, org, year) in texts.items():
        path = tmp_path / f"{doc_id}.txt"
        path.write_text(textwrap.dedent(text).lstrip("\n") + TOC, encoding="utf-8")
        doc = extract_document(path, org, year, doc_id)
        docs.append(doc)
        for table, rows in document_records(doc).items():
            insert(con, table, rows)
    # validation reads what curation knows (the section and sens of a budget table), as in a build
    for table, rows in curate(docs)[0].items():
        insert(con, table, rows)
    create_views(con)
    return con


def run(tmp_path: Path, text: str, org: str = "SIIM94", year: int = 2018, extra: dict | None = None):
    from pipelines.validate import findings

    texts = {"doc": (text, org, year), **(extra or {})}
    con = store_of(tmp_path, texts)
    return findings(con, document_ids=["doc"])


def summary(df, *rules: str) -> list[tuple]:
    """(rule, line, severity, found, expected) of the findings, optionally only some rules."""
    rows = df if not rules else df[df["rule"].isin(rules)]
    return sorted((r["rule"], int(r["line"]), r["severity"], r["found"], r["expected"])
                  for r in rows.to_dict("records"))
