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
