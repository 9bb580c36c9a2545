"""`bilans check DRAFT --watch` keeps the draft's series.break rows family by family (pipelines/live.py
KeptFigures.series_rows) and makes again those of the families whose figures changed: every save must
give exactly the findings of a cold `bilans check` of the same bytes, also when a changed figure
removes a series.break finding, and a figure changed in another family must reuse the rows kept.

The store holds the SIIM94 report of 2017 (data/raw); the draft is the 2018 report, whose MCO table
renames « Administratif » « Assistance » with the same figures (a series.break of tests/validate/
test_validate_seeds.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.check import check_findings, findings_for
from pipelines.cli import main
from pipelines.validate.series import series_break_checks

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data" / "raw"
RENAMED = ("Assistance\t63 jour\t25 jour\t116 jour", "Assistance\t73 jour\t35 jour\t116 jour")
CONTRIBUTION = ("Arcueil\t309 012 €", "Arcueil\t309 013 €")  # another family than the MCO table's


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("raw_siim94")
    shutil.copy(RAW / "siim94_2017.txt", folder / "siim94_2017.txt")
    (folder / "manifest.csv").write_text("file,org,report_year,title,original_file\n"
                                         "siim94_2017.txt,SIIM94,2017,Bilan 2017,a.txt\n", encoding="utf-8")
    db = tmp_path_factory.mktemp("magasin_series") / "store.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(folder), "--no-validate"]) == 0
    return db


def _records(found) -> list[dict]:
    return json.loads(found.to_json(orient="records", force_ascii=False))


def _replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_series_break_rows_are_kept_by_family_and_equal_a_cold_check(store, tmp_path):
    from pipelines.live import Session

    original = (RAW / "siim94_2018.txt").read_text(encoding="utf-8")
    versions = {
        "original": original,
        "une contribution changée": _replaced(original, *CONTRIBUTION),
        "l'assistance n'est plus l'ancien administratif": _replaced(_replaced(original, *CONTRIBUTION), *RENAMED),
        # the MCO table as it was: the finding comes back (a contribution never saved before: a new version)
        "le tableau MCO remis": _replaced(original, CONTRIBUTION[0], "Arcueil\t309 014 €"),
    }
    draft = tmp_path / "siim94_2018.txt"
    session = Session(store)
    breaks, redone = {}, {}
    try:
        for name, text in versions.items():
            draft.write_text(text, encoding="utf-8")
            warm, reads = findings_for([draft], "SIIM94", 2018, store, session)
            cold, _, missing = check_findings([draft], "SIIM94", 2018, store)
            assert missing is None
            assert _records(warm) == _records(cold), name
            breaks[name] = int((warm["rule"] == "series.break").sum())
            redone[name] = session.figures.series_redone
            # the rows themselves, in series_break_checks' order, of the draft in the session's store
            ids = [r.document_id for r in reads]
            assert session.figures.series_rows(session._con, ids) == series_break_checks(session._con, ids)
    finally:
        session.close()
    assert breaks["original"] > 0
    assert breaks["l'assistance n'est plus l'ancien administratif"] < breaks["une contribution changée"]
    assert breaks["le tableau MCO remis"] == breaks["original"]
    # the series of the contributions made again, those of the other families kept
    assert "contributions" in redone["une contribution changée"]
    assert "activite" not in redone["une contribution changée"]
    assert "activite" in redone["le tableau MCO remis"]
