"""`bilans report` : author reports from the store only, escaped, with the offending figure marked."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.publish.authors import highlight, render_html, render_markdown  # noqa: E402


def _finding(**kw):
    base = dict(document="d.txt", line=12, rule="total.column", severity="error",
                message="Le total « Total » (1 164 jours) ne correspond pas à la somme des lignes (2 570 jours).",
                found="1 164 jours", expected="2 570 jours", table="Répartition <b>générale</b>",
                document_id="d", section="9.5.1 Répartition générale",
                source_line="Total général\t1 164 jours <script>alert(1)</script>",
                suggestion="Corriger le total en 2 570 jours.", highlight="1 164 jours")
    base.update(kw)
    return base


def test_html_is_self_contained_escaped_and_marks_the_figure():
    doc = {"document_id": "d", "org": "SIIM94", "report_year": 2017, "path": "d.txt", "title": "Bilan <2017>"}
    out = render_html(doc, pd.DataFrame([_finding(), _finding(line=3, rule="total.rounding", severity="info",
                                                              section=None)]))
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<mark>1 164 jours</mark>" in out
    assert "Répartition &lt;b&gt;générale&lt;/b&gt;" in out and "Bilan &lt;2017&gt;" in out
    assert "http" not in out and "<link" not in out and "src=" not in out
    assert "1 erreur, 0 alerte, 1 information" in out
    assert out.index("Hors section") < out.index("9.5.1 Répartition générale")  # ordered by line


def test_markdown_has_the_same_content():
    doc = {"document_id": "d", "org": "SIIM94", "report_year": 2017, "path": "d.txt", "title": None}
    md = render_markdown(doc, pd.DataFrame([_finding()]))
    assert "**1 164 jours**" in md and "attendu : 2 570 jours" in md and "Corriger le total" in md


def test_highlight_falls_back_to_digits():
    assert highlight("TOTAL\t1467 agents", None, "1 467 agents") == "TOTAL\t<mark>1467</mark> agents"


def test_write_reports_reads_the_store(tmp_path):
    from test_validate_helpers import store_of

    from pipelines.publish.authors import write_reports
    from pipelines.validate import validate_store
    from pipelines.validate.stored_results import gx_dir

    text = ("Bilan d'activité 2017 du SIIM94\n\n1 Pôle SI\n\nRépartition\n\n"
            "Activité\t2016\t2017\nMCO\t10\t<script>x</script>\nProjet\t20\t5\nTotal\t31\t5\n")
    con = store_of(tmp_path, {"d": (text, "SIIM94", 2017)})
    db = tmp_path / "s.duckdb"
    assert validate_store(con, gx_dir=gx_dir(db)) >= 1  # the check run writes the Data Docs
    con.execute(f"ATTACH '{db}' AS disk")
    for t in ("documents", "sections", "lignes", "tables", "cells", "narratifs", "findings"):
        con.execute(f'CREATE TABLE disk."{t}" AS SELECT * FROM "{t}"')
    con.execute("DETACH disk")
    con.close()
    stale = tmp_path / "reports" / "validation"
    stale.mkdir(parents=True)
    for name in ("retire.html", "retire.md"):  # a report removed from the corpus since the last run
        (stale / name).write_text("ancien", encoding="utf-8")
    assert write_reports(db, tmp_path / "reports") == 0
    assert sorted(p.name for p in stale.iterdir()) == ["d.html", "d.md"]
    html_text = (tmp_path / "reports" / "validation" / "d.html").read_text(encoding="utf-8")
    assert "<script>" not in html_text and "<mark>31</mark>" in html_text
    assert (tmp_path / "reports" / "validation" / "d.md").exists()
    assert (tmp_path / "reports" / "data_docs" / "index.html").exists()


def test_report_refuses_a_store_built_without_its_checks(tmp_path):
    """After `bilans build --no-validate`, every report would say « Aucune incohérence détectée »
    of documents nobody checked: `bilans report` refuses in one line instead."""
    from test_build import make_corpus

    from pipelines.build import build
    from pipelines.cli import main

    db = tmp_path / "db.duckdb"
    assert build(make_corpus(tmp_path), db, validate=False) == 0
    assert main(["--db", str(db), "report", "--out", str(tmp_path / "reports")]) == 2
    assert not (tmp_path / "reports" / "validation").exists()
