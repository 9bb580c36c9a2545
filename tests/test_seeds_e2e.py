"""End to end on the bundled reports: real figures at real lines, hand-checked against the files."""

from pathlib import Path

import duckdb
import pytest

from pipelines.build import build

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    db = tmp_path_factory.mktemp("seeds") / "bilans.duckdb"
    build(RAW, db, validate=False)
    c = duckdb.connect(str(db), read_only=True)
    yield c
    c.close()


def q(con, sql, *params):
    return con.execute(sql, params).fetchall()


def test_every_seed_is_read(con):
    docs = q(con, "SELECT document_id, org, report_year, n_lines FROM documents ORDER BY 1")
    assert docs == [("sii_2018", "SII", 2018, 587), ("siim94_2017", "SIIM94", 2017, 1067),
                    ("siim94_2018", "SIIM94", 2018, 807), ("siim94_2021", "SIIM94", 2021, 2471),
                    ("siim94_2022", "SIIM94", 2022, 761)]
    per_doc = dict(q(con, "SELECT document_id, count(*) FROM tables GROUP BY 1"))
    assert per_doc == {"sii_2018": 8, "siim94_2017": 26, "siim94_2018": 16, "siim94_2021": 7, "siim94_2022": 11}


def test_cells_keep_text_value_and_line(con):
    cell = q(con, "SELECT text, value, unit, role, row_kind FROM cells WHERE table_id = 'siim94_2017@741' "
                  "AND line = 746 AND col = 1")
    assert cell == [("1 164 jours", 1164.0, "jours", "total", "total")]
    bad = q(con, "SELECT table_id, line, text, parse_status FROM cells WHERE parse_status IN ('malformed','irregular')")
    assert bad == [("siim94_2022@338", 351, "1251 585.13 €", "irregular")]
    malformed = q(con, "SELECT document_id, line FROM narratifs WHERE parse_status = 'malformed' ORDER BY 1")
    assert malformed == [("siim94_2021", 976), ("siim94_2022", 224)]


def test_chapter_012_realise_2017_to_2022(con):
    rows = q(con, "SELECT exercice, report_year, CAST(realise AS DOUBLE), line FROM finances "
                  "WHERE chapitre = '012' ORDER BY 1, 2")
    assert rows == [(2017, 2017, 3055002.26, 306), (2018, 2018, 3264575.95, 226),
                    (2021, 2021, 3544981.77, 1074), (2021, 2022, 3544981.77, 304), (2022, 2022, 3422763.24, 304)]


def test_ivry_contribution_per_year(con):
    rows = q(con, "SELECT exercice, report_year, categorie, CAST(montant AS DOUBLE), line FROM contributions "
                  "WHERE adherent = 'Ivry-sur-Seine' AND categorie IN ('total', 'cotisation') ORDER BY 1, 2, 3")
    assert rows == [(2017, 2017, "cotisation", 884500.0, 282), (2017, 2017, "total", 972379.0, 282),
                    (2018, 2018, "total", 1011559.0, 200),
                    (2019, 2022, "cotisation", 1007114.0, 259), (2020, 2022, "cotisation", 1049600.0, 259),
                    (2021, 2021, "total", 1318655.28, 1031), (2021, 2022, "cotisation", 1049600.0, 259),
                    (2022, 2022, "cotisation", 847552.0, 259)]
    renamed = q(con, "SELECT DISTINCT adherent_imprime, lignee FROM contributions WHERE adherent = 'OPALY'")
    assert renamed and all(lignee == "VALDEVY" for _, lignee in renamed)


def test_pole_si_days_by_domain_with_both_vintages(con):
    rows = q(con, "SELECT exercice, report_year, jours, line FROM activite WHERE pole = 'si' AND axe = 'domaine' "
                  "AND categorie_norm = 'Finances' ORDER BY 1, 2")
    assert rows == [(2015, 2017, 320.0, 799), (2016, 2017, 327.0, 799), (2016, 2018, 327.0, 465),
                    (2017, 2017, 340.0, 799), (2017, 2018, 340.0, 465), (2018, 2018, 437.0, 465)]
    latest = q(con, "SELECT report_year, jours FROM activite_latest WHERE pole = 'si' AND axe = 'domaine' "
                    "AND categorie_norm = 'Total' AND exercice = 2017")
    assert latest == [(2018, 2617.0)]
    restated = q(con, "SELECT value_a, value_b FROM restatements WHERE family = 'activite' AND exercice = 2017 "
                      "AND key = 'activite | total | jours | si/domaine'")
    assert restated == [(2573.5, 2617.0)]


def test_sii_indicators_2006_to_2018(con):
    rows = q(con, "SELECT exercice, valeur, line FROM indicateurs WHERE org = 'SII' "
                  "AND indicateur = 'Mises en Production' ORDER BY 1")
    assert rows == [(2011, 38.0, 510), (2016, 62.0, 511), (2017, 88.0, 512), (2018, 77.0, 513)]
    pages = q(con, "SELECT valeur FROM indicateurs WHERE org = 'SII' AND exercice = 2006 "
                   "AND indicateur = 'Pages consultées'")
    assert pages == [(179838240.0,)]


