"""Ce que les contrôles lisent du magasin : tableaux, cellules, chiffres du texte, lignes.

Checks are computed on pandas frames drawn from the store once; a check row
carries everything a finding needs (line, found, expected, message) so that the
Great Expectations suites only decide pass/fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from pipelines.extract.numbers import format_fr

# Columns every check frame has; GE expectations read ecart/tolerance/statut.
CHECK_COLUMNS = [
    "rule", "severity", "ecart", "tolerance", "statut", "document_id", "line", "table_id",
    "found", "expected", "message", "suggestion", "highlight", "exercice", "family", "key",
]


@dataclass
class Store:
    documents: pd.DataFrame
    tables: pd.DataFrame
    cells: pd.DataFrame
    narratifs: pd.DataFrame
    curated: dict[str, pd.DataFrame] = field(default_factory=dict)
    _by_table: dict[str, pd.DataFrame] | None = field(default=None, repr=False)

    def table_cells(self, table_id: str) -> pd.DataFrame:
        """The cells of one table; grouped once, since a 200-report corpus has thousands of tables."""
        if self._by_table is None:
            self._by_table = dict(tuple(self.cells.groupby("table_id", sort=False)))
        return self._by_table.get(table_id, self.cells.iloc[0:0])


def load(con, document_ids: list[str] | None = None) -> Store:
    where = ""
    if document_ids is not None:
        ids = ", ".join("'" + d.replace("'", "''") + "'" for d in document_ids) or "''"
        where = f" WHERE document_id IN ({ids})"
    docs = con.execute(f"SELECT * FROM documents{where}").df()
    tables = con.execute(f"SELECT * FROM tables{where}").df()
    cells = con.execute(
        "SELECT c.*, t.document_id FROM cells c JOIN tables t USING (table_id)"
        + where.replace("document_id", "t.document_id") + " ORDER BY table_id, row, col").df()
    narr = con.execute(f"SELECT * FROM narratifs{where} ORDER BY document_id, line").df()
    curated = {}
    for fam in ("finances", "contributions", "activite", "formations", "indicateurs", "tickets"):
        try:
            curated[fam] = con.execute(f'SELECT * FROM "{fam}"').df()
        except Exception:  # noqa: BLE001 — a store from an older schema: no vintage checks
            curated[fam] = pd.DataFrame()
    return Store(docs, tables, cells, narr, curated)


def fr(value: float | None, unit: str | None = None, decimals: int | None = None) -> str | None:
    """« 2 570,5 jours »: a figure as the report would print it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if decimals is None:
        decimals = 0 if abs(value - round(value)) < 1e-9 else (1 if abs(value * 10 - round(value * 10)) < 1e-9 else 2)
    text = format_fr(value, decimals)
    return f"{text} {unit}" if isinstance(unit, str) and unit else text


def check_row(**kw) -> dict:
    row = {c: None for c in CHECK_COLUMNS}
    row.update(ecart=0.0, tolerance=0.0, statut="ok", severity="error")
    row.update(kw)
    return row


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    df["ecart"] = df["ecart"].astype(float)
    df["tolerance"] = df["tolerance"].astype(float)
    df["statut"] = df["statut"].astype(str)
    return df
