"""vintage.restated, vintage.stale : un rapport contre les rapports des autres années.

Series are matched across reports from the tables themselves (same organisme,
same row label, same year column, same unit), so that the checks need no
curation and work on an author's draft; a table pair counts as the same series
only when it shares several figures.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from functools import lru_cache
from typing import NamedTuple

import duckdb
import pandas as pd

from pipelines.extract.numbers import clean, decimals_of, plain
from pipelines.validate.frames import check_row, fr, items_give
from pipelines.validate.points import earlier_report, latest_of_year


@lru_cache(maxsize=1 << 16)
def _norm(text: str) -> str:
    """A label compared across reports (cached: every report of an organisme repeats its labels)."""
    return plain(text)


def dated_figures(store, tc: list[dict]) -> list[dict]:
    """Table figures with a year column and a row label, with their organisme and report year."""
    dated = []
    for c in tc:
        doc = store.documents.get(c["document_id"]) or {}
        label = _norm(c["row_label"])
        if c["year"] is not None and label:
            dated.append({**c, "org": doc.get("org"), "report_year": doc.get("report_year"), "label": label})
    return dated


class _Slotted:
    """A read-only mapping of the names `__slots__` held in slots (`r["value"]`, `{**r}`): a tenth of the
    memory of a dict. An organisme of a thousand reports holds some hundred thousand figures."""

    __slots__ = ()

    def __init__(self, values) -> None:
        for key, value in zip(self.__slots__, values, strict=True):
            setattr(self, key, value)

    def __getitem__(self, key: str):
        return getattr(self, key)

    def __iter__(self):
        return iter(self.__slots__)

    def keys(self) -> tuple[str, ...]:
        return self.__slots__

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and all(self[k] == other[k] for k in self.__slots__)

    __hash__ = None


class Figure(_Slotted):
    """One figure under a year, as stored_dated_figures reads it."""

    __slots__ = ("document_id", "table_id", "row", "col", "line", "value", "unit", "year", "kind", "text",
                 "row_label", "org", "report_year", "label")


class OwnYearProse(_Slotted):
    """One prose figure of its report's own year, as stale_checks reads it."""

    __slots__ = ("document_id", "line", "section", "label", "value", "unit", "exercice", "text", "table_id",
                 "mesure", "parse_status")


class ProseFigure(_Slotted):
    """One prose figure narrative_checks compares (`comparable_prose`): what its rows read, without the
    sentence (only its words before the figure decide, once)."""

    __slots__ = ("document_id", "line", "value", "unit", "exercice", "text", "sujet", "mesure")


def stored_dated_figures(con, document_ids: list[str], curated: frozenset[str] = frozenset(),
                         db: str = "", leave_out: list[str] | None = None) -> list[Figure]:
    """dated_figures(load(con, document_ids), table_figures(…)) read from DuckDB: the value cells
    under a year header, and only them, without loading the reports. Same rows in the same order
    (reports, their tables, cells by row and column, a composite cell's first figure first), as
    Figures with the keys the cross-report checks read: document_id, table_id, row, col, line, value,
    unit ('' when none), year, kind, text, row_label, org, report_year, label.

    The raw-label rules compare no pair of two `curated` tables (the curated series do): a curated
    table none of whose labels is printed by a table outside `curated` is in no pair, and its figures
    are left out (the reports of an organisme print the same tables year after year: most of them).
    `db`: the catalog prefix of the store read (« previous. » for the store being replaced);
    `leave_out`: tables whose figures are not read at all."""
    from pipelines.extract.numbers import year_in_header
    from pipelines.validate.frames import VALUE_ROLES

    roles = ", ".join(f"'{r}'" for r in VALUE_ROLES)
    value_cells = f"""
        SELECT t.document_id, t.line_start, t.table_id, c.row, c.col, c.line, c.header, c.row_label,
               c.row_kind, c.text, c.value, c.unit, c.value2, c.unit2
        FROM {db}cells c JOIN {db}tables t USING (table_id)
        WHERE list_contains(?::VARCHAR[], t.document_id) AND c.role IN ({roles})
              AND t.table_id NOT IN (SELECT unnest(?::VARCHAR[]))"""
    ids = [list(document_ids), list(leave_out or [])]
    try:
        headers = [h for (h,) in con.execute(f"SELECT DISTINCT header FROM ({value_cells}) WHERE header <> ''",
                                             ids).fetchall()]
        years = [(h, ref.year) for h in headers if (ref := year_in_header(h)) is not None and ref.year is not None]
        con.register("_dated_years", pd.DataFrame(years, columns=["header", "year"]).astype({"header": object}))
        dated_cells = f"SELECT v.*, y.year FROM ({value_cells}) v JOIN _dated_years y USING (header)"
        if curated:  # the tables in some pair, from their labels alone: no figure of the others is built
            paired = _paired_tables(con, dated_cells, ids, db, curated)
            if not paired:
                return []
            dated_cells += " WHERE list_contains(?::VARCHAR[], v.table_id)"
            ids = [*ids, sorted(paired)]
        cur = con.execute(f"""
            WITH v AS ({dated_cells})
            SELECT v.document_id, v.table_id, v.row, v.col, v.line, v.value, coalesce(v.unit, '') AS unit,
                   v.year, v.row_kind AS kind, v.text, coalesce(v.row_label, '') AS row_label, d.org, d.report_year
            FROM (SELECT *, 0 AS k FROM v WHERE value IS NOT NULL
                  UNION ALL SELECT * REPLACE (value2 AS value, unit2 AS unit), 1 AS k FROM v WHERE value2 IS NOT NULL) v
            JOIN {db}documents d USING (document_id)
            ORDER BY v.document_id, v.line_start, v.table_id, v.row, v.col, v.k""", ids)
        out = []
        same: dict = {}  # one string object for the names every figure of a table or report repeats
        while rows := cur.fetchmany(10000):
            for row in rows:
                if label := _norm(row[10]):
                    d, t, r, c, line, value, unit, year, kind, text, row_label, org, ry = row
                    out.append(Figure((same.setdefault(d, d), same.setdefault(t, t), r, c, line, value,
                                       same.setdefault(unit, unit), year, same.setdefault(kind, kind), text,
                                       same.setdefault(row_label, row_label), same.setdefault(org, org), ry,
                                       same.setdefault(label, label))))
        return _in_some_pair(out, curated) if curated else out
    finally:
        con.unregister("_dated_years")


def _paired_tables(con, dated_cells: str, params: list, db: str, curated: frozenset[str]) -> set[str]:
    """The tables `_in_some_pair` keeps, from the distinct (table, organisme, row label) of the dated
    cells holding a figure (SQL `dated_cells` with its `params`)."""
    rows = con.execute(f"""
        SELECT DISTINCT v.table_id, d.org, coalesce(v.row_label, '') FROM ({dated_cells}) v
        JOIN {db}documents d USING (document_id) WHERE v.value IS NOT NULL OR v.value2 IS NOT NULL""",
                       params).fetchall()
    labelled = [(t, (org, label)) for t, org, row_label in rows if (label := _norm(row_label))]
    loose = {key for t, key in labelled if t not in curated}
    return {t for t, key in labelled if key in loose}


