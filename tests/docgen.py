"""Make the same small report as text, PDF (fpdf2) and DOCX (python-docx), for the reader tests and
the bench: no binary fixture is committed, this script is how they are made.

A report is a list of blocks:
  ("h", level, "1.2 Titre")          heading
  ("p", "texte")                     paragraph
  ("table", rows, options)           rows of cells; a cell is a string or a dict
                                     {"text", "colspan", "rowspan", "bold"}; options: ruled (default
                                     True), header_rows (repeated on a new page, default 1),
                                     background (ruled: a shaded rect drawn past the table, under it),
                                     figures_low (unruled: a wrapped label starts above its figures)
  ("page",)                          page break
"""

from __future__ import annotations

import io
from pathlib import Path


def _text(cell) -> str:
    return cell["text"] if isinstance(cell, dict) else cell


def _span(cell, key: str) -> int:
    return cell.get(key, 1) if isinstance(cell, dict) else 1


def grid(rows: list[list]) -> list[list[str]]:
    """The rows as a text conversion prints them: a merged cell's text in its first cell, the others empty."""
    width = sum(_span(c, "colspan") for c in rows[0])
    out = [[""] * width for _ in rows]
    taken = [[False] * width for _ in rows]
    for r, row in enumerate(rows):
        col = 0
        for cell in row:
            while taken[r][col]:
                col += 1
            out[r][col] = _text(cell)
            for dr in range(_span(cell, "rowspan")):
                for dc in range(_span(cell, "colspan")):
                    taken[r + dr][col + dc] = True
            col += _span(cell, "colspan")
    return out


# --- text -----------------------------------------------------------------------------------------

def to_text(blocks: list[tuple]) -> str:
    parts = []
    for b in blocks:
        if b[0] == "h":
            parts.append(b[2])
        elif b[0] == "p":
            parts.append(b[1])
        elif b[0] == "table":
            parts.append("\n".join("\t".join(r) for r in grid(b[1])))
    return "\n\n".join(parts) + "\n"


def from_text(text: str) -> list[tuple]:
    """A text report as blocks: runs of tab-separated lines are tables, other lines paragraphs."""
    blocks: list[tuple] = []
    run: list[list[str]] = []
    for line in text.splitlines() + [""]:
        if "\t" in line.strip(" "):
            run.append(line.strip(" ").split("\t"))
            continue
        if run:
            width = max(len(r) for r in run)
            rows = [r + [""] * (width - len(r)) for r in run]
            blocks.append(("table", rows) if len(rows) >= 2 else ("p", " ".join(rows[0]).strip()))
            run = []
        if line.strip():
            blocks.append(("p", line.strip()))
    return blocks


# --- PDF ------------------------------------------------------------------------------------------

