"""Tableaux réglés d'un PDF lus comme ils sont dessinés : une valeur par cellule, une rangée par ligne imprimée.

pdfplumber's table finder (lines strategy: rulings, and the edges of rects) gives the cells a reader
sees between the rules. The rules do not always separate every row, so each row of the finder is
read again from its words:

- A band: several rows printed between two rules (« rows shaded in bands of five »). A row whose
  cells hold two or more printed lines that each carry a label in the first cell and a figure in
  another is split into one row per such line; a line without figures (a wrapped label) joins the nearest of them,
  the one above on a tie (its own row, as a label printed under its figures).
- A grouped header: a cell across several columns that holds a group label above one label per
  column (« Pre-Pawn » over « Handgun | Long Gun | *Other »). It becomes two header rows as a
  word processor would draw them: the group label in the first cell of its span (the text
  detector carries it over the span), the column labels under their columns; a cell that spans
  both lines keeps its text in the first.
- A cell across several columns whose words sit each in one column (one label per column
  printed in an unruled header cell) is split over those columns.
- A title or notes framed across the whole width above or below the grid are text, not rows.
- A column with no text at all (an edge of a background drawn past the table) is no column.
- A word or a number longer than its cell is cut over two lines (« Ann » / « ées », « 200 » / « 6 »):
  the pieces join without a space, and the line that ends a cut label is no row of a band.

Merged cells keep the convention of the text conversions: the text in the first cell of the span
(top-left), the others empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.extract.layer import cell_text

_TOL = 1.5  # points: a word or a rule this close to a boundary is on it
_OVER = 0.5  # points: a glyph that would pass the cell's padding by less may be rounding, and fit


@dataclass
class Grid:
    """A ruled table as read: ``rows`` of cell texts (all the same width), ``bbox`` the part of the
    page they cover (a framed title or notes outside it are read as text), ``words`` the words of
    each row (those of the finder's row: the rows of a band share them)."""

    bbox: tuple[float, float, float, float]
    rows: list[list[str]]
    words: list[list[dict]] = field(default_factory=list)


@dataclass
class _Cell:
    row: int  # first row of the finder this cell is in
    col0: int
    col1: int  # exclusive
    bbox: tuple[float, float, float, float]
    text: str  # as pdfplumber extracts it
    words: list[dict] = field(default_factory=list)
    single_row: bool = True
    pad: float = 0.0  # the table's padding: the smallest gap between a word and its cell's rules


def read_grids(page, words: list[dict]) -> list[Grid]:
    """The ruled tables of a page (``page.find_tables()``), each read as drawn.
    ``words``: the page's ``extract_words(extra_attrs=["size"])``."""
    grids = []
    for table in page.find_tables():
        if len(table.rows) < 2 or max(len(r.cells) for r in table.rows) < 2:
            continue  # a framed paragraph is a one-cell « table »: read it as text
        grid = _read(table, words)
        if grid is not None:
            grids.append(grid)
    return grids


def _read(table, words: list[dict]) -> Grid | None:
    xs = sorted({round(c[0], 1) for c in table.cells} | {round(table.bbox[2], 1)})
    cells = _cells(table, xs)
    x0, top, x1, bottom = table.bbox
    for w in words:
        if w["x1"] < x0 or w["x0"] > x1 or w["bottom"] < top or w["top"] > bottom:
            continue
        cell = _cell_of(w, cells)
        if cell is not None:
            cell.words.append(w)
    pad = _padding(cells)
    for c in cells:
        c.pad = pad
    n_cols = len(xs) - 1
    body = [i for i in range(len(table.rows)) if not _framed_text(i, cells, n_cols)]
    if not body:
        return None
    first, last = body[0], body[-1]  # a full-width row inside the grid stays a row (a section label)
    rows: list[list[str]] = []
    words_of: list[list[dict]] = []
    for i in range(first, last + 1):
        own = [c for c in cells if c.row == i]
        printed = _row(i, own, xs)
        rows += printed
        words_of += [[w for c in own for w in c.words]] * len(printed)
    kept = [k for k, r in enumerate(rows) if any(t.strip() for t in r)]
    rows = _drop_empty_columns([rows[k] for k in kept])
    if len(rows) < 2 or len(rows[0]) < 2:
        return None
    return Grid((x0, table.rows[first].bbox[1], x1, table.rows[last].bbox[3]), rows, [words_of[k] for k in kept])


def _cells(table, xs: list[float]) -> list[_Cell]:
    texts = table.extract()
    tops = [r.bbox[1] for r in table.rows]
    out = []
    for i, row in enumerate(table.rows):
        for k, bbox in enumerate(row.cells):
            if bbox is None:
                continue
            col0 = _index(bbox[0], xs)
            col1 = max(col0 + 1, _index(bbox[2], xs))
            below = [t for t in tops[i + 1:] if t < bbox[3] - _TOL]
            text = texts[i][k] if k < len(texts[i]) else ""
            out.append(_Cell(i, col0, col1, bbox, cell_text(text), single_row=not below))
    return out


def _padding(cells: list[_Cell]) -> float:
    """The table's padding: the smallest gap between a word and the side rules of its cell."""
    return max(min((min(w["x0"] - c.bbox[0], c.bbox[2] - w["x1"]) for c in cells for w in c.words), default=0.0), 0.0)


def _index(x: float, xs: list[float]) -> int:
    return min(range(len(xs)), key=lambda k: abs(xs[k] - x))


def _cell_of(word: dict, cells: list[_Cell]) -> _Cell | None:
    cx, cy = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    for c in cells:
        x0, top, x1, bottom = c.bbox
        if x0 - _TOL <= cx <= x1 + _TOL and top - _TOL <= cy <= bottom + _TOL:
            return c
    return None


def _framed_text(i: int, cells: list[_Cell], n_cols: int) -> bool:
    """A row that is one cell across the whole grid (a title, notes) or has no text."""
    own = [c for c in cells if c.row == i]
    return not any(c.words for c in own) or (len(own) == 1 and own[0].col0 == 0 and own[0].col1 == n_cols)


# --- one row of the finder -> one or more rows as printed --------------------------------------------

def _row(i: int, own: list[_Cell], xs: list[float]) -> list[list[str]]:
    width = len(xs) - 1
    lines = printed_lines([w for c in own if c.single_row for w in c.words])
    values = [ln for ln in lines if _is_value_line(ln, own)]
    if len(values) >= 2:
        return _band(own, lines, values, xs, width)
    if any(_grouped(c, xs) for c in own):
        return _group_header(own, xs, width)
    out = [""] * width
    for c in own:
        _put(out, c, printed_lines(c.words), xs)
    return [out]


def _band(own: list[_Cell], lines: list[list[dict]], values: list[list[dict]], xs: list[float],
          width: int) -> list[list[str]]:
    """One row per value line; each other line joins the nearest value line (the one above on a tie)."""
    owner: dict[int, int] = {}
    index = {id(v): k for k, v in enumerate(values)}
    for n, ln in enumerate(lines):
        if id(ln) in index:
            owner[n] = index[id(ln)]
            continue
        above = [k for k, v in enumerate(values) if _top(v) < _top(ln)]
        below = [k for k, v in enumerate(values) if _top(v) > _top(ln)]
        if not above or not below:
            owner[n] = above[-1] if above else 0
            continue
        gap_above = _top(ln) - _bottom(values[above[-1]])
        gap_below = _top(values[below[0]]) - _bottom(ln)
        owner[n] = below[0] if gap_below < gap_above - _TOL else above[-1]
    rows = [[""] * width for _ in values]
    by_word = {id(w): owner[n] for n, ln in enumerate(lines) for w in ln}
    for c in own:
        if not c.single_row:  # a cell merged over the rows of the band: its text in the first
            _put(rows[0], c, printed_lines(c.words), xs)
            continue
        for k in range(len(values)):
            mine = [w for w in c.words if by_word.get(id(w)) == k]
            if mine:
                _put(rows[k], c, printed_lines(mine), xs)
    return rows


def _group_header(own: list[_Cell], xs: list[float], width: int) -> list[list[str]]:
    """Two header rows: group labels (and cells spanning both lines) above, column labels below."""
    top, bottom = [""] * width, [""] * width
    for c in own:
        lines = printed_lines(c.words)
        if _grouped(c, xs):
            n = _first_fitting(lines, xs)
            top[c.col0] = _join([w for ln in lines[:n] for w in ln])
            _put(bottom, c, lines[n:], xs)
        else:
            _put(top, c, lines, xs)
    return [top, bottom]


def _put(out: list[str], cell: _Cell, lines: list[list[dict]], xs: list[float]) -> None:
    """A cell's text into its row: split over its columns when each of its words sits in one
    column, else in its first column (pdfplumber's text when the cell is read whole)."""
    if cell.col1 - cell.col0 > 1 and lines and all(_fits(ln, xs) for ln in lines):
        for ln in lines:
            for seg in _segments(ln):
                k = max([k for k in range(len(xs) - 1) if xs[k] <= seg[0]["x0"] + _TOL], default=cell.col0)
                out[k] = f"{out[k]} {_join(seg)}".strip()
        return
    words = [w for ln in lines for w in ln]
    text = _lines_text(lines, cell)
    if text == _join(words) and words and len(words) == len(cell.words):
        text = cell.text or text
    out[cell.col0] = f"{out[cell.col0]} {text}".strip()


def _grouped(cell: _Cell, xs: list[float]) -> bool:
    """A cell across columns with a label over them, then one label per column."""
    if cell.col1 - cell.col0 < 2:
        return False
    lines = printed_lines(cell.words)
    n = _first_fitting(lines, xs)
    return 0 < n < len(lines) and all(_fits(ln, xs) for ln in lines[n:])


def _first_fitting(lines: list[list[dict]], xs: list[float]) -> int:
    return next((n for n, ln in enumerate(lines) if _fits(ln, xs)), len(lines))


def _fits(line: list[dict], xs: list[float]) -> bool:
    """Each run of words of the line inside one column, and at least two columns used."""
    columns = set()
    for seg in _segments(line):
        inside = [k for k in range(len(xs) - 1)
                  if xs[k] - _TOL <= seg[0]["x0"] and seg[-1]["x1"] <= xs[k + 1] + _TOL]
        if not inside:
            return False
        columns.add(inside[0])
    return len(columns) >= 2


def _is_value_line(line: list[dict], own: list[_Cell]) -> bool:
    """A printed line that is a row of its own: words in the row's first cell (its label) and a
    figure in another cell. A second line of figures under the first (« (2021 : 10) ») is not."""
    from pipelines.extract.numbers import parse_cell

    ids = {id(w) for w in line}
    cells = [c for c in own if any(id(w) in ids for w in c.words)]
    label_col = min((c.col0 for c in own if c.words), default=0)
    if len(cells) < 2 or min(c.col0 for c in cells) != label_col:
        return False
    label = next(c for c in cells if c.col0 == label_col)
    in_label = printed_lines(label.words)
    k = next(n for n, ln in enumerate(in_label) if id(ln[0]) in ids)
    if k and _cut(in_label[k - 1][-1]["text"], in_label[k - 1], in_label[k], label):
        return False  # its label ends a word or a number cut on the line above: no row of its own
    for c in cells:
        if c.col0 == label_col:
            continue
        parsed = parse_cell(_join([w for w in c.words if id(w) in ids]))
        if parsed.value is not None or parsed.status == "malformed":
            return True
    return False


# --- words -> printed lines and runs ----------------------------------------------------------------

def printed_lines(words: list[dict]) -> list[list[dict]]:
    """Words -> printed lines, top to bottom: a word is on a line when its top is within half its height."""
    lines: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if lines and abs(w["top"] - lines[-1][0]["top"]) <= 0.5 * max(w["bottom"] - w["top"], 1.0):
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(ln, key=lambda w: w["x0"]) for ln in lines]


