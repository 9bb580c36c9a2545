"""The report's year read from its text (extract.infer_year) when no « rapport d'activité 2018 » phrase
names it: the most cited year, and between years cited as often, the first (the title before a cell
that holds a year-like amount)."""

from __future__ import annotations

from pipelines.extract import infer_year


def test_a_title_year_wins_over_an_amount_cited_as_often():
    assert infer_year(["Bilan 2023", "Service\tMontant", "Finances\t2019", "RH\t100", "Total\t2119"]) == 2023
    assert infer_year(["Salaires 2023", "Poste\tMontant", "Agent\t2000", "Total\t2000"]) == 2000  # cited twice
    assert infer_year(["Poste\tMontant", "Agent\t2019", "Bilan 2023"]) == 2019


def test_a_phrase_naming_the_report_wins_over_counts():
    lines = ["Tableau\t2019\t2019\t2019", "Rapport d'activité 2021 du SII"]
    assert infer_year(lines) == 2021
