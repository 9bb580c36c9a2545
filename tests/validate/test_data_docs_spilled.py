"""Data Docs en mémoire bornée : les constats d'une suite écrits sur disque partie par partie
(data_docs.spilled) donnent le même JSON et la même page que le résultat tenu en mémoire
(stored_results.combined, data_docs.suite_result), dans l'ordre des parties, et rien ne reste du dossier
temporaire."""

from __future__ import annotations

import json

import duckdb

from pipelines.store import SCHEMA
from pipelines.validate import data_docs
from pipelines.validate.expectations.base import SAMPLE
from pipelines.validate.stored_results import PARTS, combined, suite_parts
from pipelines.validate.suites import suite

NAME = "valeurs"
WHEN = "2026-01-02T03:04:05+00:00"


def _parts(con, kind: str) -> None:
    """Three reports of one organisme (parts inserted out of order), 150 check rows each, every other
    one flagged: 225 flagged rows, more than the SAMPLE a page draws."""
    con.execute("CREATE TABLE documents (document_id VARCHAR, org VARCHAR, checks_version VARCHAR)")
    con.execute("INSERT INTO documents VALUES ('a', 'X', 'v'), ('b', 'X', 'v'), ('c', 'X', 'v')")
    con.execute(f"CREATE TABLE {PARTS} ({SCHEMA[PARTS]})")
    for doc in ("c", "a", "b"):
        rows = [{"check_id": i, "document_id": doc, "line": i, "rule": "value.malformed", "severity": "error",
                 "message": f"ligne {i} de « {doc} »"} for i in range(0, 150, 2)]
        part = {kind: {"element_count": 150, "unexpected_rows": rows}}
        con.execute(f"INSERT INTO {PARTS} VALUES (?, ?, 'rapport', 150, ?)", [NAME, doc, json.dumps(part)])


def test_rows_spilled_to_disk_give_the_json_and_page_of_the_result_in_memory(tmp_path):
    gx_suite = suite(NAME)
    kind = gx_suite.expectations[0].configuration.type
    con = duckdb.connect()
    _parts(con, kind)
    in_memory = data_docs.suite_result(gx_suite, combined(con)[NAME])
    data_docs._stamp(in_memory, NAME, WHEN)
    with data_docs.spilled(gx_suite, suite_parts(con, PARTS, NAME), tmp_path) as held:
        data_docs._stamp(held.result, NAME, WHEN)
        text = "".join(data_docs._json_pieces(held.result, held.lists))
        assert text == data_docs._json(in_memory)
        assert data_docs.validation_page(held.result) == data_docs.validation_page(in_memory)
        drawn = held.result.results[0].result
        assert len(drawn["unexpected_rows"]) == SAMPLE and drawn["unexpected_count"] == 225
    assert list(tmp_path.iterdir()) == []  # the files of the rows removed
    written = json.loads(text)["results"][0]["result"]
    # every row, in the order of the reports (a, b, c), check_id counted from the suite's first row
    assert written["unexpected_count"] == len(written["unexpected_rows"]) == 225
    assert [u["document_id"] for u in written["unexpected_rows"][74:77]] == ["a", "b", "b"]
    assert [u["check_id"] for u in written["unexpected_rows"][74:77]] == [148, 150, 152]
    assert written["unexpected_index_list"][-1] == {"check_id": 448}
    assert "225 constats, les 200 premiers" in data_docs.validation_page(in_memory)


def test_rows_left_by_a_writing_stopped_midway_are_removed_by_the_next(tmp_path):
    """A build stopped while it writes the results (Ctrl-C, SIGTERM of GE's process) may leave the folder
    of a suite's rows in the results folder: the next writing removes it, and leaves none of its own."""
    from pipelines.validate.suites import refresh

    con = duckdb.connect()
    _parts(con, suite(NAME).expectations[0].configuration.type)
    left = tmp_path / f"{data_docs.ROWS_PREFIX}x1"
    left.mkdir()
    (left / "0-unexpected_rows.json").write_text("[", encoding="utf-8")
    assert refresh(con, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data_docs", "parts.sha256", "suites.sha256", "validations"]
    written = json.loads((tmp_path / "validations" / f"{NAME}.json").read_text(encoding="utf-8"))
    assert written["results"][0]["result"]["unexpected_count"] == 225
