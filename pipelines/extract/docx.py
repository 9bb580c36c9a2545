"""Lecture d'un DOCX avec python-docx : paragraphes et tableaux dans l'ordre du document.

The text is laid out as the text conversions of the reports are: one line per paragraph with a
blank line between paragraphs, headings numbered (« 1.2 Titre ») or, when Word does not number
them, as markdown titles (« ## Titre ») so their level is kept; tables as tab-separated rows with
merged cells resolved as the text layer prints them (text in the first cell of the span, the
others empty); bold and italic kept in table cells as <b>/<i>, like the SII report's text.
A « Strict Open XML » file (ISO/IEC 29500 Strict, namespaces http://purl.oclc.org/ooxml/...) is
mapped to the transitional namespaces in memory before python-docx reads it.
A line's place is « paragraphe 14 » (non-empty paragraphs counted from the start) or
« tableau 3, rangée 2 »; its origin (:class:`pipelines.extract.layer.TextLayer`) the body block,
table row and cells it comes from.
"""

from __future__ import annotations

import io
import re
import zipfile

from pipelines.errors import UnusableInput
from pipelines.extract import budget
from pipelines.extract.layer import TextLayer, table_line

_HEADING = re.compile(r"^(?:heading|titre)\s*(\d)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*\d{1,2}(?:\.\d{1,2})*\.?\s")
_REMEDY = "ouvrez-le dans Word ou LibreOffice et enregistrez-le de nouveau au format .docx"
# ISO/IEC 29500 Strict namespaces and relationship types -> their transitional (ECMA-376) names, the most
# specific first.
_STRICT = [
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships/customProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
    (b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/customProperties",
     b"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"),
    (b"http://purl.oclc.org/ooxml/officeDocument/", b"http://schemas.openxmlformats.org/officeDocument/2006/"),
    (b"http://purl.oclc.org/ooxml/wordprocessingml/main", b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"),
    (b"http://purl.oclc.org/ooxml/drawingml/", b"http://schemas.openxmlformats.org/drawingml/2006/"),
    (b"http://purl.oclc.org/ooxml/schemaLibrary/main", b"http://schemas.openxmlformats.org/schemaLibrary/2006/main"),
]


def check_package(data: bytes, name: str) -> None:
    """A zip is a DOCX only when it has a Word body; say what it is otherwise."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if "word/document.xml" in names:  # a zip bomb is refused before python-docx inflates it
                budget.check_docx_parts(z, data, name)
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UnusableInput(f"{name} : DOCX illisible ou tronqué (archive ZIP endommagée)") from None
    if "word/document.xml" not in names:
        kind = ("un classeur Excel" if "xl/workbook.xml" in names else
                "un document OpenDocument (.odt)" if "content.xml" in names else "une archive ZIP")
        raise UnusableInput(f"{name} : {kind}, pas un document Word (.docx)")


def read_docx(data: bytes, name: str) -> TextLayer:
    check_package(data, name)
    data = transitional(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        budget.check_docx_body(document, name)
        return _layer(document)
    except UnusableInput:
        raise
    except Exception as exc:  # noqa: BLE001 - lxml, zipfile, python-docx: all mean a damaged file
        raise UnusableInput(f"{name} : {_unreadable(exc)} ; {_REMEDY}") from None


def transitional(data: bytes) -> bytes:
    """A Strict Open XML package rewritten with the transitional namespaces and relationship types
    (what python-docx knows); any other package is returned as is. In memory, parts otherwise
    unchanged."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        if "_rels/.rels" not in z.namelist() or b"http://purl.oclc.org/ooxml/" not in z.read("_rels/.rels"):
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in z.infolist():
                part = z.read(info)
                if info.filename.endswith((".xml", ".rels")):
                    for strict, transitional_ns in _STRICT:
                        part = part.replace(strict, transitional_ns)
                target.writestr(info, part)
    return out.getvalue()


def _unreadable(exc: Exception) -> str:
    """Why python-docx could not read the package, in French."""
    if isinstance(exc, KeyError):
        missing = re.search(r"'([^']+)'", str(exc))
        return "DOCX illisible : une partie du document manque dans l'archive" + (f" ({missing[1]})" if missing else "")
    if type(exc).__name__ == "XMLSyntaxError":
        return "DOCX illisible : le XML du document est endommagé"
    if type(exc).__name__ == "PackageNotFoundError" or "content type" in str(exc).lower():
        return "DOCX illisible : le paquet n'annonce pas de document Word (types de contenu ou relations absents)"
    return f"DOCX illisible ou corrompu ({type(exc).__name__})"


def _layer(document) -> TextLayer:
    from docx.table import Table

    layer = TextLayer()
    styles = _Styles(document)
    counters: list[int] = []
    n_par = n_tab = 0
    for i, block in enumerate(document.iter_inner_content()):
        if isinstance(block, Table):
            n_tab += 1
            _table(block, n_tab, layer, i)
            continue
        lines = _paragraph_lines(block, counters, styles.of(block))
        if not lines:
            layer.blank()
            continue
        n_par += 1
        for text in lines:
            layer.add(text, None, f"paragraphe {n_par}", {"block": i})
        layer.blank()
    return layer


class _Styles:
    """Paragraph styles by styleId, resolved once per document: python-docx's ``p.style`` scans every
    style of the document at each call, which made a long document quadratic."""

    def __init__(self, document):
        from docx.enum.style import WD_STYLE_TYPE

        kind = WD_STYLE_TYPE.PARAGRAPH
        self.by_id = {s.style_id: s for s in document.styles if s.type == kind}
        self.default = document.styles.default(kind)

    def of(self, p):
        return self.by_id.get(p._p.style, self.default)


def _paragraph_lines(p, counters: list[int], style) -> list[str]:
    text = p.text.replace("\t", " ")
    if not text.strip():
        return []
    name = (style.name if style is not None else None) or ""
    m = _HEADING.match(name)
    if m:
        return [_heading(text.strip(), int(m[1]), counters, _numbered(p, style))]
    prefix = "- " if _numbered(p, style) or "list" in name.lower() else ""
    return [prefix + line for line in text.split("\n") if line.strip()]


def _numbered(p, style) -> bool:
    """Word numbering on the paragraph or its style (the number is not in the text then)."""
    for ppr in (p._p.pPr, style.element.pPr if style is not None else None):
        if ppr is not None and ppr.numPr is not None:
            return True
    return False


def _heading(text: str, level: int, counters: list[int], numbered: bool) -> str:
    """« 1.2 Titre » as printed, or numbered as Word shows it, or « ## Titre » when unnumbered."""
    if _NUMBERED.match(text):
        return text
    if not numbered:
        return "#" * level + " " + text
    del counters[level:]
    counters.extend([0] * (level - len(counters)))
    counters[level - 1] += 1
    return ".".join(str(n) for n in counters) + " " + text


def _table(table, n_tab: int, layer: TextLayer, block: int) -> None:
    grid = table._tbl.tblGrid
    width = len(grid.gridCol_lst) if grid is not None else 0
    rows = [_row_cells(tr, table, width) for tr in table._tbl.tr_lst]
    layer.blank()
    one_column = max((len(r[0]) for r in rows), default=0) < 2
    for r, (cells, tcs) in enumerate(rows, 1):
        if not any(c.strip() for c in cells):
            continue
        place = f"tableau {n_tab}, rangée {r}"
        origin = {"block": block, "row": r - 1, "cells": tcs}
        if one_column:  # a framed paragraph, not a table
            for line in cells[0].split("\n"):
                layer.add(line, None, place, origin)
        else:
            layer.add(table_line(cells), None, place, origin)
    layer.blank()


def _row_cells(tr, table, width: int) -> tuple[list[str], list[int]]:
    """A row's cells, and the ``w:tc`` each comes from (-1 for the rest of a horizontal merge);
    a span counts at most what the table's width leaves it (budget.span)."""
    from docx.table import _Cell

    cells: list[str] = []
    origins: list[int] = []
    tcs = tr.tc_lst
    for k, tc in enumerate(tcs):
        text = "" if tc.vMerge == "continue" else _rich(_Cell(tc, table))
        taken = len(cells) + len(tcs) - k - 1  # the cells after this one keep their place
        span = budget.span(tc.grid_span, width, taken)
        cells += [text] + [""] * (span - 1)
        origins += [k] + [-1] * (span - 1)
    return cells, origins


def _rich(cell) -> str:
    """Cell text with bold / italic runs tagged as in the reports' text conversions."""
    parts: list[str] = []
    for p in cell.paragraphs:
        runs: list[list] = []  # [text, bold, italic], consecutive runs of the same format merged
        for run in p.runs:
            fmt = [run.text, bool(run.bold), bool(run.italic)]
            if runs and runs[-1][1:] == fmt[1:]:
                runs[-1][0] += run.text
            else:
                runs.append(fmt)
        parts.append("".join(_tagged(*r) for r in runs))
    return " ".join(p for p in parts if p.strip())


def _tagged(text: str, bold: bool, italic: bool) -> str:
    if not text.strip():
        return text
    if italic:
        text = f"<i>{text}</i>"
    return f"<b>{text}</b>" if bold else text
