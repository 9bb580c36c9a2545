"""Détection des tableaux et de leur structure, quelle que soit la mise en page.

Layouts: tab-separated (``tsv``), markdown pipes (``pipe``), columns aligned with
runs of spaces (``fixed``), side-by-side repeated blocks (``side_by_side``) and
PDF text where a row is a label followed by its values, possibly wrapped over
several lines (``pdftext``, see :mod:`pipelines.extract.pdftext`). Every layout
ends up as rows of raw cell texts, and one function gives them their structure:
header rows, label columns, totals, sub-totals and sub-items.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

from pipelines.extract.labels import TOTAL, is_derived, total_kind
from pipelines.extract.model import Cell, Row, Table
from pipelines.extract.numbers import FR, clean, decide_notation, decimals_of, parse_cell, year_in_header

SUBITEM_RE = re.compile(r"^\s*(?:\(\*\)\s*)?(?:dt|dont)\b", re.IGNORECASE)
CODE_HEADER_RE = re.compile(r"^\s*(chapitre|code|n°|no|compte|article|cat\.?|catégorie)\s*", re.IGNORECASE)
CODE_RE = re.compile(r"^\s*(\d{2,5})\s*$")
LEADING_CODE_RE = re.compile(r"^\s*(\d{2,5})(?:\s|$)")
_RULE_RE = re.compile(r"^[\s\-=_|+:]*$")


@dataclass
class RawRow:
    line: int
    texts: list[str]
    lines: list[int] | None = None  # per cell, when values are printed on other lines (PDF text)


@dataclass
class Block:
    layout: str
    rows: list[RawRow]
    header_hint: int | None = None  # pipe tables say where their header ends
    caption_hint: str | None = None

    @property
    def line_start(self) -> int:
        return self.rows[0].line

    @property
    def line_end(self) -> int:  # values may be printed below their label (PDF text)
        return max(max(r.lines or [r.line]) for r in self.rows[-3:])


# --- Block detection ----------------------------------------------------------

def _is_pipe_row(line: str) -> bool:
    s = line.strip()
    return len(s) > 2 and s.startswith("|") and s.endswith("|") and s.count("|") >= 3


def _fixed_split(line: str) -> list[str]:
    return [p for p in re.split(r" {2,}", line.strip()) if p]


def find_blocks(lines: list[str], skip: set[int]) -> list[Block]:
    """Blocks of tsv / pipe / fixed-width rows; lines they use are added to ``skip``."""
    blocks: list[Block] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        lineno = i + 1
        if lineno in skip or not line.strip():
            i += 1
            continue
        if _is_pipe_row(line):
            j = i
            while j < n and (lineno + (j - i)) not in skip and _is_pipe_row(lines[j]):
                j += 1
            block = _pipe_block(lines, i, j)
        elif "\t" in line.strip(" "):
            j = _tsv_end(lines, i, skip)
            rows = [RawRow(k + 1, lines[k].strip(" ").split("\t")) for k in range(i, j) if lines[k].strip()]
            block = Block("tsv", rows)
        elif len(_fixed_split(line)) >= 2:
            j = i
            while j < n and (j + 1) not in skip and lines[j].strip() and len(_fixed_split(lines[j])) >= 2:
                j += 1
            rows = [RawRow(k + 1, _fixed_split(lines[k])) for k in range(i, j)]
            block = Block("fixed", rows) if _looks_fixed(rows) else None
        else:
            i += 1
            continue
        j = max(j, i + 1)
        if block and len([r for r in block.rows if not _is_rule(r.texts)]) >= 2:
            blocks.append(block)
            skip.update(range(i + 1, j + 1))
        i = j
    return blocks


def _tsv_end(lines: list[str], i: int, skip: set[int]) -> int:
    """End of a tab block; one blank line inside is bridged when the next row has the same shape."""
    width = lines[i].count("\t")
    j = i
    while j < len(lines) and (j + 1) not in skip:
        nxt = lines[j + 1] if j + 1 < len(lines) else ""
        if "\t" in lines[j].strip(" "):
            j += 1
        elif not lines[j].strip() and nxt.count("\t") == width and width:
            j += 1  # a blank line inside a table (page break)
        elif 0 < len(lines[j].strip()) <= 40 and "\t" in nxt and not re.search(r"[.;:]$", lines[j].strip()):
            j += 1  # a row whose cells were lost (« Gentilly » without its tab)
        else:
            break
    return j


def _looks_fixed(rows: list[RawRow]) -> bool:
    """At least three aligned rows, most with a number outside the first column."""
    if len(rows) < 3:
        return False
    numeric = sum(1 for r in rows if any(parse_cell(t).value is not None for t in r.texts[1:]))
    widths = {len(r.texts) for r in rows}
    return numeric >= 2 and max(widths) - min(widths) <= 2


def _pipe_block(lines: list[str], i: int, j: int) -> Block:
    rows, header_hint = [], None
    for k in range(i, j):
        texts = [t.strip() for t in lines[k].strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", t) for t in texts if t) and any(texts):
            header_hint = len(rows)
            continue
        rows.append(RawRow(k + 1, texts))
    return Block("pipe", rows, header_hint=header_hint)


def _is_rule(texts: list[str]) -> bool:
    return all(_RULE_RE.match(t) for t in texts) and any(t.strip() for t in texts)


# --- Structure ----------------------------------------------------------------

def _is_year_text(text: str) -> bool:
    c = clean(text)
    return bool(re.fullmatch(r"(?:19|20)\d{2}|(?:19|20)?\d ?\d{3}", c)) and year_in_header(c) is not None


def _is_number(text: str) -> bool:
    p = parse_cell(text)
    return p.value is not None or p.status == "malformed"


def _header_like(texts: list[str]) -> bool:
    """A header row has no figure other than years (« 2 021 » included) and dates."""
    non_empty = [t for t in texts if clean(t)]
    if not non_empty:
        return False
    return all(not _is_number(t) or _is_year_text(t) for t in non_empty)


def _side_by_side(rows: list[RawRow]) -> list[RawRow] | None:
    """« Application | jours 2016 | jours 2017 | Application | jours 2016 | jours 2017 »:
    stack the right-hand block under the left one, totals last."""
    head = [clean(t).lower() for t in rows[0].texts]
    while head and not head[-1]:
        head.pop()
    k = len(head) // 2
    if k < 2 or len(head) % 2 or head[:k] != head[k:]:
        return None
    left, right, totals = [RawRow(rows[0].line, rows[0].texts[:k])], [], []
    for r in rows[1:]:
        texts = r.texts + [""] * (2 * k - len(r.texts))
        for side, part in ((left, texts[:k]), (right, texts[k:])):
            if any(clean(t) for t in part):
                (totals if total_kind(clean(part[0])) else side).append(RawRow(r.line, part))
    return left + right + totals


# Tables built lately, by what decides them (`_block_key`): a draft checked again on every save
# (`bilans check --watch`) holds the same blocks, most of them only moved by lines inserted above.
_BUILT: OrderedDict[tuple, Table] = OrderedDict()
_BUILT_KEPT = 512


def build_table(block: Block, document_id: str, caption: str | None, section: str | None,
                notation: str = FR) -> Table:
    """Rows, header, labels, totals and cell values of a block; ``notation`` is the document's,
    taken when the table's own figures do not decide theirs. A pure function of the block's texts,
    of where its rows are from its first line, and of the other arguments: a block built before is
    copied, moved to its lines (a new Table each call: the caller sets its family)."""
    key = _block_key(block, document_id, caption, section, notation)
    if (kept := _BUILT.get(key)) is not None:
        _BUILT.move_to_end(key)
        return _moved(kept, block.line_start - kept.line_start, document_id)
    table = _build_table(block, document_id, caption, section, notation)
    _BUILT[key] = _moved(table, 0, document_id)
    while len(_BUILT) > _BUILT_KEPT:
        _BUILT.popitem(last=False)
    return table


def _block_key(block: Block, document_id: str, caption, section, notation) -> tuple:
    first = block.line_start
    rows = tuple((r.line - first, tuple(r.texts), None if r.lines is None else tuple(n - first for n in r.lines))
                 for r in block.rows)
    return block.layout, block.header_hint, rows, document_id, caption, section, notation


def _moved(table: Table, by: int, document_id: str) -> Table:
    """A copy of `table` whose lines are `by` lines further (its id names its first line)."""
    return _copy(table, table_id=f"{document_id}@{table.line_start + by}", line_start=table.line_start + by,
                 line_end=table.line_end + by, headers=list(table.headers), ragged=[n + by for n in table.ragged],
                 rows=[_copy(r, line=r.line + by, cells=[_copy(c, line=c.line + by) for c in r.cells])
                       for r in table.rows])


def _copy(obj, **changes):
    """A shallow copy of a dataclass instance with `changes` (dataclasses.replace, which runs
    __init__, cost a third of a --watch re-read of a draft's tables)."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__, **changes)
    return new


def _build_table(block: Block, document_id: str, caption: str | None, section: str | None,
                 notation: str = FR) -> Table:
    rows = [r for r in block.rows if not _is_rule(r.texts)]
    layout = block.layout
    if len(rows) > 2 and (stacked := _side_by_side(rows)):
        rows, layout = stacked, "side_by_side"
    width = max(len(r.texts) for r in rows)
    n_header = _count_header_rows(rows, block.header_hint)
    headers = _combined_headers(rows[:n_header], width)
    n_label = _count_label_cols(rows[n_header:], headers, width)
    # one notation for the whole table, from the figures of its body (headers hold years and dates)
    notation = decide_notation([t for r in rows[n_header:] for t in r.texts[n_label:]], notation)
    table = Table(
        table_id=f"{document_id}@{block.line_start}", document_id=document_id, caption=caption,
        section=section, line_start=block.line_start, line_end=block.line_end, layout=layout,
        n_header_rows=n_header, n_label_cols=n_label, headers=headers, notation=notation,
    )
    header_width = len([t for t in rows[0].texts if clean(t)]) if n_header else width
    for index, raw in enumerate(rows):
        is_header = index < n_header
        if not is_header and block.layout in ("tsv", "pipe") and n_header and \
                len(raw.texts) != len(rows[0].texts) and len([t for t in raw.texts if clean(t)]) > header_width:
            table.ragged.append(raw.line)
        table.rows.append(_make_row(index, raw, is_header, n_label, notation))
    _mark_repeated_headers(table)
    _assign_kinds(table)
    return table


def _mark_repeated_headers(table: Table) -> None:
    """A header printed again after a page break is a header, not a row."""
    if not table.n_header_rows:
        return
    first = [clean(c.text).lower() for c in table.rows[0].cells]
    for r in table.rows[table.n_header_rows:]:
        if [clean(c.text).lower() for c in r.cells] == first:
            r.kind = "header"
            for c in r.cells:
                c.role = "header"


def _count_header_rows(rows: list[RawRow], hint: int | None) -> int:
    if hint is not None:
        return hint
    if not rows or not _header_like(rows[0].texts):
        return 0
    n = 1
    while n < len(rows) - 1:
        texts = rows[n].texts
        if clean(texts[0]) or not _header_like(texts[1:]) or total_kind(clean(texts[0])):
            break
        n += 1
    return n


def _combined_headers(header_rows: list[RawRow], width: int) -> list[str]:
    """One header per column. A group label spanning columns (« REPARTITION PAR SEXE » over
    « Hommes | Femmes », « 2010 » over « Total | Male | Female ») is printed in the first cell of
    its span and carried over it: « 2010 — Male ». Stacked words of one column join with a space."""
    parts: list[list[str]] = [[] for _ in range(width)]
    for n, r in enumerate(header_rows):
        below = header_rows[n + 1].texts if n + 1 < len(header_rows) else []

        def text_at(row: list[str], col: int) -> str:
            return clean(row[col]) if col < len(row) else ""

        carried = ""
        for col in range(width):
            text = text_at(r.texts, col)
            if text:
                carried = text
                spans = col + 1 < width and not text_at(r.texts, col + 1) and text_at(below, col + 1)
                if spans and text_at(below, col):
                    text += " —"
            elif col > 0 and text_at(below, col):
                text = f"{carried} —" if carried else ""  # a spanning header carried over its span
            if text:
                parts[col].append(text)
    return [" ".join(p).removesuffix(" —") for p in parts]


def _count_label_cols(body: list[RawRow], headers: list[str], width: int) -> int:
    n = 1
    for col in range(1, width - 1):
        cells = [clean(r.texts[col]) for r in body if col < len(r.texts) and clean(r.texts[col])]
        header = headers[col] if col < len(headers) else ""
        codes = cells and all(CODE_RE.match(c) for c in cells)
        if CODE_HEADER_RE.match(header) and (codes or not cells or not any(_is_number(c) for c in cells)):
            n = col + 1
            continue
        if header and year_in_header(header):
            break
        numeric = sum(1 for c in cells if _is_number(c))
        if cells and numeric * 2 >= len(cells):
            break
        n = col + 1
    return n


def _make_row(index: int, raw: RawRow, is_header: bool, n_label: int, notation: str = FR) -> Row:
    cells = []
    for col, text in enumerate(raw.texts):
        parsed = parse_cell(text, notation)
        role = "header" if is_header else ("label" if col < n_label else "value")
        cells.append(Cell(
            row=index, col=col, line=raw.lines[col] if raw.lines and col < len(raw.lines) else raw.line,
            text=text.strip(), value=parsed.value, unit=parsed.unit,
            role=role, status=parsed.status, value2=parsed.value2, unit2=parsed.unit2,
            decimals=decimals_of(text, notation) if parsed.value is not None else 0,
        ))
        if role == "label" and parsed.value is not None and not is_header:
            cells[-1].status = "ok"  # a code or a year used as a row label stays a label
    label = " ".join(clean(c.text) for c in cells[:n_label] if clean(c.text))
    return Row(index=index, line=raw.line, cells=cells, kind="header" if is_header else "item", label=label)


def _total_kind(row: Row, n_label: int) -> str | None:
    return next((k for c in row.cells[:n_label] if (k := total_kind(clean(c.text)))), None)


def _computed_from(row: Row, totals: list[Row]) -> bool:
    """« Dette nette 25 » under « Total des passifs 30 » and « Total des actifs financiers 5 »:
    every figure of the line is the difference or the sum of the two totals, to their rounding."""
    if len(totals) < 2:
        return False
    figures = [c for c in row.cells if c.role == "value" and c.value is not None]
    if not figures or all(c.value == 0 for c in figures):
        return False
    for c in figures:
        x, y = (t.cells[c.col] if c.col < len(t.cells) else None for t in totals)
        if x is None or y is None or x.value is None or y.value is None:
            return False
        tol = 0.5 * sum(10 ** -d for d in (c.decimals, x.decimals, y.decimals))
        if not any(abs(c.value - s) <= tol for s in (x.value - y.value, y.value - x.value, x.value + y.value)):
            return False
    return True


def _assign_kinds(table: Table) -> None:
    """Totals from the referential of labels (totaux.csv): the last « Total » closes the table, the
    others and every « Sous-total » are sub-totals; a line computed from totals above it is
    derived, not an item: by its label (derives.csv: « Dette nette », « Solde ») or, just under
    two totals, by its figures (their difference or sum in every column)."""
    body = table.body
    totals = [(r, k) for r in body if (k := _total_kind(r, table.n_label_cols))]
    for r, _ in totals:
        r.kind = "subtotal"
    closing = [r for r, k in totals if k == TOTAL] or [r for r, _ in totals]
    if closing:
        closing[-1].kind = "total"
    above: list[Row] = []
    previous: Row | None = None
    for r in body:
        if r.kind in ("total", "subtotal"):
            above.append(r)
        elif above and r.kind == "item" and (
                is_derived(r.label) or previous is above[-1] and _computed_from(r, above[-2:])):
            r.kind = "derived"
        previous = r
    previous_code = None
    for r in body:
        first = clean(r.cells[0].text) if r.cells else ""
        code = LEADING_CODE_RE.match(first)
        if r.kind == "item":
            if SUBITEM_RE.match(r.label) and not first or SUBITEM_RE.match(first):
                r.kind = "subitem"
            elif code and previous_code and code[1] != previous_code and code[1].startswith(previous_code):
                r.kind = "subitem"  # article 2031 under chapitre 20
            elif code:
                previous_code = code[1]
        for c in r.cells[table.n_label_cols:]:
            if r.kind in ("total", "subtotal"):
                c.role = r.kind
