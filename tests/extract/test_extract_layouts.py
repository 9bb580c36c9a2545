"""Extraction on small hand-written reports, one per layout (tests/fixtures/layouts)."""

from pathlib import Path

import pytest

from pipelines.errors import UnusableInput
from pipelines.extract import extract_document

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "layouts"


def rows(table):
    return [(r.line, r.kind, [c.text for c in r.cells]) for r in table.rows]


def by_line(doc, line):
    return next(t for t in doc.tables if t.line_start == line)


def test_tsv_with_toc_sections_subitems_totals_and_side_by_side():
    doc = extract_document(FIX / "tsv_2019.txt")
    assert (doc.org, doc.report_year) == ("SIIM94", 2019)
    assert doc.toc_lines == (3, 7)  # « CONTENU » and its entries are neither sections nor tables
    assert [(s.number, s.line) for s in doc.sections] == [("1", 9), ("2", 14), ("2.1", 16), ("3", 25)]
    budget = by_line(doc, 18)
    assert budget.layout == "tsv" and budget.caption == "Recettes"
    assert budget.headers == ["Chapitre", "Libelle", "Previsions", "Realisations", "%"]
    assert [r.kind for r in budget.body] == ["item", "item", "item", "subitem", "total"]
    total = budget.rows[-1]
    assert (total.line, total.cells[3].value, total.cells[3].role, total.cells[3].decimals) == (23, 6586.0, "total", 2)
    assert budget.rows[1].cells[0].role == "label"  # chapter codes are labels, not figures
    side = by_line(doc, 27)
    assert side.layout == "side_by_side"
    assert [(r.line, r.label, r.cells[2].value) for r in side.body] == [
        (28, "Polyfac", 12.0), (29, "Sedit", 6.0), (28, "Excel", 2.0), (29, "Word", 1.0), (30, "Total", 21.0)]


def test_narrative_figures_with_their_year():
    doc = extract_document(FIX / "tsv_2019.txt")
    found = {(n.line, n.value, n.exercice, n.label) for n in doc.narratifs}
    assert (11, 1250.0, 2019, "tickets") in found
    assert (11, 1100.0, 2018, "tickets") in found  # the bracketed figure is last year's tickets
    assert (12, 80000.0, 2019, "Mandats emis") in found


def test_pipe_table():
    doc = extract_document(FIX / "pipes_2019.txt")
    [t] = doc.tables
    assert t.layout == "pipe" and t.headers == ["Domaines (en jours)", "2018", "2019"]
    assert rows(t)[1:] == [(9, "item", ["Finances", "437", "450"]), (10, "item", ["Santé publique", "147", "160"]),
                           (11, "total", ["Total Général", "584", "610"])]
    assert t.caption == "Répartition de la charge par domaine"


def test_fixed_width_table():
    doc = extract_document(FIX / "fixed_2019.txt")
    [t] = doc.tables
    assert t.layout == "fixed"
    assert [(r.label, r.cells[1].value, r.cells[1].unit) for r in t.body] == [
        ("Assistance", 418.0, "jours"), ("Formation", 249.0, "jours"), ("Total général", 667.0, "jours")]


def test_pdf_text_wrapped_labels_split_values_and_composites():
    doc = extract_document(FIX / "pdftext_2021.txt", "SIIM94", 2021)
    budget, days, training = doc.tables
    assert budget.layout == "pdftext" and budget.caption == "DEPENSES DE FONCTIONNEMENT"
    assert [(r.line, r.label, [c.value for c in r.cells[1:]]) for r in budget.body] == [
        (7, "011 Charges à caractère général", [2214727.45]),
        (9, "012 Charges de personnel, frais assimilés", [3544981.77]),
        (13, "022 Dépenses imprévues", []),
        (15, "TOTAL", [5759709.22]),
    ]
    assert days.headers == ["Domaine", "2020", "2021"]
    assert [(r.label, [c.value for c in r.cells[1:]]) for r in days.body] == [
        ("Maintenance en Condition Opérationnelle", [1169.0, 1256.0]),
        ("Gestion des domaines métiers", [81.0, 153.0]),  # « 81 153 » is two figures under two years
        ("TOTAL :", [1250.0, 1409.0]),
    ]
    assert [(c.value, c.value2) for c in training.body[0].cells[1:]] == [(152.0, 37.5), (414.0, 117.0)]


