"""Issue 19 : chaque sorte de défaut vue sur des rapports réels, sur un petit fixture de même forme.

Each fixture of tests/fixtures/notations/ is consistent as written (no finding); the same
fixture with one figure changed gives exactly the finding the change calls for.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import run, summary  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notations"


def _fixture(name: str, replace: tuple[str, str] | None = None) -> str:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    return text


def _findings(tmp_path, name: str, year: int, replace: tuple[str, str] | None = None):
    return run(tmp_path, _fixture(name, replace), org="SIIM94", year=year)


# 1. Negative amounts: parentheses, U+2212 and a trailing minus are summed like any figure.
def test_negative_amounts_are_summed(tmp_path):
    assert summary(_findings(tmp_path, "negatifs.txt", 2019)) == []


def test_negative_total_in_parentheses_is_compared_not_missing(tmp_path):
    df = _findings(tmp_path, "negatifs.txt", 2019, ("Total\t9 429,45\t(48 310,10)", "Total\t9 429,45\t(48 301,10)"))
    assert summary(df) == [("total.column", 5, "error", "-48 301,1", "-48 310,1")]


# 2. Dotted thousands: « 845.000 € » is 845 000 when the table groups its thousands with dots.
def test_dotted_thousands_are_read_as_thousands(tmp_path):
    assert summary(_findings(tmp_path, "milliers_points.txt", 2012)) == []


def test_dotted_thousands_total_error_is_found(tmp_path):
    df = _findings(tmp_path, "milliers_points.txt", 2012, ("2.114.500 €", "2.124.500 €"))
    assert summary(df) == [("total.column", 5, "error", "2 124 500 €", "2 114 500 €")]


# 6. Dates in cells are dates, not malformed numbers.
def test_dates_in_cells_are_not_malformed(tmp_path):
    assert summary(_findings(tmp_path, "dates.txt", 2015)) == []


def test_total_beside_a_date_column_is_still_checked(tmp_path):
    df = _findings(tmp_path, "dates.txt", 2015, ("Total\t\t23", "Total\t\t24"))
    assert summary(df) == [("total.column", 6, "error", "24", "23")]


# 7. Comma thousands used consistently in a table; the message quotes the figure as printed.
def test_comma_thousands_decided_for_the_table(tmp_path):
    assert summary(_findings(tmp_path, "milliers_virgules.txt", 2014)) == []


def test_comma_thousands_error_quotes_the_printed_figure(tmp_path):
    df = _findings(tmp_path, "milliers_virgules.txt", 2014, ("15,532", "15,632"))
    assert summary(df) == [("total.column", 6, "error", "15 632", "15 532")]
    assert "(15,632)" in df.iloc[0]["message"]


def test_one_decimal_comma_keeps_the_table_french(tmp_path):
    # « 2,5 » cannot separate thousands: the whole table is French, « 12,480 » is 12.48
    df = _findings(tmp_path, "milliers_virgules.txt", 2014, ("Sud\t947", "Sud\t2,5"))
    assert summary(df) == [("total.column", 6, "error", "15,53", "17,09")]


# 3. A total closes its own block: since the previous total, sub-total or heading; a line computed
#    from totals (« Besoin de financement ») is not an item of the next block.
def test_each_total_closes_its_own_block(tmp_path):
    assert summary(_findings(tmp_path, "blocs.txt", 2020)) == []


def test_block_error_is_measured_on_its_own_block(tmp_path):
    df = _findings(tmp_path, "blocs.txt", 2020, ("Total des immobilisations\t16", "Total des immobilisations\t19"))
    assert summary(df) == [("total.column", 16, "error", "19", "16")]
    assert "oubliée" not in df.iloc[0]["message"]


def test_line_computed_from_two_totals_is_derived_without_its_label(tmp_path):
    # « Position nette » is in no referential: 43 = 55 − 12, just under those two totals, tells it is derived
    text = _fixture("blocs.txt").replace("Besoin de financement", "Position nette")
    text = text.replace("Engagements hors bilan\t\nCautions\t30\nImmobilisations\t\n", "")
    assert summary(run(tmp_path, text, org="SIIM94", year=2020)) == []
    # an ordinary line there (not the difference of the totals) is an item of the next total
    text = text.replace("Position nette\t43", "Position nette\t50")
    df = run(tmp_path, text, org="SIIM94", year=2020)
    assert summary(df) == [("total.column", 13, "error", "16", "66")]


# 5. Total labels come from data/referentiels/totaux.csv.
@pytest.mark.parametrize("label", ["Ensemble", "Totaux", "Totals", "TOTAL :", "**Total général**"])
def test_total_labels_of_the_referential_are_checked(tmp_path, label):
    df = _findings(tmp_path, "ensemble.txt", 2021, ("Ensemble\t37", f"{label}\t38"))
    assert summary(df) == [("total.column", 5, "error", "38", "37")]


def test_ensemble_alone_or_with_its_complement(tmp_path):
    # « Ensemble des filières » is the total of the filières (the usage of public statistics)
    df = _findings(tmp_path, "ensemble.txt", 2021, ("Ensemble\t37", "Ensemble des filières\t38"))
    assert summary(df) == [("total.column", 5, "error", "38", "37")]
    # « Ensemble immobilier » is a row of its own, not a total
    df = _findings(tmp_path, "ensemble.txt", 2021, ("Ensemble\t37", "Ensemble immobilier\t38"))
    assert summary(df) == []


def test_sub_totals_and_closing_total(tmp_path):
    assert summary(_findings(tmp_path, "sous_totaux.txt", 2022)) == []
    df = _findings(tmp_path, "sous_totaux.txt", 2022, ("TOTAL :\t85", "TOTAL :\t86"))
    assert summary(df) == [("total.column", 9, "error", "86", "85")]


# 4. A row total is checked at any width: 12 months + Total.
def test_twelve_months_and_total_foot(tmp_path):
    assert summary(_findings(tmp_path, "mois.txt", 2021)) == []


def test_twelve_months_row_total_errors(tmp_path):
    text = ("Postes\t9\t9\t8\t8\t7\t7\t6\t6\t5\t5\t4\t4\t78", "Postes\t9\t9\t8\t8\t7\t7\t6\t6\t5\t5\t4\t4\t88")
    df = run(tmp_path, _fixture("mois.txt", text).replace("\t9\t141", "\t9\t151"), org="SIIM94", year=2021)
    assert summary(df) == [("total.row", 4, "error", "88", "78"), ("total.row", 6, "error", "151", "141")]
    assert "12 colonnes de « janv. » à « déc. »" in df.iloc[0]["message"]


def test_a_count_row_total_is_exact_even_on_a_two_row_table(tmp_path):
    """« Demandes » are counted, not rounded: a row total off by 3 over 12 whole months is an error
    (the rounding tolerance would have granted ± 6,5), and a column headed « Total » says what it adds
    even when only one of two rows foots."""
    text = _fixture("mois.txt").splitlines()
    two_rows = "\n".join(text[:3] + [text[3].replace("\t78", "\t81")]) + "\n"
    df = run(tmp_path, two_rows, org="SIIM94", year=2021)
    assert summary(df) == [("total.row", 4, "error", "81", "78")]


# 10. Prose: a change stated in one sentence is checked within the rounding of its printed figures;
#     dotted thousands and « M » (millions) are read in the prose too.
def test_change_stated_in_one_sentence_is_consistent(tmp_path):
    assert summary(_findings(tmp_path, "prose.txt", 2022)) == []


def test_change_stated_in_one_sentence_is_checked(tmp_path):
    df = _findings(tmp_path, "prose.txt", 2022, ("soit +20 %", "soit +25 %"))
    assert summary(df) == [("text.percent", 3, "error", "+25 %", "+20,0 %")]
    assert "de 3,500 M€ à 4,200 M€" in df.iloc[0]["message"]
    # 3,500 and 4,200 are printed to the thousandth: +20,1 % is outside their rounding
    df = _findings(tmp_path, "prose.txt", 2022, ("soit +20 %", "soit +20,1 %"))
    assert [f[0] for f in summary(df)] == ["text.percent"]


def test_dotted_thousands_and_millions_in_prose():
    from pipelines.extract.narrative import figures_in

    text = _fixture("prose.txt").splitlines()
    read = [(n.text, n.value, n.unit) for line in (text[4], text[6]) for n in figures_in(line, 1, None, 2022)]
    assert read == [("512.300", 512300.0, "€"), ("563.530", 563530.0, "€"), ("10", 10.0, "%"),
                    ("18,250", 18.25, "M")]


def test_small_table_follows_the_document_notation(tmp_path):
    from pipelines.extract import extract_document

    path = tmp_path / "doc.txt"
    path.write_text(_fixture("document_virgules.txt"), encoding="utf-8")
    tables = extract_document(path, "SIIM94", 2014).tables
    assert [t.notation for t in tables] == ["en", "en"]
    assert [c.value for c in tables[1].cells() if c.role == "value"] == [1250.0, 95.0]
    # the same small table in a French document keeps « 1,250 » as 1,25
    path.write_text(_fixture("document_virgules.txt").replace("Sud\t947", "Sud\t9,5"), encoding="utf-8")
    tables = extract_document(path, "SIIM94", 2014).tables
    assert [t.notation for t in tables] == ["fr", "fr"]
    assert [c.value for c in tables[1].cells() if c.role == "value"] == [1.25, 95.0]
