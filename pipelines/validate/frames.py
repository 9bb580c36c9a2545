"""Ce que les contrôles lisent du magasin : tableaux, cellules, chiffres du texte, lignes.

The store is read once into plain records (NULL is None), indexed by document
and by table: a 200-report corpus has thousands of tables and hundreds of
thousands of cells, and per-group DataFrame filtering cost a minute where
dictionary look-ups cost seconds. A check row carries everything a finding
needs (line, found, expected, message) so that the Great Expectations suites
only decide pass/fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from pipelines.extract.numbers import format_fr

# Columns every check frame has. The expectations of expectations/*.json judge a row from its raw
# figures (valeur against reference, with the rounding units of each: totals, %, budget), from its
# own gap and tolerance (ecart, tolerance: intervals the builder computes) or from what the builder
# saw (statut: « malformed », « reprise »…); the other columns make the finding.
CHECK_COLUMNS = [
    "rule", "severity", "ecart", "tolerance", "statut", "document_id", "line", "table_id",
    "found", "expected", "message", "suggestion", "highlight", "exercice", "family", "key",
    "valeur", "reference", "relation", "unites", "unite", "denombrement",
    "numerateur", "unite_numerateur", "denominateur", "unite_denominateur",
]
_FLOATS = ("ecart", "tolerance", "valeur", "reference", "unite", "numerateur", "unite_numerateur",
           "denominateur", "unite_denominateur")
VALUE_ROLES = ("value", "subtotal", "total")


@dataclass
class Store:
    documents: dict[str, dict]
    tables: list[dict]  # in document order (document_id, line_start)
    cells: dict[str, list[dict]]  # table_id -> cells in (row, col) order
    narratifs: list[dict]  # in (document_id, line) order
    # table_id -> (section, sens) of the budget tables, as curation read them (table `finances`)
    budget: dict[str, tuple[str, str]] = field(default_factory=dict)
    _by_doc: dict[str, list[dict]] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for t in self.tables:
            self._by_doc.setdefault(t["document_id"], []).append(t)

    def table_cells(self, table_id: str) -> list[dict]:
        return self.cells.get(table_id, [])

    def value_cells(self, table_id: str) -> list[dict]:
        """Cells of the body holding a number (items, sub-totals, totals)."""
        return [c for c in self.cells.get(table_id, []) if c["role"] in VALUE_ROLES and c["value"] is not None]

    def tables_of(self, document_id: str) -> list[dict]:
        return self._by_doc.get(document_id, [])

    def report_year(self, document_id: str) -> int | None:
        return (self.documents.get(document_id) or {}).get("report_year")

    def only(self, document_ids) -> Store:
        """The documents asked, alone: what the rules that read one report at a time need."""
        keep = set(document_ids)
        tables = [t for t in self.tables if t["document_id"] in keep]
        return Store({k: v for k, v in self.documents.items() if k in keep}, tables,
                     {t["table_id"]: self.cells[t["table_id"]] for t in tables if t["table_id"] in self.cells},
                     [n for n in self.narratifs if n["document_id"] in keep],
                     {t["table_id"]: self.budget[t["table_id"]] for t in tables if t["table_id"] in self.budget})

    def plus(self, other: Store) -> Store:
        """Both stores' documents, in the order `load` gives (a session's vintages and a draft)."""
        return Store({**self.documents, **other.documents},
                     sorted(self.tables + other.tables, key=lambda t: (t["document_id"], t["line_start"], t["table_id"])),
                     {**self.cells, **other.cells},
                     sorted(self.narratifs + other.narratifs, key=lambda n: (n["document_id"], n["line"])),
                     {**self.budget, **other.budget})


def _records(con, query: str) -> list[dict]:
    cur = con.execute(query)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def load(con, document_ids: list[str] | None = None, cell_roles: tuple[str, ...] | None = None) -> Store:
    """The documents asked (all by default); with `cell_roles`, only the cells of those roles."""
    where = ""
    if document_ids is not None:
        ids = ", ".join("'" + d.replace("'", "''") + "'" for d in document_ids) or "''"
        where = f" WHERE document_id IN ({ids})"
    docs = {d["document_id"]: d for d in _records(con, f"SELECT * FROM documents{where}")}
    tables = _records(con, f"SELECT * FROM tables{where} ORDER BY document_id, line_start, table_id")
    for t in tables:
        t["headers"] = list(t["headers"] or [])
    cells: dict[str, list[dict]] = {}
    roles = ""
    if cell_roles:
        roles = (" AND " if where else " WHERE ") + "c.role IN (" + ", ".join(f"'{r}'" for r in cell_roles) + ")"
    for c in _records(con, "SELECT c.*, t.document_id FROM cells c JOIN tables t USING (table_id)"
                      + where.replace("document_id", "t.document_id") + roles + " ORDER BY table_id, row, col"):
        cells.setdefault(c["table_id"], []).append(c)
    # figures of one line in the order they were written (the order of the sentence): DuckDB's sort
    # leaves ties in no given order, and `from_rows` must give the same
    narr = _records(con, f"SELECT * FROM narratifs{where} ORDER BY document_id, line, rowid")
    return Store(docs, tables, cells, narr, _budget_tables(con, where))


def from_rows(rows: dict[str, list[dict]]) -> Store:
    """The Store `load` gives of documents once written to the store, made from their rows (flow.Read.rows:
    table -> rows as dicts) without writing nor reading them: the same records, in the same order, each
    value of its column's type as DuckDB returns it (an INTEGER an int, a DOUBLE a float, NULL None).
    `bilans check --watch` reads the draft it has just extracted this way (pipelines/live.py)."""
    docs = {d["document_id"]: d for d in _typed(rows, "documents")}
    tables = sorted(_typed(rows, "tables"), key=lambda t: (t["document_id"], _last(t["line_start"]), t["table_id"]))
    for t in tables:
        t["headers"] = list(t["headers"] or [])
    of_table = {t["table_id"]: t["document_id"] for t in tables}
    cells: dict[str, list[dict]] = {}
    typed = [c for c in _typed(rows, "cells", document_id=of_table) if c["document_id"] is not None]  # the JOIN
    for c in sorted(typed, key=lambda c: (c["table_id"], _last(c["row"]), _last(c["col"]))):
        cells.setdefault(c["table_id"], []).append(c)
    narr = sorted(_typed(rows, "narratifs"), key=lambda n: (n["document_id"], _last(n["line"])))
    return Store(docs, tables, cells, narr, _budget_of(rows.get("finances", [])))


def _last(value) -> tuple:
    """A sort key that puts None last, as DuckDB's ORDER BY does with NULL."""
    return (value is None, value if value is not None else 0)


