"""Figures of the prose: subject, measure and year across wrapped lines; what is not a figure;
prose compared with earlier reports (text.year, vintage.restated)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import run, summary  # noqa: E402

from pipelines.extract import extract_document  # noqa: E402

# PDF text: one blank line between printed lines, a bracket and its year wrapped onto the next ones.
WRAPPED = """Bilan d'activité 2021 du SIIM94

Affaires Civiles et Citoyennes :

 Mélodie (état civil): 4 855 actes enregistrés (5 000

actes en 2020) ;

 Requiem (cimetières) : 845 actes enregistrés (888 en

2020).

Tél. : 01 41 60 85 00 — 1, rue de l'Union, 93000 Bobigny Cedex — le 15 mars 2021.

Au 31/12/2021, le syndicat comptait 46 agents : cela représente une réduction de 4 agents par rapport à l'année précédente.
"""


def _narratifs(tmp_path, text, year=2021):
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    doc = extract_document(path, "SIIM94", year, "r")
    return [(n.line, n.sentence_start, n.sentence_end, n.sujet, n.mesure, n.label, n.value, n.exercice, n.status)
            for n in doc.narratifs]


def test_wrapped_sentence_gives_subject_measure_and_year(tmp_path):
    assert _narratifs(tmp_path, WRAPPED) == [
        (5, 5, 7, "Mélodie", "actes enregistrés", "Mélodie — actes enregistrés", 4855.0, 2021, "ok"),
        (5, 5, 7, "Mélodie", "actes enregistrés", "Mélodie — actes enregistrés", 5000.0, 2020, "ok"),
        (9, 9, 11, "Requiem", "actes enregistrés", "Requiem — actes enregistrés", 845.0, 2021, "ok"),
        (9, 9, 11, "Requiem", "actes enregistrés", "Requiem — actes enregistrés", 888.0, 2020, "ok"),
        # phone, street, postal code and dates give nothing; a change is kept out of the indicators
        (15, 15, 15, "syndicat", "agents", "syndicat — agents", 46.0, 2021, "ok"),  # « le syndicat comptait »
        (15, 15, 15, None, "agents", "agents", 4.0, 2021, "comparaison"),
    ]


def test_number_split_over_lines_and_page_number(tmp_path):
    text = ("Bilan d'activité 2021 du SIIM94\n\n 32 budgets gérés ; plus de 115\n\n000 Mandats émis ; près de "
            "20 000 Titres émis.\n\nFin du bilan d’activité 2021\n\n9\n")
    assert [(n[0], n[5], n[6]) for n in _narratifs(tmp_path, text)] == [
        (3, "budgets gérés", 32.0), (3, "Mandats émis", 115000.0), (5, "Titres émis", 20000.0)]


def test_comparisons_and_phones_are_not_indicators(tmp_path):
    from pipelines.curate import _narratifs as curated

    path = tmp_path / "r.txt"
    path.write_text(WRAPPED, encoding="utf-8")
    doc = extract_document(path, "SIIM94", 2021, "r")
    labels = [(r["indicateur"], r["valeur"]) for r in curated(doc)]
    assert labels == [("Mélodie — actes enregistrés", 4855.0), ("Mélodie — actes enregistrés", 5000.0),
                      ("Requiem — actes enregistrés", 845.0), ("Requiem — actes enregistrés", 888.0),
                      ("syndicat — agents", 46.0)]


# --- Prose against earlier reports ---------------------------------------------------------------------

REPORT_2021 = """Bilan d'activité 2021 du SIIM94

Affaires civiles :

- Requiem (cimetières) : 845 actes enregistrés (888 en 2020) ;
- Alto (demandes de pièces) : 29 000 demandes créées (21 000 en 2020) ;
- Maestro (recensement) : 6 000 dossiers créés ;
- Adagio (élections) : 97 965 électeurs inscrits.
"""

REPORT_2022 = """Bilan d'activité 2022 du SIIM94

Affaires civiles :

- Requiem (cimetières) : 1426 actes enregistrés (845 en 2020) ;
- Alto (demandes de pièces) : 23 668 demandes créées (29 000 en 2021) ;
- Maestro (recensement) : environ 5 000 dossiers créés (6100 en 2021) ;
- Adagio (élections) : 97 437 électeurs inscrits (97 865 en 2021).
"""


def test_prose_year_shifted_and_prose_figure_restated(tmp_path):
    df = run(tmp_path, REPORT_2022, year=2022, extra={"r2021": (REPORT_2021, "SIIM94", 2021)})
    assert summary(df, "text.year", "vintage.restated") == [
        ("text.year", 5, "warning", "845 en 2020", "888 en 2020 (845 en 2021)"),   # 2021's figure under 2020
        ("vintage.restated", 7, "warning", "6 100", "6 000"),                   # Maestro 2021 restated
        ("vintage.restated", 8, "warning", "97 865", "97 965"),                 # Adagio 2021 restated
    ]
    msg = df[df["rule"] == "text.year"].iloc[0]["message"]
    assert "le rapport 2021 donne ce chiffre pour 2021 (ligne 5)" in msg


def test_prose_that_agrees_with_the_earlier_report_gives_nothing(tmp_path):
    fixed = REPORT_2022.replace("(845 en 2020)", "(845 en 2021)").replace("6100", "6000").replace("97 865", "97 965")
    df = run(tmp_path, fixed, year=2022, extra={"r2021": (REPORT_2021, "SIIM94", 2021)})
    assert summary(df, "text.year", "vintage.restated") == []


def test_measure_printed_after_the_bracket(tmp_path):
    text = "Bilan d'activité 2022 du SIIM94\n\n- 3 498 (4 047 en 2021) aides légales attribuées ;\n"
    assert [(n[0], n[5], n[6], n[7]) for n in _narratifs(tmp_path, text, 2022)] == [
        (3, "aides légales attribuées", 3498.0, 2022), (3, "aides légales attribuées", 4047.0, 2021)]


def test_prose_read_without_its_sentences_gives_the_rows_of_the_loaded_reports(tmp_path):
    """The cross-report checks of a build read the prose figures slimmed (validate._prose_store: no
    sentence, a « environ » figure left out as it is read); a draft's check reads them loaded whole
    (frames.load). Same rows, in the same order."""
    from test_validate_helpers import store_of

    from pipelines.validate import _prose_store
    from pipelines.validate.frames import load
    from pipelines.validate.vintages import narrative_checks

    # two reports of 2021 that differ on Alto: the first in document order is the one compared
    con = store_of(tmp_path, {"a2022": (REPORT_2022, "SIIM94", 2022), "b2021": (REPORT_2021, "SIIM94", 2021),
                              "c2021": (REPORT_2021.replace("29 000 demandes", "28 000 demandes"), "SIIM94", 2021)})
    ids = ["a2022", "b2021", "c2021"]
    slim, whole = narrative_checks(_prose_store(con, ids)), narrative_checks(load(con, ids))
    assert slim == whole
    years, restated = slim
    assert [(r["rule"], r["document_id"], r["line"], r["found"], r["expected"]) for r in years + restated
            if r["statut"] != "ok"] == [
        ("text.year", "a2022", 5, "845 en 2020", "888 en 2020 (845 en 2021)"),
        ("vintage.restated", "a2022", 7, "6 100", "6 000"),
        ("vintage.restated", "a2022", 8, "97 865", "97 965"),
    ]
