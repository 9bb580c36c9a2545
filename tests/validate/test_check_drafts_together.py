"""Drafts checked together are each compared with the store's reports, never with each other
(README « bilans check »): two drafts of one organisme and year (a DOCX and its PDF, two versions)
must each get exactly the findings they get when checked alone — series.break included, whose
latest vintage of a year would otherwise be the other draft's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.test_series import REPORT_2020, REPORT_2021  # noqa: E402

from pipelines.build import build  # noqa: E402
from pipelines.check import check_findings, findings_for  # noqa: E402

# a second version of the 2021 draft: one figure of the finances changed, the renamed series kept
SECOND = REPORT_2021.replace("Arcueil\t310 000 €", "Arcueil\t311 000 €")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    (raw / "r2020.txt").write_text(REPORT_2020, encoding="utf-8")
    (raw / "manifest.csv").write_text("file,org,report_year,title,original_file\nr2020.txt,SIIM94,2020,Bilan 2020,a\n",
                                      encoding="utf-8")
    db = tmp_path_factory.mktemp("magasin") / "bilans.duckdb"
    assert build(raw, db, validate=False) == 0
    return db


def _records(found, path) -> list[dict]:
    mine = found[found["document"] == str(path)].drop(columns=["document_id"])
    return json.loads(mine.to_json(orient="records", force_ascii=False))


@pytest.fixture
def drafts(tmp_path) -> list[Path]:
    a, b = tmp_path / "a" / "brouillon.txt", tmp_path / "b" / "brouillon.txt"  # alike names: ids a~1
    for path, text in ((a, REPORT_2021), (b, SECOND)):
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
    return [a, b]


@pytest.mark.parametrize("order", [1, -1])
def test_each_draft_checked_together_gets_its_findings_alone(store, drafts, order):
    files = drafts[::order]
    together, documents, _ = check_findings(files, "SIIM94", 2021, store)
    assert [d["path"] for d in documents] == list(map(str, files))
    for path in files:
        alone, _, _ = check_findings([path], "SIIM94", 2021, store)
        assert (alone["rule"] == "series.break").sum() == 1, path  # what the other draft hid
        assert _records(together, path) == _records(alone, path), path


def test_watch_checks_each_draft_as_alone(store, drafts):
    from pipelines.live import Session

    session = Session(store)
    try:
        warm, reads = findings_for(drafts, "SIIM94", 2021, store, session)
    finally:
        session.close()
    assert [r.source.shown for r in reads] == list(map(str, drafts))
    for path in drafts:
        alone, _, _ = check_findings([path], "SIIM94", 2021, store)
        assert _records(warm, path) == _records(alone, path), path


def test_drafts_checked_in_worker_processes_get_the_findings_of_the_serial_check(store, tmp_path, monkeypatch):
    """From check.APART_FROM drafts on, the drafts are checked in worker processes: the same findings,
    documents and order as one after the other; a file that cannot be used is still refused in one line."""
    from pipelines import check

    files = []
    for i, text in enumerate([REPORT_2021, SECOND, REPORT_2020, REPORT_2021]):
        files.append(tmp_path / f"d{i}.txt")
        files[-1].write_text(text, encoding="utf-8")
    (tmp_path / "vide.txt").write_text("", encoding="utf-8")
    files.insert(2, tmp_path / "vide.txt")
    monkeypatch.setattr(check, "APART_FROM", 10**9)
    serial_refused: list[dict] = []
    serial = check_findings(files, "SIIM94", 2021, store, serial_refused)
    monkeypatch.setattr(check, "APART_FROM", 2)
    pooled_refused: list[dict] = []
    pooled = check_findings(files, "SIIM94", 2021, store, pooled_refused)
    assert pooled[1] == serial[1] and pooled[2] == serial[2]
    assert _records(pooled[0], files[0]) and pooled[0].to_dict("records") == serial[0].to_dict("records")
    assert pooled_refused == serial_refused and [r["path"] for r in pooled_refused] == [str(files[2])]
    with pytest.raises(check.UnusableInput, match="vide"):  # without a list of refusals: the first one raises
        check_findings(files, "SIIM94", 2021, store)
