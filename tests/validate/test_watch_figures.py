"""`bilans check DRAFT --watch` keeps the curated figures of the store's vintages between saves
(pipelines/live.py KeptFigures) and computes only the draft's at each save: every save must give
exactly the findings of a cold `bilans check` of the same bytes, also when a changed figure creates or
removes a cross-report finding, and a store rebuilt during the session must be read again.

The store holds the invented SII report of 2020 (tests/fixtures/millesimes/); the draft is the 2021
report, which prints the 2020 figures again beside its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.check import check_findings, findings_for
from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]
INVENTED = ROOT / "tests" / "fixtures" / "millesimes"
# a 2020 figure given again otherwise than the 2020 report published it (vintage.restated)
RESTATED = ("412 350,20 €\t455 020,00 €", "415 350,20 €\t455 020,00 €")
# Bobigny's contribution: 2020 as published, 2021
BOBIGNY = "Bobigny\t1 250 000 €\t1 270 000 €"


def _replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _build(raw_2020: str, folder: Path, db: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "sii_2020.txt").write_text(raw_2020, encoding="utf-8")
    (folder / "manifest.csv").write_text("file,org,report_year,title,original_file\n"
                                         "sii_2020.txt,SII,2020,Rapport d'activité 2020 du SII,b.txt\n", encoding="utf-8")
    assert main(["--db", str(db), "build", "--raw", str(folder), "--no-validate"]) == 0


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("magasin_chiffres") / "store.duckdb"
    _build((INVENTED / "sii_2020.txt").read_text(encoding="utf-8"), tmp_path_factory.mktemp("raw"), db)
    return db


def _records(found) -> list[dict]:
    return json.loads(found.to_json(orient="records", force_ascii=False))


def _restated(found) -> int:
    return int((found["rule"] == "vintage.restated").sum())


def _same_as_cold(draft: Path, store: Path, session):
    warm, _ = findings_for([draft], "SII", 2021, store, session)
    cold, _, missing = check_findings([draft], "SII", 2021, store)
    assert missing is None
    assert list(warm.columns) == list(cold.columns)
    assert _records(warm) == _records(cold)
    return warm


def test_changed_figures_give_the_findings_of_a_cold_check_with_the_vintages_figures_kept(store, tmp_path):
    from pipelines.live import Session

    original = (INVENTED / "sii_2021.txt").read_text(encoding="utf-8")
    restated = _replaced(original, *RESTATED)
    versions = {
        "original": original,
        "un chiffre 2020 redonné autrement": restated,  # creates a vintage.restated finding
        # the same figure printed to the tenth: its curated row is the same, its cell (decimals, text) is not
        "le même chiffre au dixième": _replaced(restated, "415 350,20 €", "415 350,2 €"),
        "le chiffre 2020 de Bobigny aussi": _replaced(restated, BOBIGNY, "Bobigny\t1 251 000 €\t1 270 000 €"),
        "un chiffre 2021 changé": _replaced(restated, BOBIGNY, "Bobigny\t1 250 000 €\t1 260 000 €"),
        # the 2020 figure back to its published value: the finding goes (a version not seen before)
        "le chiffre 2020 remis à sa valeur publiée": _replaced(original, BOBIGNY, "Bobigny\t1 250 000 €\t1 260 000 €"),
    }
    draft = tmp_path / "sii_2021.txt"
    session = Session(store)
    counts, redone = {}, {}
    try:
        for name, text in versions.items():
            draft.write_text(text, encoding="utf-8")
            counts[name] = _restated(_same_as_cold(draft, store, session))
            redone[name] = session.figures.redone
    finally:
        session.close()
    # the figures changed reach the cross-report rule, both ways
    base = counts["original"]
    assert counts["un chiffre 2020 redonné autrement"] > base
    assert counts["le chiffre 2020 de Bobigny aussi"] == counts["un chiffre 2020 redonné autrement"] + 1
    assert counts["un chiffre 2021 changé"] == counts["un chiffre 2020 redonné autrement"]
    assert counts["le chiffre 2020 remis à sa valeur publiée"] == base
    assert counts["le même chiffre au dixième"] == counts["un chiffre 2020 redonné autrement"]
    # the draft's figures of every family at the first save, then of the family of the table changed only
    assert len(redone["original"]) > 1
    assert redone["un chiffre 2020 redonné autrement"] == redone["le même chiffre au dixième"] == ["finances"]
    assert redone["un chiffre 2021 changé"] == ["contributions"]
    # the vintages' figures were computed once for the five saves, the draft's at each
    assert session.figures.made == 1


def test_a_store_rebuilt_during_a_session_is_read_again(tmp_path):
    from pipelines.live import Session

    published = (INVENTED / "sii_2020.txt").read_text(encoding="utf-8")
    db = tmp_path / "magasin" / "store.duckdb"
    db.parent.mkdir()
    _build(published, tmp_path / "raw", db)
    draft = tmp_path / "sii_2021.txt"
    draft.write_text((INVENTED / "sii_2021.txt").read_text(encoding="utf-8"), encoding="utf-8")
    session = Session(db)
    try:
        before = _same_as_cold(draft, db, session)
        # the 2020 report corrected in the store: Bobigny's 2020 contribution is now another figure,
        # which the draft (unchanged, the same bytes) gives otherwise
        line = "Bobigny\t1 210 000 €\t1 250 000 €"
        _build(_replaced(published, line, "Bobigny\t1 210 000 €\t1 254 000 €"), tmp_path / "raw", db)
        after = _same_as_cold(draft, db, session)
    finally:
        session.close()
    assert _restated(after) == _restated(before) + 1
