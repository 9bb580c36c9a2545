"""build_table keeps the tables it built (extract.tables._BUILT) for a draft read again on every save
(`bilans check --watch`): a table found again is the table a first reading gives, moved to its lines,
and a change inside it is read."""

from __future__ import annotations

from pathlib import Path

import pipelines.extract.tables as tables
from pipelines.flow import Source, read_one

REPORT = """Rapport d'activité 2021 du SII

Cotisations des adhérents
Adhérent\t2020\t2021
Bobigny\t1 250 000 €\t1 270 000 €
Pantin\t410 000 €\t420 000 €
Total\t1 660 000 €\t1 690 000 €

Le syndicat a traité 845 demandes en 2021.
"""


def _rows(path: Path, text: str) -> dict:
    path.write_text(text, encoding="utf-8")
    return read_one(Source(path, "SII", 2021, "brouillon"), keep_going=False).rows


def _cold(path: Path, text: str) -> dict:
    tables._BUILT.clear()
    return _rows(path, text)


def test_a_table_built_before_is_moved_to_its_lines_and_a_changed_cell_is_read(tmp_path):
    draft = tmp_path / "brouillon.txt"
    _cold(draft, REPORT)
    moved = REPORT.replace("\n\n", "\n\nParagraphe ajouté.\n\n", 1)
    warm = _rows(draft, moved)
    assert len(tables._BUILT) == 1  # found again, not built anew
    assert [t["table_id"] for t in warm["tables"]] == ["brouillon@6"]
    assert [c["line"] for c in warm["cells"] if c["text"] == "1 270 000 €"] == [7]
    assert repr(warm) == repr(_cold(draft, moved))
    changed = moved.replace("Bobigny\t1 250 000 €\t1 270 000 €", "Bobigny\t1 250 000 €\t1 280 000 €")
    _rows(draft, moved)
    warm = _rows(draft, changed)
    assert [c["value"] for c in warm["cells"] if c["line"] == 7] == [None, 1_250_000.0, 1_280_000.0]
    assert repr(warm) == repr(_cold(draft, changed))


def test_a_table_found_again_is_a_copy_of_its_own(tmp_path):
    """The caller sets the family of each table it gets: the kept table is not that one."""
    draft = tmp_path / "brouillon.txt"
    _cold(draft, REPORT)
    block = tables.find_blocks(REPORT.split("\n"), set())[0]
    first = tables.build_table(block, "brouillon", "Cotisations", None)
    first.family, first.rows[1].cells[1].value = "contributions", 0.0
    again = tables.build_table(block, "brouillon", "Cotisations", None)
    assert again.family is None and again.rows[1].cells[1].value == 1_250_000.0


def test_the_figures_of_a_text_cell_name_the_table_where_it_now_is(tmp_path):
    """The figures of prose in a cell are kept by their text (narrative._figures_from_line_0), without
    the table id, which moves with the table's first line: each reading names the table as it stands."""
    report = ("Rapport d'activité 2021 du SII\n\nPoints de repère\nThème\tCommentaire\n"
              "Assistance\tLe centre de services a traité 845 demandes en 2021, contre 790 en 2020.\n"
              "Réseau\tLa fibre relie désormais 12 sites du syndicat.\n")
    draft = tmp_path / "brouillon.txt"
    first = _cold(draft, report)
    moved = _rows(draft, report.replace("\n\n", "\n\nParagraphe ajouté.\n\n", 1))
    before = [(n["table_id"], n["line"], n["text"]) for n in first["narratifs"] if n["table_id"]]
    after = [(n["table_id"], n["line"], n["text"]) for n in moved["narratifs"] if n["table_id"]]
    assert before and [t for t, _, _ in before] == ["brouillon@4"] * len(before)
    assert after == [("brouillon@6", line + 2, text) for _, line, text in before]