def _segments(line: list[dict]) -> list[list[dict]]:
    """Words closer than their font size are one run of text (one cell's label)."""
    out: list[list[dict]] = []
    for w in line:
        if out and w["x0"] - out[-1][-1]["x1"] <= max(w.get("size") or 10.0, 4.0):
            out[-1].append(w)
        else:
            out.append([w])
    return out


def _lines_text(lines: list[list[dict]], cell: _Cell) -> str:
    """A cell's printed lines as one text: a line break inside a word or a number (the cell too
    narrow for it, « Ann » / « ées », « 200 » / « 6 ») joins without a space, any other with one."""
    text = _join(lines[0]) if lines else ""
    for prev, nxt in zip(lines, lines[1:], strict=False):
        text += ("" if _cut(text.split()[-1], prev, nxt, cell) else " ") + _join(nxt)
    return text


def _cut(before: str, prev: list[dict], nxt: list[dict], cell: _Cell) -> bool:
    """The break between the printed lines ``prev`` and ``nxt`` of a cell falls inside a token
    (``before``: the token so far, the end of ``prev``)."""
    return _full(prev, nxt[0], cell) and _one_token(before, nxt[0]["text"])


def _full(line: list[dict], nxt: dict, cell: _Cell) -> bool:
    """The line is one word that fills the cell: not even the first glyph of the next line fits
    after it. A renderer cuts a word only when it is longer than a whole line, so such a word is
    alone on its line. The padding is the table's (a centred label's gaps are wider than it)."""
    if len(line) != 1:
        return False
    glyph = (nxt["x1"] - nxt["x0"]) / max(len(nxt["text"]), 1)
    x0, _, x1, _ = cell.bbox
    return line[0]["x1"] - line[0]["x0"] + glyph > x1 - x0 - 2 * cell.pad + _OVER


def _one_token(before: str, after: str) -> bool:
    """The two pieces of one token: a word continued by lower-case letters, or digits continued by
    digits into one well-formed number that the two pieces apart are not (« 1 » / « 234 » is
    « 1 234 »)."""
    from pipelines.extract.numbers import parse_cell

    if before[-1].isalpha() and after[0].isalpha():
        return after[0].islower()
    if before[-1].isdigit() and after[0].isdigit():
        return parse_cell(before + after).status == "ok" and parse_cell(f"{before} {after}").status != "ok"
    return False


def _join(words: list[dict]) -> str:
    return " ".join(w["text"] for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])))


def _top(line: list[dict]) -> float:
    return min(w["top"] for w in line)


def _bottom(line: list[dict]) -> float:
    return max(w["bottom"] for w in line)


def _drop_empty_columns(rows: list[list[str]]) -> list[list[str]]:
    keep = [k for k in range(len(rows[0])) if any(r[k].strip() for r in rows)] if rows else []
    return [[r[k] for k in keep] for r in rows]