def _in_some_pair(dated: list[Figure], curated: frozenset[str]) -> list[Figure]:
    """The figures of the tables out of `curated`, and of the curated tables sharing a label with one
    of those (in the order of `dated`): the only tables the raw-label rules pair."""
    loose = {(c["org"], c["label"]) for c in dated if c["table_id"] not in curated}
    paired = {c["table_id"] for c in dated if (c["org"], c["label"]) in loose}
    return [c for c in dated if c["table_id"] in paired]


def shifted_header_checks(store, shifts: list[tuple], con=None) -> list[dict]:
    """A year column whose figures are, row for row, those of the next (or previous) year in an
    earlier report, while they differ from that report's figures for its own year: the header
    was shifted by one year (« 2016 » over the 2017 figures). The header cell is read from `store`,
    else from `con` (a store loaded without its cells)."""
    out: list[dict] = []
    for later, earlier, year, shift, equal in shifts:
        head = _header_cell(store, later[0]["table_id"], later[0]["col"], con)
        line = int(head["line"]) if head else int(later[0]["line"])
        a0 = earlier[0]
        out.append(_shift_row(later[0]["document_id"], later[0]["table_id"], line, year, shift, equal,
                              int(a0["report_year"]), a0["document_id"], int(a0["line"])))
    return out


def shifted_columns(dated: list[dict], curated: frozenset[str] = frozenset()) -> list[tuple]:
    """(figures of the later column, of the earlier one, year, shift, rows equal) per shifted column.
    Pairs of two curated tables are left to curated_shifts."""
    cols: dict[tuple, dict[str, dict]] = {}
    for c in dated:
        cols.setdefault((c["table_id"], c["year"]), {}).setdefault(c["label"], c)
    by_table: dict[str, list[int]] = {}
    for table_id, year in cols:
        by_table.setdefault(table_id, []).append(year)
    meta = {c["table_id"]: (c["org"], c["report_year"]) for c in dated}
    out, seen = [], set()
    # the latest earlier table first (then by id): which earlier report a finding cites depends on the
    # two reports alone, not on the order the store's other reports give the labels (an incremental
    # build compares a report with fewer of them than a full build)
    for b, a in _table_pairs(dated, meta, curated):
        for year in by_table[b]:
            if (b, year) in seen:
                continue  # one finding per column, whichever earlier report showed the shift first
            col_b = cols[(b, year)]
            same = _agreement(col_b, cols.get((a, year), {}))
            if same is None or same[0] * 3 >= same[1]:
                continue  # no column of that year to compare with, or it agrees
            for shift in (1, -1):
                other = _agreement(col_b, cols.get((a, year + shift), {}))
                if other and other[0] >= 3 and other[0] * 3 >= other[1] * 2:
                    out.append((list(col_b.values()), list(cols[(a, year + shift)].values()), year, shift, other[0]))
                    seen.add((b, year))
                    break
    return out


def _table_pairs(dated: list[dict], meta: dict[str, tuple], curated: frozenset[str]) -> Iterator[tuple[str, str]]:
    """(later table, earlier table) of one organisme sharing at least three row labels, but for the
    pairs of two `curated` tables (curated_shifts compares those): by later table, then the latest
    earlier report first, then by id. Counted one later table at a time: the copies of a report
    share every label, and the pairs of an organisme grow as the square of its reports."""
    tables_of: dict[tuple, set[str]] = {}
    labels_of: dict[str, set[tuple]] = {}
    for c in dated:
        key = (c["org"], c["label"])
        tables_of.setdefault(key, set()).add(c["table_id"])
        labels_of.setdefault(c["table_id"], set()).add(key)
    for b in sorted(labels_of):  # one order in every process (a set of str has none)
        rb = meta[b][1]
        if rb is None:
            continue  # reports of no year are compared with none
        shared: Counter[str] = Counter()  # labels shared (each (org, label) counts once)
        for key in labels_of[b]:
            shared.update(a for a in tables_of[key] if (ra := meta[a][1]) is not None and ra < rb
                          and (b not in curated or a not in curated))
        yield from ((b, a) for a in sorted((a for a, n in shared.items() if n >= 3), key=lambda a: (-meta[a][1], a)))


def _agreement(col_b: dict[str, dict], col_a: dict[str, dict]) -> tuple[int, int] | None:
    """(rows equal, rows in common) of two columns, None under three rows in common."""
    common = [lab for lab in col_b if lab in col_a and _units_match(col_b[lab]["unit"], col_a[lab]["unit"])]
    if len(common) < 3:
        return None
    return sum(_same(col_a[lab], col_b[lab]) for lab in common), len(common)


def _first(con, query: str, params: list) -> tuple | None:
    """The first row of a query, its result read to the end: DuckDB refuses other work (a temporary
    table dropped, a frame registered) on a connection whose result is left half read."""
    rows = con.execute(query, params).fetchall()
    return rows[0] if rows else None


def _header_cell(store, table_id: str, col: int, con=None) -> dict | None:
    """The last header cell of a column (cells in row order)."""
    if table_id not in store.cells and con is not None:
        line = _first(con, "SELECT line FROM cells WHERE table_id = ? AND col = ? AND role = 'header' "
                           "ORDER BY row DESC LIMIT 1", [table_id, col])
        return {"line": line[0]} if line else None
    heads = [c for c in store.table_cells(table_id) if c["role"] == "header" and c["col"] == col]
    return heads[-1] if heads else None


def restated_checks(store, dated: list[dict], shifts: list[tuple], curated: frozenset[str] = frozenset()) -> list[dict]:
    """vintage.restated by raw row label and year column: the fallback for the tables the curated
    series miss (a pair of two curated tables is curated_restated_checks')."""
    out: list[dict] = []
    shifted = {(cols[0]["table_id"], year) for cols, _, year, _, _ in shifts}
    dated = [c for c in dated if (c["table_id"], c["year"]) not in shifted]  # header.year says it once
    items = _item_sums(dated)
    keyed: dict[tuple, list[dict]] = {}
    for c in dated:
        keyed.setdefault((c["org"], c["label"], c["year"]), []).append(c)
    pairs: dict[tuple[str, str], list] = {}
    for recs in keyed.values():
        if len({r["document_id"] for r in recs}) < 2:
            continue
        loose = [r for r in recs if r["table_id"] not in curated]
        for a in recs:  # a pair of two curated tables is the curated series' (never built here)
            for b in loose if a["table_id"] in curated else recs:
                if a["report_year"] < b["report_year"] and _units_match(a["unit"], b["unit"]):
                    pairs.setdefault((a["table_id"], b["table_id"]), []).append((a, b))
    for matches in pairs.values():
        if len(matches) < 3:  # two tables share a series only when they share several figures
            continue
        equal = [m for m in matches if _same(m[0], m[1])]
        if len(equal) * 3 < len(matches):
            continue
        for a, b in matches:
            if not _same(a, b):
                a = _as_items_say(items, a)
            if _same(a, b) or _earlier_total_was_wrong(items, a, b):
                out.append(check_row(rule="vintage.restated", statut="ok", document_id=b["document_id"],
                                     line=int(b["line"])))
                continue
            unit = a["unit"]
            out.append(check_row(
                rule="vintage.restated", severity="warning", statut="modifie", document_id=b["document_id"],
                line=int(b["line"]), table_id=b["table_id"], found=fr(b["value"], unit), expected=fr(a["value"], unit),
                highlight=clean(b["text"]), exercice=int(a["year"]),
                key=f"{a['label']} | {int(a['year'])}",
                message=f"« {a['label']} » {int(a['year'])} vaut {fr(b['value'], unit)} dans ce rapport "
                        f"({int(b['report_year'])}) mais {fr(a['value'], unit)} dans le rapport {int(a['report_year'])} "
                        f"(ligne {a['line']}).",
                suggestion="Si le chiffre a été révisé, le signaler en note ; sinon reprendre la valeur publiée "
                           f"({fr(a['value'], unit)})."))
    return out


