"""Issue 18: concurrent builds, killed builds, odd --db paths and out-of-range inputs.

Builds run in subprocesses here when the point is what another process, or a signal, does.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from test_manifest_guard import HEADER, ROWS, corpus, snapshot, write_manifest

from pipelines.build import LOCK_NAME, TRASH_PREFIX
from pipelines.cli import main, parser

ROOT = Path(__file__).resolve().parent.parent


def bilans(*argv: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *argv], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".bilans-", ".parquet-")))


def parquet_rows(db: Path, table: str) -> int:
    glob = str(db.parent / "parquet" / table / "**" / "*.parquet").replace("'", "''")
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)").fetchone()[0]
    finally:
        con.close()


def store_rows(db: Path, table: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    finally:
        con.close()


def test_quote_in_db_path_and_atomic_parquet(tmp_path, capsys):
    raw = corpus(tmp_path)
    db = tmp_path / "l'atelier" / "bilans.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    assert (db.parent / "parquet").is_symlink() and parquet_rows(db, "finances") == store_rows(db, "finances") > 0
    first = (db.parent / "parquet").resolve()
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    # the link now names a new folder; the previous export is gone, nothing else is left (the
    # previous export is renamed at once, then deleted in the background)
    assert (db.parent / "parquet").resolve() != first and not first.exists()
    assert leftovers(db.parent) == [(db.parent / "parquet").resolve().name]
    assert parquet_rows(db, "finances") == store_rows(db, "finances")
    deadline = time.monotonic() + 30
    while any(p.name.startswith(TRASH_PREFIX) for p in db.parent.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in db.parent.iterdir() if p.name.startswith(TRASH_PREFIX)]


def test_parquet_folder_of_an_older_version_is_replaced(tmp_path, capsys):
    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    (db.parent / "parquet" / "finances").mkdir(parents=True)
    (db.parent / "parquet" / "finances" / "old.parquet").write_bytes(b"old")
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    assert (db.parent / "parquet").is_symlink() and parquet_rows(db, "finances") == store_rows(db, "finances")
    assert len(leftovers(db.parent)) == 1  # the current export only


def test_leftovers_of_a_killed_build_are_removed_at_next_start(tmp_path, capsys):
    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    current = (db.parent / "parquet").resolve().name
    for name in (".bilans-abcd1234.duckdb", ".bilans-abcd1234.duckdb.wal"):
        (db.parent / name).write_bytes(b"x" * 1000)
    (db.parent / ".parquet-dead" / "finances").mkdir(parents=True)
    (db.parent / f"{TRASH_PREFIX}.parquet-dead" / "finances").mkdir(parents=True)  # its deletion cut short
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    assert leftovers(db.parent) == [(db.parent / "parquet").resolve().name] != [current]
    assert not (db.parent / f"{TRASH_PREFIX}.parquet-dead").exists()


def test_second_build_is_refused_while_the_lock_is_held(tmp_path, capsys):
    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    before = snapshot(db.parent)
    capsys.readouterr()
    with open(db.parent / LOCK_NAME, "a") as held:  # another build, as the kernel sees it
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bilans : une autre construction du magasin est en cours") and err.count("\n") == 1
    assert snapshot(db.parent) == before


def test_two_concurrent_builds(tmp_path):
    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    procs = [bilans("--db", str(db), "build", "--raw", str(raw), "--no-validate", cwd=tmp_path) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 2]), results  # [0, 0] when one finished before the other started
    for code, _out, err in results:
        assert "Traceback" not in err
        if code == 2:
            assert err.startswith("bilans : une autre construction du magasin est en cours"), err
    assert store_rows(db, "documents") == 2
    assert parquet_rows(db, "finances") == store_rows(db, "finances") > 0
    assert leftovers(db.parent) == [(db.parent / "parquet").resolve().name]


def test_sigterm_cleans_up_like_ctrl_c(tmp_path):
    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    first = bilans("--db", str(db), "build", "--raw", str(raw), "--no-validate", cwd=tmp_path)
    assert first.wait(timeout=300) == 0
    before = db.read_bytes()
    write_manifest(raw, HEADER, ROWS)
    proc = bilans("--db", str(db), "build", "--raw", str(raw), cwd=tmp_path)  # with validation: a few seconds
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".duckdb") and p.name.startswith(".bilans-") for p in db.parent.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "the temp store never appeared"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    err = proc.stderr.read()
    assert (code, err.strip().splitlines()[-1]) == (143, "bilans : arrêté (SIGTERM)"), err
    assert db.read_bytes() == before
    assert leftovers(db.parent) == [(db.parent / "parquet").resolve().name]


@pytest.mark.parametrize("argv, message", [
    (["check", "x.txt", "--year", "99999999999"], "année hors bornes : 99999999999 (attendu : de 1900 à 2100)"),
    (["check", "x.txt", "--year", "-5"], "année hors bornes : -5 (attendu : de 1900 à 2100)"),
    (["run", "--year", "deux mille"], "année illisible « deux mille » (attendu : un nombre entier)"),
    (["run", "--org", "siim"], "organisme inconnu « siim » (attendu : SIIM94, SII)"),
    (["run", "--pole"], "argument --pole : une valeur attendue"),
    (["bâtir"], "choix invalide : 'bâtir' (valeurs possibles : 'build', "),
])
def test_bad_arguments_get_one_french_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err.splitlines()
    assert stop.value.code == 2 and err[0].startswith("utilisation : bilans")
    assert " : erreur : " in err[-1] and message in err[-1]


def test_org_is_read_whatever_its_case():
    assert parser().parse_args(["run", "--org", "siim94", "--year", "2017"]).org == "SIIM94"
    assert parser().parse_args(["check", "a.txt", "--org", "Sii"]).org == "SII"


def test_db_aimed_at_a_folder_or_another_file(tmp_path, capsys):
    raw = corpus(tmp_path)
    folder = tmp_path / "magasins"
    folder.mkdir()
    assert main(["--db", str(folder), "build", "--raw", str(raw), "--no-validate"]) == 2
    assert capsys.readouterr().err == (f"bilans : --db {folder} n'est pas un fichier (un dossier ?) : donnez le "
                                       "chemin du magasin, par exemple data/curated/bilans.duckdb\n")
    assert list(folder.iterdir()) == []
    assert main(["--db", str(folder), "report", "--out", str(tmp_path / "reports")]) == 2
    assert capsys.readouterr().err.startswith(f"bilans : --db {folder} n'est pas un fichier (un dossier ?)")
    notes = tmp_path / "notes.duckdb"
    notes.write_text("pas un magasin", encoding="utf-8")
    assert main(["--db", str(notes), "build", "--raw", str(raw), "--no-validate"]) == 2
    err = capsys.readouterr().err
    assert "existe mais n'est pas un magasin lisible" in err and "« bilans build --force » pour l'écraser" in err
    assert notes.read_text(encoding="utf-8") == "pas un magasin"
    assert main(["--db", str(notes), "build", "--raw", str(raw), "--no-validate", "--force"]) == 0
    assert store_rows(notes, "documents") == 2


def test_interrupted_after_the_swap_says_the_store_is_replaced(tmp_path, capsys, monkeypatch):
    """A Ctrl-C while GE's results are written: the store is already the new one, and the message says
    so; the next build writes what was left undone."""
    import pipelines.build as build
    from pipelines.validate.stored_results import gx_dir

    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "_write_gx", interrupted)
    assert main(["--db", str(db), "build", "--raw", str(raw)]) == 130
    err = capsys.readouterr().err.splitlines()
    assert "est déjà remplacé par la nouvelle construction" in err[0] and str(db.name) in err[0]
    assert err[1] == "bilans : interrompu"
    assert store_rows(db, "documents") == 2 and not (gx_dir(db) / "validations").exists()
    monkeypatch.undo()
    assert main(["--db", str(db), "build", "--raw", str(raw)]) == 0
    assert len(list((gx_dir(db) / "validations").glob("*.json"))) > 0


def test_report_does_not_publish_the_data_docs_of_the_store_before(tmp_path, capsys, monkeypatch):
    """A build stopped after the swap leaves beside the new store the Data Docs of the store before:
    `bilans report` says so and publishes none (nor keeps its earlier copy) until a build writes them."""
    import pipelines.build as build

    raw, out = corpus(tmp_path), tmp_path / "reports"
    db = tmp_path / "curated" / "bilans.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(raw)]) == 0
    assert main(["--db", str(db), "report", "--out", str(out)]) == 0
    assert (out / "data_docs" / "index.html").is_file()
    report = raw / "r2023.txt"  # a total that no longer foots: a finding the Data Docs before lack
    report.write_text(report.read_text(encoding="utf-8").replace("| 4 900 000,00 |", "| 4 800 000,00 |"),
                      encoding="utf-8")

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "_write_gx", interrupted)
    assert main(["--db", str(db), "build", "--raw", str(raw)]) == 130
    capsys.readouterr()
    assert main(["--db", str(db), "report", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Data Docs non publiées" in said and "relancez « bilans build »" in said
    assert not (out / "data_docs").exists()
    monkeypatch.undo()
    assert main(["--db", str(db), "build", "--raw", str(raw)]) == 0
    assert main(["--db", str(db), "report", "--out", str(out)]) == 0
    assert "Data Docs : " in capsys.readouterr().out
    assert "(4 800 000) ne correspond pas" in (out / "data_docs" / "validations" / "totaux.html").read_text(encoding="utf-8")


def test_interrupted_just_as_the_store_is_swapped_says_it_is_replaced(tmp_path, capsys, monkeypatch):
    """A Ctrl-C that lands right after the swap, still inside atomic_store: the store is the new one."""
    import pipelines.store as store

    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    real = store.os.replace

    def replaced_then_interrupted(src, dst):
        real(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(store.os, "replace", replaced_then_interrupted)
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 130
    err = capsys.readouterr().err.splitlines()
    assert "est déjà remplacé par la nouvelle construction" in err[0] and err[1] == "bilans : interrompu"
    assert store_rows(db, "documents") == 2


@pytest.mark.parametrize("error", [RuntimeError("Query interrupted"),
                                   duckdb.TransactionException("Current transaction is aborted (please ROLLBACK)")])
def test_duckdb_error_of_a_ctrl_c_is_an_interruption(tmp_path, capsys, monkeypatch, error):
    """DuckDB turns a Ctrl-C that lands during a query into its own error: the user reads « interrompu »
    (code 130), not a traceback nor « magasin illisible », and the store is untouched."""
    import pipelines.build as build
    from pipelines import terminal

    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    before = db.read_bytes()
    capsys.readouterr()

    def ctrl_c_during_a_query(*_):
        terminal._INTERRUPTED.append(signal.SIGINT)  # what the SIGINT handler records
        raise error

    monkeypatch.setattr(build, "_write_store", ctrl_c_during_a_query)
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 130
    assert capsys.readouterr().err.splitlines() == ["bilans : interrompu"]
    assert db.read_bytes() == before and leftovers(db.parent) == [(db.parent / "parquet").resolve().name]


def test_parquet_export_past_its_memory_bound_is_written_unbounded(tmp_path, capsys, monkeypatch):
    """The export runs under EXPORT_MEMORY_LIMIT_MB; an operator that cannot stay under it (here, a bound
    of nothing) does not lose the export: it is written again without the bound, whole."""
    import pipelines.build as build_module

    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    monkeypatch.setattr(build_module, "EXPORT_MEMORY_LIMIT_MB", 0)
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    assert (db.parent / "parquet").is_symlink() and parquet_rows(db, "finances") == store_rows(db, "finances") > 0
    assert leftovers(db.parent) == [(db.parent / "parquet").resolve().name]
    assert capsys.readouterr().err == ("bilans : l'export Parquet dépasse sa mémoire bornée (0 Mo) ; "
                                       "reprise sans cette borne\n")
