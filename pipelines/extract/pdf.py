"""Lecture d'un PDF (couche texte) avec pdfplumber : lignes dans l'ordre de lecture, tableaux en lignes
séparées par des tabulations, page et ligne de chaque ligne.

- Ruled tables: pdfplumber's table finder (only on pages that have rulings, it is the costly part),
  read as drawn by :mod:`pipelines.extract.pdfgrid` (bands of rows, grouped headers, framed titles).
- Prose in two columns is read column by column (:mod:`pipelines.extract.pdfcolumns`).
- Unruled tables: consecutive lines whose words leave wide gaps; columns by x-position across the
  block, so an empty cell stays empty; a label wrapped onto the next line joins its row.
- Page numbers alone in the top or bottom margin are dropped, so that a table split over two pages
  stays one block (its repeated header is recognised by the table detector).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from pipelines.errors import UnusableInput
from pipelines.extract import budget
from pipelines.extract.layer import TextLayer, table_line
from pipelines.extract.pdfcolumns import reading_order
from pipelines.extract.pdfgrid import Grid, read_grids

MAX_PAGES = budget.LIMITS.pages
_FURNITURE = re.compile(r"^\s*(?:page\s*)?[-–]?\s*\d{1,4}\s*[-–]?\s*(?:(?:/|sur)\s*\d{1,4})?\s*$", re.IGNORECASE)
_MARGIN = 0.07  # share of the page height where page numbers are printed


@dataclass
class Line:
    top: float
    bottom: float
    words: list[dict]
    segments: list[dict] = field(default_factory=list)  # words merged into cells: x0, x1, text

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)

    @property
    def text(self) -> str:
        return " ".join(s["text"] for s in self.segments)


def read_pdf(data: bytes, name: str) -> TextLayer:
    if b"%%EOF" not in data[-4096:]:
        raise UnusableInput(f"{name} : PDF tronqué ou corrompu (fin de fichier absente)")
    pdf = _open(data, name)
    budget.check_pdf(pdf, name)
    layer = TextLayer()
    with pdf:
        try:
            pages = pdf.pages
            layer.n_pages = len(pages)
            if not pages:
                raise UnusableInput(f"{name} : PDF illisible ou corrompu (aucune page)")
            if layer.n_pages > MAX_PAGES:
                raise UnusableInput(f"{name} : PDF trop long ({layer.n_pages} pages, au plus {MAX_PAGES})")
            n_chars = 0
            for number, page in enumerate(pages, 1):
                budget.check_pdf_page(page, number, name)
                n_chars += len(page.chars)
                _read_page(page, number, layer)
                page.close()  # frees the page's parsed objects: memory stays flat on long reports
        except UnusableInput:
            raise
        except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds on a damaged file
            raise UnusableInput(f"{name} : PDF illisible ou corrompu ({type(exc).__name__})") from None
    if not n_chars:
        raise UnusableInput(f"{name} : PDF sans couche texte (document numérisé ?) ; "
                            "passez-le d'abord dans un logiciel de reconnaissance de caractères")
    return layer


def _open(data: bytes, name: str):
    import pdfplumber

    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        if "Password" in repr(exc) or "Encrypt" in repr(exc):
            raise UnusableInput(f"{name} : PDF protégé par un mot de passe ; "
                                "enregistrez-en une copie sans protection") from None
        raise UnusableInput(f"{name} : PDF illisible ou corrompu ({type(exc).__name__})") from None


def _read_page(page, number: int, layer: TextLayer) -> None:
    words = page.extract_words(extra_attrs=["size"])
    tables = read_grids(page, words) if page.edges else []
    boxes = [t.bbox for t in tables]
    words = [w for w in words if not _inside(w, boxes)]
    lines = [ln for ln in _lines(words) if not _furniture(ln, page.height)]
    items = [(key, "line", ln) for key, ln in reading_order(lines, page.width, _lines)]
    items += [((t.bbox[1], 0), "table", t) for t in tables]
    items.sort(key=lambda item: item[0])
    layer.blank()
    k = 0
    last: Line | None = None
    for kind, rows, first, words in _groups(items):
        if kind != "text" or (last is not None and first.top - last.bottom > 0.8 * last.height):
            layer.blank(number)  # a paragraph break, or a table set apart from the text
        for text, mine in zip(rows, words, strict=True):
            k += 1
            layer.add(text, number, f"page {number}, ligne {k}", origin(number, mine))
        if kind != "text":
            layer.blank(number)
        last = first if kind == "text" else None


def _inside(word: dict, boxes: list[tuple]) -> bool:
    cx, cy = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    return any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)


def _lines(words: list[dict]) -> list[Line]:
    """Words -> lines: a word belongs to a line when its top is within half a line height."""
    lines: list[Line] = []
    for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        current = lines[-1] if lines else None
        if current and abs(w["top"] - current.top) <= 0.5 * current.height:
            current.words.append(w)
            current.bottom = max(current.bottom, w["bottom"])
        else:
            lines.append(Line(w["top"], w["bottom"], [w]))
    for ln in lines:
        ln.segments = _segments(sorted(ln.words, key=lambda w: w["x0"]))
    return lines


def _segments(words: list[dict]) -> list[dict]:
    """Words separated by more than a font size are in different columns."""
    out: list[dict] = []
    for w in words:
        gap = w["x0"] - out[-1]["x1"] if out else 0.0
        if out and gap <= 1.0 * max(w.get("size") or 10.0, 6.0):
            out[-1]["x1"] = w["x1"]
            out[-1]["text"] += " " + w["text"]
        else:
            out.append({"x0": w["x0"], "x1": w["x1"], "text": w["text"]})
    return out


def _furniture(line: Line, page_height: float) -> bool:
    in_margin = line.top < _MARGIN * page_height or line.bottom > (1 - _MARGIN) * page_height
    return in_margin and bool(_FURNITURE.match(line.text))


# --- Grouping: text lines, ruled tables, unruled tables ---------------------------------------------

def _groups(items: list[tuple]) -> list[tuple[str, list[str], Line | None, list[list[dict]]]]:
    """Items of a page -> (kind, rows as text, first line, words of each row): a ruled table, an
    unruled table or a text line."""
    out: list[tuple[str, list[str], Line | None, list[list[dict]]]] = []
    i = 0
    while i < len(items):
        _, kind, obj = items[i]
        if kind == "table":
            grid: Grid = obj
            out.append(("table", [table_line(r) for r in grid.rows], None, grid.words))
            i += 1
        elif (j := _unruled_end(items, i)) > i:
            rows, words = _unruled_rows([it[2] for it in items[i:j]])
            out.append(("table", rows, None, words))
            i = j
        else:
            out.append(("text", [obj.text], obj, [obj.words]))
            i += 1
    return out


def origin(page: int, words: list[dict]) -> dict:
    """Where a line is, for a program (layer.TextLayer): its page, the box around its words and
    each word as [text, x0, top, x1, bottom], points to the tenth (pdfplumber's coordinates)."""
    if not words:
        return {"page": page}
    kept = [[w["text"], *(round(float(w[k]), 1) for k in ("x0", "top", "x1", "bottom"))] for w in words]
    box = [min(w[1] for w in kept), min(w[2] for w in kept), max(w[3] for w in kept), max(w[4] for w in kept)]
    return {"page": page, "box": box, "words": kept}


def _unruled_end(items: list[tuple], i: int) -> int:
    """End (exclusive) of a run of lines with column gaps starting at i, or i when there is none.
    A one-cell line inside the run (a wrapped label, a row without figures) belongs to it when a
    multi-cell line follows closely or it sits under the label column."""
    multi = 0
    j = i
    while j < len(items) and items[j][1] == "line":
        ln: Line = items[j][2]
        prev: Line | None = items[j - 1][2] if j > i else None
        if prev is not None and ln.top - prev.bottom > 1.5 * prev.height:
            break
        if len(ln.segments) >= 2:
            multi += 1
        elif j == i and j + 1 < len(items) and items[j + 1][1] == "line" and _over_columns(ln, items[j + 1][2]):
            pass  # a group label over the columns of the header below (« 2010 » over « Total | Male »)
        elif not multi or not _label_aligned(items, i, j):
            break
        j += 1
    while j > i and len(items[j - 1][2].segments) < 2 and not _continuation(items[j - 2][2], items[j - 1][2]):
        j -= 1  # a trailing one-cell line is prose after the table
    return j if multi >= 2 else i


def _label_aligned(items: list[tuple], i: int, j: int) -> bool:
    first = min(items[k][2].segments[0]["x0"] for k in range(i, j))
    return abs(items[j][2].segments[0]["x0"] - first) <= 2.0


def _continuation(prev: Line, line: Line) -> bool:
    """A label wrapped onto the next line: one cell, printed just under (less than half a line between)."""
    return len(line.segments) == 1 and line.top - prev.bottom < 0.5 * prev.height


def _over_columns(line: Line, below: Line) -> bool:
    """A one-cell line printed just above a multi-cell line, centred over some of its cells but the
    first: a group label."""
    return (len(line.segments) == 1 and len(below.segments) >= 3 and below.top - line.bottom < 1.5 * line.height
            and _spans(line.segments, [(s["x0"], s["x1"]) for s in below.segments]) is not None)


def _unruled_rows(lines: list[Line]) -> tuple[list[str], list[list[dict]]]:
    """The rows of an unruled table as text, and the words of each row."""
    width = max(len(ln.segments) for ln in lines)
    model = [ln for ln in lines if len(ln.segments) == width]
    columns = [(min(ln.segments[k]["x0"] for ln in model), max(ln.segments[k]["x1"] for ln in model))
               for k in range(width)]
    rows, start = _group_header(lines, columns)
    words = [[w for ln in lines[:start] for w in ln.words]] * start
    for group in _printed_rows(lines[start:]):
        cells = [""] * width
        for ln in group:
            for seg in ln.segments:
                k = _column_of(seg, columns)
                cells[k] = f"{cells[k]} {seg['text']}".strip()
        rows.append(cells)
        words.append([w for ln in group for w in ln.words])
    return [table_line(r) for r in rows], words


def _printed_rows(lines: list[Line]) -> list[list[Line]]:
    """Lines -> rows. A multi-cell line is a row; a one-cell line printed close to one (a wrapped
    label) joins the nearer, the one above on a tie — its own row whether the label wraps under
    its figures or starts above them; a one-cell line close to none is a row without figures."""
    rows: list[list[Line]] = []
    pending: list[Line] = []
    for n, ln in enumerate(lines):
        if len(ln.segments) >= 2:
            rows.append(pending + [ln])
            pending = []
            continue
        after_figures = bool(rows) and not pending and any(len(x.segments) >= 2 for x in rows[-1])
        gap_above = ln.top - lines[n - 1].bottom if after_figures and _continuation(lines[n - 1], ln) else None
        gap_below = _gap_to_figures_below(lines, n)
        if gap_below is not None and (gap_above is None or gap_below < gap_above - 0.5):
            pending.append(ln)
        elif gap_above is not None:
            rows[-1].append(ln)
        else:
            rows.append(pending + [ln])
            pending = []
    if pending:
        rows.append(pending)
    return rows


def _gap_to_figures_below(lines: list[Line], n: int) -> float | None:
    """Gap under line n when a chain of closely printed lines leads from it to a multi-cell line
    (a label that starts above its figures), else None."""
    k = n
    while k + 1 < len(lines) and lines[k + 1].top - lines[k].bottom < 0.5 * lines[k].height:
        if len(lines[k + 1].segments) >= 2:
            return lines[n + 1].top - lines[n].bottom
        k += 1
    return None


def _group_header(lines: list[Line], columns: list[tuple[float, float]]) -> tuple[list[list[str]], int]:
    """A group row over the header (« 2010 » centred over « Total | Male | Female ») -> two header
    rows as a word processor draws them: each group label in the first column of its span, the
    column labels under it, a column label without a group moved up (a cell spanning both rows).
    Returns (header rows, lines used): ([], 0) when the first line is no group row."""
    if len(lines) < 3 or len(lines[1].segments) != len(columns) or len(lines[0].segments) >= len(columns):
        return [], 0
    group, sub = lines[0], lines[1]
    if sub.top - group.bottom > 1.5 * group.height or _has_figures(group) or _has_figures(sub):
        return [], 0
    spans = _spans(group.segments, columns)
    if spans is None:
        return [], 0
    top, bottom = [""] * len(columns), [""] * len(columns)
    covered = {k for first, last in spans for k in range(first, last + 1)}
    for seg, (first, _) in zip(group.segments, spans, strict=True):
        top[first] = seg["text"]
    for seg in sub.segments:
        k = _column_of(seg, columns)
        (bottom if k in covered else top)[k] = seg["text"]
    return [top, bottom], 2


def _spans(segments: list[dict], columns: list[tuple[float, float]]) -> list[tuple[int, int]] | None:
    """The columns under each group label: the widest run of columns, nearer to this label than to
    the others, that the label is centred on (a third of a column pitch of tolerance). None when a
    label covers no column alone."""
    centres = [(a + b) / 2 for a, b in columns]
    pitch = (centres[-1] - centres[0]) / max(len(centres) - 1, 1)
    mids = [(s["x0"] + s["x1"]) / 2 for s in segments]
    out = []
    for n, mid in enumerate(mids):
        mine = [k for k, c in enumerate(centres) if min(range(len(mids)), key=lambda m: abs(mids[m] - c)) == n]
        best = None
        for first in mine:
            for last in mine:
                if last < first or any(k not in mine for k in range(first, last + 1)):
                    continue
                centred = abs((columns[first][0] + columns[last][1]) / 2 - mid) <= pitch / 3
                if centred and (best is None or last - first > best[1] - best[0]):
                    best = (first, last)
        if best is None or best[0] == 0:
            return None
        out.append(best)
    return out


def _has_figures(line: Line) -> bool:
    from pipelines.extract.numbers import parse_cell, year_in_header

    return any(parse_cell(s["text"]).value is not None and year_in_header(s["text"]) is None for s in line.segments)


def _column_of(seg: dict, columns: list[tuple[float, float]]) -> int:
    for k, (x0, x1) in enumerate(columns):
        if x0 - 1 <= seg["x0"] <= x1:
            return k
    overlaps = [min(seg["x1"], x1) - max(seg["x0"], x0) for x0, x1 in columns]
    best = max(range(len(columns)), key=lambda k: overlaps[k])
    if overlaps[best] > 0:
        return best
    centre = (seg["x0"] + seg["x1"]) / 2
    return min(range(len(columns)), key=lambda k: abs((columns[k][0] + columns[k][1]) / 2 - centre))
