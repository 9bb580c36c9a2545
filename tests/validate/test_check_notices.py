"""`bilans check` says every check it could not make, and one unusable draft hides nothing else:

- a draft whose organisme or exercice is neither given nor read in its text: one French line, and in
  --json an info row `check.perimetre` (the cross-report checks need both);
- several drafts, one empty or binary: the others are still checked and reported, exit code the worst;
- the rows saying what was not made (`check.magasin`, `check.perimetre`) are the same in a plain
  `check --json`, in `--since OLD --json` and in the first array of `--watch --json`.

The draft is the invented one of test_versions.py (two wrong totals, lines 11 and 20)."""

from __future__ import annotations

import json
import queue
import sys
import threading
from pathlib import Path

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "tests" / "fixtures" / "versions" / "brouillon_v1.txt"


def _anonymous(tmp_path) -> Path:
    """A draft without organisme nor year in its text; its total (line 7) is wrong."""
    draft = tmp_path / "sans_titre.txt"
    draft.write_text("Interventions sur site\n\nSite\tInterventions\nMairie\t135\nÉcoles\t95\n"
                     "Médiathèque\t42\nTotal\t262\n", encoding="utf-8")
    return draft


def _said(err: str) -> list[str]:
    return [x for x in err.splitlines() if "magasin" not in x]


def test_a_draft_without_organisme_nor_year_says_what_was_not_checked(fixture_store, tmp_path, capsys):
    draft = _anonymous(tmp_path)
    assert main(["--db", str(fixture_store), "check", str(draft)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"{draft} : organisme ? année ? — 1 erreur, 0 alerte, 0 information"
    assert _said(err) == [f"bilans : avertissement : {draft} : organisme et exercice inconnus (ni --org/--year, "
                          "ni reconnu dans le texte) ; contrôles entre rapports non faits — les donner par "
                          "--org ORGANISME --year ANNÉE"]
    assert main(["--db", str(fixture_store), "check", str(draft), "--json"]) == 1
    rows = [r for r in json.loads(capsys.readouterr().out) if r["rule"].startswith("check.")]
    assert [(r["rule"], r["severity"], r["document"], r["line"]) for r in rows] == [
        ("check.perimetre", "info", str(draft), None)]


def test_a_year_given_but_no_organisme_names_the_organisme_alone(fixture_store, tmp_path, capsys):
    draft = _anonymous(tmp_path)
    main(["--db", str(fixture_store), "check", str(draft), "--year", "2023"])
    assert [x.split(" : ")[3] for x in _said(capsys.readouterr().err)] == [
        "organisme inconnu (ni --org/--year, ni reconnu dans le texte) ; contrôles entre rapports non faits — "
        "les donner par --org ORGANISME --year ANNÉE"]
    main(["--db", str(fixture_store), "check", str(draft), "--org", "siim94", "--year", "2023"])
    assert _said(capsys.readouterr().err) == []


def test_one_unusable_draft_among_several_hides_nothing(tmp_path, capsys):
    good, empty, binary = tmp_path / "bon.txt", tmp_path / "vide.txt", tmp_path / "binaire.txt"
    good.write_text(V1.read_text(encoding="utf-8"), encoding="utf-8")
    empty.write_bytes(b"")
    binary.write_bytes(b"\x00\x01\x02binaire\x00" * 20)
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(empty), str(good), str(binary),
               str(tmp_path / "absent.txt"), "--json"])
    out, err = capsys.readouterr()
    assert rc == 2  # the worst: an unusable draft (2) over an error (1)
    found = [(r["document"], r["line"], r["rule"]) for r in json.loads(out) if r["rule"] != "check.magasin"]
    assert found == [(str(empty), None, "check.lecture"), (str(good), 11, "total.column"),
                     (str(good), 20, "total.column"), (str(binary), None, "check.lecture"),
                     (str(tmp_path / "absent.txt"), None, "check.lecture")]  # one row each, in command-line order
    refused = [x for x in err.splitlines() if "avertissement" not in x]
    assert len(refused) == 3 and all(x.startswith("bilans : ") for x in refused)
    assert [x for x in refused if empty.name in x] == [f"bilans : {empty.name} : fichier vide"]
    assert any(binary.name in x for x in refused) and f"bilans : fichier introuvable : {tmp_path / 'absent.txt'}" in refused


def test_every_draft_unusable_exits_2_with_their_rows_on_stdout(tmp_path, capsys):
    """--json always prints an array (it printed nothing): the unusable file's `check.lecture` row."""
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    assert main(["--db", str(tmp_path / "absent.duckdb"), "check", str(empty), "--json"]) == 2
    out, err = capsys.readouterr()
    assert [(r["rule"], r["message"]) for r in json.loads(out)] == [("check.lecture", f"{empty.name} : fichier vide")]
    assert err == f"bilans : {empty.name} : fichier vide\n"


def _notices(rows: list[dict]) -> list[tuple]:
    return sorted((r["rule"], r["document"], r["message"]) for r in rows if r["rule"].startswith("check."))


def test_since_and_watch_json_say_what_a_plain_check_json_says(tmp_path, capsys, monkeypatch):
    """No store and no organisme: the same two rows in the three outputs."""
    from pipelines.live import watch

    draft, db = _anonymous(tmp_path), tmp_path / "absent.duckdb"
    main(["--db", str(db), "check", str(draft), "--json"])
    plain = _notices(json.loads(capsys.readouterr().out))
    assert [r[0] for r in plain] == ["check.magasin", "check.perimetre"]
    main(["--db", str(db), "check", str(draft), "--since", str(draft), "--json"])
    since = json.loads(capsys.readouterr().out)
    assert _notices(since) == plain
    assert {r["version_status"] for r in since if r["rule"].startswith("check.")} == {None}  # not a finding of a version

    lines: queue.Queue[str] = queue.Queue()

    class Out:
        def write(self, text):
            for line in text.splitlines():
                lines.put(line)

        def flush(self):
            pass

    stop = threading.Event()
    monkeypatch.setattr(sys, "stderr", Out())
    worker = threading.Thread(target=lambda: watch([draft], None, None, True, db, stop_event=stop, out=Out()),
                              daemon=True)
    worker.start()
    try:
        while not (first := lines.get(timeout=120)).startswith("["):
            pass
    finally:
        stop.set()
        worker.join(timeout=10)
    first = json.loads(first)
    assert _notices(first) == plain
    assert {r["change"] for r in first} == {"appeared"}