def _item_sums(tc: list[dict]) -> dict[tuple, tuple[float, int]]:
    """(table, column, unit) -> (sum, count) of the item rows: what a total of that column should be."""
    sums: dict[tuple, tuple[float, int]] = {}
    for c in tc:
        if c["kind"] == "item":
            key = (c["table_id"], c["col"], c["unit"])
            s, n = sums.get(key, (0.0, 0))
            sums[key] = (s + c["value"], n + 1)
    return sums


def _earlier_total_was_wrong(items: dict, a: dict, b: dict) -> bool:
    """A total the earlier report got wrong (its items gave the later value) is not a restatement:
    total.column reports it in the earlier report."""
    if a["kind"] not in ("total", "subtotal"):
        return False
    s, n = items.get((a["table_id"], a["col"], a["unit"]), (0.0, 0))
    return items_give(s, n, b["value"])


def _as_items_say(items: dict, a: dict) -> dict:
    """An earlier total that its own items contradict is compared by the sum of those items."""
    if a["kind"] not in ("total", "subtotal"):
        return a
    s, n = items.get((a["table_id"], a["col"], a["unit"]), (0.0, 0))
    if n == 0 or items_give(s, n, a["value"]):
        return a
    return {**a, "value": float(s)}


def _units_match(a, b) -> bool:
    """« 340 » in one report and « 340 jour » in the next are the same measure; % is never a count."""
    a = a if isinstance(a, str) and a else None
    b = b if isinstance(b, str) and b else None
    return a == b or (None in (a, b) and "%" not in (a, b))


def _same(a: dict, b: dict) -> bool:
    half = 0.5 * 10 ** -decimals_of(a["text"]) + 0.5 * 10 ** -decimals_of(b["text"])
    return abs(a["value"] - b["value"]) <= half + 1e-6


def stale_checks(store) -> list[dict]:
    """Figures of the prose repeated unchanged from the previous report while their year moved on
    (« Mandats émis : 76070 » in both the 2017 and 2018 reports): reported when a group of
    such figures (one table or section of a report) has been copied, not for a lone coincidence.
    Plain Python over the figures of the reports' own year (a batch of 64 reports against the 80
    of the year before: a tenth of what a pandas merge of them cost)."""
    by_org: dict[object, dict[int, list[dict]]] = {}
    for n in store.narratifs:
        if n["parse_status"] != "ok" or n["value"] is None or n["exercice"] is None:
            continue
        if n["exercice"] != store.report_year(n["document_id"]):
            continue
        org = store.documents[n["document_id"]]["org"]
        if org is not None:  # a report of no organisme is compared with none
            by_org.setdefault(org, {}).setdefault(n["exercice"], []).append(n)
    out: list[dict] = []
    for org in sorted(by_org):
        by_year = by_org[org]
        years = sorted(by_year)
        for prev_y, cur_y in zip(years, years[1:], strict=False):
            if cur_y - prev_y == 1:
                out += _copied_blocks(by_year[cur_y], by_year[prev_y], int(prev_y), int(cur_y))
    return out


def _stale_label(n: dict) -> str:
    """What a prose figure is compared by: its measure (the same figure may be led by its subject in
    one report and not the next), else its label."""
    m = n["mesure"]
    return _norm(m if isinstance(m, str) and m else n["label"])


def _copied_blocks(cur: list[dict], prev: list[dict], prev_y: int, cur_y: int) -> list[dict]:
    """vintage.stale rows of the figures `cur` (of year cur_y, in store order) equal to a figure of
    `prev` (year prev_y) of the same label, in blocks (a table, else a section, of one report) of at
    least three such figures of at least 10, two of them at least 100."""
    # a figure of the year's report is quoted against the first earlier one equal to it: the others
    # (several reports of a year) would only multiply the rows
    first: dict[tuple, dict] = {}
    for p in prev:
        first.setdefault((_stale_label(p), p["value"]), p)
    matched, seen = [], set()
    for c in cur:
        lab = _stale_label(c)
        p = first.get((lab, c["value"]))
        if p is None or abs(c["value"]) < 10 or (c["document_id"], c["line"], lab, c["value"]) in seen:
            continue
        seen.add((c["document_id"], c["line"], lab, c["value"]))
        # a block of one report: the sections of two reports of a year are two blocks, though named alike
        bloc = c["table_id"] if c["table_id"] is not None else (c["section"] if c["section"] is not None else "")
        matched.append((c, p, lab, (c["document_id"], bloc)))
    sizes: dict[tuple, list[int]] = {}
    for c, _, _, key in matched:
        size = sizes.setdefault(key, [0, 0])
        size[0] += 1
        size[1] += abs(c["value"]) >= 100
    copied = sorted((m for m in matched if sizes[m[3]][0] >= 3 and sizes[m[3]][1] >= 2), key=lambda m: m[3])
    return [_stale_row(c, p, lab, sizes[key][0], prev_y, cur_y) for c, p, lab, key in copied]


def _stale_row(c: dict, p: dict, lab: str, n: int, prev_y: int, cur_y: int) -> dict:
    return check_row(
        rule="vintage.stale", severity="warning", statut="reprise", document_id=c["document_id"],
        line=int(c["line"]), table_id=c["table_id"] if isinstance(c["table_id"], str) else None,
        found=f"{c['label']} : {c['text']}", expected=f"valeur {cur_y} (pas celle de {prev_y})",
        highlight=c["text"], exercice=cur_y, key=lab,
        message=f"« {c['label']} : {c['text']} » est présenté comme un chiffre {cur_y} mais "
                f"figure à l'identique dans le rapport {prev_y} (ligne {int(p['line'])}), "
                f"comme {n - 1} autres chiffres du même bloc : bloc recopié sans mise à jour ?",
        suggestion=f"Mettre à jour le chiffre pour {cur_y} ou préciser l'année à laquelle il se rapporte.")


_APPROX = re.compile(r"(?:environ|près de|pres de|plus de|moins de|\+ de|~)\s*$", re.IGNORECASE)


