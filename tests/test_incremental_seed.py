"""Une construction incrémentale part d'une copie du fichier du magasin précédent (store.atomic_store,
seed) et en retire ce qui a changé (flow._prune_copy) : le magasin est celui d'une construction
complète. Un magasin d'un autre schéma, ou dont trop de blocs sont libres, est réécrit comme avant
(les documents gardés copiés ligne à ligne dans un magasin neuf)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_flow import _same_gx, _tables  # noqa: E402
from test_incremental_reach import _corpus, _years  # noqa: E402

from pipelines import build as build_module  # noqa: E402
from pipelines import flow  # noqa: E402
from pipelines.build import build  # noqa: E402


def _seeds(monkeypatch) -> list:
    """The `seed` each build of the test gives store.atomic_store (None: a new, empty store)."""
    seen: list = []
    atomic = build_module.atomic_store

    def spy(db_path, seed=None):
        seen.append(seed)
        return atomic(db_path, seed=seed)

    monkeypatch.setattr(build_module, "atomic_store", spy)
    return seen


def _full(tmp_path: Path, monkeypatch, reports: dict, validate: bool = True) -> Path:
    """A full build of `reports`, quoting the same paths as the incremental one (« raw/… »)."""
    folder = tmp_path / "complet"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    _corpus(Path("raw"), reports)
    build(Path("raw"), Path("s.duckdb"), validate=validate, incremental=False)
    return folder / "s.duckdb"


def _same_store(inc: Path, full: Path) -> None:
    expected, got = _tables(full), _tables(inc)
    assert {t: rows for t, rows in got.items() if rows != expected[t]} == {}


def _publications(db: Path) -> list:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT page, metrique, valeur FROM publications ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_a_store_copied_then_pruned_equals_a_full_build_report_by_report(tmp_path, monkeypatch):
    """Three builds from copies of the store: a report added, one changed and one removed, then nothing
    changed; each equals a full build of its corpus (every table, GE's results, the Data Docs index)."""
    seeds = _seeds(monkeypatch)
    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018, 2019))
    build(Path("raw"), Path("s.duckdb"))
    steps = [{**_years(2017, 2018, 2019), "siim94_2020": (2020, 0)},
             {"siim94_2017": (2017, 4), "siim94_2019": (2019, 0), "siim94_2020": (2020, 0)},
             {"siim94_2017": (2017, 4), "siim94_2019": (2019, 0), "siim94_2020": (2020, 0)}]
    for i, reports in enumerate(steps):
        monkeypatch.chdir(tmp_path)
        _corpus(Path("raw"), reports)
        build(Path("raw"), Path("s.duckdb"), force=True)
        assert seeds[-1] == Path("s.duckdb")
        full = _full(tmp_path / f"etape{i}", monkeypatch, reports)
        _same_store(tmp_path / "s.duckdb", full)
        _same_gx(tmp_path / "s.duckdb", full)
    assert seeds[0] is None  # the first build: no store to copy


def test_a_store_of_another_schema_is_written_anew(tmp_path, monkeypatch):
    """A previous store with a table this version does not make, or a column of another type, is not
    copied (it would keep them): the kept documents are copied row by row into a new store, which equals
    a full build."""
    seeds = _seeds(monkeypatch)
    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018))
    for change in ("CREATE TABLE ancienne (x INTEGER)", "ALTER TABLE sections ALTER level TYPE BIGINT"):
        build(Path("raw"), Path("s.duckdb"), incremental=False)
        con = duckdb.connect("s.duckdb")
        con.execute(change)
        con.close()
        build(Path("raw"), Path("s.duckdb"))
        assert seeds[-1] is None
        con = duckdb.connect("s.duckdb", read_only=True)
        assert "ancienne" not in {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 'sections' "
                           "AND column_name = 'level'").fetchone() == ("INTEGER",)
        con.close()
    full = _full(tmp_path, monkeypatch, _years(2017, 2018))
    _same_store(tmp_path / "s.duckdb", full)


