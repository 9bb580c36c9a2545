"""Une construction incrémentale ne refait series.break que pour les rapports dont une série est atteinte
par le changement (series.series_plan) : les autres gardent leurs constats et leurs parts de résultat,
et le magasin est celui d'une construction complète."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_flow import _same_gx, _tables  # noqa: E402
from test_incremental_reach import _report  # noqa: E402

from pipelines.build import build  # noqa: E402
from pipelines.validate import series  # noqa: E402

# name -> (report year, the domain « Santé » printed under another name, figures shifted): from 2019
# on, « Santé » is printed « Prévention santé » with the same figures, a renaming series.break reports
# in the 2019 report (its 2018 column against the 2018 report's)
BEFORE = {"siim94_2017": (2017, False, 0), "siim94_2018": (2018, False, 0), "siim94_2019": (2019, True, 0),
          "siim94_2020": (2020, True, 0)}
CASES = {  # after, the reports whose series are made again
    # a second edition of 2017, after the first by document_id and equal to it: it is the first figure
    # of no slot (year, exercice, concept), nothing it prints changes a series
    "seconde édition égale": ({**BEFORE, "siim94_2017b": (2017, False, 0)}, {"siim94_2017b"}),
    # a new year prints new exercices: its series are reached, and the reports with a row there
    "année nouvelle": ({**BEFORE, "siim94_2021": (2021, True, 0)}, {"siim94_2019", "siim94_2021"}),
    # the 2020 report prints another figure for 2020: its series is reached, with 2019's renaming
    "modifié": ({**BEFORE, "siim94_2020": (2020, True, 40)}, {"siim94_2019", "siim94_2020"}),
}


def _corpus(raw: Path, reports: dict[str, tuple[int, bool, int]]) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    lines = ["file,org,report_year,title"]
    for name, (year, renamed, shift) in reports.items():
        text = _report(year, shift)
        (raw / f"{name}.txt").write_text(text.replace("Santé", "Prévention santé") if renamed else text,
                                         encoding="utf-8")
        lines.append(f"{name}.txt,SIIM94,{year},bilan {name}")
    (raw / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _breaks(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT document_id, line, key FROM findings WHERE rule = 'series.break' "
                           "ORDER BY ALL").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("case", list(CASES))
def test_series_break_is_redone_for_the_reports_a_change_reaches_only(case, tmp_path, monkeypatch):
    after, redone = CASES[case]
    inc, full = tmp_path / "incremental", tmp_path / "complet"
    for folder in (inc, full):
        folder.mkdir()
    monkeypatch.chdir(inc)  # both stores quote « raw/… » (vintage.duplicate names the files)
    _corpus(Path("raw"), BEFORE)
    build(Path("raw"), Path("s.duckdb"))
    assert [(d, k) for d, _, k in _breaks(Path("s.duckdb"))] == [
        ("siim94_2019", "activite | Prévention santé | jours | si/domaine")]
    plans = []
    plan = series.series_plan

    def spy(*args):
        plans.append(plan(*args))
        return plans[-1]

    monkeypatch.setattr(series, "series_plan", spy)
    _corpus(Path("raw"), after)
    build(Path("raw"), Path("s.duckdb"))
    assert [p.redone for p in plans] == [redone]
    monkeypatch.chdir(full)
    _corpus(Path("raw"), after)
    build(Path("raw"), Path("s.duckdb"), incremental=False)
    expected, got = _tables(full / "s.duckdb"), _tables(inc / "s.duckdb")
    assert {t: rows for t, rows in got.items() if rows != expected[t]} == {}
    assert _breaks(inc / "s.duckdb") == _breaks(full / "s.duckdb") != []
    _same_gx(inc / "s.duckdb", full / "s.duckdb")
