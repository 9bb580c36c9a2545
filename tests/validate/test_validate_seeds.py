"""On the five seed reports: every known defect is found, with its line, and nothing else above info."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.build import build

ROOT = Path(__file__).resolve().parents[2]

# (document, line, rule, severity) -> number of findings: every error and warning of the seeds, each
# read in the source file and judged a true defect (the closing note of issue 4 gives the reasons).
EXPECTED_ERRORS_AND_WARNINGS = {
    ("siim94_2017", 267, "header.label", "warning"): 1,     # « Colonne1 »
    ("siim94_2017", 356, "total.column", "error"): 1,       # Prévisions total includes the 2016 reports
    ("siim94_2017", 356, "value.missing", "error"): 2,      # both reports totals left blank
    ("siim94_2017", 317, "text.table", "error"): 1,         # 4 986 331.25 € in the text, table and items: ,15
    ("siim94_2017", 746, "total.column", "error"): 3,       # Total général 1 164 / 1 157 / 1 133 jours
    ("siim94_2017", 756, "total.column", "error"): 2,       # MCO Total général 128 / 98: « Suivi » left out
    ("siim94_2018", 234, "budget.balance", "warning"): 1,   # virement 023/021 of 550 000 € not printed
    ("siim94_2018", 285, "budget.balance", "warning"): 1,
    # Champigny: 102 731 + 836 = 103 567 €, printed 103 566: two whole figures off by 1 reach 2 × 1/2 (DESIGN n·u/2)
    ("siim94_2018", 204, "total.row", "error"): 1,
    ("siim94_2018", 287, "text.table", "error"): 1,         # reports 766 606,66 € in the text, 766 606,60 in the table
    # « points de repère » copied from 2017; l. 346 « (idem à 2016 avec 68 158 courriers entrants) » is a 2016 figure
    **{("siim94_2018", line, "vintage.stale", "warning"): n
       for line, n in ((343, 3), (344, 1), (345, 1), (346, 1), (347, 2), (348, 5), (349, 3), (350, 4), (354, 2))},
    **{("siim94_2018", line, "vintage.restated", "warning"): 1  # pôle SI 2017 days restated
       for line in (417, 419, 420, 429, 432, 448, 449, 461, 468, 471)},
    # found through the curated series (same concept under another label, or a column printed to the
    # half-day in 2017: « 300 » there is 300,0): MCO 1 111 -> 1 136 (2017 l. 742), AMOA 91 -> 94 (l. 770),
    # Gestion Domaine 177 -> 178 (l. 744), Affaires Familiales 2016 300 -> 301 (l. 793), Habitat 2016 68 -> 67 (l. 800)
    **{("siim94_2018", line, "vintage.restated", "warning"): 1 for line in (416, 418, 446, 462, 466)},
    ("siim94_2018", 644, "text.year", "error"): 1,          # « stable par rapport à 2018 »
    ("siim94_2018", 649, "text.year", "error"): 1,
    ("siim94_2018", 655, "text.year", "error"): 1,
    ("siim94_2018", 727, "text.table", "error"): 1,         # 1407 agents vs 1 467
    ("siim94_2018", 739, "text.table", "error"): 1,
    ("siim94_2018", 740, "text.percent", "error"): 1,       # +235 % for 367 -> 865 (+136 %)
    ("siim94_2021", 976, "value.malformed", "error"): 1,    # 7 697 07, 80 €
    ("siim94_2021", 1209, "value.missing", "error"): 1,     # reports of the exercise total left blank
    ("siim94_2021", 1469, "total.column", "error"): 1,      # TOTAL 2020 3 191 vs 2 707
    ("siim94_2021", 2164, "total.column", "error"): 1,      # formations 2019: « 1282 agents » (TOTAL at 2155)
    ("siim94_2022", 224, "value.malformed", "error"): 1,
    ("siim94_2022", 256, "header.year", "warning"): 1,      # « 2 021 »
    ("siim94_2022", 308, "value.missing", "error"): 1,      # Total des dépenses de gestion courante 2022
    # series.break: labels of the 2017 report gone in 2018, with the same figures under a new label
    ("siim94_2018", 430, "series.break", "warning"): 1,     # MCO « Administratif » -> « Assistance » (63 / 25)
    ("siim94_2018", 470, "series.break", "warning"): 1,     # 5 domains regrouped in « SI Global et Divers »
    ("siim94_2018", 597, "series.break", "warning"): 1,     # « Serveurs Windows physiques » -> « Serveurs physiques »
    ("siim94_2018", 601, "series.break", "warning"): 1,     # « Base de données Oracle » -> « Bases de données »
    ("siim94_2022", 340, "total.column", "error"): 1,       # chapitre 10 = 0 but 1068 = 254 968,91
    ("siim94_2022", 348, "value.missing", "error"): 1,
    ("siim94_2022", 372, "total.column", "error"): 1,       # 2021: 1 114 874,04 vs 1 169 503,81
    ("siim94_2022", 393, "header.label", "warning"): 1,     # 31/12/2022 among 07/11/2022 columns
    ("siim94_2022", 473, "vintage.restated", "warning"): 1,  # pôle SI end 2021: 14,6 ETP here, 13,5 in 2021 l. 1316
    ("siim94_2022", 500, "vintage.stale", "warning"): 3,    # 12 500 bulletins, 12 000 dossiers, 10 logiciels: as in 2021
    **{("siim94_2022", line, "vintage.stale", "warning"): 1 for line in (507, 508)},  # as in 2021
    ("siim94_2022", 516, "text.year", "warning"): 1,        # Requiem « 845 en 2020 »: the 2021 report gives 845 for 2021
    ("siim94_2022", 539, "total.column", "error"): 1,       # TOTAL 2020 3 191, copied from 2021
    ("sii_2018", 513, "crosstable", "error"): 1,            # 77 MEP vs detail TOTAL 73
}


@pytest.mark.slow
def test_seed_findings(tmp_path):
    import duckdb

    db = tmp_path / "bilans.duckdb"
    assert build(ROOT / "data" / "raw", db) == 0
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT document_id, line, rule, severity, count(*) FROM findings "
                       "WHERE severity <> 'info' GROUP BY ALL").fetchall()
    assert {r[:4]: r[4] for r in rows} == EXPECTED_ERRORS_AND_WARNINGS
    info = con.execute("SELECT document_id, line FROM findings WHERE rule = 'value.malformed' "
                       "AND severity = 'info'").fetchall()
    assert ("siim94_2022", 351) in info  # 1251 585.13 € read, reported as irregular grouping
    # rounding-only differences are never errors
    assert not con.execute("SELECT count(*) FROM findings WHERE rule = 'total.rounding' "
                           "AND severity <> 'info'").fetchone()[0]
