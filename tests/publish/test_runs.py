"""`bilans run` end to end: every template executed by papermill on the fixture and empty stores."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import duckdb
import nbformat
import pytest
from html_checks import external_references, inline_charts

from pipelines.publish import analyses as a
from pipelines.publish.runs import STATE_FILE, execute, run_notebooks


def outputs(path: Path) -> list[dict]:
    """Every display/stream output of an executed notebook, flattened."""
    nb = nbformat.read(path, as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def text_of(path: Path) -> str:
    parts = []
    for o in outputs(path):
        parts.append(o.get("text", "") if o["output_type"] == "stream" else o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts).replace("\u202f", " ").replace("\u00a0", " ")


def specs(path: Path) -> list[dict]:
    return [v for o in outputs(path) for k, v in o.get("data", {}).items() if k.startswith("application/vnd.vegalite")]


def assert_charts_inline(out: Path, state: dict) -> None:
    """Every chart of every page drawn in the page itself (SVG), nothing fetched from a network."""
    for key in state:
        page = (out / f"{key}.html").read_text()
        assert external_references(page) == [], key
        drawn = inline_charts(page)
        assert len(drawn) == len(specs(out / f"{key}.ipynb")), key
        assert all(svg.startswith("<svg") and "<script" not in svg for svg in drawn), key


def test_run_every_template_on_fixture_store(fixture_store, tmp_path):
    out = tmp_path / "analyses"
    lines: list[str] = []
    # one (org, year) with data for every template keeps the test short; plan() is unit-tested
    assert run_notebooks(fixture_store, org="SIIM94", year=2018, out_dir=out, echo=lines.append) == 0
    state = json.loads((out / STATE_FILE).read_text())["runs"]
    assert len(state) == 7 and all(v["status"] == "ok" for v in state.values())
    assert {k.split("/")[2] for k in state} == set(a.TEMPLATES)
    assert any(line.startswith("[7/7] ") and ": ok (" in line for line in lines)
    for key in state:
        assert (out / f"{key}.ipynb").exists() and (out / f"{key}.html").exists()

    si = out / "SIIM94/2018/pole_si.ipynb"
    text = text_of(si)
    assert ("réalisé 500 jours ⚠ d'activité (non comparable à 2017 (325 jours) : les deux chiffres ne couvrent "
            "pas les mêmes catégories") in text
    assert "⚠ total.column (siim94_2018.txt, l. 600)" in text
    # 2017 is the 2018 report's (Finances 325, l. 600), the vintage of the metric: Santé publique 2017
    # (l. 501, 2017 report) is no longer stacked on it (the old chart drew 475 jours for 2017, printed nowhere)
    assert "Sources : siim94_2017.txt (l. 500) ; siim94_2018.txt (l. 600, 601)" in text
    domain = [s for s in specs(si) if "domaine" in s["title"]][0]
    assert domain["config"]["locale"]["number"]["thousands"] == "\u202f"
    assert domain["encoding"]["y"]["axis"]["format"] == ",.0f"
    assert {v["jours"] for v in domain["data"]["values"] if v["exercice"] == 2018} == {340.0, 160.0}

    fin = out / "SIIM94/2018/finances.ipynb"
    assert "Contributions des adhérents en 2018 (contribution totale, 3 adhérents) : 1 612 137 € (+3,3 %" in text_of(fin)
    # budget, réalisé per exercice, and one chart per measure of the contributions (contribution totale,
    # cotisation: Ivry's 2018 cotisation is printed too), never one measure stacked on another
    assert len(specs(fin)) == 4 and all('"$,.0f"' in json.dumps(s) for s in specs(fin))  # « 1 234 € » axes
    assert "17 pourvus" in text_of(out / "SIIM94/2018/ressources_humaines.ipynb")
    assert "compte 2 constats : 2 erreurs" in text_of(out / "SIIM94/2018/qualite.ipynb")
    assert specs(out / "SIIM94/2018/exploration.ipynb")

    # HTML: outputs without the code, index links every analysis
    html = (out / "SIIM94/2018/pole_si.html").read_text()
    assert "Finances, 340" in html and "a.entete(ctx)" not in html and "db_path = " not in html
    index = (out / "index.html").read_text()
    assert all(f'href="{k}.html"' in index for k in state)
    assert_charts_inline(out, state)
    # index: each run's headline (computed by its notebook, through comparaison) and a thumbnail of its chart
    assert external_references(index) == []
    une = index.replace("\u202f", " ").replace("\u00a0", " ")
    assert "En 2018, le pôle SI du SIIM94 a réalisé 500 jours ⚠ d&#x27;activité (non comparable à 2017" in une
    assert ("Dépenses de fonctionnement réalisées en 2018 : 3 264 576 € (+1,7 % par rapport à 2017 : "
            "3 210 000 €)") in une  # finances' headline: its first compared figure
    with_chart = [k for k in state if specs(out / f"{k}.ipynb")]
    assert len(inline_charts(index)) == len(with_chart) >= 6
    domain_svg = [s for s in inline_charts((out / "SIIM94/2018/pole_si.html").read_text()) if "par domaine" in s][0]
    assert "Finances" in domain_svg and "Santé publique" in domain_svg and ">2018<" in domain_svg
    # the table under the chart keeps the figures for copy-paste and screen readers
    assert re.search(r"<td>Finances</td>(<td>[^<]*</td>)*<td>325 jours</td><td>340 jours ⚠</td></tr>",
                     html.replace("\u202f", " ").replace("\u00a0", " "))

    # nothing changed: nothing executed
    lines.clear()
    assert run_notebooks(fixture_store, org="SIIM94", year=2018, out_dir=out, echo=lines.append) == 0
    assert lines[0].startswith("7 exécutions prévues : 0 à faire, 7 à jour")

    # a new ticket count: only the notebook that reads tickets is redone
    con = duckdb.connect(str(fixture_store))
    con.execute("INSERT INTO tickets (org, exercice, report_year, document_id, line, entite, tickets, concept, "
                "mesure, perimetre) VALUES ('SIIM94', 2018, 2018, 'siim94_2018', 902, 'Gentilly', 450, 'Gentilly', "
                "'tickets', '')")
    from pipelines.curate.views import create_views

    create_views(con)  # as `bilans build` does after writing the curated tables (the metrics follow)
    con.close()
    lines.clear()
    assert run_notebooks(fixture_store, org="SIIM94", year=2018, out_dir=out, echo=lines.append) == 0
    redone = [line.split("] ")[1].split(" :")[0] for line in lines if line.startswith("[")]
    assert redone == ["SIIM94 2018 pole_support"]
    # Arcueil and Gentilly are counted in 2018 only: like for like, Ivry's 3 350 against 3 100
    assert ("Tickets traités en 2018 : 5 000 (non comparable à 2017 (3 100) : les deux chiffres ne couvrent pas "
            "les mêmes catégories") in text_of(out / "SIIM94/2018/pole_support.ipynb")


def test_every_template_on_empty_store_says_so_and_ends_cleanly(empty_store, tmp_path):
    out = tmp_path / "analyses"
    tasks = [{"key": t, "template": str(a.ROOT / "notebooks" / f"{t}.ipynb"), "output": str(out / f"{t}.ipynb"),
              "parameters": {"org": "SIIM94", "year": 2018, "db_path": str(empty_store)},
              "cwd": str(a.ROOT), "title": t} for t in a.TEMPLATES]
    with ProcessPoolExecutor(mp_context=get_context("spawn")) as pool:
        results = list(pool.map(execute, tasks))
    assert [r["status"] for r in results] == ["ok"] * len(tasks), results
    for t in a.POLE_TEMPLATES + ("finances", "ressources_humaines"):
        text = text_of(out / f"{t}.ipynb")
        assert f"ne contient pas de données exploitables pour {a.LIBELLES[t]}" in text
        assert not specs(out / f"{t}.ipynb")
    assert "compte 0 constat" in text_of(out / "qualite.ipynb")
    assert "Pas de contributions par adhérent" in text_of(out / "exploration.ipynb")
    assert "L'analyse s'arrête ici." in (out / "pole_si.html").read_text()


def test_failing_notebook_is_isolated(fixture_store, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(a.ROOT / "notebooks", templates)
    broken = nbformat.read(templates / "pole_si.ipynb", as_version=4)
    broken.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("carnet cassé exprès")'))
    nbformat.write(broken, templates / "pole_si.ipynb")
    out = tmp_path / "analyses"
    lines: list[str] = []
    assert run_notebooks(fixture_store, org="SII", out_dir=out, templates_dir=templates, echo=lines.append) == 1
    state = json.loads((out / STATE_FILE).read_text())["runs"]
    assert state["SII/2018/pole_si"]["status"] == "échec" and "carnet cassé exprès" in state["SII/2018/pole_si"]["error"]
    assert all(v["status"] == "ok" for k, v in state.items() if k != "SII/2018/pole_si") and len(state) == 4
    assert any(line.startswith("  échec : SII 2018 pole_si") for line in lines)
    assert "(échec de la dernière exécution)" in (out / "index.html").read_text()
    # the failed run is retried next time, the others are up to date
    lines.clear()
    assert run_notebooks(fixture_store, org="SII", out_dir=out, templates_dir=templates, echo=lines.append) == 1
    assert lines[0].startswith("4 exécutions prévues : 1 à faire, 3 à jour")


@pytest.mark.parametrize("org, year, expected", [
    ("SIIM95", 2018, "Organisme inconnu : « SIIM95 ». Organismes du magasin : SII, SIIM94."),
    ("SIIM94", 2016, "pas de bilan 2016 pour le SIIM94. Bilans du SIIM94 : 2017, 2018."),
])
def test_papermill_by_hand_with_wrong_parameters_exits_non_zero(fixture_store, tmp_path, org, year, expected):
    """A scheduled job running a notebook by hand notices a wrong org or a year without a report."""
    out = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("papermill")), str(a.ROOT / "notebooks" / "pole_si.ipynb"), str(out),
         "-p", "org", org, "-p", "year", str(year), "-p", "db_path", str(fixture_store),
         "--cwd", str(a.ROOT), "--no-progress-bar"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(a.ROOT)})
    assert proc.returncode != 0
    assert "InvalidParameters" in proc.stderr and expected in proc.stderr
