"""The figures' temporary tables of a check stopped by Ctrl-C: its connection is closed before the
checks' generators are collected, whose cleanup then has nothing to drop (it printed « Exception ignored
in: <generator object cross_report_batches> … Connection already closed! » under « interrompu »)."""

from __future__ import annotations

import duckdb

from pipelines.store import create_schema
from pipelines.validate.points import figures_table


def test_figures_table_whose_connection_closed_ends_quietly():
    con = duckdb.connect()
    create_schema(con)
    with figures_table(con) as name:
        assert name == "_chiffres_series"
        con.close()  # what the CLI's Ctrl-C does to the store's connection before the generators are collected


def test_figures_table_drops_its_tables():
    con = duckdb.connect()
    create_schema(con)
    with figures_table(con) as name:
        assert con.execute(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]
    temporary = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert temporary == []