def test_trainings_2014_to_2021(con):
    rows = q(con, "SELECT exercice, report_year, type, agents, jours FROM formations "
                  "WHERE (exercice = 2014 AND type = 'bureautique') OR (type = 'total' AND exercice IN (2018, 2021)) "
                  "ORDER BY 1, 2")
    assert rows == [(2014, 2017, "bureautique", 265.0, 112.0), (2018, 2018, "total", 1467.0, 250.5),
                    (2018, 2021, "total", 1467.0, 250.5), (2021, 2021, "total", 485.0, 151.5)]


def test_curated_share_of_numeric_cells(con):
    total, curated = q(con, "SELECT count(*), count(*) FILTER (WHERE family IS NOT NULL) FROM cells "
                            "JOIN tables USING (table_id) WHERE value IS NOT NULL AND role NOT IN ('label','header')")[0]
    assert curated / total >= 0.95


# --- comparable series on the bundled reports (issue: comparisons within one series) -------------

def test_mco_is_one_series_across_renamings(con):
    rows = q(con, "SELECT report_year, categorie, jours FROM activite WHERE org = 'SIIM94' AND pole = 'si' "
                  "AND axe = 'type' AND exercice = 2017 AND concept = 'mco' ORDER BY report_year")
    assert rows == [(2017, "MCO", 1111.0), (2018, "maintien condition opérationnelles", 1136.0)]
    assert q(con, "SELECT jours, report_year FROM activite_latest WHERE org = 'SIIM94' AND pole = 'si' "
                  "AND axe = 'type' AND exercice = 2017 AND concept = 'mco'") == [(1136.0, 2018)]
    assert q(con, "SELECT value_a, value_b FROM restatements WHERE concept = 'mco' AND perimetre = 'si/type' "
                  "AND exercice = 2017") == [(1111.0, 1136.0)]


def test_investment_spending_2022_is_read_with_its_measure(con):
    # « Mandats Emis + reports 2022 », chapitre 16 : 354657,73 € (siim94_2022.txt, line 366)
    assert q(con, "SELECT CAST(realise AS DOUBLE), mesure, line FROM finances WHERE document_id = 'siim94_2022' AND chapitre = '16' "
                  "AND exercice = 2022") == [(354657.73, "realise_reports", 366)]


def test_oph_cotisations_printed_as_bullets_join_contributions(con):
    rows = q(con, "SELECT adherent, CAST(montant AS DOUBLE), line FROM contributions WHERE document_id = 'siim94_2022' "
                  "AND source = 'texte' ORDER BY line")
    assert rows == [("OPALY", 273989.57, 272), ("OPH d'Ivry-sur-Seine", 145517.23, 273),
                    ("OPH de Thiais", 31993.03, 274), ("OPH de Villejuif", 145517.23, 275),
                    ("OPH de Vitry-sur-Seine", 164440.06, 276)]


def test_no_phone_number_or_comparison_phrase_in_indicateurs(con):
    labels = [r[0] for r in q(con, "SELECT indicateur FROM indicateurs")]
    assert not [x for x in labels if x.startswith(("01 41", "Tél", "Fax")) or x.lower().startswith("par rapport")]


def test_no_label_or_header_left_unmapped(con):
    from pipelines.curate import unknown_labels

    assert unknown_labels() == []


def _headline(db, org, year, template):
    from pipelines.publish import analyses as a

    return a.resume(a.ouvrir(db, org, year, template)).texte().replace("\u202f", " ").replace("\u00a0", " ")


@pytest.fixture(scope="module")
def db_path(con):
    return Path(con.execute("SELECT file FROM pragma_database_list WHERE name = current_database()").fetchone()[0])


def test_pole_si_2018_headline_uses_the_2018_report_pair(db_path):
    # siim94_2018.txt line 420: Total Général 2 617 (2017) and 2 713 (2018): +3,7 %
    assert "a réalisé 2 713 jours d'activité (+3,7 % par rapport à 2017 : 2 617 jours" in \
        _headline(db_path, "SIIM94", 2018, "pole_si")


def test_contributions_2022_compared_like_for_like(db_path):
    text = _headline(db_path, "SIIM94", 2022, "finances")
    # 9 members in the 2022 table (lines 257-267): 3 851 133 € in 2022, 4 684 702 € in 2021; the five
    # OPH cotisations (lines 272-276) have no 2021 figure in that report
    assert "en 2022 (cotisations, 12 adhérents, dont 5 cités dans le texte) : 4 612 590 € (non comparable" in text
    assert "à périmètre constant, 3 851 133 € contre 4 684 702 € en 2021 (-17,8 %)" in text
    assert "-42,2" not in text
    assert "Dépenses d'investissement réalisées (réalisé + reports) en 2022 : 785 337 €" in text
