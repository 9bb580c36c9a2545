"""Issue 18: hostile text in a report reaches every output as text, never as markup or terminal control.

One small report carries the payloads in a caption, row labels, adhérents and the prose, raw
and entity-encoded (`numbers.clean` decodes entities). It goes through `bilans build`, `report`,
`check`, `extract`, `briefing --export` and one analysis notebook; every HTML page, Markdown report and terminal
output is then scanned: 0 live payloads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from html_checks import live_markdown, live_payloads, terminal_controls

from pipelines.cli import main
from pipelines.publish.runs import run_notebooks

ESC = "\x1b]0;PWNED\x07\x1b[2J"  # retitles the terminal window, then clears the screen
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
IMG_ENCODED = "&lt;img src=x onerror=alert(1)&gt;"
SVG = '"><svg onload=alert(1)>'
LINK = "[clic](javascript:alert(1))"

REPORT = f"""Bilan d'activité 2023 du SIIM94

1 Bilan financier

1.1 Dépenses de fonctionnement 2023 {SCRIPT}

| Chapitre | Libellé | Prévisions | Réalisations |
|---|---|---|---|
| 011 | Charges {IMG} générales{ESC} | 1 800 000,00 | 1 650 000,00 |
| 012 | Charges de personnel | 3 300 000,00 | 3 250 000,00 |
| Total | | 5 100 000,00 | 4 800 000,00 |

Répartition des recettes par adhérents {IMG_ENCODED}

| Adhérent | cotisation | Total |
|---|---|---|
| Arcueil{IMG_ENCODED} | 850 000 € | 850 000 € |
| Gentilly{SVG}{ESC} | 150 000 € | 150 000 € |
| {LINK}{ESC} | 10 000 € | 10 000 € |
| Total | 1 000 000 € | 1 000 000 € |

En 2023, les contributions des adhérents {SVG} {LINK} ont atteint 1 200 000 €{ESC}.

2 Pôle Systèmes d'Information

Répartition de la charge par domaine &lt;svg onload=alert(1)&gt;

Domaines (en jours)   2 022   2023
Finances{ESC}          437    450
Sante publique         147    160
Total Général          584    620
"""


def call(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Every output of the chain on the hostile report: (folder of files, {command: terminal text})."""
    root = tmp_path_factory.mktemp("injection")
    raw = root / "raw"
    raw.mkdir()
    report = raw / "siim94_2023.txt"
    report.write_text(REPORT, encoding="utf-8")
    (raw / "manifest.csv").write_text("file,org,report_year,title,original_file\n"
                                      f"siim94_2023.txt,SIIM94,2023,Bilan {SCRIPT},a.txt\n", encoding="utf-8")
    db = str(root / "curated" / "bilans.duckdb")
    capsys = _Capture()
    terminal = {}
    with capsys:
        for name, argv in {"build": ["--db", db, "build", "--raw", str(raw)],
                           "report": ["--db", db, "report", "--out", str(root / "reports")],
                           "check": ["--db", db, "check", str(report)],
                           "check --json": ["--db", db, "check", str(report), "--json"],
                           "extract": ["--db", db, "extract", str(report)],
                           "extract --json": ["--db", db, "extract", str(report), "--json"],
                           "briefing": ["--db", db, "briefing", "--export", str(root / "briefing")]}.items():
            terminal[name] = call(capsys, *argv)
    # one notebook, the one that shows adhérents (a full `bilans run` is too slow for a test)
    assert run_notebooks(db, org="SIIM94", year=2023, out_dir=root / "reports" / "analyses",
                         templates=("finances",), echo=lambda line: None) == 0
    return root, terminal


class _Capture:
    """capsys for a module fixture: stdout and stderr swapped for buffers."""

    def __enter__(self):
        import io
        import sys

        self._saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        return self

    def readouterr(self):
        import sys
        from types import SimpleNamespace

        out = SimpleNamespace(out=sys.stdout.getvalue(), err=sys.stderr.getvalue())
        sys.stdout.seek(0), sys.stdout.truncate(), sys.stderr.seek(0), sys.stderr.truncate()
        return out

    def __exit__(self, *exc):
        import sys

        sys.stdout, sys.stderr = self._saved


