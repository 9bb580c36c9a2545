"""On the five seed reports: every known defect is found, with its line, and no error elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.build import build

ROOT = Path(__file__).resolve().parent.parent

# (document, line, rule, severity): the defects read and confirmed in the source files.
EXPECTED_ERRORS_AND_WARNINGS = {
    ("siim94_2017", 267, "header.label", "warning"),      # « Colonne1 »
    ("siim94_2017", 746, "total.column", "error"),        # Total général 1 164 / 1 157 / 1 133 jours
    ("siim94_2017", 756, "total.column", "error"),        # MCO Total général 128 / 98 jours
    ("siim94_2017", 756, "crosstable", "error"),          # … vs the MCO row of the summary table
    ("siim94_2017", 356, "total.column", "error"),        # Prévisions total includes the 2016 reports
    ("siim94_2017", 356, "value.missing", "error"),       # reports totals left blank
    ("siim94_2018", 644, "text.year", "error"),           # « stable par rapport à 2018 »
    ("siim94_2018", 649, "text.year", "error"),
    ("siim94_2018", 655, "text.year", "error"),
    ("siim94_2018", 727, "text.table", "error"),          # 1407 agents vs 1 467
    ("siim94_2018", 739, "text.table", "error"),
    ("siim94_2018", 740, "text.percent", "error"),        # +235 % for 367 -> 865 (+136 %)
    ("siim94_2018", 471, "vintage.restated", "warning"),  # pôle SI 2017: 2 617 vs 2 573,5
    ("siim94_2018", 343, "vintage.stale", "warning"),     # Mandats émis : 76070 in both reports
    ("siim94_2018", 344, "vintage.stale", "warning"),     # 324 000 factures (316 000 en 2016)
    ("siim94_2018", 234, "budget.balance", "warning"),    # virement 023/021 of 550 000 € not printed
    ("siim94_2018", 285, "budget.balance", "warning"),
    ("siim94_2021", 976, "value.malformed", "error"),     # 7 697 07, 80 €
    ("siim94_2021", 1469, "total.column", "error"),       # TOTAL 2020 3 191 vs 2 707
    ("siim94_2021", 2155, "total.column", "error"),       # formations 2019: 1 282 vs 1 297 agents
    ("siim94_2021", 1209, "value.missing", "error"),
    ("siim94_2022", 224, "value.malformed", "error"),
    ("siim94_2022", 256, "header.year", "warning"),       # « 2 021 »
    ("siim94_2022", 308, "value.missing", "error"),       # Total des dépenses de gestion courante 2022
    ("siim94_2022", 340, "total.column", "error"),        # chapitre 10 = 0 but 1068 = 254 968,91
    ("siim94_2022", 348, "value.missing", "error"),
    ("siim94_2022", 372, "total.column", "error"),        # 2021: 1 114 874,04 vs 1 169 503,81
    ("siim94_2022", 393, "header.label", "warning"),      # 31/12/2022 among 07/11/2022 columns
    ("siim94_2022", 539, "total.column", "error"),
    ("sii_2018", 513, "crosstable", "error"),             # 77 MEP vs detail TOTAL 73
}


@pytest.mark.slow
def test_seed_findings(tmp_path):
    import duckdb

    db = tmp_path / "bilans.duckdb"
    assert build(ROOT / "data" / "raw", db) == 0
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT document_id, line, rule, severity FROM findings").fetchall()
    got = set(rows)
    missing = EXPECTED_ERRORS_AND_WARNINGS - got
    assert not missing, missing
    info = con.execute("SELECT document_id, line FROM findings WHERE rule = 'value.malformed' "
                       "AND severity = 'info'").fetchall()
    assert ("siim94_2022", 351) in info  # 1251 585.13 € read, reported as irregular grouping
    # rounding-only differences are never errors
    assert not con.execute("SELECT count(*) FROM findings WHERE rule = 'total.rounding' "
                           "AND severity <> 'info'").fetchone()[0]
