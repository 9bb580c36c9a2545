"""End to end: `bilans briefing` served by Voilà, driven in headless Chromium (Debian's, no download)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from chromium import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS
from store_fixture import build_fixture_store
from terminal import like_a_terminal

from pipelines.publish import fmt

ROOT = Path(__file__).resolve().parents[2]
pytestmark = BROWSER_MARKS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_fixture_store(tmp_path_factory.mktemp("briefing") / "bilans.duckdb")


@pytest.fixture(scope="module")
def server(store):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "--db", str(store), "briefing",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=like_a_terminal)
    line = proc.stdout.readline()  # printed once Voilà accepts connections
    if f"127.0.0.1:{port}" not in line:
        proc.kill()
        pytest.fail(f"bilans briefing n'a pas démarré : {line} {proc.stderr.read()}")
    yield f"http://127.0.0.1:{port}/"
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def expected_total(store: Path, org: str, adherent: str, year: int) -> str:
    """Straight from the store (latest vintage), formatted as the élus read it."""
    con = duckdb.connect(str(store), read_only=True)
    (value,) = con.execute("SELECT montant FROM contributions WHERE org=? AND adherent=? AND exercice=? "
                           "AND categorie='total' ORDER BY report_year DESC LIMIT 1",
                           [org, adherent, year]).fetchone()
    con.close()
    return fmt.euros(value)


def expected_tickets(store: Path, org: str, entite: str, year: int) -> str:
    con = duckdb.connect(str(store), read_only=True)
    (value,) = con.execute("SELECT tickets FROM tickets WHERE org=? AND entite=? AND exercice=? "
                           "ORDER BY report_year DESC LIMIT 1", [org, entite, year]).fetchone()
    con.close()
    return fmt.nombre(value)


def wait_title(page, text: str) -> None:
    page.wait_for_function("t => { const h = document.querySelector('.bf-title');"
                           " return h && h.textContent === t; }", arg=text, timeout=15000)


def card(page, key: str) -> str:
    return page.text_content(f'[data-figure="{key}"] .bf-num')


def test_briefing_in_chromium(server, store, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1250}, locale="fr-FR")
    outside: list[str] = []

    def loopback_only(route):
        # The briefing must work offline: anything outside 127.0.0.1 is refused and noted.
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", loopback_only)
    page = context.new_page()
    page.goto(server, timeout=60000)
    page.wait_for_selector('[data-figure="contribution"] .bf-num', timeout=60000)  # kernel + widgets

    # Code cells are hidden: no input area is rendered.
    assert page.locator(".jp-InputArea-editor").count() == 0
    selects = page.locator(".bf-select select")
    assert selects.count() == 3
    wait_title(page, "Bobigny — 2018")
    assert card(page, "contribution") == expected_total(store, "SII", "Bobigny", 2018)

    # Another organisme, adhérent and year, chosen in the page.
    selects.nth(0).select_option(label="SIIM94")
    wait_title(page, "Arcueil — 2018")
    selects.nth(1).select_option(label="Ivry-sur-Seine")
    wait_title(page, "Ivry-sur-Seine — 2018")
    assert card(page, "contribution") == expected_total(store, "SIIM94", "Ivry-sur-Seine", 2018) \
        == "1\u202f011\u202f559\u00a0€"
    assert card(page, "tickets") == expected_tickets(store, "SIIM94", "Ivry-sur-Seine", 2018)
    assert "⚠" in page.text_content('[data-figure="formations"]')  # flagged by text.table

    selects.nth(2).select_option(label="2017")
    wait_title(page, "Ivry-sur-Seine — 2017")
    assert card(page, "contribution") == expected_total(store, "SIIM94", "Ivry-sur-Seine", 2017) \
        == "980\u202f000\u00a0€"
    assert card(page, "part") == fmt.pourcent(980000 / (980000 + 400000 + 180000) * 100)
    assert card(page, "tickets") == expected_tickets(store, "SIIM94", "Ivry-sur-Seine", 2017)
    assert "Rapport 2017 (siim94_2017), ligne 300" in page.text_content('[data-figure="contribution"]')

    # The renamed adhérent: one line with the change noted.
    selects.nth(1).select_option(label="VALDEVY (ex-OPALY)")
    wait_title(page, "VALDEVY — 2017")
    assert card(page, "contribution") == expected_total(store, "SIIM94", "OPALY", 2017)
    assert "OPALY (jusqu'en 2021) → VALDEVY" in page.text_content(".bf-lineage")
    selects.nth(2).select_option(label="2018")
    wait_title(page, "VALDEVY — 2018")
    page.wait_for_selector(".vega-embed svg, .vega-embed canvas", timeout=15000)  # Altair chart drawn
    page.wait_for_timeout(500)
    (ROOT / "reports").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "reports" / "briefing_e2e.png"), full_page=True)
    assert all("127.0.0.1" not in u for u in outside)
    context.close()