def test_a_store_with_many_free_blocks_is_written_anew_and_compact(tmp_path, monkeypatch):
    """A copy keeps the free blocks of its file: past flow.SEED_FREE of them, the store is written anew,
    and is smaller (flow.SEED_SLACK_MB set to 0: a test store is small)."""
    seeds = _seeds(monkeypatch)
    monkeypatch.setattr(flow, "SEED_SLACK_MB", 0)
    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018))
    build(Path("raw"), Path("s.duckdb"))
    con = duckdb.connect("s.duckdb")
    con.execute("CREATE TABLE lest AS SELECT md5(i::VARCHAR) AS t FROM range(200000) r(i)")
    con.execute("CHECKPOINT")
    # a table written again after the ballast: the ballast's blocks are not the end of the file (DuckDB
    # cuts the free blocks at the end of a file)
    con.execute("CREATE TEMPORARY TABLE copie AS SELECT * FROM lignes")
    con.execute("DELETE FROM lignes")
    con.execute("INSERT INTO lignes SELECT * FROM copie")
    con.execute("CHECKPOINT")
    con.execute("DROP TABLE lest")
    con.execute("CHECKPOINT")
    total, free = con.execute("SELECT total_blocks, free_blocks FROM pragma_database_size()").fetchone()
    con.close()
    assert free > flow.SEED_FREE * total
    size = Path("s.duckdb").stat().st_size
    _corpus(Path("raw"), _years(2017, 2018, 2019))
    build(Path("raw"), Path("s.duckdb"))
    assert seeds[-1] is None and Path("s.duckdb").stat().st_size < size / 2


def test_changes_left_in_the_write_ahead_log_are_copied_with_the_store(tmp_path, monkeypatch):
    """A writer that ended without writing its changes into the file leaves them in `s.duckdb.wal`
    (here the publications' register, which a build keeps): the copy takes the log with the file."""
    seeds = _seeds(monkeypatch)
    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018))
    build(Path("raw"), Path("s.duckdb"))
    con = duckdb.connect("s.duckdb")
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("INSERT INTO publications (page, metrique, valeur) VALUES ('siim94.html', 'jours_pole', 42)")
    con.close()
    assert Path("s.duckdb.wal").is_file()
    _corpus(Path("raw"), _years(2017, 2018, 2019))
    build(Path("raw"), Path("s.duckdb"))
    assert seeds[-1] == Path("s.duckdb")
    assert _publications(Path("s.duckdb")) == [("siim94.html", "jours_pole", 42.0)]


def test_a_copied_store_built_without_checks_has_no_finding(tmp_path, monkeypatch):
    """`--no-validate` over a checked store: the copy loses its findings and GE's result parts, as a
    new store would have none."""
    seeds = _seeds(monkeypatch)
    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018, 2019))
    build(Path("raw"), Path("s.duckdb"))
    assert _tables(Path("s.duckdb"))["findings"]
    _corpus(Path("raw"), _years(2017, 2018, 2019, 2020))
    build(Path("raw"), Path("s.duckdb"), validate=False)
    assert seeds[-1] == Path("s.duckdb")
    full = _full(tmp_path, monkeypatch, _years(2017, 2018, 2019, 2020), validate=False)
    _same_store(tmp_path / "s.duckdb", full)


@pytest.mark.parametrize("kept,seeded", [(3, True), (1, False)])
def test_a_store_is_copied_when_most_of_its_documents_stay(tmp_path, monkeypatch, kept, seeded):
    """flow.SEED_KEPT: with most documents read again (new readers, new bytes), deleting them from a copy
    would cost more than copying the others: the store is written anew."""
    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018, 2019, 2020))
    build(Path("raw"), Path("s.duckdb"), validate=False)
    changed = {f"siim94_{y}": (y, 9) for y in (2017, 2018, 2019, 2020)[kept:]}
    _corpus(Path("raw"), {**_years(2017, 2018, 2019, 2020), **changed})
    sources = build_module.sources_of(build_module.load_manifest(Path("raw")).entries)
    assert flow.seed_plan(Path("s.duckdb"), sources) is seeded


def test_a_report_digest_is_computed_once_and_again_when_the_file_changes(tmp_path, monkeypatch):
    """A build digests each report once (seed_plan then run_stages ask it twice); a file written again,
    even with the same size, is digested again."""
    import hashlib

    from pipelines import flow

    report = tmp_path / "r.txt"
    report.write_bytes(b"abc")
    reads = []
    real = hashlib.file_digest
    monkeypatch.setattr(hashlib, "file_digest", lambda f, name: reads.append(f.name) or real(f, name))
    assert flow.sha256_of(report) == flow.sha256_of(report) == hashlib.sha256(b"abc").hexdigest()
    assert len(reads) == 1
    report.write_bytes(b"abd")
    assert flow.sha256_of(report) == hashlib.sha256(b"abd").hexdigest() and len(reads) == 2
    assert flow.sha256_of(tmp_path / "absent.txt") is None
