"""frames.from_rows gives the Store that frames.load reads back once the same rows are written:
`bilans check --watch` builds its draft's Store this way, without writing nor reading it."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

from pipelines.flow import Source, insert, read_one
from pipelines.store import create_schema
from pipelines.validate.frames import from_rows, load

INVENTED = Path(__file__).resolve().parents[1] / "fixtures" / "millesimes"

# two figures on one line, in an order that is not that of their values nor of their text
PROSE = ("\nEn 2021, le syndicat a traité 845 demandes, 1 200 appels et 37 % de plus qu'en 2020 "
         "(12 500 € de dépenses).\n")


def _same(a, b) -> bool:
    """Equal and of the same types, NaN equal to NaN, dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_a_draft_made_from_its_rows_is_the_draft_read_from_the_store(tmp_path):
    draft = tmp_path / "brouillon.txt"
    draft.write_text((INVENTED / "sii_2021.txt").read_text(encoding="utf-8") + PROSE, encoding="utf-8")
    read = read_one(Source(draft, "SII", 2021, "brouillon"), keep_going=False)
    con = duckdb.connect(":memory:")
    create_schema(con)
    for table, rows in read.rows.items():
        insert(con, table, rows)
    stored, made = load(con, ["brouillon"]), from_rows(read.rows)
    assert stored.tables and stored.cells and stored.budget  # what the comparison is about
    same_line = [n for n in stored.narratifs if n["line"] == stored.narratifs[-1]["line"]]
    assert [n["text"] for n in same_line] == ["845", "1 200", "37", "12 500"]  # the order of the sentence
    for part in ("documents", "tables", "cells", "narratifs", "budget"):
        assert _same(getattr(made, part), getattr(stored, part)), part


# a PDF-text table: each figure on its own line, the TOTAL label two lines above its 2019 figure
PDF_TEXT = """Bilan d'activité 2021 du SIIM94

1. Formation

Evolution des activités de formation

formation 2019 2020

bureautiques 852 agents

101 agents

métiers 445 agents

73 agents

TOTAL

1282 agents

174 agents

"""


def test_draft_lookups_answer_as_the_queries_of_the_store(tmp_path):
    """validate.DraftLookups (what a --watch re-check reads of a draft it does not write) gives what
    validate._lookups reads from DuckDB: documents, tables, lines with their section, row labels
    printed on another line; for every value cell, and lines with no table or outside the text."""
    import pandas as pd

    from pipelines.validate import DraftLookups, _lookups

    for name, text in (("pdf_texte", PDF_TEXT), ("rapport", (INVENTED / "sii_2021.txt").read_text(encoding="utf-8"))):
        draft = tmp_path / f"{name}.txt"
        draft.write_text(text, encoding="utf-8")
        read = read_one(Source(draft, "SIIM94", 2021, name), keep_going=False)
        con = duckdb.connect(":memory:")
        create_schema(con)
        for table, rows in read.rows.items():
            insert(con, table, rows)
        store = from_rows(read.rows)
        cells = [c for cs in store.cells.values() for c in cs]
        found = pd.DataFrame([{"document_id": name, "table_id": c["table_id"], "line": float(c["line"])} for c in cells]
                             + [{"document_id": name, "table_id": None, "line": n} for n in (1, 4, 9, 10_000, None)])
        stored, made = _lookups(con, found), DraftLookups(store, read.rows).of(found)
        assert made == stored, name
        if name == "pdf_texte":
            total = next(c for c in cells if c["text"] == "1282 agents")
            assert made[3][(total["table_id"], total["line"])] == (total["line"] - 2, "TOTAL")
            assert made[2][(name, total["line"])][3:] == ("1", "Formation")  # its section
