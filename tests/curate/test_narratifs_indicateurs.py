"""Key figures of the prose published into `indicateurs`: each with a subject or measure a reader
understands, its unit and the year its sentence gives; what is no figure stays out (issue 17)."""

from __future__ import annotations

from pathlib import Path

from pipelines.curate import _narratifs as published
from pipelines.extract import extract_document

ROOT = Path(__file__).resolve().parents[2]


def _extract(tmp_path, text, year=2022):
    path = tmp_path / "r.txt"
    path.write_text(f"Bilan d'activité {year} du SIIM94\n\n{text}", encoding="utf-8")
    return extract_document(path, "SIIM94", year, "r")


def _published(tmp_path, text, year=2022):
    return [(r["indicateur"], r["valeur"], r["unite"], r["exercice"]) for r in published(_extract(tmp_path, text, year))]


def test_two_figures_for_two_years_in_one_bracket(tmp_path):
    text = "Santé :\n\n- 427 793 factures (517 700 en 2021 et 373 000 en 2020) dont 66% sécurisées ;\n"
    assert sorted(_published(tmp_path, text), key=lambda r: (r[3], r[1])) == [
        ("factures", 373000.0, "factures", 2020),
        ("factures", 517700.0, "factures", 2021),
        ("factures sécurisées (%)", 66.0, "%", 2022),  # a share of the main figure, kept as %
        ("factures", 427793.0, "factures", 2022),
    ]


def test_projection_at_the_end_of_next_year_is_no_realise(tmp_path):
    text = ("Si le syndicat continue de faire face aux départs sans remplacement, le SIIM94 sera à 33.2 ETP à fin "
            "2023, soit une baisse de 32.5% de son effectif en 3 ans.\n")
    doc = _extract(tmp_path, text)
    assert [(n.value, n.unit, n.exercice, n.status) for n in doc.narratifs if n.unit == "ETP"] == [
        (33.2, "ETP", 2023, "projection")]
    assert published(doc) == []  # nor the change (-32,5 %) nor « 3 ans »


def test_fragments_become_subject_measure_and_year(tmp_path):
    # « agents contre 11 », « à fin 15 »: the figure after « contre » is the same measure, for its own year
    text = ("Au 31/12/2022, le pôle était constitué de 11 agents (10,8 ETP) contre 15 à fin 2021 (14,6 ETP).\n")
    assert _published(tmp_path, text) == [("pôle — agents", 11.0, "agents", 2022), ("pôle — ETP", 10.8, "ETP", 2022),
                                          ("pôle — agents", 15.0, "agents", 2021), ("pôle — ETP", 14.6, "ETP", 2021)]


def test_bullet_dash_is_no_minus_sign_but_a_glued_dash_is(tmp_path):
    text = "Paie :\n\n- 12 500 bulletins de paie mensuels ;\n\n-500 k€ en charges générales\n"
    doc = _extract(tmp_path, text)
    assert [(n.text, n.value) for n in doc.narratifs] == [("12 500", 12500.0), ("-500", -500.0)]
    assert _published(tmp_path, text) == [("bulletins de paie mensuels", 12500.0, "bulletins", 2022),
                                          ("évolution en charges générales (k€)", -500.0, "k€", 2022)]


def test_parts_of_a_count_name_their_part_and_the_count(tmp_path):
    text = ("- 808 traitements batch quotidiens dont 460 pour les applications RH, 116 pour les applications de "
            "facturation et 56 autres ;\n")
    assert _published(tmp_path, text) == [
        ("traitements batch quotidiens", 808.0, "traitements", 2022),
        ("applications RH — traitements batch quotidiens", 460.0, "traitements", 2022),
        ("applications de facturation — traitements batch quotidiens", 116.0, "traitements", 2022)]


def test_footnote_markers_are_no_figures(tmp_path):
    text = "Les dotations aux provisions (1) et le virement (3) (4) ont été ajustés².\n"
    assert _extract(tmp_path, text).narratifs == []


def test_table_of_contents_page_numbers_are_no_figures(tmp_path):
    text = ("Sommaire\n\n3.\tAdministration (2 agents)..... 5\n\n- 12 Annexe 1 : glossaire des logiciels....."
            "**Erreur ! Signet non défini.**\n")
    assert _extract(tmp_path, text).narratifs == []


def test_chapter_code_in_a_label_and_list_numbers_are_no_key_figures(tmp_path):
    text = ("Investissement :\n\n20 Immobilisations incorporelles (sauf opérations et 204)\n\n"
            "013 Atténuations de charges\n\n1. Composition du Conseil\n\n2) Organigramme du syndicat\n")
    doc = _extract(tmp_path, text)
    assert [n.value for n in doc.narratifs if n.value in (1, 2, 13)] == []  # list numbers, a 0-led code
    assert published(doc) == []  # « sauf opérations et 204 », « 20 Immobilisations » name no measure


def test_percent_change_of_a_count_is_an_evolution_in_percent(tmp_path):
    text = "Formation :\n\n- +48% du nombre d'agents formés (1407 agents)\n"
    assert _published(tmp_path, text, 2018) == [("évolution du nombre d'agents formés (%)", 48.0, "%", 2018)]


def test_subject_of_a_copula_names_the_figure(tmp_path):
    text = ("L'âge moyen des agents du SIIM94 est de 46 ans :\n\nde 50 ans et +\nde 30 à 49 ans\n\n"
            "Le taux de réalisation en 2022 est de 88,83 % en investissement et 89,32% en fonctionnement.\n")
    assert _published(tmp_path, text) == [
        ("âge moyen des agents du SIIM94 — ans", 46.0, "ans", 2022),  # « ans et + 80 », « ans de - 49 »: gone
        ("taux de réalisation — en investissement (%)", 88.83, "%", 2022),
        ("taux de réalisation — en fonctionnement (%)", 89.32, "%", 2022)]


def test_changes_and_generic_subjects_stay_out(tmp_path):
    text = ("Courrier : 13 620 factures émises (12 560 en 2016) soit une progression de + de 8%.\n\n"
            "Avec les reports, le montant atteint 1 978 540,88 €, soit 99,45% des crédits.\n")
    assert _published(tmp_path, text) == [("Courrier — factures émises", 13620.0, "factures", 2022),
                                          ("Courrier — factures émises", 12560.0, "factures", 2016)]


def test_seed_factures_for_2021_and_2020():
    """siim94_2022.txt: « - 427 793 factures (517 700 en 2021 et 373 000 en 2020) dont 66% sécurisées ; »."""
    doc = extract_document(ROOT / "data" / "raw" / "siim94_2022.txt", "SIIM94", 2022, "siim94_2022")
    line = next(i for i, t in enumerate(doc.lines, 1) if "427 793 factures (517 700 en 2021 et 373 000 en 2020)" in t)
    rows = [(r["exercice"], r["valeur"], r["unite"]) for r in published(doc) if r["line"] == line]
    assert sorted(rows) == [(2020, 373000.0, "factures"), (2021, 517700.0, "factures"),
                            (2022, 66.0, "%"), (2022, 427793.0, "factures")]
