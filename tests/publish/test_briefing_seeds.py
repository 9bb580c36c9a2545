"""Briefing on the bundled reports: the year it opens on, projections apart, cotisations cited in
the prose, and the static pages drawn inline without any external resource."""

from __future__ import annotations

from pathlib import Path

import pytest
from html_checks import external_references, inline_charts

from pipelines.build import build
from pipelines.publish.briefing import Dashboard
from pipelines.publish.briefing_data import BriefingData
from pipelines.publish.briefing_export import export, slug

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"
NB, EUR = "\u202f", "\u00a0€"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("briefing_seeds") / "bilans.duckdb"
    build(RAW, db, validate=False)
    return db


def test_coop_ivry_opens_on_its_latest_year_with_figures(store):
    dash = Dashboard(store, org="SIIM94", adherent="COOP'IVRY", chart=False)
    # the 2022 report's « vote 2023 » column is a projection, not an exercice of figures
    assert dash.year.value == 2022 and 2023 not in [v for _, v in dash.year.options]
    assert "Aucune donnée" not in dash.cards.value
    assert f"145{NB}517{EUR}" in dash.cards.value and "cité dans le texte" in dash.cards.value


def test_cotisation_printed_in_a_bullet_is_in_the_history_with_its_line(store):
    data = BriefingData(store)
    last = data.history("SIIM94", "COOP'IVRY")[-1]
    assert (last.year, round(last.contribution, 2), last.cite_texte) == (2022, 145517.23, True)
    assert [(s.report_year, s.document_id, s.line) for s in last.sources] == [(2022, "siim94_2022", 273)]
    line = (RAW / "siim94_2022.txt").read_text(encoding="utf-8").splitlines()[272]
    assert line == "- OPH d'Ivry-sur-Seine (Coop'Ivry) : 145 517,23 € HT"
    dash = Dashboard(store, org="SIIM94", adherent="COOP'IVRY", chart=False)
    assert "Rapport 2022 (siim94_2022), ligne 273 — cité dans le texte" in dash.history.value


def test_projections_are_shown_as_such_never_as_actuals(store):
    data = BriefingData(store)
    proj = data.projections("SIIM94", "Arcueil")
    assert [(p.year, p.montant, p.source.line) for p in proj] == [(2023, 306170.85, 257)]
    assert 2023 not in data.years("SIIM94") and 2023 not in [p.year for p in data.history("SIIM94", "Arcueil")]
    dash = Dashboard(store, org="SIIM94", adherent="Arcueil", chart=False)
    assert dash.year.value == 2022
    assert "Projections" in dash.projections.value and f"306{NB}171{EUR}" in dash.projections.value
    assert "ce ne sont pas des montants versés" in dash.projections.value
    # the 2022 cotisation and the 2023 vote are both 306 170,85 € in that report: only the 2022 one is an actual
    assert 'data-year="2023"' in dash.projections.value and 'data-year="2023"' not in dash.history.value
    assert "Arcueil — 2022" in dash.cards.value


def test_export_page_draws_its_charts_inline_without_external_resource(store, tmp_path):
    out = tmp_path / "briefing"
    export(store, out)
    page = (out / "siim94" / f"{slug('Arcueil')}_2022.html").read_text(encoding="utf-8")
    assert external_references(page) == []
    drawn = inline_charts(page)
    assert len(drawn) == 2  # contribution per exercice, and every adhérent that year
    assert f"306{NB}171{EUR}" in page and "Projections" in page  # the projection, apart
    assert all("<script" not in svg for svg in drawn)
    assert "2022" in drawn[0] and "Arcueil" in drawn[1]