def test_the_chain_ran_and_the_payloads_reached_the_outputs(outputs):
    root, terminal = outputs
    assert {k: code for k, (code, _) in terminal.items()} == {
        "build": 0, "report": 0, "check": 1, "check --json": 1, "extract": 0, "extract --json": 0, "briefing": 0}
    pages = {p.relative_to(root): p.read_text(encoding="utf-8") for p in root.rglob("*.html")}
    # the payloads are there, as text: escaped once (not « &amp;lt; »), in the validation page of each
    # suite the report copied (Data Docs: validations/<suite>.html)
    def suite(name: str) -> str:
        return pages[Path("reports/data_docs/validations") / f"{name}.html"]

    assert "Répartition des recettes par adhérents &lt;img src=x onerror=alert(1)&gt;" in suite("totaux")
    assert "par domaine &lt;svg onload=alert(1)&gt;" in suite("entetes")
    assert "&amp;lt;" not in suite("totaux") + suite("entetes")
    analyse = pages[Path("reports/analyses/SIIM94/2023/finances.html")]
    assert "Arcueil&lt;img src=x onerror=alert(1)&gt;" in analyse
    assert sum("briefing" in str(p) and "Arcueil&lt;img src=x onerror=alert(1)&gt;" in t for p, t in pages.items()) >= 1
    md = (root / "reports" / "validation" / "siim94_2023.md").read_text(encoding="utf-8")
    assert "« \\[clic\\](javascript:alert(1)) »" in md and "Bilan &lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "adhérent « Arcueil<img src=x onerror=alert(1)> »" in terminal["build"][1]  # text, in a terminal


def test_no_page_runs_a_payload(outputs):
    root, _ = outputs
    live = {str(p.relative_to(root)): live_payloads(p.read_text(encoding="utf-8")) for p in root.rglob("*.html")}
    assert {p: found for p, found in live.items() if found} == {}


def test_no_markdown_report_renders_a_payload(outputs):
    root, _ = outputs
    reports = list(root.rglob("*.md"))
    assert reports
    texts = {str(p): p.read_text(encoding="utf-8") for p in reports}
    assert {p: live_markdown(t) + terminal_controls(t) for p, t in texts.items()} == {p: [] for p in texts}


def test_no_terminal_output_holds_a_control_character(outputs):
    _, terminal = outputs
    assert {k: terminal_controls(text) for k, (_, text) in terminal.items()} == {k: [] for k in terminal}
    # whole sequences go (the OSC's « 0;PWNED » with its ESC), the text around them stays
    assert "PWNED" not in terminal["extract"][1] and "Finances | 437 | 450" in terminal["extract"][1]


def test_json_output_keeps_the_text_exactly(outputs):
    _, terminal = outputs
    findings = json.loads(terminal["check --json"][1])
    assert any("[clic](javascript:alert(1))" in f["message"] for f in findings)
    shown = json.loads(terminal["extract --json"][1])
    cells = [c["text"] for t in shown["tables"] for r in t["rows"] for c in r["cells"]]
    assert f"{LINK}{ESC}" in cells and f"Arcueil{IMG_ENCODED}" in cells  # as printed, control characters included


def test_detectors_see_live_payloads():
    """The scan is only worth its zero if it finds what it looks for."""
    assert live_payloads(f"<p>{IMG}</p><a href=' JavaScript:alert(1)'>x</a>{SCRIPT}<svg onload=alert(1)>") == [
        "<img onerror='alert(1)'>", "<a href=' JavaScript:alert(1)'>", "<script>alert(1)", "<svg onload='alert(1)'>"]
    assert live_payloads("<p>&lt;img src=x onerror=alert(1)&gt;</p>") == []
    assert live_markdown(f"x {IMG} {LINK} <javascript:alert(1)>") == [IMG, "](javascript:alert(1)",
                                                                       "<javascript:alert(1)>"]
    assert live_markdown("\\[clic\\](javascript:alert(1)) &lt;img src=x onerror=alert(1)&gt;") == []
    assert terminal_controls(f"a{ESC}b") == ["'\\x1b'", "'\\x07'", "'\\x1b'"]