def test_multi_row_header_and_html_tags():
    doc = extract_document(FIX / "multiheader_2018.txt")
    [t] = doc.tables
    assert doc.org == "SII" and t.n_header_rows == 2
    assert t.headers == ["SERVICES", "REPARTITION PAR SEXE — Hommes", "REPARTITION PAR SEXE — Femmes", "TOTAL EFFECTIF"]
    total = t.rows[-1]
    assert total.kind == "total" and [c.value for c in total.cells[1:]] == [12.0, 1.0, 13.0]


def test_ragged_rows_are_kept_and_flagged():
    doc = extract_document(FIX / "ragged_2019.txt")
    [t] = doc.tables
    assert t.ragged == [5]
    assert [c.text for c in t.rows[3].cells] == ["Gentilly"]
    assert t.rows[2].cells[2].value == 12.0  # the extra cell is kept, not dropped


def test_cp1252_report_is_read():
    doc = extract_document(FIX / "cp1252_2019.txt")
    assert doc.encoding == "cp1252"
    assert doc.tables[0].headers[1] == "Libellé"
    assert doc.tables[0].rows[-1].cells[3].value == 900.0


def test_cp1252_text_ending_in_an_accent_is_not_a_cut_utf8_file(tmp_path):
    path = tmp_path / "note.txt"
    path.write_bytes("Recettes émises : voir l'année passée".encode("cp1252"))
    assert extract_document(path).encoding == "cp1252"
    path.write_bytes("Total é".encode("cp1252"))  # only ASCII before the last byte: cp1252, as before
    assert extract_document(path).encoding == "cp1252"


@pytest.mark.parametrize("content, reason", [
    (b"", "vide"), (b"   \n\n", "vide"), (b"\x00\x01\x02binary\x00", "binaire"), (b"%PDF-1.7\n...", "PDF"),
    # a UTF-8 file saved while it is read (bilans check --watch), cut inside « é »: not read as cp1252
    ("Titres émis en 2022\t1 256\nRecettes de l'été".encode()[:-1], "coupé au milieu d'un caractère"),
])
def test_unusable_input_gives_one_line_reason(tmp_path, content, reason):
    path = tmp_path / "draft.txt"
    path.write_bytes(content)
    with pytest.raises(UnusableInput, match=reason) as err:
        extract_document(path)
    assert "\n" not in str(err.value)


def test_truncated_report_keeps_what_was_printed(tmp_path):
    text = (FIX / "tsv_2019.txt").read_text().splitlines()
    cut = "\n".join(text[:20]) + "\n74\tdotat"  # cut in the middle of a row
    path = tmp_path / "cut.txt"
    path.write_text(cut)
    doc = extract_document(path)
    budget = doc.tables[0]
    assert [r.label for r in budget.body] == ["70 produits des services", "74 dotations", "74 dotat"]
    assert not any(r.kind == "total" for r in budget.body)


def test_hostile_text_is_kept_verbatim(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("Entité\ttickets\n<script>alert(1)</script>\t5\n../../etc/passwd\t3\nTotal\t8\n")
    [t] = extract_document(path).tables
    assert t.rows[1].cells[0].text == "<script>alert(1)</script>"
    assert t.rows[-1].kind == "total"


def test_two_column_table_is_not_taken_for_a_table_of_contents(tmp_path):
    path = tmp_path / "draft.txt"
    path.write_text("Rapport d'activité 2018 du SII\n\n1 Synthèse\n\nApplications\tMEP\nADAGIO\t1\nCMS\t10\n"
                    "PREM\t62\nTOTAL\t73\n", encoding="utf-8")
    doc = extract_document(path)
    assert doc.toc_lines is None
    [t] = doc.tables
    assert [(r.label, r.cells[1].value) for r in t.body][-1] == ("TOTAL", 73.0)
