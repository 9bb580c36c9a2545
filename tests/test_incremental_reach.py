"""Une construction incrémentale refait les contrôles entre rapports des seuls rapports qu'un
changement peut atteindre (vintages.reached_by_changes) et donne le magasin d'une construction
complète : rapport ajouté au milieu des années, à la fin, seconde édition d'une année, rapport modifié,
rapport retiré."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_flow import _compared, _same_gx, _tables  # noqa: E402
from test_validate_helpers import TOC  # noqa: E402

from pipelines.build import build  # noqa: E402

DOMAINS = ("Action sociale", "Finances", "Ressources humaines", "Éducation", "Santé")
# (report year, domain) -> what the report prints for the year before instead of that year's own
# figure: restatements that the comparisons with the earlier reports must report
RESTATED = {(2019, "Action sociale"): 5, (2021, "Finances"): 7}


def _value(year: int, i: int) -> int:
    return 100 * (i + 1) + 10 * (year - 2015)


def _report(year: int, shift: int = 0) -> str:
    """A SIIM94 report of `year` printing its figures of the year before and of its own year (its last
    domain's + `shift`: another edition of that year), and no prose figure."""
    rows = []
    for i, domain in enumerate(DOMAINS):
        before = _value(year - 1, i) + RESTATED.get((year, domain), 0)
        rows.append((domain, before, _value(year, i) + (shift if i == len(DOMAINS) - 1 else 0)))
    total = ("Total", sum(r[1] for r in rows), sum(r[2] for r in rows))
    table = "\n".join(f"{d}\t{a}\t{b}" for d, a, b in [*rows, total])
    return f"Bilan d'activité {year} du SIIM94\n\n1 Pôle SI\n\nCharge\n\nDomaines\t{year - 1}\t{year}\n{table}\n\n" + TOC


def _corpus(raw: Path, reports: dict[str, tuple[int, int]]) -> None:
    """reports: document name -> (year, shift); the SII report of 2018 beside them (an organisme that
    does not change)."""
    raw.mkdir(parents=True, exist_ok=True)
    lines = ["file,org,report_year,title"]
    for name, (year, shift) in reports.items():
        (raw / f"{name}.txt").write_text(_report(year, shift), encoding="utf-8")
        lines.append(f"{name}.txt,SIIM94,{year},bilan {name}")
    (raw / "sii_2018.txt").write_text(_report(2018).replace("SIIM94", "SII"), encoding="utf-8")
    lines.append("sii_2018.txt,SII,2018,bilan SII")
    (raw / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _years(*years: int) -> dict[str, tuple[int, int]]:
    return {f"siim94_{y}": (y, 0) for y in years}


CASES = {  # before, after, the reports whose cross-report checks are made again, those restating a figure
    # 2019 compares its 2018 figures with the new report's (and vintage.stale the year before); 2020
    # prints 2019 and 2020, which the 2019 report gives after the new one
    "au milieu": (_years(2017, 2019, 2020), _years(2017, 2018, 2019, 2020), ["siim94_2018", "siim94_2019"],
                  {"siim94_2019"}),
    # no report between 2018 and 2020: 2020's column 2019 is compared with 2018's (header.year « décalé »)
    "après un trou": (_years(2017, 2020, 2021), _years(2017, 2018, 2020, 2021), ["siim94_2018", "siim94_2020"],
                      {"siim94_2021"}),
    "à la fin": (_years(2017, 2018, 2019), _years(2017, 2018, 2019, 2020), ["siim94_2020"], {"siim94_2019"}),
    # the second edition of 2018 comes after the first (document_id): the latest of its year
    "seconde édition": (_years(2017, 2018, 2019, 2020),
                        {**_years(2017, 2018, 2019, 2020), "siim94_2018b": (2018, 3)},
                        ["siim94_2018b", "siim94_2019"], {"siim94_2019"}),
    "modifié": (_years(2017, 2018, 2019, 2020), {**_years(2017, 2019, 2020), "siim94_2018": (2018, 2)},
                ["siim94_2018", "siim94_2019"], {"siim94_2019"}),
    # 2019 now compares with 2017; 2020 still with 2019
    "retiré": (_years(2017, 2018, 2019, 2020), _years(2017, 2019, 2020), ["siim94_2019"], set()),
}


def _restating(db: Path) -> set[str]:
    """The reports with a vintage.restated finding."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT document_id FROM findings WHERE rule = 'vintage.restated'").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("case", list(CASES))
def test_an_incremental_build_redoes_the_reports_a_change_reaches_and_equals_a_full_build(
        case, tmp_path, monkeypatch):
    before, after, redone, restating = CASES[case]
    inc, full = tmp_path / "incremental" / "inc.duckdb", tmp_path / "complet" / "inc.duckdb"
    inc.parent.mkdir()
    monkeypatch.chdir(inc.parent)  # both stores quote « inc/… » (vintage.duplicate names the files)
    _corpus(Path("inc"), before)
    build(Path("inc"), inc)
    if case == "retiré":
        assert _restating(inc) == {"siim94_2019"}  # against the 2018 report removed
    for name in set(before) - set(after):
        (Path("inc") / f"{name}.txt").unlink()
    _corpus(Path("inc"), after)
    compared = _compared(monkeypatch)
    build(Path("inc"), inc, force=True)
    assert compared == redone
    full.parent.mkdir()
    monkeypatch.chdir(full.parent)
    _corpus(Path("inc"), after)
    build(Path("inc"), full, incremental=False)
    expected, got = _tables(full), _tables(inc)
    assert {t: rows for t, rows in got.items() if rows != expected[t]} == {}
    assert _restating(inc) == restating
    _same_gx(inc, full)


def _run_time(db: Path) -> tuple[str, str]:
    """(run time of the stored result of the suite « totaux », its page's text)."""
    import json

    from pipelines.validate.stored_results import DATA_DOCS, VALIDATIONS, gx_dir

    folder = gx_dir(db)
    result = json.loads((folder / VALIDATIONS / "totaux.json").read_text(encoding="utf-8"))
    return result["meta"]["run_id"]["run_time"], (folder / DATA_DOCS / "validations" / "totaux.html").read_text(
        encoding="utf-8")


def test_the_run_time_of_the_data_docs_is_the_last_builds(tmp_path, monkeypatch):
    """A build that changes nothing keeps the results (not rendered again) but says its own run time,
    as an incremental build that changes some does."""
    from datetime import datetime

    from pipelines.validate.stored_results import STAMP, gx_dir

    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018))
    build(Path("raw"), Path("s.duckdb"))
    first, _ = _run_time(Path("s.duckdb"))
    stamp = (gx_dir(Path("s.duckdb")) / STAMP).read_text(encoding="utf-8")
    for after in (_years(2017, 2018), _years(2017, 2018, 2019)):
        _corpus(Path("raw"), after)
        build(Path("raw"), Path("s.duckdb"))
        now, page = _run_time(Path("s.duckdb"))
        assert now > first and datetime.fromisoformat(now).strftime("%Y-%m-%dT%H:%M:%SZ") in page
        assert datetime.fromisoformat(first).strftime("%Y-%m-%dT%H:%M:%SZ") not in page or now[:19] == first[:19]
        first = now
        if after == _years(2017, 2018):  # nothing changed: the results were not written again
            assert (gx_dir(Path("s.duckdb")) / STAMP).read_text(encoding="utf-8") == stamp


def test_dated_figures_of_the_tables_in_some_pair_are_read_from_their_labels(tmp_path, monkeypatch):
    """stored_dated_figures with curated tables builds the figures of the tables in some pair only
    (chosen from their labels in SQL): those `_in_some_pair` keeps of every figure, in the same order."""
    from test_flow import sii_store

    from pipelines.validate.vintages import _in_some_pair, stored_dated_figures

    with sii_store(tmp_path, monkeypatch) as (con, ids):
        every = stored_dated_figures(con, ids)
        tables = sorted({c["table_id"] for c in every})
        for curated in (frozenset(tables[::2]), frozenset(tables[1:]), frozenset(tables)):
            kept = _in_some_pair(every, curated)
            got = stored_dated_figures(con, ids, curated)
            assert [[c[k] for k in c.keys()] for c in got] == [[c[k] for k in c.keys()] for c in kept]
        assert 0 < len(_in_some_pair(every, frozenset(tables[::2]))) < len(every)


def _exported(folder: Path, table: str) -> list:
    con = duckdb.connect()
    try:
        glob = str(folder / table / "**" / "*.parquet").replace("'", "''")
        return sorted(map(repr, con.execute(f"SELECT * EXCLUDE (org, exercice), org, exercice::INTEGER "
                                            f"FROM read_parquet('{glob}', hive_partitioning = true)").fetchall()))
    finally:
        con.close()


def _stored(db: Path, table: str) -> list:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(map(repr, con.execute(f'SELECT * EXCLUDE (org, exercice), org, exercice::INTEGER FROM "{table}"')
                          .fetchall()))
    finally:
        con.close()


def test_the_parquet_export_writes_the_partitions_a_change_reaches_and_links_the_others(tmp_path, monkeypatch):
    """An incremental build writes the partitions (org, exercice) where a report added or removed has
    rows, and links the others to the files of the previous export (same inode): the export holds the
    store's rows, those of the report removed included out."""
    monkeypatch.chdir(tmp_path)
    db = Path("s.duckdb")
    _corpus(Path("raw"), _years(2017, 2018))
    build(Path("raw"), db)
    sii = next(Path("parquet").resolve().glob("activite/org=SII/exercice=2018/*.parquet"))
    siim = next(Path("parquet").resolve().glob("activite/org=SIIM94/exercice=2018/*.parquet"))
    kept, redone = sii.stat().st_ino, siim.stat().st_ino
    _corpus(Path("raw"), _years(2017, 2018, 2019))
    build(Path("raw"), db)
    now = Path("parquet").resolve()
    assert (now / sii.relative_to(sii.parents[3])).stat().st_ino == kept  # SII did not change
    assert (now / siim.relative_to(siim.parents[3])).stat().st_ino != redone  # 2019 prints 2018
    assert _exported(now, "activite") == _stored(db, "activite") and len(_stored(db, "activite")) > 20
    (Path("raw") / "siim94_2019.txt").unlink()
    _corpus(Path("raw"), _years(2017, 2018))
    build(Path("raw"), db, force=True)
    assert _exported(Path("parquet").resolve(), "activite") == _stored(db, "activite")
    assert not list(Path("parquet").resolve().glob("activite/org=SIIM94/exercice=2019"))


def test_an_export_written_from_another_store_of_the_folder_is_not_reused(tmp_path, monkeypatch):
    """Two stores in one folder share `parquet`: the export of the other store (its own figures) is
    never linked into this one's, whose export holds its own rows (relevé par l'essai en nouvel
    utilisateur : un montant de l'autre magasin restait dans l'export)."""
    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018))
    build(Path("raw"), Path("s.duckdb"))
    # the other store's 2017 figures differ, in partitions (SIIM94, 2016 and 2017) that adding 2019 to
    # the first store does not reach
    _corpus(Path("autre"), {"siim94_2017": (2017, 40), "siim94_2018": (2018, 0)})
    build(Path("autre"), Path("t.duckdb"))  # the link now names t's export
    _corpus(Path("raw"), _years(2017, 2018, 2019))
    build(Path("raw"), Path("s.duckdb"))
    assert _stored(Path("s.duckdb"), "activite") != _stored(Path("t.duckdb"), "activite")
    assert _exported(Path("parquet").resolve(), "activite") == _stored(Path("s.duckdb"), "activite")


