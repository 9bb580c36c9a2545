"""Bench du briefing des élus: start-to-first-render and selection-change times (goal: < 1 s per change).

`bench_briefing(db_path)` is called by bench/run.py; run alone it benches the
given store, or the test fixture store when none is given:

    .venv/bin/python bench/bench_briefing.py [data/curated/bilans.duckdb]
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
GOAL_S = 1.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _selections(data, limit: int = 8) -> list[tuple[str, str, int]]:
    """A cycle of (org, adhérent, year) selections, each differing from the previous one."""
    out = []
    for org in data.organismes():
        for adherent in data.adherents(org):
            for year in data.years(org, adherent):
                out.append((org, adherent, year))
    return out[:limit]


def bench_python(db_path: Path, repeat: int = 3) -> dict:
    """Dashboard construction and callback time, without a browser (with the Altair chart)."""
    from pipelines.publish.briefing import Dashboard

    start = time.perf_counter()
    dash = Dashboard(db_path)
    init_s = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        for org, adherent, year in _selections(dash.data):
            start = time.perf_counter()
            dash.select(org, adherent, year)
            times.append(time.perf_counter() - start)
    return {"python_dashboard_init_s": round(init_s, 3),
            "python_selection_change_median_s": round(statistics.median(times), 4) if times else None,
            "python_selection_change_max_s": round(max(times), 4) if times else None,
            "python_selections": len(times)}


def bench_browser(db_path: Path) -> dict:
    """`bilans briefing` start -> cards rendered in Chromium, then selection changes in the page."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return {"browser": "chromium absent : mesure navigateur ignorée"}
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from pipelines.publish.briefing import BriefingData

    data = BriefingData(db_path)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    result: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        # The clock starts with the command, the browser being already open (as for an élu).
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "--db", str(db_path), "briefing",
                                 "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        try:
            while True:
                try:
                    page.goto(url, timeout=60000)
                    break
                except PlaywrightError:
                    if proc.poll() is not None or time.perf_counter() - start > 90:
                        raise RuntimeError(f"bilans briefing n'a pas démarré : {proc.stderr.read()}") from None
                    time.sleep(0.05)
            page.wait_for_selector('[data-figure="contribution"] .bf-num', timeout=90000)
            result["browser_start_to_first_render_s"] = round(time.perf_counter() - start, 2)

            # A second visitor: the page of an already running server (preheated kernel).
            start = time.perf_counter()
            page.goto(url, timeout=60000)
            page.wait_for_selector('[data-figure="contribution"] .bf-num', timeout=60000)
            result["browser_page_open_running_server_s"] = round(time.perf_counter() - start, 2)

            selects = page.locator(".bf-select select")
            labels = {n: data.adherent_label(n) for org in data.organismes() for n in data.adherents(org)}
            times = []
            for org, adherent, year in _selections(data):
                title = f"{adherent} — {year}"
                start = time.perf_counter()
                if selects.nth(0).input_value() != org:
                    selects.nth(0).select_option(label=org)
                    page.wait_for_function("o => document.querySelector('.bf-org').textContent.split(' · ')[0] === 'Organisme : ' + o",
                                           arg=org, timeout=15000)
                selects.nth(1).select_option(label=labels[adherent])
                selects.nth(2).select_option(label=str(year))
                page.wait_for_function("t => { const h = document.querySelector('.bf-title');"
                                       " return h && h.textContent === t; }", arg=title, timeout=15000)
                times.append(time.perf_counter() - start)
            if times:
                result["browser_selection_change_median_s"] = round(statistics.median(times), 3)
                result["browser_selection_change_max_s"] = round(max(times), 3)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            browser.close()
    return result


def bench_briefing(db_path) -> dict:
    db_path = Path(db_path).resolve()
    result = {"db": str(db_path), "goal_selection_change_s": GOAL_S}
    result.update(bench_python(db_path))
    result.update(bench_browser(db_path))
    changes = [v for k, v in result.items() if k.endswith("selection_change_max_s")]
    result["goal_met"] = bool(changes) and max(changes) < GOAL_S
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    if len(sys.argv) > 1:
        db = Path(sys.argv[1])
    else:
        from store_fixture import build_fixture_store

        db = build_fixture_store(Path(tempfile.mkdtemp()) / "bilans.duckdb")
    print(json.dumps(bench_briefing(db), ensure_ascii=False, indent=2))