def to_pdf(blocks: list[tuple], path: Path | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"  # French text and « € » with the built-in fonts
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    for b in _latin(blocks):
        if b[0] == "h":
            pdf.set_font("Helvetica", "B", 13 - b[1])
            pdf.multi_cell(0, 7, b[2], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif b[0] == "p":
            pdf.set_font("Helvetica", size=10)
            pdf.multi_cell(0, 5, b[1], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        elif b[0] == "page":
            pdf.add_page()
        else:
            options = b[2] if len(b) > 2 else {}
            (_ruled if options.get("ruled", True) else _unruled)(pdf, b[1], options)
    data = bytes(pdf.output())
    if path:
        Path(path).write_bytes(data)
    return data


def _latin(blocks: list[tuple]) -> list[tuple]:
    """The built-in PDF fonts have the cp1252 characters only (« ➤ » becomes « ? »)."""
    def fix(x):
        if isinstance(x, str):
            return x.encode("cp1252", "replace").decode("cp1252")
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        return [fix(v) for v in x] if isinstance(x, list) else x
    return [tuple(fix(part) for part in b) for b in blocks]


def _ruled(pdf, rows: list[list], options: dict) -> None:
    pdf.set_font("Helvetica", size=9)
    if options.get("background"):  # a page background under the table, wider and taller than it
        pdf.set_fill_color(250, 225, 215)
        pdf.rect(pdf.l_margin - 6, pdf.get_y() - 6, 202, 12 * len(rows) + 30, style="F")
        pdf.set_fill_color(255, 255, 255)
    # columns as wide as their longest word needs, so that fpdf2 never cuts a word in two
    cols = list(zip(*grid(rows), strict=True))
    need = [max(max((len(w) for t in col for w in t.split()), default=1), min(max(map(len, col)), 40))
            for col in cols]
    widths = tuple(190 * n / sum(need) for n in need)
    n_head = options.get("header_rows", 1)
    with pdf.table(col_widths=widths, num_heading_rows=n_head, first_row_as_headings=n_head > 0,
                   text_align="LEFT", line_height=5) as table:
        for row in rows:
            r = table.row()
            for cell in row:
                r.cell(_text(cell), colspan=_span(cell, "colspan"), rowspan=_span(cell, "rowspan"))
    pdf.ln(4)


def _unruled(pdf, rows: list[list], options: dict) -> None:
    """Columns aligned by position only: label left, figures right-aligned, a long label wrapped
    onto the next line under its row's figures (over them with figures_low); a cell spanning
    columns printed centred over them; the header printed again on a new page."""
    pdf.set_font("Helvetica", size=10)
    spans = [_spans_of(row) for row in rows]
    rows = grid(rows)
    n_head = options.get("header_rows", 1)
    for n, row in enumerate(rows):
        labels = pdf.multi_cell(62, 5, row[0], dry_run=True, output="LINES")
        if pdf.get_y() + 5 * len(labels) > pdf.h - 25:
            pdf.add_page()
            for k in range(n_head) if n >= n_head else []:
                _unruled_row(pdf, rows[k], [rows[k][0]], spans[k], False)
        _unruled_row(pdf, row, labels, spans[n], options.get("figures_low", False))
    pdf.ln(4)


def _spans_of(row: list) -> dict[int, int]:
    """Column -> colspan of the row's cells that span columns."""
    out, col = {}, 0
    for cell in row:
        if _span(cell, "colspan") > 1:
            out[col] = _span(cell, "colspan")
        col += _span(cell, "colspan")
    return out


def _unruled_row(pdf, row: list[str], labels: list[str], spans: dict[int, int], low: bool) -> None:
    label_w, value_w, x, y = 62.0, 30.0, pdf.l_margin, pdf.get_y()
    for k, text in enumerate(labels):
        pdf.set_xy(x, y + 5 * k)
        pdf.cell(label_w, 5, text)
    figures_y = y + 5 * (len(labels) - 1) if low else y
    for c, text in enumerate(row[1:]):
        span = spans.get(c + 1, 1)
        pdf.set_xy(x + label_w + 4 + c * (value_w + 4), figures_y)
        pdf.cell(value_w * span + 4 * (span - 1), 5, text, align="C" if span > 1 else "R")
    pdf.set_xy(x, y + 5 * len(labels) + 2)


def banded_pdf(title: str, groups: list[tuple[str, int]], header: list[str], rows: list[list[str]],
               band: int = 5, notes: str = "") -> bytes:
    """A wide statistical table as some agencies draw it: a title framed across the top; a header
    cell per group of columns holding the group label over one label per column, with no rule
    between those columns in the header; vertical rules between all columns of the body; a
    horizontal rule and a shaded background every ``band`` rows only (not between rows); notes
    framed across the bottom. ``groups``: (label, number of columns), label "" for none."""
    from fpdf import FPDF

    pdf = FPDF(orientation="L", format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.add_page()
    pdf.set_font("Helvetica", size=7)
    x0, y0, widths, line = 10.0, 10.0, [34.0] + [16.0] * (len(header) - 1), 4.0
    right = x0 + sum(widths)
    edges = [x0 + sum(widths[:k]) for k in range(len(widths) + 1)]
    head_top, body_top = y0 + 10, y0 + 10 + 2 * line
    bottom = body_top + line * len(rows)
    for n in range(0, len(rows), band):  # shading of every other band, under the text
        if n // band % 2:
            pdf.set_fill_color(235, 235, 235)
            pdf.rect(x0, body_top + n * line, right - x0, line * min(band, len(rows) - n), style="F")
    pdf.set_xy(x0, y0 + 2)
    pdf.cell(right - x0, 6, title, align="C")
    pdf.rect(x0, y0, right - x0, bottom + 10 - y0)
    for y in [head_top, body_top] + [body_top + n * line for n in range(band, len(rows), band)] + [bottom]:
        pdf.line(x0, y, right, y)
    col = 0
    for label, n in groups:  # header: rules around each group only
        pdf.line(edges[col], head_top, edges[col], body_top)
        if label:
            pdf.set_xy(edges[col], head_top)
            pdf.cell(edges[col + n] - edges[col], line, label, align="C")
        col += n
    for k, text in enumerate(header):
        pdf.set_xy(edges[k], head_top + line)
        pdf.cell(widths[k], line, text, align="C")
    for x in edges[1:-1]:
        pdf.line(x, body_top, x, bottom)
    for r, row in enumerate(rows):
        for k, text in enumerate(row):
            pdf.set_xy(edges[k], body_top + r * line)
            pdf.cell(widths[k], line, text, align="L" if k == 0 else "R")
    pdf.set_xy(x0, bottom + 2)
    pdf.cell(right - x0, line, notes)
    return bytes(pdf.output())


def _titled_page(title: str):
    """An A4 fpdf2 document on its first page, under `title` (10 pt, then 3 mm)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    return pdf


def narrow_table_pdf(title: str, rows: list[list[str]], widths: list[float], align: str = "LEFT") -> bytes:
    """A ruled table whose columns are ``widths`` mm wide, whatever their text: fpdf2 wraps a cell
    at its spaces and cuts a word or a number longer than the column (« 200 » over « 6 »);
    ``align``: of the text in its cells (LEFT, CENTER)."""
    pdf = _titled_page(title)
    pdf.set_font("Helvetica", size=9)
    with pdf.table(width=sum(widths), col_widths=tuple(widths), align="LEFT", text_align=align,
                   line_height=5) as table:
        for row in rows:
            r = table.row()
            for text in row:
                r.cell(text)
    return bytes(pdf.output())


# --- DOCX -----------------------------------------------------------------------------------------

def to_docx(blocks: list[tuple], path: Path | None = None) -> bytes:
    import docx

    document = docx.Document()
    for b in blocks:
        if b[0] == "h":
            document.add_heading(b[2], b[1])
        elif b[0] == "p":
            document.add_paragraph(b[1])
        elif b[0] == "page":
            document.add_page_break()
        else:
            _word_table(document, b[1])
    buffer = io.BytesIO()
    document.save(buffer)
    if path:
        Path(path).write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _word_table(document, rows: list[list]) -> None:
    width = len(grid(rows)[0])
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    taken: set[tuple[int, int]] = set()
    for r, row in enumerate(rows):
        col = 0
        for cell in row:
            while (r, col) in taken:
                col += 1
            rs, cs = _span(cell, "rowspan"), _span(cell, "colspan")
            target = table.cell(r, col)
            if rs > 1 or cs > 1:
                target = target.merge(table.cell(r + rs - 1, col + cs - 1))
            run = target.paragraphs[0].add_run(_text(cell))
            run.bold = isinstance(cell, dict) and cell.get("bold", False)
            taken |= {(r + dr, col + dc) for dr in range(rs) for dc in range(cs)}
            col += cs


def long_report(pages: int = 40, org: str = "SIIM94", year: int = 2023) -> list[tuple]:
    """A report of ``pages`` pages (one section a page): prose with figures, a 12-row table,
    ruled and unruled in turn, for the bench."""
    blocks: list[tuple] = [("p", f"Bilan d'activité {year} du {org}")]
    for n in range(1, pages + 1):
        rows = [["Domaine (en jours)", str(year - 1), str(year)]]
        rows += [[f"Domaine d'activité numéro {k} du pôle {n}", f"{100 + 7 * k + n} jours", f"{90 + 9 * k} jours"]
                 for k in range(1, 12)]
        rows.append(["Total général", f"{sum(100 + 7 * k + n for k in range(1, 12))} jours",
                     f"{sum(90 + 9 * k for k in range(1, 12))} jours"])
        blocks += [
            ("h", 1, f"{n} Pôle numéro {n}"),
            ("p", f"Le pôle {n} a traité {1000 + n} demandes en {year}, soit +{n % 9}% par rapport à {year - 1}. "
                  "Les équipes ont poursuivi la maintenance des applications et l'accompagnement des adhérents."),
            ("p", f"Répartition de l'activité du pôle {n}"),
            ("table", rows, {"ruled": n % 2 == 0}),
            ("p", f"Mandats émis : {70000 + n}"),
        ]
        if n < pages:
            blocks.append(("page",))
    return blocks


def two_columns_pdf(title: str, left: str, right: str, after: str) -> bytes:
    """A page of justified prose in two columns under a full-width title, a full-width line after."""
    pdf = _titled_page(title)
    top = pdf.get_y()
    pdf.multi_cell(88, 5, left, align="J", new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + 100, top)
    pdf.multi_cell(88, 5, right, align="J", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(bottom, pdf.get_y()) + 4)
    pdf.multi_cell(0, 5, after, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
