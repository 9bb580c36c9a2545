"""`bilans check NEW --since OLD` and `bilans check DRAFT --watch` (issue 21, items 2 and 3).

The fixtures are two versions of an invented draft: v2 fixes the total of « Interventions sur site »,
keeps the wrong total of « Demandes traitées » and adds a table « Formations suivies » whose total is
wrong; an « Avant-propos » inserted at the top moves every line below it by six.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from html_checks import external_references, live_payloads
from terminal import like_a_terminal
from watching import Lines, findings, watch_process

from pipelines.cli import main
from pipelines.validate.versions import changes, compare, match, row_label

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "versions"
V1, V2 = FIXTURES / "brouillon_v1.txt", FIXTURES / "brouillon_v2.txt"
SCOPE = ["--org", "SIIM94", "--year", "2023"]


def _since(tmp_path, capsys, new: Path, old: Path, *extra: str) -> tuple[int, list[dict]]:
    """(exit code, the findings of --json); without a store, its one row `check.magasin` for NEW is checked
    and left out, as in a plain `bilans check --json` (test_check_notices.py)."""
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(new), "--since", str(old), "--json",
               *SCOPE, *extra])
    out = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["document"], f["version_status"]) for f in out if f["rule"].startswith("check.")] == [
        ("check.magasin", str(new), None)]
    return rc, [f for f in out if not f["rule"].startswith("check.")]


def test_since_fixed_open_new_across_shifted_lines(tmp_path, capsys):
    rc, out = _since(tmp_path, capsys, V2, V1)
    got = sorted((f["version_status"], f["rule"], f["table"], f["document"], f["line"], f["old_line"],
                  f["found"], f["expected"]) for f in out)
    assert got == [
        ("fixed", "total.column", "Interventions sur site", str(V1), 11, 11, "262", "272"),
        ("new", "total.column", "Formations suivies", str(V2), 33, None, "25", "23"),
        ("open", "total.column", "Demandes traitées", str(V2), 26, 20, "480", "470"),
    ]
    assert rc == 1  # NEW still has errors


def test_since_exit_code_is_that_of_new_only(tmp_path, capsys):
    clean = tmp_path / "propre.txt"
    text = V2.read_text(encoding="utf-8")
    clean.write_text(text.replace("450\t480", "450\t470").replace("20\t25", "20\t23"), encoding="utf-8")
    rc, out = _since(tmp_path, capsys, clean, V1)
    assert rc == 0
    assert sorted((f["version_status"], f["table"], f["line"]) for f in out) == [
        ("fixed", "Demandes traitées", 20), ("fixed", "Interventions sur site", 11)]
    assert {f["document"] for f in out} == {str(V1)}  # fixed findings keep their OLD place


def test_since_an_unusable_old_still_reports_new_all_new(tmp_path, capsys):
    """OLD empty: NEW is reported, every finding « new », a French line says OLD could not be read and
    --json carries OLD's `check.lecture` row (info: the verdict is NEW's). Before: nothing, exit 2."""
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(V1), "--since", str(empty), "--json", *SCOPE])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert rc == 1
    assert [(f["version_status"], f["rule"], f["line"]) for f in out if f["rule"] == "total.column"] == [
        ("new", "total.column", 11), ("new", "total.column", 20)]
    assert [(f["document"], f["severity"], f["message"]) for f in out if f["rule"] == "check.lecture"] == [
        (str(empty), "info", f"{empty.name} : fichier vide")]
    assert (f"bilans : {empty.name} : fichier vide — version précédente illisible : tous les constats de {V1} "
            "sont donnés comme nouveaux") in captured.err.splitlines()


def test_since_an_unusable_new_in_json_is_an_array_of_its_row(tmp_path, capsys):
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(empty), "--since", str(V1), "--json", *SCOPE])
    out = json.loads(capsys.readouterr().out)
    assert rc == 2 and [(f["document"], f["rule"], f["severity"]) for f in out] == [
        (str(empty), "check.lecture", "error")]


def test_since_text_output_three_french_lists(tmp_path, capsys):
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(V2), "--since", str(V1), *SCOPE])
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    assert out[0] == f"{V2} depuis {V1} : 1 corrigé, 1 toujours présent, 1 nouveau"
    heads = [i for i, line in enumerate(out) if not line.startswith(" ")]
    assert [out[i] for i in heads[1:]] == [f"Corrigés (lignes de {V1}) : 1", "Toujours présents : 1", "Nouveaux : 1"]
    assert out[heads[1] + 1].startswith(f"   {V1}:11  ERREUR  [total.column]")
    assert out[heads[2] + 1].startswith(f"   {V2}:26  ERREUR") and out[heads[2] + 1].endswith("(avant : ligne 20)")
    assert out[heads[3] + 1].startswith(f"   {V2}:33  ERREUR")


def test_since_html_page_three_lists_escaped_offline(tmp_path, capsys):
    hostile = tmp_path / "v2.txt"
    hostile.write_text(V2.read_text(encoding="utf-8").replace(  # quoted in the new finding
        "Total\t20\t25", "Total <img src=x onerror=alert(1)>\t20\t25"), encoding="utf-8")
    page = tmp_path / "versions.html"
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(hostile), "--since", str(V1), *SCOPE,
               "--html", str(page)])
    capsys.readouterr()
    text = page.read_text(encoding="utf-8")
    assert rc == 1
    for heading in ("Corrigés (1)", "Toujours présents (1)", "Nouveaux (1)"):
        assert f"<h2>{heading}</h2>" in text
    assert '<html lang="fr">' in text and "<mark>262</mark>" in text and "ligne 20" in text
    assert live_payloads(text) == [] and external_references(text) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_html_without_since_is_refused_in_one_line(tmp_path, capsys):
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(V2), "--html", str(tmp_path / "p.html")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == "bilans : --html demande --since : la page compare deux versions d'un rapport"


def _finding(**kw) -> dict:
    base = dict(document="d.txt", line=1, rule="total.column", severity="error", message="m", found=None,
                expected=None, table=None, source_line="", label_source=None)
    return {**base, **kw}


def test_match_ignores_lines_and_follows_a_figure_still_wrong():
    old = pd.DataFrame([
        _finding(line=10, table="Charge", source_line="Total\t599\t592", found="592", expected="599"),
        _finding(line=14, table="Budget", source_line="Total\t10\t12", found="12", expected="11"),
        _finding(line=20, rule="text.year", source_line="Stable par rapport à 2018.", found="2018", expected="2017"),
    ])
    new = pd.DataFrame([
        # the author changed 592 to 595: still wrong, the same finding
        _finding(line=31, table="Charge", source_line="Total\t599\t595", found="595", expected="599"),
        # same rule, label and printed figure in another table, whose sum differs: not the Budget finding
        _finding(line=40, table="Effectifs", source_line="Total\t10\t12", found="12", expected="13"),
        _finding(line=52, rule="text.year", source_line="Stable par rapport à 2018.", found="2018", expected="2017"),
    ])
    assert match(new, old) == [(0, 0), (2, 2)]
    c = compare(new, old)
    assert list(zip(c["version_status"], c["line"], c["old_line"], strict=True)) == [
        ("open", 31, 10), ("new", 40, None), ("open", 52, 20), ("fixed", 14, 14)]


def test_match_pairs_a_caption_reworded_by_label_and_figures():
    old = pd.DataFrame([_finding(line=5, table="Charge (jours)", source_line="Total\t599", found="592", expected="599")])
    new = pd.DataFrame([_finding(line=9, table="Charge de travail", source_line="Total\t599", found="592",
                                 expected="599")])
    assert match(new, old) == [(0, 0)]


def test_row_label_is_the_label_without_figures():
    assert row_label({"source_line": "Ressources humaines\t150\t160"}) == "ressources humaines"
    assert row_label({"source_line": "Total 1 282 agents", "label_source": "TOTAL GÉNÉRAL"}) == "total general"
    assert row_label({"source_line": "En 2023, 1 046 jours de MCO."}) == "en jours de mco"


def test_changes_appeared_disappeared_and_moved():
    before = pd.DataFrame([_finding(line=3, table="A", source_line="Total\t5", found="5", expected="6")])
    after = pd.DataFrame([_finding(line=4, table="B", source_line="Total\t7", found="7", expected="8")])
    appeared, gone, moved = changes(before, after)
    assert list(appeared["table"]) == ["B"] and list(gone["table"]) == ["A"] and moved.empty
    # only moved: neither appeared nor disappeared, but given with its new line and the old one
    appeared, gone, moved = changes(after, after.assign(line=9))
    assert appeared.empty and gone.empty
    assert moved[["line", "old_line", "table"]].to_dict("records") == [{"line": 9, "old_line": 4, "table": "B"}]
    # the same place: nothing at all
    assert all(f.empty for f in changes(after, after.copy()))
    # the same wrong total changed again: shown again, with its new figure
    appeared, gone, moved = changes(after, after.assign(found="9"))
    assert list(appeared["found"]) == ["9"] and list(gone["found"]) == ["7"] and moved.empty


# --- --watch ------------------------------------------------------------------------------------

def test_watch_prints_the_changes_of_each_save(tmp_path):
    from pipelines.live import watch

    draft = tmp_path / "brouillon.txt"
    draft.write_text(V1.read_text(encoding="utf-8"), encoding="utf-8")
    out, stop = Lines(), threading.Event()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(watch(
        [draft], "SIIM94", 2023, True, tmp_path / "absent.duckdb", stop_event=stop, out=out)), daemon=True)
    worker.start()
    try:
        first = findings(out.lines.get(timeout=120))
        assert sorted((f["change"], f["line"], f["found"]) for f in first) == [
            ("appeared", 11, "262"), ("appeared", 20, "480")]
        draft.write_text(V2.read_text(encoding="utf-8"), encoding="utf-8")  # a save of the next version
        second = json.loads(out.lines.get(timeout=60))
        # the wrong total still there moved from line 20 to 26: given again with its new line
        assert sorted((f["change"], f["line"], f["found"], f["table"]) for f in second) == [
            ("appeared", 33, "25", "Formations suivies"), ("disappeared", 11, "262", "Interventions sur site"),
            ("moved", 26, "480", "Demandes traitées")]
        assert next(f["old_line"] for f in second if f["change"] == "moved") == 20
    finally:
        stop.set()
        worker.join(timeout=10)
    assert result == [0]


def test_watch_text_gives_a_moved_finding_at_its_new_line(tmp_path):
    """In text, a wrong total that only moved (a paragraph inserted above) is given with « ~ » at its
    new line, beside its old one: the author looks for it where it is now."""
    from pipelines.live import watch

    draft = tmp_path / "brouillon.txt"
    draft.write_text(V1.read_text(encoding="utf-8"), encoding="utf-8")
    out, stop = Lines(), threading.Event()
    worker = threading.Thread(target=lambda: watch([draft], "SIIM94", 2023, False, tmp_path / "absent.duckdb",
                                                   stop_event=stop, out=out), daemon=True)
    worker.start()
    try:
        while not out.lines.get(timeout=120).startswith("Surveillance de "):
            pass
        draft.write_text(V2.read_text(encoding="utf-8"), encoding="utf-8")
        head = out.lines.get(timeout=60)
        assert "1 constat apparu, 1 disparu, 1 déplacé ; 2 en tout" in head
        shown = [out.lines.get(timeout=10) for _ in range(3)]
        moved = [x for x in shown if x.startswith(" ~ ")]
        assert len(moved) == 1 and f"{draft}:26 " in moved[0] and "[total.column]" in moved[0]
        assert moved[0].endswith(" (avant : ligne 20)")
    finally:
        stop.set()
        worker.join(timeout=10)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_watch_stops_on_ctrl_c_with_one_french_line(tmp_path):
    draft = tmp_path / "brouillon.txt"
    proc, lines = watch_process(tmp_path, V1.read_text(encoding="utf-8"), SCOPE, preexec_fn=like_a_terminal)
    try:
        assert len(findings(lines.get(timeout=180))) == 2
        draft.write_text(V1.read_text(encoding="utf-8").replace("240\t262", "240\t272"), encoding="utf-8")
        assert [f["change"] for f in json.loads(lines.get(timeout=60))] == ["disappeared"]
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = [x for x in proc.stderr.read().splitlines() if "avertissement" not in x]
    assert rc == 0 and err == ["bilans : surveillance arrêtée"]


def test_since_across_formats_pdf_then_docx(tmp_path, capsys):
    """The same two versions, the old one printed to PDF, the new one written in Word."""
    from docgen import from_text, to_docx, to_pdf

    old, new = tmp_path / "v1.pdf", tmp_path / "v2.docx"
    to_pdf(from_text(V1.read_text(encoding="utf-8")), old)
    to_docx(from_text(V2.read_text(encoding="utf-8")), new)
    rc, out = _since(tmp_path, capsys, new, old)
    got = sorted((f["version_status"], f["table"], f["document"], f["found"], f["expected"]) for f in out)
    assert got == [("fixed", "Interventions sur site", str(old), "262", "272"),
                   ("new", "Formations suivies", str(new), "25", "23"),
                   ("open", "Demandes traitées", str(new), "480", "470")]
    fixed = next(f for f in out if f["version_status"] == "fixed")
    assert fixed["place"].startswith("page 1, ligne ")  # its place in the old PDF
    assert rc == 1