_CASTS = {"INTEGER": int, "BIGINT": int, "DOUBLE": float, "VARCHAR": str}


def _typed(rows: dict[str, list[dict]], table: str, document_id: dict | None = None) -> list[dict]:
    """The rows of `table` as `SELECT *` returns them (every column, in order, of its DuckDB type); with
    `document_id` (table_id -> document), that of each row's table added last (load's cells)."""
    from pipelines.store import column_types

    types = column_types(table)
    casts = {c: _CASTS.get(t) or (_list_of(_CASTS.get(t[:-2])) if t.endswith("[]") else None) for c, t in types.items()}
    out = []
    for r in rows.get(table, []):
        record = {c: None if (v := r.get(c)) is None else cast(v) if cast else v for c, cast in casts.items()}
        if document_id is not None:
            record["document_id"] = document_id.get(record["table_id"])
        out.append(record)
    return out


def _list_of(cast):
    return lambda values: [None if v is None else cast(v) if cast else v for v in values]


def _budget_of(finances: list[dict]) -> dict[str, tuple[str, str]]:
    """`_budget_tables` of finance rows: the tables whose non-null section and sens are each one value."""
    seen: dict[str, tuple[set, set]] = {}
    for r in finances:
        sections, senses = seen.setdefault(r.get("table_id"), (set(), set()))
        if r.get("section") is not None:
            sections.add(r["section"])
        if r.get("sens") is not None:
            senses.add(r["sens"])
    kept = {t: (next(iter(a)), next(iter(b))) for t, (a, b) in seen.items() if len(a) == 1 and len(b) == 1}
    return dict(sorted(kept.items(), key=lambda item: (item[0] is None, item[0] or "")))  # as ORDER BY table_id


def _budget_tables(con, where: str) -> dict[str, tuple[str, str]]:
    """table_id -> (section, sens) of the curated budget tables; none in a store without curation."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'finances'").fetchone()[0]:
        return {}
    return {r["table_id"]: (r["section"], r["sens"]) for r in _records(
        con, f"SELECT table_id, any_value(section) AS section, any_value(sens) AS sens FROM finances{where} "
             "GROUP BY table_id HAVING count(DISTINCT section) = 1 AND count(DISTINCT sens) = 1 "
             "ORDER BY table_id")}  # a GROUP BY gives its groups in any order: one order for every reading


def fr(value: float | None, unit: str | None = None, decimals: int | None = None) -> str | None:
    """« 2 570,5 jours »: a figure as the report would print it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if decimals is None:
        decimals = 0 if abs(value - round(value)) < 1e-9 else (1 if abs(value * 10 - round(value * 10)) < 1e-9 else 2)
    text = format_fr(value, decimals)
    return f"{text} {unit}" if isinstance(unit, str) and unit else text


def items_give(items_sum: float, n_items: int, value: float) -> bool:
    """n whole-unit items add up to `value` up to their rounding and that of the value itself."""
    return n_items > 0 and abs(items_sum - value) <= 0.5 * (n_items + 1)


def check_row(**kw) -> dict:
    row = {c: None for c in CHECK_COLUMNS}
    row.update(ecart=0.0, tolerance=0.0, statut="ok", severity="error", unites=[], denombrement=False)
    row.update(kw)
    return row


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    for col in _FLOATS:
        df[col] = df[col].astype(float)
    df["statut"] = df["statut"].astype(str)
    return df
