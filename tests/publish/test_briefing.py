"""Briefing des élus without a browser: figures per selection, widget callbacks, export, serving."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest
from terminal import like_a_terminal

from pipelines.cli import main
from pipelines.publish import briefing, fmt
from pipelines.publish.briefing import BriefingData, Dashboard, load_referentiel, serve_or_export
from pipelines.publish.briefing_export import export

NB = "\u202f"  # thin no-break space of fmt.nombre
EUR = "\u00a0€"


def _insert(db: Path, sql: str, params: list) -> None:
    """Write rows; a curated row (not a finding) is then seen through the metrics, rebuilt as
    `bilans build` does after writing the curated tables."""
    from pipelines.curate.views import create_views

    con = duckdb.connect(str(db))
    con.execute(sql, params)
    if "INTO findings" not in sql:
        con.execute("UPDATE tickets SET concept = entite, mesure = 'tickets', perimetre = '', source = 'tableau' "
                    "WHERE concept IS NULL")
        create_views(con)
    con.close()


def _contribution(db: Path, *row) -> None:
    """A curated contribution row, its series key as the curation sets it."""
    _insert(db, "INSERT INTO contributions (org, exercice, report_year, document_id, line, adherent, categorie, "
                "montant, mesure, concept, niveau, source) VALUES (?,?,?,?,?,?,?,?,?,?,'detail','tableau')",
            [*row, row[6], row[5]])


# --------------------------------------------------------------------------- figures


def test_key_figures_for_a_city_and_year(fixture_store):
    kf = BriefingData(fixture_store).key_figures("SIIM94", "Ivry-sur-Seine", 2018)
    assert kf.contribution.text == f"1{NB}011{NB}559{EUR}"
    assert kf.contribution.source_label == "Rapport 2018 (siim94_2018), ligne 200"
    # Share of the syndicate's revenue = Ivry / sum of the adhérents' totals of 2018.
    assert kf.part.value == pytest.approx(1011559 / (1011559 + 411423 + 189155) * 100)
    assert kf.part.text == fmt.pourcent(kf.part.value) == "62,7\u00a0%"
    jours = {f.key: f.text for f in kf.jours}
    assert jours == {"jours_si": "420\u00a0jours", "jours_infrastructures": "250\u00a0jours",
                     "jours_total": "670\u00a0jours"}
    assert kf.tickets.text == f"3{NB}350" and kf.tickets.source_label.endswith("ligne 900")
    # Trainings are syndicate-wide (no per-adhérent figure) and flagged by text.table.
    assert kf.formations.text == f"1{NB}467"
    assert "ensemble du syndicat" in kf.formations.note
    assert kf.formations.flagged and "1407" in kf.formations.findings[0].message
    assert not kf.contribution.flagged


def test_other_year_and_missing_figures(fixture_store):
    data = BriefingData(fixture_store)
    kf = data.key_figures("SIIM94", "Arcueil", 2017)
    assert kf.contribution.text == f"400{NB}000{EUR}"
    assert kf.part.text == fmt.pourcent(400000 / 1560000 * 100)
    assert kf.tickets.value is None and kf.tickets.text == "—"
    assert [f.key for f in kf.jours] == ["jours_total"] and kf.jours[0].value is None
    assert not data.key_figures("SIIM94", "Arcueil", 2030).has_data


def test_latest_vintage_wins_and_finding_marks_the_figure(fixture_store):
    # Arcueil 2017 restated in the 2018 report: the 2018 vintage is the one shown.
    _contribution(fixture_store, "SIIM94", 2017, 2018, "siim94_2018", 210, "Arcueil", "total", 401000)
    _insert(fixture_store, "INSERT INTO findings (document, line, rule, severity, message, document_id, family) "
                           "VALUES ('x', 210, 'vintage.restated', 'warning', 'Montant 2017 modifié', "
                           "'siim94_2018', 'contributions')", [])
    kf = BriefingData(fixture_store).key_figures("SIIM94", "Arcueil", 2017)
    assert kf.contribution.text == f"401{NB}000{EUR}"
    assert kf.contribution.source_label == "Rapport 2018 (siim94_2018), ligne 210"
    assert kf.contribution.flagged and kf.contribution.findings[0].rule == "vintage.restated"
    assert "⚠" in briefing.render_card(kf.contribution)


def test_renamed_adherent_is_one_line(fixture_store):
    data = BriefingData(fixture_store)
    assert "OPALY" not in data.adherents("SIIM94") and "VALDEVY" in data.adherents("SIIM94")
    assert data.adherent_label("VALDEVY") == "VALDEVY (ex-OPALY)"
    assert data.lineage("VALDEVY") == "OPALY (jusqu'en 2021) → VALDEVY"
    hist = data.history("SIIM94", "VALDEVY")
    assert [(p.year, p.printed_name, p.contribution) for p in hist] == [(2017, "OPALY", 180000),
                                                                        (2018, "VALDEVY", 189155)]
    html = briefing.render_history(hist, data.lineage("VALDEVY"), 2018)
    assert "OPALY (jusqu&#x27;en 2021) → VALDEVY" in html


def test_referential_file_replaces_the_default_mapping(tmp_path, fixture_store):
    ref = tmp_path / "adherents.csv"  # the lead's format: canonique, aliases separated by '|'
    ref.write_text("org,canonique,type,alias,successeur,date_succession\n"
                   "SIIM94,OPH d'Ivry-sur-Seine,oph,OPH Ivry|OPH d'Ivry,COOP'IVRY,2021-10-01\n"
                   "SIIM94,Ivry-sur-Seine,ville,Ivry|Ivry/Seine,,\n"
                   "SIIM94,OPALY,oph,OPALY|Opaly,VALDEVY,2022-01-01\n"
                   "SIIM94,OPH de Villejuif,oph,OPH Villejuif,VALDEVY,2022-01-01\n"
                   "SIIM94,VALDEVY,oph,ValdeVy,,\n", encoding="utf-8")
    r = load_referentiel(ref)
    assert r.canonical("ivry/seine") == "Ivry-sur-Seine"
    assert r.final("OPH d'Ivry") == "COOP'IVRY"
    # Renamed on 1 October 2021: the old name still covers 2021.
    assert r.lineage("COOP'IVRY") == "OPH d'Ivry-sur-Seine (jusqu'en 2021) → COOP'IVRY"
    assert r.lineage("VALDEVY") == "OPALY et OPH de Villejuif (jusqu'en 2021) → VALDEVY"  # a merger: one step
    # Tickets printed under an alias are matched through the referential.
    _insert(fixture_store, "INSERT INTO tickets (org, exercice, report_year, document_id, line, entite, tickets) "
                           "VALUES ('SIIM94', 2017, 2017, 'siim94_2017', 950, 'Opaly', 42)", [])
    data = BriefingData(fixture_store, referentiel=r)
    assert data.key_figures("SIIM94", "VALDEVY", 2017).tickets.value == 42
    # Only the predecessors found in the store are told.
    assert data.lineage("VALDEVY") == "OPALY (jusqu'en 2021) → VALDEVY"
    assert data.adherent_label("VALDEVY") == "VALDEVY (ex-OPALY)"
    # A missing referential assumes no succession: no adhérent is named in the code.
    assert load_referentiel(tmp_path / "absent.csv").final("OPALY") == "OPALY"


def test_comparison_ranks_every_adherent(fixture_store):
    rows = BriefingData(fixture_store).comparison("SIIM94", "Arcueil", 2018)
    assert [r.adherent for r in rows] == ["Ivry-sur-Seine", "Arcueil", "VALDEVY"]
    assert [r.selected for r in rows] == [False, True, False]
    assert sum(r.part for r in rows) == pytest.approx(100)


# --------------------------------------------------------------------------- widgets


def test_dashboard_callbacks_update_the_cards(fixture_store):
    dash = Dashboard(fixture_store, chart=False)
    assert dash.org.options == ("SII", "SIIM94")
    assert dash.org.value == "SII" and dash.adherent.value == "Bobigny" and dash.year.value == 2018
    assert f"2{NB}500{NB}000{EUR}" in dash.cards.value

    dash.org.value = "SIIM94"  # the org callback refills adhérents and years
    assert [v for _, v in dash.adherent.options] == ["Arcueil", "Ivry-sur-Seine", "VALDEVY"]
    assert dash.year.options == (("2017", 2017), ("2018", 2018))
    assert f"411{NB}423{EUR}" in dash.cards.value

    dash.adherent.value = "Ivry-sur-Seine"
    assert f"1{NB}011{NB}559{EUR}" in dash.cards.value
    assert "Rapport 2018 (siim94_2018), ligne 200" in dash.cards.value
    assert "⚠" in dash.cards.value and "1407 agents" in dash.cards.value  # trainings flagged

    dash.year.value = 2017
    assert f"980{NB}000{EUR}" in dash.cards.value and f"1{NB}011{NB}559" not in dash.cards.value
    assert f"3{NB}100" in dash.cards.value and "⚠" not in dash.cards.value
    assert 'class="bf-sel" data-year="2017"' in dash.history.value

    dash.adherent.value = "VALDEVY"
    assert "OPALY (jusqu&#x27;en 2021) → VALDEVY" in dash.cards.value
    assert "nom dans les rapports de 2017 : OPALY" in dash.cards.value
    assert dash.last_render_s < 1.0


def test_dashboard_with_chart_and_programmatic_selection(fixture_store):
    dash = Dashboard(fixture_store, org="SIIM94", adherent="Arcueil", year=2017)
    kf = dash.select(adherent="Ivry-sur-Seine", year=2018)
    assert kf.contribution.value == 1011559
    bundle = briefing.vegalite_bundle(briefing.altair_chart(
        dash.data.history("SIIM94", "Ivry-sur-Seine"), dash.data.comparison("SIIM94", "Ivry-sur-Seine", 2018), 2018))
    spec = bundle["application/vnd.vegalite.v5+json"]
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert len(spec["hconcat"]) == 2


def test_empty_store_says_so(empty_store):
    dash = Dashboard(empty_store, chart=False)
    assert "aucune contribution" in dash.status.value


def test_store_text_is_escaped(fixture_store, tmp_path):
    evil = "<script>alert('x')</script>"
    _contribution(fixture_store, "SIIM94", 2018, 2018, "siim94_2018", 203, evil, "total", 1000)
    dash = Dashboard(fixture_store, org="SIIM94", adherent=evil, year=2018, chart=False)
    for html in (dash.cards.value, dash.comparison.value, dash.history.value):
        assert "<script>" not in html
    assert "&lt;script&gt;" in dash.cards.value
    pages = export(fixture_store, tmp_path / "out")
    for page in [*pages, tmp_path / "out" / "index.html"]:
        assert "<script" not in page.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- export


def test_export_writes_one_self_contained_page_per_adherent_and_year(fixture_store, tmp_path, capsys):
    out = tmp_path / "briefings"
    assert serve_or_export(fixture_store, export_dir=out) == 0
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert names == ["index.html", "sii/bobigny_2018.html", "sii/la-courneuve_2018.html",
                     "siim94/arcueil_2017.html", "siim94/arcueil_2018.html", "siim94/ivry-sur-seine_2017.html",
                     "siim94/ivry-sur-seine_2018.html", "siim94/valdevy_2017.html", "siim94/valdevy_2018.html"]
    page = (out / "siim94/ivry-sur-seine_2018.html").read_text(encoding="utf-8")
    assert f"1{NB}011{NB}559{EUR}" in page and "<svg" in page and "@media print" in page
    assert "Rapport 2018 (siim94_2018), ligne 200" in page and "⚠" in page
    # Self-contained: no script, no external stylesheet, image or font.
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "OPALY (jusqu&#x27;en 2021) → VALDEVY" in (out / "siim94/valdevy_2018.html").read_text(encoding="utf-8")
    assert "8 pages de briefing écrites" in capsys.readouterr().out


# --------------------------------------------------------------------------- serving


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("port", [0, 70000, -1])
def test_invalid_port_is_one_line(fixture_store, port, capsys):
    assert main(["--db", str(fixture_store), "briefing", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "port invalide" in err and "Traceback" not in err


def test_busy_port_is_one_line(fixture_store, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["--db", str(fixture_store), "briefing", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port} est déjà utilisé" in err


def test_export_reads_bilans_db(fixture_store, tmp_path, monkeypatch, capsys):
    """Without --db, `bilans briefing` reads $BILANS_DB like the notebooks (store.resolve_store);
    --db still wins over it."""
    monkeypatch.chdir(tmp_path)  # no project store here to fall back on
    monkeypatch.setenv("BILANS_DB", str(fixture_store))
    assert main(["briefing", "--export", str(tmp_path / "env")]) == 0
    assert (tmp_path / "env" / "siim94" / "ivry-sur-seine_2018.html").is_file()
    assert main(["--db", str(tmp_path / "absent.duckdb"), "briefing", "--export", str(tmp_path / "db")]) == 2
    assert "magasin introuvable" in capsys.readouterr().err


def test_missing_store_is_one_line(tmp_path, capsys):
    assert main(["--db", str(tmp_path / "absent.duckdb"), "briefing"]) == 2
    assert "magasin introuvable" in capsys.readouterr().err


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        todo.extend(children.get(p, []))
    return found


def listening_addresses(pids: set[int]) -> list[str]:
    """Local addresses of the TCP sockets in LISTEN state owned by `pids` (from /proc, no psutil)."""
    inodes = set()
    for pid in pids:
        with_fd = Path(f"/proc/{pid}/fd")
        try:
            for fd in with_fd.iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                addresses.append(fields[1])
    return addresses


LOOPBACK = ("0100007F:", "00000000000000000000000001000000:", "0000000000000000FFFF00000100007F:")


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


def start_briefing(db: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "--db", str(db), "briefing", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=like_a_terminal)
    line = proc.stdout.readline()  # printed once Voilà accepts connections
    assert f"http://127.0.0.1:{port}/" in line, proc.stderr.read() if proc.poll() is not None else line
    return proc


def test_serve_binds_loopback_only_and_stops_cleanly_on_ctrl_c(fixture_store):
    port = _free_port()
    proc = start_briefing(fixture_store, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as resp:
            assert resp.status == 200
        time.sleep(1)  # let the preheated kernel open its ZMQ ports too
        tree = _descendants(proc.pid)
        addresses = listening_addresses(tree)
        assert any(a.endswith(f":{port:04X}") for a in addresses)
        assert addresses and all(a.startswith(LOOPBACK) for a in addresses), addresses
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "Briefing arrêté" in out
        time.sleep(0.5)
        assert not [p for p in tree if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_share_and_ranking_never_mix_measures(fixture_store):
    # Gentilly printed with a cotisation only: not part of the 2018 total contributions
    _contribution(fixture_store, "SIIM94", 2018, 2018, "siim94_2018", 203, "Gentilly", "cotisation", 300000)
    data = BriefingData(fixture_store)
    kf = data.key_figures("SIIM94", "Ivry-sur-Seine", 2018)
    assert kf.part.value == pytest.approx(1011559 / (1011559 + 411423 + 189155) * 100)
    assert kf.part.note.endswith("(hors 1 adhérent imprimé dans une autre mesure)")
    assert {r.adherent for r in data.comparison("SIIM94", "Ivry-sur-Seine", 2018)} == {
        "Ivry-sur-Seine", "Arcueil", "VALDEVY"}
    # Gentilly's cotisation ranks among the cotisations printed that year: Ivry's (929 571 €) is one.
    # (The old expectation, Gentilly alone, left out a figure of the same measure.)
    assert [(r.adherent, r.contribution) for r in data.comparison("SIIM94", "Gentilly", 2018)] == [
        ("Ivry-sur-Seine", 929571), ("Gentilly", 300000)]
