"""SII 2018 on the bundled report: the three pôle notebooks, from the series its report gives
(the 2006–2018 synthesis, staff by service, mises en production by application), each headline
checked against the line of the report it comes from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from html_checks import external_references, inline_charts
from test_runs import specs, text_of

from pipelines.build import build
from pipelines.publish import analyses as a
from pipelines.publish.runs import run_notebooks

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"


@pytest.fixture(scope="module")
def sii(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("sii_poles")
    db = tmp / "bilans.duckdb"
    build(RAW, db)
    out = tmp / "analyses"
    assert run_notebooks(db, org="SII", out_dir=out, templates=a.POLE_TEMPLATES, echo=lambda _: None) == 0
    return db, out / "SII" / "2018"


def report_line(n: int) -> list[str]:
    return (RAW / "sii_2018.txt").read_text(encoding="utf-8").splitlines()[n - 1].split("\t")


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.mark.parametrize("template, headline, line, column, value", [
    # « Années  Mises en Production … » : 2018 → 77, 2017 → 88
    ("pole_si", "Mises en Production en 2018 : 77 ⚠ (-12,5 % par rapport à 2017 : 88, chiffre du bilan 2018)",
     513, 1, "77"),
    ("pole_infrastructures", "Serveurs virtuels en 2018 : 270 (-7,2 % par rapport à 2017 : 291, chiffre du bilan "
     "2018)", 513, 8, "270"),
    ("pole_support", "Tickets Support en 2018 : 4 490 (+7,3 % par rapport à 2017 : 4 183, chiffre du bilan 2018)",
     513, 5, "4490"),
])
def test_sii_pole_headline_matches_the_report_line(sii, template, headline, line, column, value):
    _, out = sii
    text = plain(text_of(out / f"{template}.ipynb"))
    assert headline in text
    assert report_line(line)[0] == "2018" and report_line(line)[column] == value
    assert re.search(r"sii_2018.txt \(l. (509, )?510, 511, 512, 513\b", text)  # sources under the series chart


def test_sii_pole_notebooks_draw_multi_year_charts_inline(sii):
    _, out = sii
    for template in a.POLE_TEMPLATES:
        drawn = specs(out / f"{template}.ipynb")
        years = [{v.get("exercice") for v in s["data"]["values"]} - {None} for s in drawn if "data" in s]
        assert any(len(y) >= 4 and min(y) <= 2011 and max(y) == 2018 for y in years), template
        page = (out / f"{template}.html").read_text()
        assert external_references(page) == [] and len(inline_charts(page)) == len(drawn)


def test_sii_flag_only_on_the_figure_the_check_quotes(sii):
    _, out = sii
    # crosstable: the synthesis gives 77 mises en production in 2018, the detailed table totals 73
    si = plain(text_of(out / "pole_si.ipynb"))
    assert "crosstable" in si and "totalise 73" in si
    assert report_line(584)[0] == "<b>TOTAL</b>" and report_line(584)[1] == "<b>73</b>"
    # the same synthesis row's other figures are not marked
    assert "Boites mail en 2018 : 3 974 (+13,3 %" in plain(text_of(out / "pole_infrastructures.ipynb"))


def test_sii_by_application_and_staff_by_service(sii):
    _, out = sii
    si = plain(text_of(out / "pole_si.ipynb"))
    assert "Les Mises en Production en 2018 (2018)" in si and "CMS — MEP | 10" in si
    assert "Etudes — TOTAL EFFECTIF" in si  # staff of the études service, shown with the pôle SI
    assert "GSQ / SAU — TOTAL EFFECTIF" in plain(text_of(out / "pole_support.ipynb"))
    assert "Production — TOTAL EFFECTIF" in plain(text_of(out / "pole_infrastructures.ipynb"))