def narrative_checks(store, document_ids: list[str] | None = None) -> tuple[list[dict], list[dict]]:
    """Prose figures against earlier reports, by subject, measure and year (« Requiem — actes
    enregistrés » 2020): (text.year rows, vintage.restated rows), for the reports `document_ids`
    (all by default). A figure dated Y that is the other report's Y±1 figure and not its Y figure
    has the wrong year in the text; one that simply differs was restated."""
    series = _narrative_series(store)
    checked = None if document_ids is None else set(document_ids)
    years, restated = [], []
    for by_doc in series.values():
        ry = {d: _ry(store, d) for d in by_doc}
        latest_first = sorted(by_doc, key=lambda d: -ry[d])  # stable: reports of one year in store order
        for b_doc, b_years in by_doc.items():
            if checked is not None and b_doc not in checked:
                continue
            earlier = [d for d in latest_first if ry[d] < ry[b_doc]]
            for year, bs in b_years.items():
                b = _single(bs)
                if b is None:
                    continue  # no figure, or two: nothing to compare
                for a_doc in earlier:
                    row = _against(store, b, year, by_doc[a_doc])
                    if row is not None:
                        (years if row["rule"] == "text.year" else restated).append(row)
                        break
    return years, restated


def _ry(store, document_id: str) -> int:
    return store.report_year(document_id) or 0


def _single(figures: list[dict] | None) -> dict | None:
    """The one figure of a report for a key and year; two different ones are ambiguous."""
    if not figures or len({f["value"] for f in figures}) != 1:
        return None
    return figures[0]


def _narrative_series(store) -> dict[tuple, dict[str, dict[int, list[ProseFigure]]]]:
    """(org, subject, measure) -> document -> year -> figures: printed, exact, with a subject."""
    series: dict[tuple, dict[str, dict[int, list[ProseFigure]]]] = {}
    for n in comparable_prose(store.narratifs):
        key = ((store.documents.get(n["document_id"]) or {}).get("org"), _norm(n["sujet"]), _norm(n["mesure"]))
        series.setdefault(key, {}).setdefault(n["document_id"], {}).setdefault(int(n["exercice"]), []).append(n)
    return series


def comparable_prose(narratifs: Iterable[dict | ProseFigure]) -> Iterator[ProseFigure]:
    """The prose figures narrative_checks compares, in their order: parsed, of a known value and year,
    outside a table, with a subject and a measure, and not approximate (« environ 5 000 dossiers » is
    not compared to the unit). Rows of the table `narratifs`; a ProseFigure is one already kept."""
    same: dict = {}  # one string object for the names every figure of a report or a series repeats
    for n in narratifs:
        if isinstance(n, ProseFigure):
            yield n
            continue
        if (n["parse_status"] != "ok" or n["value"] is None or not n.get("sujet") or not n.get("mesure")
                or n["exercice"] is None or n["table_id"] is not None):
            continue
        sentence = n["sentence"] or ""
        if _APPROX.search(sentence[:max(sentence.find(n["text"]), 0)]):
            continue
        yield ProseFigure((same.setdefault(n["document_id"], n["document_id"]), n["line"], n["value"],
                           same.setdefault(n["unit"], n["unit"]), n["exercice"], n["text"],
                           same.setdefault(n["sujet"], n["sujet"]), same.setdefault(n["mesure"], n["mesure"])))


def _against(store, b: dict | None, year: int, a_years: dict[int, list[dict]]) -> dict | None:
    a = _single(a_years.get(year))
    if b is None or a is None:
        return None
    if _same(a, b):
        return check_row(rule="vintage.restated", statut="ok", document_id=b["document_id"], line=int(b["line"]))
    a_ry, b_ry, unit = _ry(store, a["document_id"]), _ry(store, b["document_id"]), b["unit"]
    label = f"{b['sujet']} — {b['mesure']}"
    for shift in (1, -1):
        s = _single(a_years.get(year + shift))
        if s is not None and _same(s, b):
            return check_row(
                rule="text.year", severity="warning", statut="decale", document_id=b["document_id"],
                line=int(b["line"]), found=f"{fr(b['value'], unit)} en {year}", exercice=year,
                expected=f"{fr(a['value'], unit)} en {year} ({fr(s['value'], unit)} en {year + shift})",
                highlight=b["text"], key=f"{_norm(label)} | {year}",
                message=f"« {label} » : le texte donne {fr(b['value'], unit)} pour {year}, mais le rapport {a_ry} "
                        f"donne ce chiffre pour {year + shift} (ligne {s['line']}) et {fr(a['value'], unit)} pour "
                        f"{year} (ligne {a['line']}) : l'année citée semble décalée.",
                suggestion=f"Vérifier l'année : « {fr(b['value'], unit)} en {year + shift} » ou "
                           f"« {fr(a['value'], unit)} en {year} ».")
    return check_row(
        rule="vintage.restated", severity="warning", statut="modifie", document_id=b["document_id"],
        line=int(b["line"]), found=fr(b["value"], unit), expected=fr(a["value"], unit), highlight=b["text"],
        exercice=year, key=f"{_norm(label)} | {year}",
        message=f"« {label} » {year} vaut {fr(b['value'], unit)} dans le texte de ce rapport ({b_ry}) mais "
                f"{fr(a['value'], unit)} dans le rapport {a_ry} (ligne {a['line']}).",
        suggestion="Si le chiffre a été révisé, le signaler en note ; sinon reprendre la valeur publiée "
                   f"({fr(a['value'], unit)}).")


# --- The same checks over the curated series of every family -------------------------------------------------

def _wanted(document_ids: list[str] | None, alias: str) -> str:
    """SQL condition keeping the figures of the documents checked (all when None)."""
    if document_ids is None:
        return "TRUE"
    ids = ", ".join("'" + d.replace("'", "''") + "'" for d in document_ids) or "''"
    return f"{alias}.document_id IN ({ids})"


def _of(figures: str, document_ids: list[str] | None) -> str:
    """The figures of the documents checked, as a relation: the later side of a comparison, filtered
    before the join (a batch of reports sorts its own figures, not the organisme's)."""
    return figures if document_ids is None else f"(SELECT * FROM {figures} b WHERE {_wanted(document_ids, 'b')})"


# Two figures of one series key, same unit when both print one (« % » is never a count).
_UNITS = """(coalesce(nullif({a}.unite, ''), nullif({a}.unite_cellule, '')) IS NOT DISTINCT FROM
             coalesce(nullif({b}.unite, ''), nullif({b}.unite_cellule, ''))
          OR ((coalesce(nullif({a}.unite, ''), nullif({a}.unite_cellule, '')) IS NULL
               OR coalesce(nullif({b}.unite, ''), nullif({b}.unite_cellule, '')) IS NULL)
              AND coalesce({a}.unite, {a}.unite_cellule, '') <> '%' AND coalesce({b}.unite, {b}.unite_cellule, '') <> '%'))"""
_SAME_KEY = "a.famille = b.famille AND a.org = b.org AND a.cle = b.cle AND a.mesure = b.mesure"
# Two printings of one figure: equal at the same precision (counts and amounts are exact, and one value
# rounded twice the same way gives one figure); otherwise within half a unit of the coarser one
# (« 100,5 » and « 101 »).
_EQUAL = ("abs(a.valeur - b.valeur) <= CASE WHEN a.decimals = b.decimals THEN 0 "
          "ELSE 0.5 * pow(10, -least(a.decimals, b.decimals)) END + 1e-6")


def _tolerance(d_a: int, d_b: int) -> float:
    """_EQUAL's tolerance, for the figures compared in Python."""
    return (0.0 if d_a == d_b else 0.5 * 10 ** -min(d_a, d_b)) + 1e-6


