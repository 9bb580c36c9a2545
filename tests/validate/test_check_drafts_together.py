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
