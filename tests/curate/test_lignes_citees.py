"""Chaque valeur curée cite la ligne où son propre chiffre est imprimé : une rangée de texte PDF
imprime la valeur de chaque année sur une ligne à elle, sous le libellé (« bureautiques 120 agents »
puis « 95 agents » trois lignes plus bas) ; la première ligne de la rangée ne cite que la première année."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.build import write_store
from pipelines.curate import curate
from pipelines.curate.views import create_views
from pipelines.extract import extract_document
from pipelines.metrics import valeurs
from pipelines.store import create_schema

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "layouts" / "pdftext_lignes_2021.txt"
SEED = ROOT / "data" / "raw" / "siim94_2021.txt"


def _store(path: Path, org: str, year: int):
    doc = extract_document(path, org, year)
    rows, _ = curate([doc])
    con = duckdb.connect(":memory:")
    create_schema(con)
    write_store(con, [doc], rows)
    create_views(con)
    return con, rows


@pytest.fixture(scope="module")
def fixture_store():
    return _store(FIXTURE, "MINI", 2021)


def test_each_year_of_a_multi_line_row_cites_its_own_line(fixture_store):
    _, rows = fixture_store
    got = sorted((r["type"], r["exercice"], r["agents"], r["jours"], r["line"]) for r in rows["formations"])
    # lines of the fixture: « bureautiques 120 agents » is line 9, « 95 agents » 12, « 140 agents » 15…
    assert got == [
        ("bureautique", 2019, 120.0, 30.0, 9), ("bureautique", 2020, 95.0, 22.5, 12),
        ("bureautique", 2021, 140.0, 41.0, 15),
        ("metiers", 2019, 60.0, 12.0, 18), ("metiers", 2020, 75.0, 18.0, 21), ("metiers", 2021, 80.0, 20.0, 24),
        ("total", 2019, 180.0, 42.0, 27), ("total", 2020, 170.0, 40.5, 30), ("total", 2021, 220.0, 61.0, 33),
    ]
    text = FIXTURE.read_text(encoding="utf-8").splitlines()
    for r in rows["formations"]:
        assert f"{r['agents']:.0f} agents" in text[r["line"] - 1]


def test_published_metric_cites_the_figure_line(fixture_store):
    con, _ = fixture_store
    got = valeurs(con, "agents_formes", org="MINI", exercice=2020)
    assert got[["detail", "valeur", "sources"]].fillna("").values.tolist() == [
        ["", 170.0, "pdftext_lignes_2021:30"], ["bureautique", 95.0, "pdftext_lignes_2021:12"],
        ["metiers", 75.0, "pdftext_lignes_2021:21"]]


def test_seed_total_2017_of_the_training_table_cites_the_line_printing_989():
    con, rows = _store(SEED, "SIIM94", 2021)
    total = [r for r in rows["formations"] if r["type"] == "total" and r["exercice"] == 2017]
    assert [r["agents"] for r in total] == [989.0]
    text = SEED.read_text(encoding="utf-8").splitlines()
    assert "989" in text[total[0]["line"] - 1]
    published = valeurs(con, "agents_formes", org="SIIM94", exercice=2017, detail=None)
    assert published["valeur"].tolist() == [989.0]
    document, line = published["sources"].iloc[0].rsplit(":", 1)
    assert "989" in text[int(line) - 1]
