"""Exact provenance and hostile input: a PDF-text figure is cited on the line where it is printed,
line endings do not move line numbers, and no way of printing a number crashes the checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import TOC, run, summary  # noqa: E402

from pipelines.extract.numbers import parse_cell  # noqa: E402
from pipelines.publish.authors import render_html, render_markdown  # noqa: E402

T = "\t"

# A training table laid out as PDF text: every figure on its own line, the total row's label nine
# lines above the figure that is wrong (2019: 1 282 agents printed, the items give 1 297).
PDF_FORMATIONS = """Bilan d'activité 2021 du SIIM94

Evolution des activités de formation

formation 2019 2020

bureautiques 852 agents

101 agents

métiers 445 agents

73 agents

TOTAL 1297 agents

174 agents

1282 agents

"""


def test_pdftext_cell_keeps_the_line_of_its_value(tmp_path):
    text = PDF_FORMATIONS.replace("TOTAL 1297 agents\n\n174 agents\n\n1282 agents",
                                  "TOTAL\n\n1282 agents\n\n174 agents")
    df = run(tmp_path, text, year=2021)
    # line 15 is « TOTAL », line 17 holds « 1282 agents »: the finding cites the figure's line
    assert summary(df, "total.column") == [("total.column", 17, "error", "1 282 agents", "1 297 agents")]
    f = df[df["rule"] == "total.column"].iloc[0]
    assert (f["label_line"], f["label_source"].strip(), f["source_line"].strip()) == (15, "TOTAL", "1282 agents")


def test_label_and_value_on_one_line_give_no_label_line(tmp_path):
    text = PDF_FORMATIONS.replace("TOTAL 1297 agents\n\n174 agents\n\n1282 agents", "TOTAL 1282 agents 174 agents")
    df = run(tmp_path, text, year=2021)
    assert summary(df, "total.column") == [("total.column", 15, "error", "1 282 agents", "1 297 agents")]
    assert df[df["rule"] == "total.column"].iloc[0]["label_line"] is None


def _author_finding(**kw):
    base = dict(document="d.txt", line=17, rule="total.column", severity="error", message="Total faux.",
                found="1 282 agents", expected="1 297 agents", table="Formations", document_id="d",
                section=None, source_line="1282 agents", suggestion="Corriger.", highlight="1282 agents",
                label_line=15, label_source="TOTAL <b>")
    base.update(kw)
    return base


def test_author_report_quotes_label_line_and_value_line():
    doc = {"document_id": "d", "org": "SIIM94", "report_year": 2021, "path": "d.txt", "title": None}
    found = pd.DataFrame([_author_finding()])
    html_out = render_html(doc, found)
    assert "   15 | TOTAL &lt;b&gt;\n   17 | <mark>1282 agents</mark>" in html_out
    md = render_markdown(doc, found)
    assert "  > (ligne 15) TOTAL &lt;b&gt;\n  > (ligne 17) **1282 agents**" in md  # markup shown, not rendered
    same = pd.DataFrame([_author_finding(label_line=None, label_source=None)])
    assert "(ligne 15)" not in render_markdown(doc, same) and "   15 |" not in render_html(doc, same)


# --- Hostile numbers -------------------------------------------------------------------------------

def test_numbers_beyond_reading_are_flagged_not_crashing():
    assert parse_cell("9" * 400).status == "malformed"
    for text in ("1e309", "1e3", "∞", "-∞", "NaN", "nan", "inf"):
        assert (parse_cell(text).value, parse_cell(text).status) == (None, "malformed"), text
    assert (parse_cell("١٢٣").value, parse_cell("١ ٢٣٤ jours").value) == (123.0, 1234.0)  # Arabic-Indic digits


def test_hostile_cells_and_prose_give_findings_not_tracebacks(tmp_path):
    big = "9" * 400
    body = "\n".join(T.join(r) for r in (
        ("Activité (en jours)", "2017", "2018"), ("MCO", big, "1 046 jours"), ("Projet", "1e309", "965 jours"),
        ("Autre", "∞", "NaN"), ("Arabe", "١٢٣", "١ ٢٣٤ jours"), ("Total général", "1 164 jours", "2 011 jours")))
    text = (f"Bilan d'activité 2018 du SIIM94\n\n1 Activité\n\nRépartition\n\n{body}\n\n"
            f"Le pôle a traité {big} demandes et ١٢٣٤ agents formés en 2018.\n")
    df = run(tmp_path, text)
    assert [(r[0], r[1], r[2], r[3][:12]) for r in (x for x in summary(df))] == [
        ("value.malformed", 8, "error", "999999999999"), ("value.malformed", 9, "error", "1e309"),
        ("value.malformed", 10, "error", "NaN"), ("value.malformed", 10, "error", "∞"),
        ("value.malformed", 14, "error", "999999999999")]  # totals over an unreadable line are not judged


# --- Line endings ----------------------------------------------------------------------------------

REPORT = """Bilan d'activité 2018 du SIIM94

1 Activité

Répartition de l'activité

Activité (en jours)\t2016\t2017
MCO\t1 035 jours\t1 046 jours
Projet\t993 jours\t965 jours
Total général\t1 164 jours\t2 011 jours

Le nombre de jours est stable par rapport à 2018.
"""


def _findings_of_bytes(tmp_path: Path, name: str, data: bytes):
    import duckdb

    from pipelines.build import insert
    from pipelines.extract import extract_document
    from pipelines.extract.records import document_records
    from pipelines.store import create_schema
    from pipelines.validate import findings

    raw = tmp_path / f"{name}.txt"
    raw.write_bytes(data)
    con = duckdb.connect(":memory:")
    create_schema(con)
    for table, rows in document_records(extract_document(raw, "SIIM94", 2018, "doc")).items():
        insert(con, table, rows)
    return summary(findings(con, document_ids=["doc"]))


def test_lf_crlf_and_cr_only_copies_give_identical_findings(tmp_path):
    lf, crlf, cr = (_findings_of_bytes(tmp_path, name, (REPORT + TOC).replace("\n", eol).encode())
                    for name, eol in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")))
    assert lf == [("text.year", 12, "error", "par rapport à 2018", "par rapport à 2017"),
                  ("total.column", 10, "error", "1 164 jours", "2 028 jours")]
    assert crlf == lf and cr == lf
