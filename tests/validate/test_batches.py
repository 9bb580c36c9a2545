"""Mémoire bornée : les contrôles d'un corpus faits par petits lots de rapports donnent les constats et
les résultats GE d'un seul lot (pipelines/validate.findings_in_batches, vintages.cross_report_batches)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from bench.corpus import generate
from pipelines.build import build
from pipelines.validate import findings_in_batches, write_findings
from pipelines.validate.stored_results import PARTS, combined

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Ten generated reports (two copies of each bundled report, figures perturbed): two reports a
    year for SIIM94 (2017, 2018, 2021, 2022) and two of 2018 for the SII, no findings yet."""
    tmp = tmp_path_factory.mktemp("lots")
    corpus = generate(ROOT / "data" / "raw", tmp / "raw", 10)
    build(corpus, tmp / "s.duckdb", validate=False)
    return tmp / "s.duckdb"


def _checked(store: Path, copy: Path, batch: int) -> tuple[list[dict], dict]:
    """(the findings stored, GE's results combined from the parts stored) of a check of the whole
    store `batch` reports at a time."""
    shutil.copy(store, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute(f"DROP TABLE IF EXISTS {PARTS}")
        write_findings(con, findings_in_batches(con, with_scope=True, keep_parts=True, batch=batch))
        cur = con.execute("SELECT * FROM findings ORDER BY ALL")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()], combined(con)
    finally:
        con.close()


def test_batches_of_reports_give_the_findings_and_results_of_one_batch(store, tmp_path, monkeypatch):
    from pipelines.validate import points

    monkeypatch.setattr(points, "FIGURES_BATCH", 2)  # the figures table filled two reports at a time too
    rows, results = _checked(store, tmp_path / "un.duckdb", 64)
    assert _checked(store, tmp_path / "lots.duckdb", 3) == (rows, results)
    # the cross-report rules found something in reports of several batches of three
    cross = {(r["rule"], r["document_id"]) for r in rows if r["scope"] == "entre_rapports"}
    assert {rule for rule, _ in cross} >= {"vintage.restated", "vintage.stale"}
    assert len({d for _, d in cross}) >= 4
    assert sum(r["unexpected_count"] for r in results["millesimes"].values()) == \
        sum(1 for r in rows if r["rule"].startswith("vintage."))


def test_the_last_report_of_each_year_is_all_an_earlier_report_needs(store, tmp_path, monkeypatch):
    """The ASOF joins of vintage.restated and header.year read the last report of each year only
    (points.latest_of_year): they find what they found against every report."""
    from pipelines.validate import vintages

    found, results = _checked(store, tmp_path / "derniers.duckdb", 64)
    monkeypatch.setattr(vintages, "latest_of_year", lambda figures: figures)
    assert _checked(store, tmp_path / "tous.duckdb", 64) == (found, results)


def test_the_checks_of_a_long_corpus_say_their_progress(store, tmp_path, monkeypatch):
    """One line per batch judged: 8 reports of SIIM94 and 2 of the SII by 3 give 3 + 1 batches of own
    checks, 3 + 1 of cross-report checks, and one of the series: 9."""
    import pipelines.validate as validate

    monkeypatch.setattr(validate, "PROGRESS_FROM", 10)
    shutil.copy(store, tmp_path / "p.duckdb")
    con = duckdb.connect(str(tmp_path / "p.duckdb"))
    said: list[str] = []
    try:
        findings_in_batches(con, batch=3, echo=said.append)
        monkeypatch.setattr(validate, "PROGRESS_FROM", 11)
        findings_in_batches(con, batch=3, echo=said.append)  # 10 reports: too short to be told
    finally:
        con.close()
    assert [line.split(",")[0] for line in said] == [
        f"  contrôles : {k}/9 lots de rapports ({100 * k // 9} %)" for k in range(1, 10)]
    assert all(line.endswith(" s") for line in said)
