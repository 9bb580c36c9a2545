"""`bilans check DRAFT --watch` reuses work between saves (pipelines/live.py Session, suites.Verdicts):
every re-check must give exactly the findings a cold `bilans check` gives on the same bytes.

The store holds the invented SII report of 2020 (tests/fixtures/millesimes/); the draft is the 2021
report, two of whose 2020 figures are restated (cross-report findings) and whose total of
« Cotisations des adhérents » is made wrong (a report finding). Each edit below is saved in turn
into one session, then checked cold in a fresh store; all columns are compared.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.check import check_findings, findings_for
from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]
INVENTED = ROOT / "tests" / "fixtures" / "millesimes"
RESTATED = (("412 350,20 €\t455 020,00 €", "415 350,20 €\t455 020,00 €"),
            ("3 594 860,55 €\t3 697 000,10 €", "3 597 860,55 €\t3 697 000,10 €"),
            ("Total\t3 180 400 €\t3 240 000 €", "Total\t3 180 400 €\t3 250 000 €"))


def _replaced(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _without_line(text: str, start: str) -> str:
    lines = text.split("\n")
    kept = [x for x in lines if not x.startswith(start)]
    assert len(kept) == len(lines) - 1, start
    return "\n".join(kept)


def _versions(base: str) -> dict[str, str]:
    """The saves of an author, each from the draft as it stands: lines move, a figure, a label, a
    row, a year header change; some saves return to an earlier version (an undo)."""
    head, _, rest = base.partition("\n")
    word = ("portail de services en ligne", "portail de démarches en ligne")  # prose without a figure
    figure = ("Bobigny\t1 250 000 €\t1 270 000 €", "Bobigny\t1 250 000 €\t1 260 000 €")
    return {
        "original": base,
        "paragraphe inséré": f"{head}\n\nParagraphe ajouté pendant la relecture, sans chiffre.\n{rest}",
        "chiffre changé": _replaced(base, figure),
        "chiffre changé, puis un mot du texte": _replaced(base, figure, word),
        "retour à l'original": base,
        "un mot du texte changé": _replaced(base, word),
        "libellé changé": _replaced(base, ("Produits des services", "Produits des services rendus")),
        "ligne de tableau retirée": _without_line(base, "Tremblay-en-France\t"),
        "en-tête d'année changé": _replaced(base, ("Adhérent\t2020\t2021", "Adhérent\t2019\t2020")),
        "paragraphe inséré, de nouveau": f"{head}\n\nParagraphe ajouté pendant la relecture, sans chiffre.\n{rest}",
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(INVENTED / "sii_2020.txt", raw)
    (raw / "manifest.csv").write_text("file,org,report_year,title,original_file\n"
                                      "sii_2020.txt,SII,2020,Rapport d'activité 2020 du SII,b.txt\n", encoding="utf-8")
    db = tmp_path_factory.mktemp("magasin") / "store.duckdb"  # its own folder: other modules build theirs
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    return db


def _records(found) -> list[dict]:
    return json.loads(found.to_json(orient="records", force_ascii=False))


def test_each_save_of_a_session_gives_the_findings_of_a_cold_check(store, tmp_path):
    from pipelines.live import Session

    base = _replaced((INVENTED / "sii_2021.txt").read_text(encoding="utf-8"), *RESTATED)
    draft = tmp_path / "sii_2021.txt"
    session = Session(store)
    seen_rules: set[str] = set()
    try:
        for name, text in _versions(base).items():
            draft.write_text(text, encoding="utf-8")
            warm, _ = findings_for([draft], "SII", 2021, store, session)
            cold, _, missing = check_findings([draft], "SII", 2021, store)
            assert missing is None
            assert list(warm.columns) == list(cold.columns), name
            assert _records(warm) == _records(cold), name
            seen_rules |= set(warm["rule"])
    finally:
        session.close()
    # the edits reach report and cross-report rules alike
    assert {"total.column", "vintage.restated"} <= seen_rules
    # a save that only moved lines reused GE's verdicts; the two saves of a version seen before
    # (« retour à l'original », « paragraphe inséré, de nouveau ») were not checked again
    assert session.verdicts.reused > 0 and session.verdicts.rows_reused > 0
    assert session.versions_reused == 2
    # the two saves that changed a word of the prose only (no line moved, no figure) reused the
    # cross-report frames of the version before the word; the paragraph inserted did not (the messages
    # of the restated figures cite their moved lines); every other new version made them again
    assert session.cross_reused == 2
    assert session.own_reused == 2  # the same two: no line moved, no figure changed


def test_check_rows_are_numbered_in_the_order_pandas_gives():
    """row_order.in_order sorts in Python; it must give the order of pandas' stable sort it replaced
    (numbers as numbers, other values as their text — an integer of an object column as text —,
    missing values first, ties in their first order), on frames of the shapes the rules build."""
    import random

    import numpy as np
    import pandas as pd

    from pipelines.validate.row_order import ROW_ORDER, in_order

    def pandas_order(df):
        by = [c for c in ROW_ORDER if c in df.columns]
        return df.sort_values(by, kind="stable", na_position="first",
                              key=lambda c: c if c.dtype.kind in "iuf" else c.astype(str)).reset_index(drop=True)

    rng = random.Random(7)
    texts = [None, np.nan, "a", "b", "B", "é", "10", "9", 1, 2, 10, 2.5, 1.0]
    for trial in range(200):
        n = rng.randint(0, 30)
        lines = [rng.choice([1, 2, 10, 99, 100]) for _ in range(n)] if trial % 3 else \
            [rng.choice([1, 2.0, np.nan, 10]) for _ in range(n)]
        df = pd.DataFrame({"document_id": [rng.choice(["d1", "d2", None]) for _ in range(n)],
                           "line": pd.Series(lines, dtype=object if trial % 5 == 0 else None),
                           "table_id": pd.Series([rng.choice(texts) for _ in range(n)], dtype=object),
                           "rule": [rng.choice(["total.column", "vintage.restated"]) for _ in range(n)],
                           "found": [rng.choice(["1", None, "2"]) for _ in range(n)],
                           "position": range(n)})
        pd.testing.assert_frame_equal(in_order(df), pandas_order(df))


def test_cross_report_frames_moved_with_the_lines_give_the_findings_of_a_cold_check(store, tmp_path):
    """Lines moved above the tables (a paragraph inserted) keep what the cross-report rules read but
    their lines and table ids: their frames are reused, moved to the new lines (CrossMemo), unless the
    table ids would sort otherwise as text (« @104 » before « @86 »). Every save equals a cold check."""
    from pipelines.live import Session

    base = (INVENTED / "sii_2021.txt").read_text(encoding="utf-8")
    figure = ("Bobigny\t1 250 000 €\t1 270 000 €", "Bobigny\t1 250 000 €\t1 260 000 €")

    def inserted(text: str, n: int) -> str:  # below the summary (a table of lines 4 to 6), above the others
        heading = "\n2 Bilan financier\n"
        assert text.count(heading) == 1
        return text.replace(heading, "\nParagraphe ajouté pendant la relecture, sans chiffre.\n" * n + heading)

    versions = {
        "original": base,
        "un paragraphe inséré": inserted(base, 1),  # reused, moved
        "deux paragraphes insérés": inserted(base, 2),  # reused, moved again
        "trente-cinq paragraphes insérés": inserted(base, 35),  # « @104 » sorts before « @4 »: made again
        "chiffre changé": _replaced(base, figure),  # another figure: made again
        "chiffre changé, paragraphe inséré": inserted(_replaced(base, figure), 1),  # reused, moved
        "paragraphe retiré": base,  # a version seen: not checked again
    }
    draft = tmp_path / "sii_2021.txt"
    session = Session(store)
    try:
        for name, text in versions.items():
            draft.write_text(text, encoding="utf-8")
            warm, _ = findings_for([draft], "SII", 2021, store, session)
            cold, _, _ = check_findings([draft], "SII", 2021, store)
            assert _records(warm) == _records(cold), name
    finally:
        session.close()
    assert session.cross_reused == 3 and session.versions_reused == 1


def test_checks_of_the_draft_alone_moved_with_every_line_give_the_findings_of_a_cold_check(store, tmp_path):
    """The checks of the draft alone (totals, headers, values, text against tables, budget) read how far
    apart two lines are (a sentence within 40 lines of a table): they are reused (CrossMemo.own) when
    every line they read moved by the same count — paragraphs inserted above them all —, and made again
    when a paragraph goes between a sentence and its table. text.year, which reads the lines of text,
    is made each time. Every save equals a cold check of the same bytes, all columns."""
    from pipelines.live import Session

    base = _replaced((INVENTED / "sii_2021.txt").read_text(encoding="utf-8"), *RESTATED)
    # without the summary (a table at line 4: « @4 » would sort after « @41 » once moved, see above),
    # with a year compared with itself (text.year) and a figure of a table cited nearby (text.table)
    head, _, rest = base.partition("\n")
    rest = _without_line(_without_line(_without_line(_without_line(rest, "Sommaire"), "1 Le syndicat\t"),
                                       "2 Bilan financier\t"), "3 Ressources humaines\t")
    rest = _replaced(rest, ("Cotisations des adhérents\n", "Les cotisations des adhérents atteignent 3 240 000 € "
                            "en 2021, stables par rapport à 2021.\n\nCotisations des adhérents\n"))
    text = f"{head}\n{rest}"
    above = "Paragraphe ajouté pendant la relecture, sans chiffre.\n"
    between = ("stables par rapport à 2021.\n", "stables par rapport à 2021.\n" + above)
    figure = ("Bobigny\t1 250 000 €\t1 270 000 €", "Bobigny\t1 250 000 €\t1 260 000 €")
    versions = {  # name: (text, whether the checks of the draft are reused)
        "original": (text, False),
        "un paragraphe en tête": (f"{head}\n{above}{rest}", True),
        "deux paragraphes en tête": (f"{head}\n{above * 2}{rest}", True),
        "un paragraphe entre une phrase et son tableau": (_replaced(text, between), False),
        "chiffre changé": (_replaced(text, figure), False),
        "chiffre changé, paragraphe en tête": (f"{head}\n{above}{_replaced(rest, figure)}", True),
    }
    draft = tmp_path / "sii_2021.txt"
    session = Session(store)
    rules: set[str] = set()
    try:
        for name, (version, own) in versions.items():
            draft.write_text(version, encoding="utf-8")
            before = session.own_reused
            warm, _ = findings_for([draft], "SII", 2021, store, session)
            cold, _, _ = check_findings([draft], "SII", 2021, store)
            assert _records(warm) == _records(cold), name
            assert session.own_reused - before == own, name
            rules |= set(warm["rule"])
    finally:
        session.close()
    assert {"total.column", "text.year", "vintage.restated"} <= rules


def test_a_check_whose_text_cites_a_moved_line_is_made_again():
    """A kept check row whose message cites a line that moved (« ligne 12 ») is not moved: its part
    is made again, the other parts are reused."""
    import pandas as pd

    from pipelines.live import CrossMemo
    from pipelines.validate.frames import check_row, frame

    memo = CrossMemo.__new__(CrossMemo)
    memo.ids = ["d"]
    cites = frame([check_row(rule="budget.crosstable", document_id="d", line=20, table_id="d@10",
                             message="La ligne « MCO » ne correspond pas (ligne 12 : 5 jours).")])
    plain = frame([check_row(rule="total.column", document_id="d", line=12, table_id="d@10", message="Total faux.")])
    moved = memo._moved({"budget": cites, "totaux": plain, "texte": [dict(plain.iloc[0])]},
                        {12: 13, 20: 21}, {"d@10": "d@11"})
    assert set(moved) == {"totaux", "texte"}
    assert moved["totaux"]["line"].tolist() == [13] and moved["totaux"]["table_id"].tolist() == ["d@11"]
    assert moved["texte"][0]["line"] == 13 and moved["texte"][0]["table_id"] == "d@11"
    assert isinstance(moved["totaux"], pd.DataFrame) and plain["line"].tolist() == [12]  # the kept rows unmoved


def test_a_draft_is_written_only_for_the_cross_report_rules(store, tmp_path, monkeypatch):
    """A save whose cross-report frames are reused (a word of the prose changed) writes nothing into the
    session's store: the rules read the draft from its rows (frames.from_rows), the findings its lines,
    sections, tables and cells (validate.DraftLookups); one that makes them again (a figure changed)
    rewrites, of what the cross-report rules and series.break read, the tables whose rows changed (the
    draft stays in the session's store between checks). Both equal a cold check."""
    import pipelines.live as live
    from pipelines.live import Session

    written: list[str] = []
    real = live.insert
    monkeypatch.setattr(live, "insert", lambda con, table, rows, columns=None: (written.append(table),
                                                                              real(con, table, rows, columns)))
    base = _replaced((INVENTED / "sii_2021.txt").read_text(encoding="utf-8"), *RESTATED)
    word = ("portail de services en ligne", "portail de démarches en ligne")
    figure = ("Bobigny\t1 250 000 €\t1 270 000 €", "Bobigny\t1 250 000 €\t1 260 000 €")
    draft = tmp_path / "sii_2021.txt"
    session = Session(store)
    tables = []
    try:
        for text in (base, _replaced(base, word), _replaced(base, word, figure)):
            draft.write_text(text, encoding="utf-8")
            written.clear()
            warm, _ = findings_for([draft], "SII", 2021, store, session)
            cold, _, _ = check_findings([draft], "SII", 2021, store)
            assert _records(warm) == _records(cold)
            tables.append(set(written))
    finally:
        session.close()
    assert session.cross_reused == 1
    # made: every table of the draft the cross-report rules read (not its lines of text nor its sections)
    assert {"effectifs", "cells", "narratifs"} <= tables[0]
    assert not {"lignes", "sections"} & tables[0]
    assert tables[1] == set()  # the other rules and the findings read the draft's rows (validate.DraftLookups)
    # a contribution changed: its cell, its curated row and the document's digest, nothing else
    assert tables[2] == {"cells", "contributions", "documents"}


def test_the_columns_a_session_writes_are_those_of_the_store_schema():
    """Session.columns come from store.SCHEMA (store.column_names), not from a query of each table:
    they are, in order, the columns create_schema creates (DECIMAL(18,2) and the series key included)."""
    import duckdb

    from pipelines.store import SCHEMA, column_names, create_schema

    con = duckdb.connect(":memory:")
    create_schema(con)
    for table in SCHEMA:
        assert column_names(table) == [c[0] for c in con.execute(f'SELECT * FROM "{table}" LIMIT 0').description]
    assert {"prevu", "concept", "source"} <= set(column_names("finances"))
