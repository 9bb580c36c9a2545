"""Une construction incrémentale ne refait que les pages Data Docs des suites dont le résultat a changé ;
les autres gardent leurs fichiers, à l'heure de la construction près, et sont celles qu'écrirait une
construction complète."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_incremental_reach import _corpus, _years  # noqa: E402

from pipelines.build import build  # noqa: E402
from pipelines.validate import data_docs  # noqa: E402
from pipelines.validate.stored_results import DATA_DOCS, VALIDATIONS, gx_dir  # noqa: E402

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:\+00:00|Z)")


def _files(db: Path) -> dict[str, str]:
    """Every stored result and page of the store's Data Docs, by path, its run times blanked."""
    folder = gx_dir(db)
    paths = [*sorted((folder / VALIDATIONS).glob("*.json")), *sorted((folder / DATA_DOCS).rglob("*.html"))]
    return {str(p.relative_to(folder)): _TIME.sub("<heure>", p.read_text(encoding="utf-8")) for p in paths}


def _rendered(monkeypatch) -> list[str]:
    """The suites whose validation page is rendered during the builds that follow."""
    seen: list[str] = []
    page = data_docs.validation_page

    def spy(result):
        seen.append(result.suite_name)
        return page(result)

    monkeypatch.setattr(data_docs, "validation_page", spy)
    return seen


def test_an_incremental_build_renders_the_pages_of_the_suites_that_changed_only(tmp_path, monkeypatch):
    inc, full = tmp_path / "incremental", tmp_path / "complet"
    for folder in (inc, full):
        folder.mkdir()
    monkeypatch.chdir(inc)  # both stores quote « raw/… » (vintage.duplicate names the files)
    _corpus(Path("raw"), _years(2017, 2018, 2019, 2020))
    build(Path("raw"), Path("s.duckdb"))
    before = _files(Path("s.duckdb"))
    # the 2018 report prints another figure (its total agrees): the comparisons of 2019 with it
    # change (millesimes), the checks of the totals find what they found (totaux, entetes…)
    _corpus(Path("raw"), {**_years(2017, 2018, 2019, 2020), "siim94_2018": (2018, 2)})
    rendered = _rendered(monkeypatch)
    build(Path("raw"), Path("s.duckdb"))
    after = _files(Path("s.duckdb"))
    changed = {Path(p).stem for p in after if p.startswith("validations") and after[p] != before.get(p)}
    assert changed and sorted(rendered) == sorted(changed)  # the others are left as they were
    monkeypatch.chdir(full)
    _corpus(Path("raw"), {**_years(2017, 2018, 2019, 2020), "siim94_2018": (2018, 2)})
    build(Path("raw"), Path("s.duckdb"), incremental=False)
    assert _files(Path("s.duckdb")) == after  # pages and results, kept or rendered, are a full build's
    kept = sorted({Path(p).stem for p in after if p.startswith(VALIDATIONS)} - changed)
    assert kept, "aucune suite gardée : le test ne montre rien"
    page = (gx_dir(inc / "s.duckdb") / DATA_DOCS / "validations" / f"{kept[0]}.html").read_text(encoding="utf-8")
    run_time = (gx_dir(inc / "s.duckdb") / VALIDATIONS / f"{kept[0]}.json").read_text(encoding="utf-8")
    stamped = re.search(r'"run_time": "([^"]+)"', run_time)[1]
    assert data_docs._shown_time(stamped) in page  # a kept page says this build's time
    index = (gx_dir(inc / "s.duckdb") / DATA_DOCS / "index.html").read_text(encoding="utf-8")
    assert f'data-suite="{kept[0]}">{data_docs._shown_time(stamped)}</td>' in index  # the index dates each suite
    # a build that finds the results unchanged gives the index its time too (restamp)
    data_docs.restamp(gx_dir(inc / "s.duckdb"), "2031-02-03T04:05:06+00:00")
    index = (gx_dir(inc / "s.duckdb") / DATA_DOCS / "index.html").read_text(encoding="utf-8")
    suites = {Path(p).stem for p in after if p.startswith(VALIDATIONS)}
    assert re.findall(r'data-suite="([^"]+)">2031-02-03T04:05:06Z<', index) == sorted(suites)


def test_index_counts_are_written_as_the_pages_write_them():
    """« 1 300 contrôles » on a suite's page, 1 300 in the index (not « 1300 »)."""
    page = data_docs.index_page([{"name": "totaux", "description": "Totaux", "success": False, "unexpected": 1250,
                                  "checked": 1300, "run_time": None}], "")
    assert "<td>1\u202f300</td><td><span class=\"ko\">1\u202f250 constats</span></td>" in page