def test_an_incremental_build_keeps_the_permissions_of_the_store_it_replaces(tmp_path, monkeypatch):
    """The new store takes the permissions of the one it replaces (a temp file is 0600: the group that
    serves the dashboard lost its reading), the default ones for a first store; the export folder is
    readable as a folder made by mkdir (relevé par l'essai en nouvel utilisateur)."""
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    try:
        _corpus(Path("raw"), _years(2017, 2018))
        build(Path("raw"), Path("s.duckdb"))
        assert Path("s.duckdb").stat().st_mode & 0o777 == 0o644
        os.chmod("s.duckdb", 0o640)
        _corpus(Path("raw"), _years(2017, 2018, 2019))
        build(Path("raw"), Path("s.duckdb"))
        assert Path("s.duckdb").stat().st_mode & 0o777 == 0o640
        assert Path("parquet").resolve().stat().st_mode & 0o777 == 0o755
    finally:
        os.umask(old)


@pytest.mark.parametrize("change", ["ALTER TABLE activite ADD COLUMN note_locale INTEGER",
                                    "ALTER TABLE activite DROP COLUMN perimetre"])
def test_a_store_changed_by_hand_is_rebuilt_from_what_this_version_writes(change, tmp_path, monkeypatch):
    """A column added to a store by hand is left out of the rows copied, a column dropped makes every
    document read again: either way the store equals a full build (a column added stopped every build,
    even with --force, on DuckDB's English « Binder Error » : relevé par l'essai en nouvel utilisateur)."""
    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), _years(2017, 2018))
    build(Path("raw"), Path("s.duckdb"))
    con = duckdb.connect("s.duckdb")
    con.execute(change)
    con.close()
    _corpus(Path("raw"), _years(2017, 2018, 2019))
    assert build(Path("raw"), Path("s.duckdb")) == 0
    build(Path("raw"), Path("complet.duckdb"))
    assert _stored(Path("s.duckdb"), "activite") == _stored(Path("complet.duckdb"), "activite")


