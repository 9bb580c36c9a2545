"""Comparable series on two made-up reports: a category renamed, one restated, one replaced by a
new label with the same figures, and a perimeter that loses a member. Expected: one series per
concept, a restatement, a series.break, and « non comparable » instead of a percentage."""


import duckdb
import pytest

from pipelines.build import build
from pipelines.publish import analyses as a
from pipelines.publish.comparaison import Chiffre, compare, evolution

REPORT_2020 = """Bilan d'activité 2020 du SIIM94

1 Pôle Systèmes d'Information

Répartition de l'activité par type (en jours)

Type\t2019\t2020
MCO\t1 000\t1 100
Projet\t500\t520
Formation\t40\t45
Total général\t1 540\t1 665

2 Finances

Répartition des recettes par adhérent 2020

Adhérent\tTotal
Ivry-sur-Seine\t800 000 €
Arcueil\t300 000 €
OPH d'Ivry\t100 000 €
Total\t1 200 000 €
"""

REPORT_2021 = """Bilan d'activité 2021 du SIIM94

1 Pôle Systèmes d'Information

Répartition de l'activité par type (en jours)

Type\t2020\t2021
Maintien en condition opérationnelle\t1 100\t1 150
Mode projet\t530\t600
Accompagnement\t45\t50
Total général\t1 675\t1 800

2 Finances

Répartition des recettes par adhérent 2021

Adhérent\tTotal
Ivry-sur-Seine\t820 000 €
Arcueil\t310 000 €
Total\t1 130 000 €
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    raw = root / "raw"
    raw.mkdir()
    (raw / "r2020.txt").write_text(REPORT_2020, encoding="utf-8")
    (raw / "r2021.txt").write_text(REPORT_2021, encoding="utf-8")
    (raw / "manifest.csv").write_text("file,org,report_year,title,original_file\n"
                                      "r2020.txt,SIIM94,2020,Bilan 2020,a\nr2021.txt,SIIM94,2021,Bilan 2021,b\n",
                                      encoding="utf-8")
    db = root / "bilans.duckdb"
    assert build(raw, db) == 0
    return db


def q(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_renamed_category_is_one_series(store):
    rows = q(store, "SELECT report_year, exercice, categorie, concept, jours FROM activite "
                    "WHERE concept = 'mco' ORDER BY report_year, exercice")
    assert rows == [(2020, 2019, "MCO", "mco", 1000.0), (2020, 2020, "MCO", "mco", 1100.0),
                    (2021, 2020, "Maintien en condition opérationnelle", "mco", 1100.0),
                    (2021, 2021, "Maintien en condition opérationnelle", "mco", 1150.0)]
    latest = q(store, "SELECT exercice, jours, report_year FROM activite_latest WHERE concept = 'mco' ORDER BY 1")
    assert latest == [(2019, 1000.0, 2020), (2020, 1100.0, 2021), (2021, 1150.0, 2021)]
    # the same figure under a new name is a continuation, a new figure a restatement
    assert ("MCO", "Maintien en condition opérationnelle") in q(
        store, "SELECT libelle_a, libelle_b FROM continuations WHERE concept = 'mco'")
    assert q(store, "SELECT exercice, libelle_a, value_a, libelle_b, value_b FROM restatements "
                    "WHERE concept = 'projet'") == [(2020, "Projet", 520.0, "Mode projet", 530.0)]


def test_new_label_with_the_same_figures_is_a_series_break(store):
    found = q(store, "SELECT document_id, line, severity, found, expected FROM findings WHERE rule = 'series.break'")
    assert found == [("r2021", 10, "warning", "« Accompagnement » : 45", "« Formation » : 45")]


def test_headlines_compare_within_one_series(store):
    text = a.resume(a.ouvrir(store, "SIIM94", 2021, "pole_si")).texte()
    # the 2021 report prints 2020 and 2021 side by side: its own pair, +7,5 %
    assert "a réalisé 1\u202f800\u00a0jours d'activité (+7,5\u00a0% par rapport à 2020 : 1\u202f675\u00a0jours" in text
    assert "Premier type d'activité : Maintien en condition opérationnelle, 1\u202f150\u00a0jours (+4,5\u00a0%" in text


def test_perimeter_change_is_said_not_computed(store):
    text = a.resume(a.ouvrir(store, "SIIM94", 2021, "finances")).texte().replace("\u202f", " ").replace("\u00a0", " ")
    assert ("Contributions des adhérents en 2021 (contribution totale, 2 adhérents) : 1 130 000 € (non comparable "
            "à 2020 (1 200 000 €) : les deux chiffres ne couvrent pas les mêmes catégories (« COOP'IVRY » absent "
            "en 2021) ; à périmètre constant, 1 130 000 € contre 1 100 000 € en 2020 (+2,7 %))") in text
    assert "-5,8 %" not in text  # 1 130 000 against 1 200 000 would be a false trend


def test_other_measure_is_not_compared():
    cur = Chiffre(785_337.41, exercice=2022, report_year=2022, cle=("realise_reports", "investissement/depenses"))
    prev = Chiffre(1_114_874.04, exercice=2021, report_year=2021, cle=("realise", "investissement/depenses"))
    ev = compare(cur, prev)
    assert ev.variation is None and not ev.comparable
    assert ev.texte() == ("non comparable à 2021 (1\u202f114\u202f874) : autre mesure (réalisé en 2021, "
                          "réalisé + reports en 2022)")


def test_pair_of_one_report_is_preferred_and_flagged_total_is_resummed():
    def row(ry, ex, concept, v, niveau="detail", rules=()):
        return {"report_year": ry, "exercice": ex, "concept": concept, "jours": v, "niveau": niveau,
                "mesure": "jours", "perimetre": "si/type", "_constats": [{"rule": r} for r in rules]}
    rows = [row(2017, 2017, "mco", 1111), row(2017, 2017, "projet", 956),
            row(2017, 2017, "total", 1133, "total", ("total.column",)),
            row(2018, 2017, "mco", 1136), row(2018, 2017, "projet", 968), row(2018, 2017, "total", 2104, "total"),
            row(2018, 2018, "mco", 1083), row(2018, 2018, "projet", 935), row(2018, 2018, "total", 2018, "total")]
    ev = evolution(rows, 2018, "jours")
    assert (ev.courant.valeur, ev.precedent.valeur, ev.precedent.report_year) == (2018, 2104, 2018)
    assert round(ev.variation, 2) == -4.09
    as_of_2017 = evolution([r for r in rows if r["report_year"] == 2017], 2017, "jours")
    assert as_of_2017.courant.valeur == 1111 + 956 and not as_of_2017.courant.imprime


def test_build_summary_lists_unmapped_labels_and_headers_per_document(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "r2021.txt").write_text(REPORT_2021.replace("Adhérent\tTotal", "Adhérent\tParticipation exceptionnelle"),
                                   encoding="utf-8")
    (raw / "manifest.csv").write_text("file,org,report_year,title,original_file\nr2021.txt,SIIM94,2021,B,b\n",
                                      encoding="utf-8")
    assert build(raw, tmp_path / "b.duckdb", validate=False) == 0
    out = capsys.readouterr().out
    assert "    r2021 :\n" in out
    assert "      type d'activité « Accompagnement »\n" in out
    assert "      en-tête de colonne « Participation exceptionnelle »\n" in out


def test_series_read_one_family_of_an_organisme_at_a_time_are_those_of_one_sorted_read(seeds_db):
    """series._groups sorts the figures of one (organisme, family) at a time (a sort of the whole corpus
    went past the build's memory bound at 6 400 reports): the same series, in the same order, with the
    same figures, as one read of the whole `series` view sorted at once."""
    import duckdb

    from pipelines.validate import series

    con = duckdb.connect(str(seeds_db), read_only=True)
    cur = con.execute("""SELECT * FROM series WHERE source = 'tableau' AND valeur IS NOT NULL
                         ORDER BY org, famille, perimetre, mesure, report_year, document_id, line, exercice, concept,
                                  niveau, valeur, libelle, table_id""")
    rows = cur.fetchall()
    whole = list(series._by_series([c[0] for c in cur.description], iter([rows])))
    grouped = list(series._groups(con))
    con.close()
    assert len({(g[min(g)][0]["org"], g[min(g)][0]["famille"]) for g in grouped}) > 4  # several of each
    assert grouped == whole
