"""Total labels of a French public-sector report (data/referentiels/totaux.csv), each on a small table
of 3 items whose total is 2 off (beyond 3 × 1/2): recognised, the total is checked. A total of
averages is not a sum."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import run, summary  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "totaux"


def _table(label: str, total: str = "26", name: str = "libelles.txt") -> str:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert "Total\t24" in text
    return text.replace("Total\t24", f"{label}\t{total}")


@pytest.mark.parametrize("label", [
    "Total", "TOTAL", "TOTAL :", "**Total**", "Total général", "TOTAL GENERAL", "Totaux", "Total des journées",
    "Sous-total", "Sous total", "S/total", "Ensemble", "Ensemble des pôles", "Ensemble du syndicat",
    "Ensemble de la collectivité", "Somme", "Somme des journées", "Cumul"])
def test_total_label_is_checked(tmp_path, label):
    text = _table(label)
    assert summary(run(tmp_path, text, year=2023)) == [("total.column", 6, "error", "26", "24")]
    assert summary(run(tmp_path, _table(label, "24"), year=2023)) == []


@pytest.mark.parametrize("label", ["Ensemble immobilier", "Somme forfaitaire", "Cumulus"])
def test_words_that_only_begin_like_a_total_are_items(tmp_path, label):
    # a plain row: the table has no total, nothing to check
    assert summary(run(tmp_path, _table(label), year=2023)) == []


def test_an_ensemble_of_averages_is_not_their_sum(tmp_path):
    text = (FIXTURES / "moyennes.txt").read_text(encoding="utf-8")
    assert summary(run(tmp_path, text, year=2023)) == []
    # the same rows as counts: « Ensemble des permanents » is their total, and wrong
    counts = text.replace("Âge moyen", "Agents").replace("48,59", "48").replace("43,95", "44").replace("45,93", "46")
    assert summary(run(tmp_path, counts, year=2023)) == [("total.column", 5, "error", "46", "92")]


def test_an_average_named_over_the_labels_is_not_summed(tmp_path):
    # as printed in a report: the mean is named in the header of the label column
    text = (FIXTURES / "moyennes.txt").read_text(encoding="utf-8").replace(
        "Statut\tÂge moyen", "Âge moyen* des agents permanents\t")
    assert summary(run(tmp_path, text, year=2023)) == []


def test_a_running_total_column_is_not_summed(tmp_path):
    # « Cumul » heading a column: a running total, whose « Total » is its last value, not a sum; the
    # column of the months beside it is still checked
    text = ("Jours par mois 2023\n\nMois\tJours\tCumul\nJanvier\t10\t10\nFévrier\t20\t30\nMars\t30\t60\n"
            "Total\t{}\t60\n")
    assert summary(run(tmp_path, text.format(60), year=2023)) == []
    assert summary(run(tmp_path, text.format(62), year=2023)) == [("total.column", 7, "error", "62", "60")]
    # a « Résultat cumulé » per section adds up: not a running total
    sections = ("Résultats 2023\n\nSection\tRésultat cumulé\nFonctionnement\t100\nInvestissement\t50\n"
                "Total\t160\n")
    assert summary(run(tmp_path, sections, year=2023)) == [("total.column", 6, "error", "160", "150")]
