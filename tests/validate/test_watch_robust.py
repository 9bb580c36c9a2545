"""`bilans check DRAFT --watch` against what happens to a file on a real disk: a service stop (SIGTERM),
a save still being written while it is checked, a draft emptied by its editor before being rewritten.

The draft is the invented one of test_versions.py (two wrong totals, lines 11 and 20)."""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from watching import Lines, findings, watch_process

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "tests" / "fixtures" / "versions" / "brouillon_v1.txt"
V2 = ROOT / "tests" / "fixtures" / "versions" / "brouillon_v2.txt"
SCOPE = ["--org", "SIIM94", "--year", "2023"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_watch_stopped_by_sigterm_exits_143(tmp_path):
    """`kill PID` or a systemd stop: the exit code of a killed Unix command (128 + 15), not 0."""
    proc, lines = watch_process(tmp_path, V1.read_text(encoding="utf-8"), SCOPE)
    try:
        assert len(findings(lines.get(timeout=180))) == 2  # the first check is printed
        time.sleep(1.5)  # then the process waits for a save inside watchfiles, where the signal lands
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = [x for x in proc.stderr.read().splitlines() if "avertissement" not in x]
    assert rc == 143 and err == ["bilans : arrêté (SIGTERM)"]


def _watching(tmp_path, monkeypatch, text: str):
    """watch() of a draft holding `text`, in a thread: (draft, stdout lines, stderr lines, stop, thread)."""
    from pipelines.live import watch

    draft = tmp_path / "brouillon.txt"
    draft.write_text(text, encoding="utf-8")
    out, err, stop = Lines(), Lines(), threading.Event()
    monkeypatch.setattr(sys, "stderr", err)
    worker = threading.Thread(target=lambda: watch([draft], "SIIM94", 2023, True, tmp_path / "absent.duckdb",
                                                   stop_event=stop, out=out), daemon=True)
    worker.start()
    return draft, out, err, stop, worker


def test_a_save_still_being_written_while_checked_is_not_shown(tmp_path, monkeypatch):
    """The first half of a save is checked; the rest lands while the check runs. The half's findings
    (the wrong total of line 20 « disappeared ») are not those of any version: nothing is shown for it,
    and the complete file, checked next, shows no change."""
    import pipelines.live as live

    full = V1.read_text(encoding="utf-8")
    cut = full.index("Demandes traitées")  # the second table is not written yet
    real, armed = live.findings_for, threading.Event()

    def save_goes_on(files, *args, **kwargs):
        found = real(files, *args, **kwargs)
        if armed.is_set():
            armed.clear()
            with open(files[0], "a", encoding="utf-8") as f:  # the editor writes the rest of the file
                f.write(full[cut:])
        return found

    monkeypatch.setattr(live, "findings_for", save_goes_on)
    draft, out, _err, stop, worker = _watching(tmp_path, monkeypatch, full)
    try:
        assert len(findings(out.lines.get(timeout=120))) == 2
        armed.set()
        draft.write_text(full[:cut], encoding="utf-8")
        assert json.loads(out.lines.get(timeout=60)) == []  # the whole file: the same two findings
        with pytest.raises(queue.Empty):
            out.lines.get(timeout=1.5)
    finally:
        stop.set()
        worker.join(timeout=10)


def _next_said(err: Lines) -> str:
    """The next line on stderr that is not the warning of the absent store."""
    while "avertissement" in (line := err.lines.get(timeout=30)):
        pass
    return line


def test_an_emptied_draft_is_said_once_and_the_next_save_checked(tmp_path, monkeypatch):
    """An editor empties the file, then writes it: one French line while it stays empty (not one per
    event), and the next save is compared with the last version that could be read. With --json the
    empty save is also an array on stdout, of one `check.lecture` row (the row `bilans check --json`
    gives an unusable file; before, stdout said nothing), « disappeared » with the next save."""
    from pipelines.check import check_findings, unreadable_row

    draft, out, err, stop, worker = _watching(tmp_path, monkeypatch, V1.read_text(encoding="utf-8"))
    try:
        assert len(findings(out.lines.get(timeout=120))) == 2
        draft.write_text("", encoding="utf-8")
        said = _next_said(err)
        assert said.startswith("bilans : ") and said.endswith(f"{draft.name} : fichier vide — enregistrement en cours ? "
                        "Contrôlé de nouveau au prochain enregistrement.")
        refused: list[dict] = []  # what the one-shot check --json says of the same file
        check_findings([draft], "SIIM94", 2023, None, refused)
        lecture = {**unreadable_row(str(draft), "brouillon", refused[0]["message"]), "change": "appeared"}
        assert json.loads(out.lines.get(timeout=10)) == [lecture]
        os.utime(draft)  # saved again, still empty: not said twice
        draft.write_text(V2.read_text(encoding="utf-8"), encoding="utf-8")
        second = json.loads(out.lines.get(timeout=60))
        assert sorted((f["change"], f["table"] or f["rule"]) for f in second if f["change"] != "moved") == [
            ("appeared", "Formations suivies"), ("disappeared", "Interventions sur site"),
            ("disappeared", "check.lecture")]
        assert {**lecture, "change": "disappeared"} in second
        assert [x for x in list(err.lines.queue) if "avertissement" not in x] == []
        draft.write_bytes(bytes(range(256)) * 64)  # a binary save is not a save being written
        said = _next_said(err)
        assert said.startswith(f"bilans : {draft.name} : fichier binaire") and "enregistrement en cours" not in said
        assert said.endswith(". Contrôlé de nouveau au prochain enregistrement.")
    finally:
        stop.set()
        worker.join(timeout=10)


def _seen(state: list[dict], shown: list[dict]) -> list[dict]:
    """What an author who read the first array and then each change knows: the findings shown as
    « disappeared » taken out, those « appeared » put in."""
    gone = [{k: v for k, v in f.items() if k != "change"} for f in shown if f["change"] == "disappeared"]
    kept = [f for f in state if f not in gone]
    return kept + [{k: v for k, v in f.items() if k != "change"} for f in shown if f["change"] == "appeared"]


def _key(f: dict) -> tuple:
    return tuple(str(f.get(k)) for k in ("rule", "line", "table", "message", "found", "expected", "section"))


def test_a_finding_whose_text_changed_is_shown_again(tmp_path, monkeypatch):
    """A table renamed and a section retitled: the two wrong totals stay paired with themselves, but
    their `table`, `section` (and messages) change; what the watch has shown, updated by its changes,
    is the cold check of the same bytes (before: the old table names stayed, as « no change »)."""
    from pipelines.check import findings_for
    from pipelines.live import _records

    v1 = V1.read_text(encoding="utf-8")
    draft, out, _err, stop, worker = _watching(tmp_path, monkeypatch, v1)
    try:
        state = findings(out.lines.get(timeout=120))
        for f in state:
            f.pop("change")
        edited = v1.replace("Interventions sur site", "Interventions dans les sites").replace(
            "Pôle Applications", "Pôle Logiciels")
        draft.write_text(edited, encoding="utf-8")
        shown = findings(out.lines.get(timeout=60))
        assert sorted((f["change"], f["table"], f["section"]) for f in shown) == [
            ("appeared", "Demandes traitées", "2 Pôle Logiciels"),
            ("appeared", "Interventions dans les sites", "1 Pôle Infrastructures"),
            ("disappeared", "Demandes traitées", "2 Pôle Applications"),
            ("disappeared", "Interventions sur site", "1 Pôle Infrastructures")]
    finally:
        stop.set()
        worker.join(timeout=10)
    cold, _ = findings_for([draft], "SIIM94", 2023, tmp_path / "absent.duckdb")
    assert sorted(map(_key, _seen(state, shown))) == sorted(map(_key, _records(cold)))


def test_ctrl_c_before_the_first_check_ends_stops_the_watch_in_one_line(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the watch is still starting (modules being imported, the store being copied):
    the same line and exit code 0 as Ctrl-C while watching (before: « bilans : interrompu », 130)."""
    import pipelines.live as live
    from pipelines.cli import main

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(live, "Session", interrupted)
    draft = tmp_path / "brouillon.txt"
    draft.write_text(V1.read_text(encoding="utf-8"), encoding="utf-8")
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(draft), "--watch", *SCOPE])
    assert (rc, capsys.readouterr().err) == (0, "bilans : surveillance arrêtée\n")


def test_ctrl_c_turned_into_a_duckdb_error_during_the_first_check_stops_the_watch(tmp_path, capsys, monkeypatch):
    """DuckDB turns a Ctrl-C that lands during a query into RuntimeError « Query interrupted »
    (seen: a traceback, or the signal lost and the watch going on): the watch stops in one line, 0."""
    import pipelines.live as live
    from pipelines.cli import main

    def query_interrupted(*_args, **_kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            raise RuntimeError("Query interrupted") from None

    monkeypatch.setattr(live, "findings_for", query_interrupted)
    draft = tmp_path / "brouillon.txt"
    draft.write_text(V1.read_text(encoding="utf-8"), encoding="utf-8")
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(draft), "--watch", *SCOPE])
    assert (rc, capsys.readouterr().err) == (0, "bilans : surveillance arrêtée\n")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