def _rows(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def curated_shifts(con, figures: str, document_ids: list[str] | None = None) -> list[dict]:
    """Year columns of curated tables whose figures are, key for key, the next (or previous) year's
    figures of the latest earlier report that prints them, while they differ from its figures of that
    year. figures: the relation of points.figures_table. One dict per shifted column: document_id,
    table_id, col, line, year, shift, equal, a_document_id, a_report_year, a_line."""
    nearest = " UNION ALL ".join(f"""
        SELECT b.*, {shift} AS shift, a.document_id AS a_document_id, a.report_year AS a_report_year,
               a.line AS a_line, {_EQUAL} AS egal, {_UNITS.format(a='a', b='b')} AS comparable
        FROM {_of(figures, document_ids)} b ASOF JOIN {latest_of_year(figures)} a ON {_SAME_KEY} AND a.exercice = b.exercice + {shift}
             AND {earlier_report('a', 'b')}
        WHERE {_wanted(document_ids, 'b')}""" for shift in (0, 1, -1))
    rows = _rows(con, f"""
        SELECT document_id, table_id, exercice AS year, shift, count(*) AS n, count(*) FILTER (WHERE egal) AS equal,
               arg_min(a_document_id, a_line) AS a_document_id, max(a_report_year) AS a_report_year,
               min(a_line) AS a_line, min(col) AS col, min(line) AS line
        FROM ({nearest}) WHERE comparable
        GROUP BY document_id, table_id, exercice, shift
        ORDER BY document_id, table_id, exercice""")
    stats: dict[tuple, dict[int, dict]] = {}
    for r in rows:
        stats.setdefault((r["document_id"], r["table_id"], r["year"]), {})[r["shift"]] = r
    out = []
    for by_shift in stats.values():
        same = by_shift.get(0)
        if same is None or same["n"] < 3 or same["equal"] * 3 >= same["n"]:
            continue  # an earlier column of that year must exist and disagree
        for shift in (1, -1):
            other = by_shift.get(shift)
            if other and other["equal"] >= 3 and other["equal"] * 3 >= other["n"] * 2:
                out.append(other)
                break
    return out


def curated_restated_checks(con, figures: str, document_ids: list[str] | None = None,
                            shifts: list[dict] | None = None) -> list[dict]:
    """vintage.restated over the curated series: a figure compared with the same key, measure and
    exercice in the latest earlier report that prints it (figures: the relation of
    points.figures_table). Two tables are read as one series only when they share three figures of
    which a third agree (as for the raw labels). An earlier total that its own items contradict is
    compared by their sum (total.column reports it in the earlier report)."""
    shifted = {(s["document_id"], s["table_id"], s["year"]) for s in shifts or []}
    rows = _rows(con, f"""
        WITH pairs AS MATERIALIZED (
            SELECT b.*, a.document_id AS a_document_id, a.report_year AS a_report_year, a.valeur AS a_valeur,
                   a.line AS a_line, a.table_id AS a_table_id, a.decimals AS a_decimals, a.row_kind AS a_kind,
                   a.col AS a_col, a.unite_cellule AS a_unite_cellule, a.libelle AS a_libelle, {_EQUAL} AS egal
            FROM {_of(figures, document_ids)} b ASOF JOIN {latest_of_year(figures)} a ON {_SAME_KEY} AND a.exercice = b.exercice
                 AND {earlier_report('a', 'b')}
            WHERE {_wanted(document_ids, 'b')} AND {_UNITS.format(a='a', b='b')}),
        items AS (  -- the items of a column that has one total: what that total should be (of the
                    -- earlier tables compared only: a batch of reports reads their cells, not the store's)
            SELECT table_id, col, coalesce(unit, '') AS unit, sum(value) FILTER (WHERE row_kind = 'item') AS s,
                   count(*) FILTER (WHERE row_kind = 'item') AS n
            FROM cells WHERE role IN ('value', 'total') AND value IS NOT NULL
                 AND table_id IN (SELECT a_table_id FROM pairs WHERE a_kind = 'total') GROUP BY ALL
            HAVING count(*) FILTER (WHERE row_kind = 'total') = 1)
        SELECT p.*, i.s AS items_s, i.n AS items_n,
               count(*) OVER t AS n_pair, count(*) FILTER (WHERE egal) OVER t AS n_equal
        FROM pairs p LEFT JOIN items i
          ON p.a_kind = 'total' AND i.table_id = p.a_table_id AND i.col = p.a_col
         AND i.unit = coalesce(p.a_unite_cellule, '')
        WINDOW t AS (PARTITION BY p.a_document_id, p.a_table_id, p.document_id, p.table_id)
        ORDER BY p.document_id, p.line, p.exercice""")
    out = []
    for r in rows:
        if r["n_pair"] < 3 or r["n_equal"] * 3 < r["n_pair"]:
            continue  # two tables share a series only when they share several figures
        if (r["document_id"], r["table_id"], r["exercice"]) in shifted:
            continue  # header.year says it once, for the whole column
        out.append(_curated_restated_row(r))
    return out


def _earlier_agrees(r: dict) -> bool:
    """The later figure is what the earlier report printed or, when the earlier total contradicts its
    own items, what those items give (the wrong total is total.column's, in the earlier report)."""
    if r["egal"]:
        return True
    s, n = r["items_s"], r["items_n"] or 0
    if not n or items_give(s, n, r["a_valeur"]):
        return False
    return abs(s - r["valeur"]) <= _tolerance(r["decimals"], r["a_decimals"]) or items_give(s, n, r["valeur"])


def _shown(value: float, unit: str | None, decimals: int) -> str:
    """A figure as its column prints it: cents kept (« 412 350,20 € »), whole days without « ,0 »."""
    return fr(value, unit, decimals if decimals >= 2 else None)


def _curated_restated_row(r: dict) -> dict:
    if _earlier_agrees(r):
        return check_row(rule="vintage.restated", statut="ok", document_id=r["document_id"], line=int(r["line"]),
                         table_id=r["table_id"], exercice=int(r["exercice"]), family=r["famille"])
    unit = r["unite"] or r["unite_cellule"]
    a_value, printed = r["a_valeur"], ""
    if r["items_n"] and not items_give(r["items_s"], r["items_n"], a_value):
        a_value = float(r["items_s"])  # the earlier total as its own items give it
        printed = (f" : {_shown(r['a_valeur'], unit, r['a_decimals'])} imprimé, "
                   f"{_shown(a_value, unit, r['a_decimals'])} par la somme de ses lignes")
    found, expected = _shown(r["valeur"], unit, r["decimals"]), _shown(a_value, unit, r["a_decimals"])
    year = int(r["exercice"])
    return check_row(
        rule="vintage.restated", severity="warning", statut="modifie", document_id=r["document_id"],
        line=int(r["line"]), table_id=r["table_id"], found=found, expected=expected,
        highlight=clean(r["texte"] or "") or None, exercice=year, family=r["famille"], key=f"{r['famille']} | {r['cle']} | {r['mesure']} | {year}",
        message=f"« {r['libelle']} » {year} vaut {found} dans ce rapport ({int(r['report_year'])}, ligne "
                f"{int(r['line'])}) mais {expected} dans le rapport {int(r['a_report_year'])} "
                f"({r['a_document_id']}, ligne {int(r['a_line'])}{printed}).",
        suggestion=f"Si le chiffre a été révisé, le signaler en note ; sinon reprendre la valeur publiée ({expected}).")


def curated_stale_checks(con, figures: str, document_ids: list[str] | None = None) -> list[dict]:
    """vintage.stale over the curated tables that give one year only, the report's own (« Mandats
    émis » with no year column): a table whose figures are, key for key, those the previous report
    gave for its own year was copied without being updated. Same bar as for the prose: three equal
    figures of at least 10, two of at least 100, and two thirds of the figures compared.
    figures: the relation of points.figures_table."""
    rows = _rows(con, f"""
        WITH f AS (SELECT * FROM {figures}),
        own AS (SELECT document_id, table_id FROM {_of(figures, document_ids)} GROUP BY ALL
                HAVING count(DISTINCT exercice) = 1 AND min(exercice) = any_value(report_year)),
        -- the figures a later report may be compared with: of their report's own year, and of each
        -- key, year and units the first report by document_id only, the one the pairs keep below
        -- (eighty reports of a year were each joined with the eighty of the year before)
        firsts AS (SELECT * FROM f WHERE exercice = report_year
                   QUALIFY row_number() OVER (PARTITION BY famille, org, cle, mesure, report_year, unite,
                                                           unite_cellule ORDER BY document_id) = 1),
        pairs AS (
            SELECT b.*, a.document_id AS a_document_id, a.report_year AS a_report_year, a.line AS a_line,
                   {_EQUAL} AND abs(b.valeur) >= 10 AS egal
            FROM f b JOIN own o ON o.document_id = b.document_id AND o.table_id = b.table_id
                 JOIN firsts a ON {_SAME_KEY} AND a.report_year = b.report_year - 1
                 AND {_UNITS.format(a='a', b='b')}
            WHERE b.exercice = b.report_year AND {_wanted(document_ids, 'b')}
            QUALIFY row_number() OVER (PARTITION BY b.document_id, b.famille, b.cle, b.mesure
                                       ORDER BY a.document_id) = 1),
        counted AS (
            SELECT *, count(*) OVER t AS n_pair, count(*) FILTER (WHERE egal) OVER t AS n_equal,
                   count(*) FILTER (WHERE egal AND abs(valeur) >= 100) OVER t AS n_large
            FROM pairs WINDOW t AS (PARTITION BY document_id, table_id, a_document_id))
        -- a copied table: the figures equal to the earlier ones, of a table copied as a whole
        SELECT * FROM counted WHERE egal AND n_equal >= 3 AND n_large >= 2 AND n_equal * 3 >= n_pair * 2
        ORDER BY document_id, line""")
    out = []
    for r in rows:
        year, prev, unit = int(r["report_year"]), int(r["a_report_year"]), r["unite"] or r["unite_cellule"]
        printed = clean(r["texte"] or "") or fr(r["valeur"], unit)
        out.append(check_row(
            rule="vintage.stale", severity="warning", statut="reprise", document_id=r["document_id"],
            line=int(r["line"]), table_id=r["table_id"], found=f"{r['libelle']} : {printed}",
            expected=f"valeur {year} (pas celle de {prev})", highlight=printed, exercice=year,
            family=r["famille"], key=f"{r['famille']} | {r['cle']} | {r['mesure']}",
            message=f"« {r['libelle']} : {printed} » est présenté comme un chiffre {year} mais figure à "
                    f"l'identique dans le rapport {prev} ({r['a_document_id']}, ligne {int(r['a_line'])}), comme "
                    f"{int(r['n_equal']) - 1} autres chiffres du même tableau : tableau recopié sans mise à jour ?",
            suggestion=f"Mettre à jour le chiffre pour {year} ou préciser l'année à laquelle il se rapporte."))
    return out


def curated_shift_checks(con, shifts: list[dict]) -> list[dict]:
    """header.year « décalé » for the shifted columns curated_shifts found, on the column's header."""
    out = []
    for s in shifts:
        head = _first(con, "SELECT line FROM cells WHERE table_id = ? AND col = ? AND role = 'header' "
                           "ORDER BY row DESC LIMIT 1", [s["table_id"], s["col"]])
        out.append(_shift_row(s["document_id"], s["table_id"], int(head[0]) if head else int(s["line"]),
                              int(s["year"]), int(s["shift"]), int(s["equal"]), int(s["a_report_year"]),
                              s["a_document_id"], int(s["a_line"])))
    return out


def _shift_row(document_id: str, table_id: str, line: int, year: int, shift: int, equal: int,
               a_report_year: int, a_document_id: str, a_line: int) -> dict:
    return check_row(
        rule="header.year", severity="warning", statut="decale", document_id=document_id,
        line=line, table_id=table_id, found=str(year), expected=str(year + shift),
        highlight=str(year), exercice=year,
        message=f"Les chiffres de la colonne « {year} » sont, ligne pour ligne ({equal} lignes), ceux de "
                f"{year + shift} dans le rapport {a_report_year} ({a_document_id}, ligne {a_line}), et diffèrent de "
                f"ses chiffres {year} : l'en-tête semble décalé d'un an.",
        suggestion=f"Vérifier l'année de la colonne (« {year + shift} » ?) et celles des colonnes voisines.")


def curated_tables(con, figures: str) -> set[str]:
    """Tables whose figures are curated: the raw-label matching leaves their pairs to the series."""
    return {r[0] for r in con.execute(f"SELECT DISTINCT table_id FROM {figures} WHERE table_id IS NOT NULL").fetchall()}


def cross_report_checks(con, store, dated: list[dict] | Callable[[frozenset[str]], list[dict]],
                        document_ids: list[str] | None = None, stale_store=None,
                        compared: list[str] | None = None, figures_of=None) -> dict[str, list[dict]]:
    """Every check of a report against the other reports, by suite: « entetes » (shifted year
    headers), « millesimes » (vintage.restated, vintage.stale), « texte » (text.year of the prose).
    The curated series come first; the raw labels and the prose only add what they do not cover,
    so that a figure is never reported twice.
    `dated`: the figures under a year, or what gives them from the curated tables (which the raw
    labels need not pair: stored_dated_figures); `compared`: the reports whose curated series are
    compared (those of the connection by default), among which the `document_ids` checked.
    `figures_of`: what gives the relation of the curated series, in place of points.figures_table
    (same arguments, same rows: pipelines/live.py KeptFigures keeps those of a session's vintages)."""
    from pipelines.validate.points import figures_table

    figures_of = figures_of or figures_table
    with figures_of(con, compared) if con is not None else nullcontext() as figures:
        raw = _raw_checks(con, store, dated, figures, document_ids)
        return _checks(con, figures, document_ids, raw, stale_checks(stale_store or store))


def cross_report_batches(con, store, dated: Callable[[frozenset[str]], list[dict]], compared: list[str],
                         targets: list[str], batch: int, stale_store: Callable[[list[str]], object],
                         stored: str | None = None) -> Iterator[tuple[list[str], dict[str, list[dict]]]]:
    """cross_report_checks(con, store, dated, targets, …, compared) cut into batches of `batch`
    reports of `targets`: (the batch, its check rows by suite) per batch, the rows of a batch being
    those of its reports in cross_report_checks. Every check row is of one report (the later one),
    and what it is compared with does not depend on the batch: the curated series of `compared` are
    computed once, the raw labels and the prose once; the curated queries, whose pairs hold most of
    the memory, run batch by batch. `stale_store(batch)`: the reports vintage.stale compares for the
    batch (theirs and those of the year before). `stored`: the table of the store holding the figures of
    `compared` (points.store_figures), read instead of computing them."""
    from pipelines.validate.points import figures_table

    with figures_table(con, compared, stored) as figures:
        raw = _raw_checks(con, store, dated, figures, targets)
        for start in range(0, len(targets), batch):
            chunk = targets[start:start + batch]
            mine = set(chunk)
            yield chunk, _checks(con, figures, chunk, raw.of(mine),
                                 [r for r in stale_checks(stale_store(chunk)) if r["document_id"] in mine])


class _RawChecks(NamedTuple):
    """The check rows of the raw labels and the prose (header.year, vintage.restated, text.year)."""
    shifted: list[dict]
    restated: list[dict]
    prose_years: list[dict]

    def of(self, documents: set[str]) -> _RawChecks:
        """The rows of the reports `documents`."""
        return _RawChecks(*([r for r in rows if r["document_id"] in documents] for rows in self))


def _raw_checks(con, store, dated, figures: str | None, document_ids: list[str] | None) -> _RawChecks:
    """The raw labels and the prose: what the curated series (`figures`, when there are) do not pair."""
    curated = frozenset(curated_tables(con, figures)) if figures else frozenset()
    dated = dated(curated) if callable(dated) else dated
    raw_shifts = shifted_columns(dated, curated)
    prose_years, prose_restated = narrative_checks(store, document_ids)
    return _RawChecks(shifted_header_checks(store, raw_shifts, con),
                      restated_checks(store, dated, raw_shifts, curated) + prose_restated, prose_years)


def _checks(con, figures: str | None, document_ids: list[str] | None, raw: _RawChecks,
            stale_rows: list[dict]) -> dict[str, list[dict]]:
    """The curated series' checks of `document_ids` first, then the rows of the raw labels, the prose
    and vintage.stale of the prose (`stale_rows`) that those do not cover (cross_report_checks)."""
    shifts = curated_shifts(con, figures, document_ids) if figures else []
    restated = curated_restated_checks(con, figures, document_ids, shifts) if figures else []
    stale = curated_stale_checks(con, figures, document_ids) if figures else []
    return {
        "entetes": curated_shift_checks(con, shifts) + raw.shifted,
        "millesimes": restated + _not_in(raw.restated, restated) + stale + _not_in(stale_rows, stale),
        "texte": raw.prose_years,
    }


def _not_in(rows: list[dict], first: list[dict]) -> list[dict]:
    """The rows of a fallback that no earlier check row already made for the same figure
    (document, line, exercice); passing rows are kept, they make no finding."""
    seen = {(r["document_id"], r["line"], r["exercice"]) for r in first}
    return [r for r in rows if r["statut"] == "ok" or (r["document_id"], r["line"], r["exercice"]) not in seen]


# --- What a changed report may change in the others' cross-report checks ----------------------------------------
#
# Every check row above is of the later report b, and reads b and reports of earlier years of its
# organisme only (a strictly smaller report_year): a changed report X (added, read again, removed) of
# year yx can change the rows of b only when yx < b's year, and then only through one of these paths,
# which `reached_by_changes` follows (anything it cannot tell — a year or an organisme unknown — makes
# every later report of the organisme reached):
# 1. vintage.stale (curated tables and prose): b is compared with the reports of the year before its
#    own, all of them: b of year yx + 1 is reached.
# 2. vintage.restated and header.year over the curated series (curated_restated_checks,
#    curated_shifts): a figure of b (key, exercice e) is compared with the figure of key and exercice e,
#    e + 1 or e - 1 of the latest earlier report printing it (ASOF JOIN on `rang`: by year, then
#    document_id). X is that report, before or after the change, only when it prints the key and
#    exercice (any of its printings: a superset of its figures) and no unchanged report printing them
#    unambiguously comes after X (by year then document_id) in a year before b's.
# 3. the raw row labels (restated_checks, shifted_columns): a table of b is compared with every
#    earlier table sharing its labels when one of the two is loose (in no curated figure). When X has
#    a loose table under a year, every later report is reached; else b is reached when one of its loose
#    tables prints a label X prints. The earlier table a shifted column cites is the latest (sorted
#    pairs), so that it does not depend on the other reports.
# 4. the prose (narrative_checks: vintage.restated, text.year): a figure of b is compared with the
#    latest earlier report giving the same subject and measure: b is reached when it gives a subject
#    and measure X gives.


def reached_by_changes(con, changes: list[tuple[str, str]], candidates: list[str],
                       unchanged: list[str]) -> set[str]:
    """The reports of `candidates` whose cross-report check rows may differ once the reports `changes`
    changed: (document_id, db) per version of a changed report, db "" for its version in the store of
    `con`, « previous. » for its version in the store being replaced (attached to `con` under that
    name). `unchanged`: every report of the store whose rows are those of the previous store (the
    candidates among them). Source of each path: the comment above."""
    if not changes or not candidates:
        return set()
    docs = _documents(con, candidates)
    reached: set[str] = set()
    for db in sorted({d for _, d in changes}):
        events = _documents(con, [i for i, d in changes if d == db], db)
        later = _later(events, docs)
        unsure = {b for x, bs in later.items() for b in bs if events[x][1] is None or docs[b][1] is None}
        reached |= unsure | {b for x, bs in later.items() if events[x][1] is not None
                             for b in bs if docs[b][1] == events[x][1] + 1}
        for path in (_by_series, _by_raw_labels, _by_prose):
            pending = {x: bs - reached for x, bs in later.items() if events[x][1] is not None and bs - reached}
            if pending:
                reached |= path(con, db, pending, unchanged)
    return reached


def _documents(con, ids: list[str], db: str = "") -> dict[str, tuple]:
    """document_id -> (org, report_year) of the reports `ids` of the store `db`."""
    rows = con.execute(f"SELECT document_id, org, report_year FROM {db}documents "
                       "WHERE list_contains(?::VARCHAR[], document_id)", [list(ids)]).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _later(events: dict[str, tuple], docs: dict[str, tuple]) -> dict[str, set[str]]:
    """changed report -> the candidates of its organisme it may reach: of a later year (all of them
    when a year is unknown)."""
    out = {}
    for x, (org, year) in events.items():
        out[x] = {b for b, (o, y) in docs.items()
                  if o == org and (year is None or y is None or y > year)}
    return {x: bs for x, bs in out.items() if bs}


def _by_series(con, db: str, pending: dict[str, set[str]], unchanged: list[str]) -> set[str]:
    """Path 2: the candidates whose comparison over the curated series may pick a changed report.

    A candidate b printing a key for exercice e is compared with the latest earlier report printing it
    for e - 1, e or e + 1 (ASOF JOIN on `rang`, by year then document_id): a changed report X can be that
    one only when no unchanged report printing the key unambiguously comes after X in a year before b's.
    Of the changed reports of a year before b's, the latest printing the key is the one to look at: an
    unchanged report after it comes after every other. So the keys are compared per year of a candidate
    (a few), not per pair of a changed report and a candidate: adding 880 reports to 120 made 100 000
    pairs of a thousand keys each, past DuckDB's memory bound."""
    from pipelines.validate.points import has_curated, series_keys_sql

    if not has_curated(con):
        return set()
    candidates = sorted({b for bs in pending.values() for b in bs})
    # the reports that may come between a changed report and a candidate: of their organismes, from
    # the changed report's year to the candidate's
    events, docs = _documents(con, list(pending), db), _documents(con, unchanged)
    first = {}
    for org, year in events.values():
        first[org] = min(year, first.get(org, year))
    years = sorted({y for _, y in _documents(con, candidates).values()})
    between = sorted(i for i, (o, y) in docs.items() if o in first and y is not None and first[o] <= y < years[-1])
    # e, u, b are written before the query that compares them: read by its joins, their three scans of
    # every family went past DuckDB's memory bound together (880 reports added to 120)
    with _ids(con, _x=sorted(pending), _b=candidates, _u=between), _temporary(con, "_atteints_e", "_atteints_u", "_atteints_b"):
        con.execute(f"CREATE TEMP TABLE _atteints_e AS {series_keys_sql('_x', db)}")
        con.execute(f"CREATE TEMP TABLE _atteints_u AS {series_keys_sql('_u', unambiguous=True, keys='_atteints_e')}")
        con.execute(f"""CREATE TEMP TABLE _atteints_b AS SELECT k.*, d.report_year AS y FROM ({series_keys_sql('_b')}) k
                        JOIN documents d ON d.document_id = k.document_id""")
        rows = con.execute("""
            WITH years AS (SELECT unnest(?::INTEGER[]) AS y),
            last_x AS (SELECT famille, org, cle, mesure, exercice, years.y, max((report_year, document_id)) AS x
                       FROM _atteints_e e JOIN years ON e.report_year < years.y GROUP BY ALL),
            last_u AS (SELECT famille, org, cle, mesure, exercice, years.y, max((report_year, document_id)) AS u
                       FROM _atteints_u u JOIN years ON u.report_year < years.y GROUP BY ALL)
            SELECT DISTINCT b.document_id FROM _atteints_b b
            JOIN last_x l ON l.y = b.y AND l.famille = b.famille AND l.org = b.org AND l.cle = b.cle
                 AND l.mesure = b.mesure AND abs(l.exercice - b.exercice) <= 1
            LEFT JOIN last_u v ON v.y = l.y AND v.famille = l.famille AND v.org = l.org AND v.cle = l.cle
                 AND v.mesure = l.mesure AND v.exercice = l.exercice
            WHERE v.u IS NULL OR l.x > v.u""", [years]).fetchall()
    return {r[0] for r in rows}


@contextlib.contextmanager
def _temporary(con, *tables: str):
    """The temporary tables `tables` of `con` dropped after the block."""
    try:
        yield
    finally:
        # a check stopped (Ctrl-C) closes its connection first: its temporary tables went with it
        with contextlib.suppress(duckdb.ConnectionException):
            for table in tables:
                con.execute(f"DROP TABLE IF EXISTS {table}")


@contextlib.contextmanager
def _ids(con, **lists: list[str]):
    """Each list of document_id as a relation of `con` named by its keyword, for the block."""
    for name, ids in lists.items():
        con.register(name, pd.DataFrame({"document_id": pd.Series(ids, dtype=object)}))
    try:
        yield
    finally:
        for name in lists:
            con.unregister(name)


def _by_raw_labels(con, db: str, pending: dict[str, set[str]], unchanged: list[str]) -> set[str]:
    """Path 3: the candidates one of whose loose tables may be paired with a table of a changed report
    (three labels in common, or three labels and years: shifted_columns', restated_checks' bar)."""
    out: set[str] = set()
    shapes: dict[str, list[tuple[set, set]]] = {}
    for x, bs in pending.items():
        dated, curated = stored_dated_figures(con, [x], db=db), _curated_tables(con, [x], db)
        if any(c["table_id"] not in curated for c in dated):
            out |= bs  # a loose table of X is compared with every later table sharing its labels
        else:
            shapes[x] = _table_shapes(dated)
    wanted = sorted({b for x in shapes for b in pending[x]})
    if not wanted:
        return out
    loose = stored_dated_figures(con, wanted, leave_out=sorted(_curated_tables(con, wanted)))
    theirs: dict[str, list[tuple[set, set]]] = {}
    for c in loose:
        theirs.setdefault(c["document_id"], []).append(c)
    theirs = {b: _table_shapes(figures) for b, figures in theirs.items()}
    return out | {b for x, mine in shapes.items() for b in pending[x]
                  if any(len(la & lb) >= 3 or len(ya & yb) >= 3 for la, ya in mine for lb, yb in theirs.get(b, ()))}


def _curated_tables(con, ids: list[str], db: str = "") -> set[str]:
    """The tables of the reports `ids` in a figure of the curated series (curated_tables' set)."""
    from pipelines.validate.points import has_curated, series_keys_sql

    if not has_curated(con):
        return set()
    with _ids(con, _t=ids):
        return {r[0] for r in con.execute(f"SELECT DISTINCT table_id FROM ({series_keys_sql('_t', db, True)}) "
                                          "WHERE table_id IS NOT NULL").fetchall()}


def _table_shapes(dated: list) -> list[tuple[set, set]]:
    """(labels, (label, year)) of each table of figures under a year."""
    tables: dict[str, tuple[set, set]] = {}
    for c in dated:
        labels, years = tables.setdefault(c["table_id"], (set(), set()))
        labels.add(c["label"])
        years.add((c["label"], c["year"]))
    return list(tables.values())


def _by_prose(con, db: str, pending: dict[str, set[str]], unchanged: list[str]) -> set[str]:
    """Path 4: the candidates giving in their prose a subject and measure a changed report gives."""
    mine = _prose_keys(con, sorted(pending), db)
    theirs = _prose_keys(con, sorted({b for bs in pending.values() for b in bs}))
    return {b for x, bs in pending.items() for b in bs if mine.get(x, set()) & theirs.get(b, set())}


def _prose_keys(con, ids: list[str], db: str = "") -> dict[str, set[tuple]]:
    """document_id -> (org, subject, measure) of its prose figures _narrative_series compares."""
    rows = con.execute(f"""
        SELECT DISTINCT n.document_id, d.org, n.sujet, n.mesure FROM {db}narratifs n JOIN {db}documents d USING (document_id)
        WHERE list_contains(?::VARCHAR[], n.document_id) AND n.parse_status = 'ok' AND n.value IS NOT NULL
              AND n.sujet IS NOT NULL AND n.mesure IS NOT NULL AND n.exercice IS NOT NULL AND n.table_id IS NULL""",
                       [ids]).fetchall()
    out: dict[str, set[tuple]] = {}
    for document_id, org, sujet, mesure in rows:
        if sujet and mesure:  # _narrative_series skips an empty subject or measure
            out.setdefault(document_id, set()).add((org, _norm(sujet), _norm(mesure)))
    return out
