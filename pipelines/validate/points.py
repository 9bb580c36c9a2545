"""Les chiffres curés d'un rapport, prêts à être comparés à ceux des autres rapports.

One row per printed figure of a curated family (finances, contributions, activite,
formations, tickets, indicateurs, effectifs), with its full series key: the key
columns the family declares (pipelines/catalogue/familles.toml `cles`, the same that pick the
latest vintage) and the measure of the value column (`valeurs`). The year is the
curated `exercice`, whether it came from a column header or from the report itself
(« Mandats émis » with no year column).

The relation is SQL text, evaluated inside DuckDB by the checks that use it
(vintage.restated, vintage.stale, header.year « décalé »): nothing of the corpus is
held in Python, only the pairs a check reports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd


def _family_sql(fam, column: str, mesure: str, condition: str | None, only: str = "", db: str = "") -> str:
    key = " || ' | ' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in fam.cles) or "''"
    niveau = "niveau" if "niveau" in fam.noms_colonnes else "NULL"
    unite = "unite" if "unite" in fam.noms_colonnes else "NULL"
    extra = f" AND {condition}" if condition else ""
    return f"""
        SELECT '{fam.nom}' AS famille, org, exercice, report_year, {key} AS cle, {mesure} AS mesure,
               CAST({column} AS DOUBLE) AS valeur, CAST({fam.libelle} AS VARCHAR) AS libelle,
               CAST({niveau} AS VARCHAR) AS niveau, CAST({unite} AS VARCHAR) AS unite,
               document_id, line, table_id
        FROM {db}{fam.nom}
        WHERE {column} IS NOT NULL AND exercice IS NOT NULL AND coalesce(source, 'tableau') = 'tableau'{extra}{only}"""


def _families(names: Collection[str] | None = None):
    """The curated families that have series (pipelines/catalogue/familles.toml), of `names` only when given."""
    from pipelines import catalogue

    return [f for f in catalogue.familles() if f.a_des_series and (names is None or f.nom in names)]


def points_sql(document_ids: list[str] | None = None, families: Collection[str] | None = None) -> str:
    """Every table figure of the curated families: famille, org, exercice, report_year, cle (the key
    columns), mesure, valeur, libelle, niveau, unite, document_id, line, table_id, plus the printed
    unit and column of its cell (NULL when no cell holds that value on that line) and the decimals of
    that column (its precision: 0 when unknown).
    Figures of the prose are left to their own rule (narratifs: vintage.restated, text.year).
    With `document_ids`, those of these reports only (and only their cells are read); with `families`
    (names), those of these families only: a family's figures read its own rows and the cells of the
    tables they are in, nothing else (`family_inputs`)."""
    only = tables = ""
    if document_ids is not None:
        ids = ", ".join("'" + d.replace("'", "''") + "'" for d in document_ids) or "''"
        only = f" AND document_id IN ({ids})"
        tables = f" AND table_id IN (SELECT table_id FROM tables WHERE document_id IN ({ids}))"
    union = " UNION ALL ".join(_family_sql(f, v.colonne, v.mesure, v.condition, only)
                               for f in _families(families) for v in f.valeurs)
    return f"""
        SELECT p.*, coalesce(k.decimals, 0) AS decimals, c.unit AS unite_cellule, c.col, c.row_kind,
               c.text AS texte
        FROM ({union}) p
        LEFT JOIN (
            SELECT table_id, line, value, any_value(unit) AS unit, min(col) AS col,
                   any_value(row_kind) AS row_kind, any_value(text) AS text
            FROM cells WHERE value IS NOT NULL{tables} GROUP BY table_id, line, value) c
          ON c.table_id = p.table_id AND c.line = p.line AND abs(c.value - p.valeur) < 1e-6
        LEFT JOIN (  -- a column printed to the half-day prints its whole days exactly (« 68 » is 68,0)
            SELECT table_id, col, max(coalesce(decimals, 0)) AS decimals FROM cells
            WHERE value IS NOT NULL{tables} GROUP BY table_id, col) k
          ON k.table_id = p.table_id AND k.col = c.col"""


# `rang` orders the reports by year, then by document_id: two reports of one organisme and one year
# (a corrected edition, a generated corpus) are compared in one order, whatever order the store
# holds their rows in — an incremental build compares them as a full build does.
_RANG_SPAN = 1_000_000  # more than the reports of a store


def earlier_report(a: str, b: str) -> str:
    """SQL condition: the report of figure `a` is of an earlier year than that of `b`. With it as the
    inequality of an ASOF JOIN on figures_sql(), `a` is the figure of the latest earlier report, the
    last by document_id when several reports share that year."""
    return f"{a}.rang < {b}.report_year * {_RANG_SPAN}"


def figures_sql(document_ids: list[str] | None = None, rangs: str | None = None) -> str:
    """One figure per report and series key (same family, key columns, measure and exercice): the
    report's value with its first line, and its report's `rang` (see `earlier_report`). A key printed with
    two different values in one report is ambiguous and left out (the cross-table rules of that
    report speak of it). With `document_ids`, the figures of these reports only; with `rangs`, a
    relation (document_id, n) giving each report its place by document_id among those compared."""
    return _with_rang(f"({report_figures_sql(document_ids)})", rangs)


def _with_rang(figures: str, rangs: str | None) -> str:
    """The relation `figures` (report_figures_sql's columns) with each figure's `rang` (figures_sql)."""
    rank = f"(SELECT n FROM {rangs} r WHERE r.document_id = f.document_id)" if rangs else \
        "dense_rank() OVER (ORDER BY document_id)"
    return f"SELECT *, report_year * {_RANG_SPAN} + {rank} AS rang FROM {figures} f"


def report_figures_sql(document_ids: list[str] | None = None, families: Collection[str] | None = None) -> str:
    """figures_sql() without `rang`: what a report's figures are whatever the reports they are compared
    with (one row per report and series key), as a build keeps them (store_figures); of the `families`
    (names) only, when given (a figure is of one family: those of several families are those of each)."""
    return f"""
        SELECT famille, org, cle, mesure, exercice, document_id, any_value(report_year) AS report_year,
               min(valeur) AS valeur, min(line) AS line, arg_min(table_id, line) AS table_id,
               arg_min(libelle, line) AS libelle, arg_min(niveau, line) AS niveau,
               arg_min(unite, line) AS unite, arg_min(unite_cellule, line) AS unite_cellule,
               max(coalesce(decimals, 0)) AS decimals, arg_min(col, line) AS col,
               arg_min(row_kind, line) AS row_kind, arg_min(texte, line) AS texte
        FROM ({points_sql(document_ids, families)})
        GROUP BY famille, org, cle, mesure, exercice, document_id
        HAVING count(DISTINCT valeur) = 1"""


def series_keys_sql(ids: str, db: str = "", unambiguous: bool = False, keys: str | None = None) -> str:
    """The series keys the reports of the relation `ids` (document_id) print, read from the curated
    families alone (no cell): document_id, report_year, famille, org, cle, mesure, exercice, table_id.
    With `unambiguous`, one row per report and key as figures_sql() keeps them (a key printed with two
    values is left out; table_id: that of its first line), else every printed key (a superset).
    `db`: the catalog prefix of the store read (« previous. » for the store being replaced); `keys`: a
    relation (famille, org, cle, mesure, exercice) whose keys only are read."""
    only = f" AND document_id IN (SELECT document_id FROM {ids})"
    union = " UNION ALL ".join(_family_sql(f, v.colonne, v.mesure, v.condition, only, db)
                               for f in _families() for v in f.valeurs)
    where = "" if keys is None else \
        f"WHERE (famille, org, cle, mesure, exercice) IN (SELECT (famille, org, cle, mesure, exercice) FROM {keys})"
    if not unambiguous:
        return f"SELECT DISTINCT document_id, report_year, famille, org, cle, mesure, exercice, table_id FROM ({union}) {where}"
    return f"""
        SELECT document_id, any_value(report_year) AS report_year, famille, org, cle, mesure, exercice,
               arg_min(table_id, line) AS table_id
        FROM ({union}) {where} GROUP BY famille, org, cle, mesure, exercice, document_id
        HAVING count(DISTINCT valeur) = 1"""


def has_curated(con) -> bool:
    """True when the connection holds the curated families (a store built before them has none)."""
    return _curated_in(set(_table_names(con)))


def _table_names(con) -> dict[str, bool]:
    """The tables and views the connection sees, temporary ones included: name -> whether one of that
    name is of its own database or temporary (an attached store's are not)."""
    names: dict[str, bool] = {}
    for name, own in con.execute("SELECT table_name, table_catalog IN ('temp', current_database()) "
                                 "FROM information_schema.tables").fetchall():
        names[name] = names.get(name, False) or own
    return names


def _curated_in(names: set[str]) -> bool:
    return all(f.nom in names for f in _families()) and "cells" in names


def family_inputs(rows: dict[str, list[dict]]) -> dict[str, bytes]:
    """What report_figures_sql() reads of reports given by their rows (table -> dicts, as
    flow.Read.rows), family by family (points_sql): the family's rows, and the description and cells
    of the tables they are in — a digest of each (their text). Reports whose digest of a family is
    the same have the same figures of that family."""
    import hashlib

    cells: dict[str, list[dict]] = {}
    for c in rows.get("cells", []):
        cells.setdefault(c["table_id"], []).append(c)
    tables = {t["table_id"]: t for t in rows.get("tables", [])}
    out = {}
    for fam in _families():
        own = rows.get(fam.nom, [])
        named = list(dict.fromkeys(r["table_id"] for r in own if r.get("table_id") is not None))
        text = repr((own, [(tables.get(t), cells.get(t, [])) for t in named]))
        out[fam.nom] = hashlib.blake2b(text.encode(), digest_size=32).digest()
    return out


FIGURES_BATCH = 64  # reports whose figures are computed at a time: DuckDB's memory is that of a batch


def latest_of_year(figures: str) -> str:
    """The relation beside figures_table's `figures` holding, per series key, exercice and report year,
    the figure of the last report of that year (by `rang`): the only figures an ASOF JOIN on
    `earlier_report` can pick, since `rang` orders the reports by year first. As the right side of
    those joins it holds one report per year instead of all of them (a corpus of many reports a year
    sorted a thousand copies of each figure)."""
    return f"{figures}_par_annee"


def latest_of_year_sql(figures: str) -> str:
    """The query of latest_of_year(figures), from the relation `figures` (figures_sql() rows)."""
    return f"""SELECT * FROM {figures} QUALIFY row_number() OVER (
                   PARTITION BY famille, org, cle, mesure, exercice, report_year ORDER BY rang DESC) = 1"""


# The store's table of report_figures_sql() of every report, kept by `bilans build` (pipelines/flow.py): an
# incremental build computes the figures of the reports it reads only, and its checks read the others'.
STORED_FIGURES = "chiffres_comparables"


def store_figures(con, document_ids: list[str], table: str = STORED_FIGURES, temporary: bool = False,
                  families: Collection[str] | None = None) -> None:
    """Add report_figures_sql() of the reports `document_ids` (of the `families` only, when given) to
    `table` of `con` (created when absent, as a temporary table with `temporary`; nothing when the
    connection has no curated families), FIGURES_BATCH reports at a time."""
    names = _table_names(con)
    if not _curated_in(set(names)):
        return
    ids = sorted(set(document_ids))
    if not names.get(table):  # a CREATE … IF NOT EXISTS plans its query all the same (9 ms a --watch save)
        con.execute(f"CREATE {'TEMP ' if temporary else ''}TABLE IF NOT EXISTS {table} AS {report_figures_sql([])} LIMIT 0")
    for start in range(0, len(ids), FIGURES_BATCH):
        con.execute(f"INSERT INTO {table} {report_figures_sql(ids[start:start + FIGURES_BATCH], families)}")


@contextmanager
def figures_table(con, document_ids: list[str] | None = None, stored: str | None = None) -> Iterator[str | None]:
    """figures_sql() of the reports `document_ids` (all by default) computed once into a temporary
    table for the checks of one run (the name is yielded; None when the connection has no curated
    families), dropped afterwards, with its latest_of_year() relation. The checks compare the reports
    of one organisme: its reports are enough for them. The table is filled FIGURES_BATCH reports at a time (a figure is of one report;
    `rang` is given by the place of its report among all). `stored`: a table of `con` holding
    report_figures_sql() of these reports (store_figures), read instead of computing them."""
    if not has_curated(con):
        yield None
        return
    if document_ids is None:
        ids = [r[0] for r in con.execute("SELECT document_id FROM documents ORDER BY document_id").fetchall()]
    else:
        ids = sorted(set(document_ids))
    name = "_chiffres_series"
    con.register("_rangs", pd.DataFrame({"document_id": pd.Series(ids, dtype=object), "n": range(1, len(ids) + 1)}))
    try:
        # created from the first batch (an empty first query cost as much as a full one: a check of one
        # draft against its vintages, one batch, ran it twice)
        if stored is not None:
            kept = f"(SELECT * FROM {stored} WHERE document_id IN (SELECT document_id FROM _rangs))"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {_with_rang(kept, '_rangs')}")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {figures_sql(ids[:FIGURES_BATCH], '_rangs')}")
        for start in range(FIGURES_BATCH, len(ids), FIGURES_BATCH) if stored is None else ():
            con.execute(f"INSERT INTO {name} {figures_sql(ids[start:start + FIGURES_BATCH], '_rangs')}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {latest_of_year(name)} AS {latest_of_year_sql(name)}")
        yield name
    finally:
        # a check stopped (Ctrl-C) closes its connection before the checks' generators are collected:
        # their temporary tables went with it, and there is nothing to drop
        with contextlib.suppress(duckdb.ConnectionException):
            con.unregister("_rangs")
            con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(f"DROP TABLE IF EXISTS {latest_of_year(name)}")