def test_the_parquet_export_of_a_report_read_again_rewrites_the_partitions_it_left(tmp_path, monkeypatch):
    """A report read again whose figures moved to other years: the partitions it left are written
    again from the store (its rows there looked for in the previous export, as for a report removed),
    and the partitions of the organisme that did not change stay linked (the export was not written
    whole). A report added has no row in the previous export: it is not looked for there."""
    monkeypatch.chdir(tmp_path)
    db = Path("s.duckdb")
    _corpus(Path("raw"), _years(2017, 2018))
    build(Path("raw"), db)
    sii = next(Path("parquet").resolve().glob("activite/org=SII/exercice=2018/*.parquet"))
    kept = sii.stat().st_ino
    moved = Path("raw/siim94_2018.txt")  # its columns now say 2018 and 2019: it leaves 2017
    moved.write_text(moved.read_text(encoding="utf-8").replace("Domaines\t2017\t2018", "Domaines\t2018\t2019"),
                     encoding="utf-8")
    build(Path("raw"), db)
    now = Path("parquet").resolve()
    assert (now / sii.relative_to(sii.parents[3])).stat().st_ino == kept
    assert _exported(now, "activite") == _stored(db, "activite")
    assert list(now.glob("activite/org=SIIM94/exercice=2019/*.parquet"))
