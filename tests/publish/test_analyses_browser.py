"""An analysis page opened as an élu would open a mail attachment: from a file, no network.

Debian's Chromium driven by Playwright (no browser download), every request that is
not the page itself or an inline data URI aborted and recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS
from store_fixture import build_fixture_store

from pipelines.publish.runs import run_notebooks

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def page_html(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("analyse_hors_ligne")
    store = build_fixture_store(tmp / "bilans.duckdb")
    out = tmp / "analyses"
    assert run_notebooks(store, org="SIIM94", year=2018, pole="si", out_dir=out, echo=lambda _: None) == 0
    return out / "SIIM94" / "2018" / "pole_si.html"


def test_analysis_page_draws_its_charts_with_the_network_blocked(page_html):
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def block(route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(offline=True)
        context.route("**/*", block)
        page = context.new_page()
        page.goto(page_html.as_uri(), wait_until="load")
        charts = page.eval_on_selector_all(
            "img[src^='data:image/svg+xml']",
            "imgs => imgs.map(i => ({done: i.complete, w: i.naturalWidth, h: i.naturalHeight, alt: i.alt,"
            " shown: i.getBoundingClientRect().width}))")
        text = page.inner_text("body")
        browser.close()

    assert blocked == []
    assert len(charts) == 2  # the fixture gives days by domain and by adhérent
    assert all(c["done"] and c["w"] > 100 and c["h"] > 100 and c["shown"] > 100 for c in charts), charts
    domain = next(c for c in charts if "par domaine" in c["alt"])
    assert domain["alt"].startswith("Graphique : Jours d'activité par domaine")
    assert "Graphique non affiché" not in text and "Finances, 340" in text
