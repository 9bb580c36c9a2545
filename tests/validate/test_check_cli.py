"""`bilans check` : contract of ARCHITECTURE.md (exit codes, --json fields, drafts, vintages of the store)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import TOC  # noqa: E402

from pipelines.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

DRAFT = ("Bilan d'activité 2018 du SIIM94\n\n1 Pôle SI\n\nRépartition générale\n\n"
         "Activité (en jours)\t2016\t2017\t2018\nMCO\t1 046 jours\t1 136 jours\t1 083 jours\n"
         "Projet\t965 jours\t968 jours\t935 jours\nTotal général\t2 011 jours\t2 104 jours\t1 999 jours\n\n"
         "L'activité est stable par rapport à 2018.\n" + TOC)


def test_check_json_contract_and_exit_1(tmp_path, capsys):
    draft = tmp_path / "brouillon.txt"
    draft.write_text(DRAFT, encoding="utf-8")
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(draft), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1
    keys = {"document", "line", "rule", "severity", "message", "found", "expected", "table"}
    assert all(keys <= set(f) for f in out)
    got = sorted((f["rule"], f["line"], f["severity"], f["found"], f["expected"]) for f in out)
    assert got == [  # no store: an info row says which cross-report checks were not made
        ("check.magasin", None, "info", None, None),
        ("text.year", 12, "error", "par rapport à 2018", "par rapport à 2017"),
        ("total.column", 10, "error", "1 999 jours", "2 018 jours"),
    ]
    assert {f["document"] for f in out} == {str(draft)}


def test_check_json_row_without_store_has_every_column_of_a_finding(tmp_path, capsys):
    from pipelines.validate import FINDING_COLUMNS

    draft = tmp_path / "brouillon.txt"
    draft.write_text(DRAFT, encoding="utf-8")
    main(["--db", str(tmp_path / "absent.duckdb"), "check", str(draft), "--json"])
    out = json.loads(capsys.readouterr().out)
    columns = [c for c in FINDING_COLUMNS if c != "highlight"]  # --json leaves out the annotation's needle
    assert [list(f) for f in out] == [columns] * 3  # the same columns, in the same order, on every row
    magasin = next(f for f in out if f["rule"] == "check.magasin")
    assert {k: v for k, v in magasin.items() if v is not None} == {
        "document": str(draft), "rule": "check.magasin", "severity": "info", "document_id": "brouillon",
        "org": "SIIM94", "report_year": 2018, "message": magasin["message"],
        "suggestion": "Indiquer le magasin par --db ou BILANS_DB, ou lancer la commande dans le projet."}
    assert magasin["message"].startswith(f"magasin introuvable : {tmp_path / 'absent.duckdb'} ; contrôles entre "
                                         "rapports non faits (vintage.restated")


def test_check_clean_file_exits_0(tmp_path, capsys):
    ok = DRAFT.replace("1 999 jours", "2 018 jours").replace("par rapport à 2018", "par rapport à 2017")
    draft = tmp_path / "propre.txt"
    draft.write_text(ok, encoding="utf-8")
    assert main(["--db", str(tmp_path / "absent.duckdb"), "check", str(draft)]) == 0
    assert "0 erreur," in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binaire\x00" * 20])
def test_unusable_input_exits_2_with_one_line(tmp_path, capsys, content):
    bad = tmp_path / "mauvais.txt"
    bad.write_bytes(content)
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bilans : ") and "\n" not in err


def test_check_compares_with_vintages_of_the_store(tmp_path, capsys):
    """A 2018 draft restating 2017 figures of the 2017 report already in the store."""
    from test_validate_helpers import store_of

    old = ("Bilan d'activité 2017 du SIIM94\n\n1 Pôle SI\n\nCharge\n\n"
           "Domaines\t2016\t2017\nAction sociale\t81\t118\nFinances\t327\t340\nSanté\t191\t134\nTotal\t599\t592\n")
    con = store_of(tmp_path, {"old2017": (old, "SIIM94", 2017)})
    db = tmp_path / "store.duckdb"
    con.execute(f"ATTACH '{db}' AS disk")
    for t in ("documents", "sections", "lignes", "tables", "cells", "narratifs", "findings"):
        con.execute(f'CREATE TABLE disk."{t}" AS SELECT * FROM "{t}"')
    con.execute("DETACH disk")
    con.close()
    new = ("Bilan d'activité 2018 du SIIM94\n\n1 Pôle SI\n\nCharge\n\n"
           "Domaines\t2017\t2018\nAction sociale\t118\t114\nFinances\t340\t437\nSanté\t150\t147\nTotal\t608\t698\n" + TOC)
    draft = tmp_path / "b2018.txt"
    draft.write_text(new, encoding="utf-8")
    rc = main(["--db", str(db), "check", str(draft), "--json", "--org", "SIIM94", "--year", "2018"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert sorted((f["rule"], f["line"], f["found"], f["expected"]) for f in out if f["rule"].startswith("vintage")) == [
        ("vintage.restated", 10, "150", "134"), ("vintage.restated", 11, "608", "592")]


def test_a_missing_store_is_said_not_silently_skipped(tmp_path, capsys):
    """Run outside the repository (relative --db not found): the cross-report rules cannot run, and
    the user is told so in one line on stderr; the findings of the file itself are unchanged."""
    draft = tmp_path / "brouillon.txt"
    draft.write_text(DRAFT, encoding="utf-8")
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(draft), "--json"])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and "magasin introuvable" in err and "contrôles entre rapports" in err


FOLDER_REFUSED = "n'est pas un fichier (un dossier ?) : donnez le chemin du magasin, par exemple data/curated/bilans.duckdb"


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_check_refuses_a_store_that_is_a_folder(tmp_path, capsys, monkeypatch, where):
    draft = tmp_path / "brouillon.txt"
    draft.write_text(DRAFT, encoding="utf-8")
    folder = tmp_path / "magasins"
    folder.mkdir()
    args = {"before": ["--db", str(folder), "check", str(draft)], "after": ["check", "--db", str(folder), str(draft)],
            "env": ["check", str(draft)]}[where]
    if where == "env":
        monkeypatch.setenv("BILANS_DB", str(folder))
    assert main(args) == 2
    captured = capsys.readouterr()
    given = f"BILANS_DB={folder}" if where == "env" else f"--db {folder}"
    assert captured.err == f"bilans : {given} {FOLDER_REFUSED}\n" and captured.out == ""


@pytest.mark.parametrize("command", [["build"], ["extract", "r.pdf"], ["check", "r.pdf"], ["report"], ["run"],
                                     ["briefing"]])
def test_db_is_accepted_before_or_after_every_sub_command(command, capsys):
    from pipelines.cli import parser

    assert parser().parse_args(["--db", "a.duckdb", *command]).db == "a.duckdb"
    assert parser().parse_args([command[0], "--db", "b.duckdb", *command[1:]]).db == "b.duckdb"
    assert parser().parse_args(["--db", "a.duckdb", command[0], "--db", "b.duckdb", *command[1:]]).db == "b.duckdb"
    assert parser().parse_args(command).db is None  # main() then finds the store (find_store, DEFAULT_DB)
    with pytest.raises(SystemExit):
        parser().parse_args([command[0], "--help"])
    assert "--db CHEMIN" in capsys.readouterr().out


def test_check_reads_the_store_given_after_the_sub_command(tmp_path, capsys):
    draft = tmp_path / "brouillon.txt"
    draft.write_text(DRAFT, encoding="utf-8")
    main(["check", "--db", str(tmp_path / "absent.duckdb"), str(draft)])
    assert f"magasin introuvable : {tmp_path / 'absent.duckdb'} ;" in capsys.readouterr().err


def test_check_has_one_address():
    """`bilans check` is pipelines.check; the old alias under validate/ (which validate/ must not
    import from: it computes findings from a connection, below the stages) is gone."""
    import importlib.util

    from pipelines import check

    assert importlib.util.find_spec("pipelines.validate.check") is None
    assert callable(check.check) and callable(check.findings_for)


def test_exit_code_survives_a_reader_that_closes_the_pipe(tmp_path):
    """`bilans check F --json | head -1`: the verdict stays the exit code (it was 0 once the pipe broke)."""
    import subprocess

    tables = "".join(f"Tableau {n}\n\nActivité\t2017\t2018\nMCO\t1 046\t1 136\nProjet\t965\t968\n"
                     f"Total\t2 011\t2 {n % 10}99\n\n" for n in range(150))  # a wrong total each: output > a pipe
    draft = tmp_path / "long.txt"
    draft.write_text("Bilan d'activité 2018 du SIIM94\n\n" + tables, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "--db", str(tmp_path / "absent.duckdb"), "check",
                             str(draft), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == b"["
    proc.stdout.close()  # `head -1` leaves
    assert proc.wait(timeout=300) == 1
    assert b"Traceback" not in proc.stderr.read()


def test_a_command_without_verdict_ends_quietly_when_the_pipe_closes(tmp_path):
    """`bilans extract F | head -1`: exit 0 and nothing on stderr (no « Exception ignored … »): the
    closed pipe is handled once, by the command line (pipelines.terminal.reader_gone)."""
    import subprocess

    draft = tmp_path / "long.txt"
    draft.write_text("Bilan d'activité 2018 du SIIM94\n\n" + "".join(
        f"Tableau {n}\n\nActivité\t2017\t2018\nMCO\t1 046\t1 136\n\n" for n in range(400)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "--db", str(tmp_path / "absent.duckdb"), "extract",
                             str(draft), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=300) == 0
    assert proc.stderr.read() == b""


def test_json_always_prints_an_array_unusable_files_as_rows_in_command_line_order(tmp_path, capsys):
    """`check --json` of an empty file printed nothing (exit 2); with several files the unusable ones
    had no row. Now: one `check.lecture` error row per unusable file, rows in the files' order."""
    empty = tmp_path / "vide.txt"
    empty.write_bytes(b"")
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(empty), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 2 and [(r["document"], r["rule"], r["severity"], r["message"]) for r in out] == [
        (str(empty), "check.lecture", "error", f"{empty.name} : fichier vide")]
    draft = ROOT / "tests" / "fixtures" / "versions" / "brouillon_v1.txt"
    absent = tmp_path / "absent.txt"
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(empty), str(draft), str(absent), "--json",
               "--org", "SIIM94", "--year", "2023"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 2 and [(r["document"], r["rule"], r["line"]) for r in out] == [
        (str(empty), "check.lecture", None), (str(draft), "total.column", 11), (str(draft), "total.column", 20),
        (str(draft), "check.magasin", None), (str(absent), "check.lecture", None)]
    assert out[-1]["message"] == f"fichier introuvable : {absent}"
