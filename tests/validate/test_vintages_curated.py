"""vintage.restated over the curated series, through `bilans check` against a store.

Issue 20's two 2022 cases on the seeds (chapter 70 restated with its totals footing; chapters 011
and 012 swapped), then the same on two small invented reports (tests/fixtures/millesimes/), where a
contribution and a staff count are restated too. The earlier reports print their budget with no
year column (« Mandats émis »): the year comes from the report itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "data" / "raw"
INVENTED = ROOT / "tests" / "fixtures" / "millesimes"


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line holding `needle` (tab-insensitive)."""
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line.replace("\t", " "):
            return n
    raise AssertionError(needle)


def edited(text: str, *pairs: tuple[str, str]) -> str:
    """`text` with each old string replaced by its new one, at once (a swap stays a swap)."""
    marks = {f"\x00{i}\x00": new for i, (_, new) in enumerate(pairs)}
    for i, (old, _) in enumerate(pairs):
        assert old in text, old
        text = text.replace(old, f"\x00{i}\x00")
    for mark, new in marks.items():
        text = text.replace(mark, new)
    return text


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One store for the module: the seed siim94_2021 and the invented sii_2020."""
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SEEDS / "siim94_2021.txt", raw)
    shutil.copy(INVENTED / "sii_2020.txt", raw)
    (raw / "manifest.csv").write_text(
        "file,org,report_year,title,original_file\n"
        "siim94_2021.txt,SIIM94,2021,Bilan d'activité 2021 du SIIM94,a.txt\n"
        "sii_2020.txt,SII,2020,Rapport d'activité 2020 du SII,b.txt\n", encoding="utf-8")
    db = raw.parent / "store.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    return db


def check(db: Path, files: list[Path], org: str, year: int, capsys) -> list[dict]:
    capsys.readouterr()
    main(["--db", str(db), "check", *map(str, files), "--json", "--org", org, "--year", str(year)])
    return json.loads(capsys.readouterr().out)


def restated(found: list[dict], path: Path) -> list[tuple]:
    """(line, found, expected) of the table figures restated (the prose has its own, older findings)."""
    return sorted((f["line"], f["found"], f["expected"]) for f in found
                  if f["rule"] == "vintage.restated" and f["document"] == str(path) and f["table"])


@pytest.fixture(scope="module")
def seeds_2022(store, tmp_path_factory):
    """Two drafts of the 2022 report checked in one run: chapter 70 of 2021 raised by 40 000 €
    (sub-totals and total raised to match, so that everything foots), chapters 011 and 012 swapped."""
    text = (SEEDS / "siim94_2022.txt").read_text(encoding="utf-8")
    folder = tmp_path_factory.mktemp("brouillons")
    ch70 = folder / "ch70.txt"
    ch70.write_text(edited(text, ("697 578,47 €", "737 578,47 €"), ("6 713 271,17 €", "6 753 271,17 €"),
                           ("6 717 398,43 €", "6 757 398,43 €")), encoding="utf-8")
    swap = folder / "swap.txt"
    swap.write_text(edited(text, ("2 214 727,45 €", "3 544 981,77 €"), ("3 544 981,77 €", "2 214 727,45 €")),
                    encoding="utf-8")
    return text, ch70, swap


def test_seeds_chapter_70_restated_with_its_totals(store, seeds_2022, capsys):
    text, ch70, swap = seeds_2022
    found = check(store, [ch70, swap], "SIIM94", 2022, capsys)
    old = (SEEDS / "siim94_2021.txt").read_text(encoding="utf-8")
    draft = ch70.read_text(encoding="utf-8")
    l70, l70_2021 = line_of(draft, "70 Produits services"), line_of(old, "70 Produits services")
    got = restated(found, ch70)
    assert got == [
        (l70, "737 578,47 €", "697 578,47 €"),
        (line_of(draft, "Total des recettes de gestion courante"), "6 753 271,17 €", "6 713 271,17 €"),
        (line_of(draft, "Total des recettes réelles de fonctionnement"), "6 757 398,43 €", "6 717 398,43 €"),
        (line_of(draft, "TOTAL  6 757"), "6 757 398,43 €", "6 717 398,43 €"),
    ]
    row = next(f for f in found if f["document"] == str(ch70) and f["line"] == l70 and f["rule"] == "vintage.restated")
    assert row["severity"] == "warning" and row["family"] == "finances" and row["exercice"] == 2021
    # a year is an integer in --json whatever the rule (2021, never 2021.0: pandas gave a float beside a NaN)
    assert {type(f["exercice"]) for f in found} == {int, type(None)}
    assert f"ce rapport (2022, ligne {l70})" in row["message"]
    assert f"rapport 2021 (siim94_2021, ligne {l70_2021})" in row["message"]
    # the swap, checked in the same run: both chapters, each citing its own 2021 line
    l011, l012 = line_of(text, "011 Charges à caractère"), line_of(text, "012 Charges de personnel")
    assert restated(found, swap) == [(l011, "3 544 981,77 €", "2 214 727,45 €"),
                                     (l012, "2 214 727,45 €", "3 544 981,77 €")]
    messages = {f["line"]: f["message"] for f in found if f["document"] == str(swap) and f["rule"] == "vintage.restated"}
    assert f"(siim94_2021, ligne {line_of(old, '011 Charges à caractère')})" in messages[l011]
    assert f"(siim94_2021, ligne {line_of(old, '012 Charges de personnel')})" in messages[l012]


def test_invented_reports_budget_contribution_and_staff_restated(store, tmp_path, capsys):
    """sii_2021.txt agrees with sii_2020.txt (no finding); its copy restates chapter 70 (total
    footing), swaps 011 and 012, raises La Courneuve's 2020 contribution and lowers the 2020
    count of engineers, each with its total."""
    clean = INVENTED / "sii_2021.txt"
    text, old = clean.read_text(encoding="utf-8"), (INVENTED / "sii_2020.txt").read_text(encoding="utf-8")
    draft = tmp_path / "sii_2021_revu.txt"
    draft.write_text(edited(
        text, ("412 350,20 €\t", "432 350,20 €\t"), ("3 594 860,55 €\t", "3 614 860,55 €\t"),
        ("1 204 118,62 €\t", "2 051 300,14 €\t"), ("2 051 300,14 €\t", "1 204 118,62 €\t"),
        ("La Courneuve\t655 000 €", "La Courneuve\t665 000 €"), ("Total\t3 180 400 €", "Total\t3 190 400 €"),
        ("Ingénieur\t11\t", "Ingénieur\t10\t"), ("Total\t\t\t33\t", "Total\t\t\t32\t")), encoding="utf-8")
    found = check(store, [clean, draft], "SII", 2021, capsys)
    assert [f for f in found if f["document"] == str(clean) and f["rule"].startswith("vintage")] == []
    t = draft.read_text(encoding="utf-8")
    assert restated(found, draft) == sorted([
        (line_of(t, "70 Produits des services"), "432 350,20 €", "412 350,20 €"),
        (line_of(t, "Total des recettes réelles"), "3 614 860,55 €", "3 594 860,55 €"),
        (line_of(t, "011 Charges"), "2 051 300,14 €", "1 204 118,62 €"),
        (line_of(t, "012 Charges"), "1 204 118,62 €", "2 051 300,14 €"),
        (line_of(t, "La Courneuve"), "665 000 €", "655 000 €"),
        (line_of(t, "Total 3 190 400"), "3 190 400 €", "3 180 400 €"),
        (line_of(t, "Ingénieur"), "10", "11"),
        (line_of(t, "Total   32"), "32", "33"),
    ])
    by_line = {f["line"]: f for f in found if f["document"] == str(draft) and f["rule"] == "vintage.restated"}
    for needle, family in (("La Courneuve", "contributions"), ("Ingénieur", "effectifs")):
        row = by_line[line_of(t, needle)]
        assert row["family"] == family
        assert f"rapport 2020 (sii_2020, ligne {line_of(old, needle)})" in row["message"]


def test_invented_reports_shifted_header_and_stale_tables(store, tmp_path, capsys):
    """Two more drafts of 2021: the contributions printed under « 2019 | 2020 » instead of
    « 2020 | 2021 » (header.year, no restatement on top); the 2020 report sent again as 2021, its
    one-year budget tables (« Titres émis », « Mandats émis ») unchanged (vintage.stale)."""
    later, old = (INVENTED / "sii_2021.txt").read_text(encoding="utf-8"), (INVENTED / "sii_2020.txt").read_text(
        encoding="utf-8")
    shifted = tmp_path / "decale.txt"
    shifted.write_text(edited(later, ("Adhérent\t2020\t2021", "Adhérent\t2019\t2020")), encoding="utf-8")
    copied = tmp_path / "recopie.txt"
    copied.write_text(edited(old, ("Rapport d'activité 2020 du SII", "Rapport d'activité 2021 du SII")),
                      encoding="utf-8")
    found = check(store, [shifted, copied], "SII", 2021, capsys)
    head = line_of(later, "Adhérent")
    assert [(f["rule"], f["line"], f["found"], f["expected"]) for f in found if f["document"] == str(shifted)] == [
        ("header.year", head, "2019", "2020")]
    assert f"ceux de 2020 dans le rapport 2020 (sii_2020, ligne {line_of(old, 'Bobigny')})" in next(
        f["message"] for f in found if f["document"] == str(shifted))
    stale = sorted(f["line"] for f in found if f["document"] == str(copied) and f["rule"] == "vintage.stale")
    budget = [line_of(old, needle) for needle in (
        "70 Produits", "74 Dotations", "75 Autres", "Total des recettes réelles", "011 Charges", "012 Charges",
        "65 Autres", "Total des dépenses réelles")]
    assert stale == budget
    assert [f["rule"] for f in found if f["document"] == str(copied) and f["rule"] != "vintage.stale"] == []
