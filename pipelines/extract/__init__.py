"""Extraction : un rapport (texte, PDF, DOCX) -> document, sections, tableaux, cellules, chiffres du texte."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines import catalogue
from pipelines.extract import budget
from pipelines.extract.model import Document, Narratif, Table
from pipelines.extract.narrative import figures_in, sentence_figures, sentences
from pipelines.extract.numbers import FR, clean, decide_notation
from pipelines.extract.pdftext import find_pdftext_blocks
from pipelines.extract.reader import read_source
from pipelines.extract.sections import find_sections, find_toc, section_at
from pipelines.extract.tables import Block, build_table, find_blocks

_YEAR_HINT = re.compile(
    r"(?:bilan|rapport)s? d['’]activit[ée]s?\s*(?:\w+\s){0,3}?((?:19|20)\d{2})|activit[ée]s? ((?:19|20)\d{2})"
    r"|\bBILAN D'ACTIVITES\s*\n\s*\n?((?:19|20)\d{2})",
    re.IGNORECASE,
)


def infer_org(lines: list[str]) -> str | None:
    """The organisme the first pages name most often (motifs of pipelines/catalogue/organismes.toml)."""
    text = "\n".join(lines[:400])
    counts = {o.code: len(o.motif.findall(text)) for o in catalogue.organismes()}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def infer_year(lines: list[str]) -> int | None:
    """The report's year: the most cited year in « activité 2018 »-like phrases of its first pages."""
    text = "\n".join(lines[:600])
    years = [int(y) for m in _YEAR_HINT.finditer(text) for y in m.groups() if y]
    if not years:
        # a date's year (« 1.12.2009 ») is not the report's
        years = [int(y) for y in re.findall(r"(?<![\d./])(20\d{2})\b", text)]
    # the most cited; between years cited as often, the first in the text (a title before its tables)
    return max(years, key=years.count) if years else None


def document_id_for(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("._") or "document"
    return stem[:80]


def extract_document(path: Path, org: str | None = None, report_year: int | None = None,
                     document_id: str | None = None) -> Document:
    source = read_source(path)
    lines = source.lines
    doc = Document(
        document_id=document_id or document_id_for(path), path=str(path),
        org=org or infer_org(lines), report_year=report_year or infer_year(lines),
        sha256=source.sha256, encoding=source.encoding, lines=lines, format=source.format,
        pages=source.pages, places=source.places, n_pages=source.n_pages, origins=source.origins,
    )
    doc.toc_lines = find_toc(lines)
    skip: set[int] = set(range(doc.toc_lines[0], doc.toc_lines[1] + 1)) if doc.toc_lines else set()
    doc.sections = find_sections(lines, skip | _tab_rows(lines))
    skip |= {s.line for s in doc.sections}
    blocks = find_blocks(lines, skip) + find_pdftext_blocks(lines, skip)
    blocks.sort(key=lambda b: b.line_start)
    doc.tables = [_table(doc, b) for b in blocks]
    notation = document_notation(doc.tables)
    if notation != FR:  # a table too small to decide alone follows the document
        doc.tables = [_table(doc, b, notation) for b in blocks]
    doc.narratifs = _narratifs(doc, skip)
    return doc


def _tab_rows(lines: list[str]) -> set[int]:
    """Lines of tab-separated blocks (two or more rows) cannot be headings."""
    rows = {i for i, line in enumerate(lines, 1) if "\t" in line.strip(" ")}
    return {i for i in rows if i - 1 in rows or i + 1 in rows}


def _table(doc: Document, block: Block, notation: str = FR) -> Table:
    section = section_at(doc.sections, block.line_start)
    caption = block.caption_hint or _caption(doc, block.line_start, section.line if section else 0)
    return build_table(block, doc.document_id, caption, section.label if section else None, notation)


def document_notation(tables: list[Table]) -> str:
    """The notation of a document: that of the figures of all its tables together (FR when
    they disagree), see numbers.decide_notation."""
    return decide_notation([c.text for t in tables for c in t.cells() if c.role not in ("header", "label")])


def _caption(doc: Document, line_start: int, section_line: int) -> str | None:
    """The short title just above a table (« Répartition des recettes par adhérents »),
    else the heading of its section."""
    for i in range(line_start - 1, max(section_line, line_start - 9), -1):
        if "\t" in doc.lines[i - 1]:
            break  # another table just above
        text = clean(doc.lines[i - 1])
        if not text:
            continue
        if i == section_line:
            break
        if len(text) <= 120 and not text.endswith((".", ";")) and not text.startswith(("-", "•", "➤")):
            return text.rstrip(" :")
    if section_line:
        heading = clean(doc.lines[section_line - 1]).lstrip("#").strip()
        return re.sub(r"^[\dIVXA-H.]+\s+", "", heading)
    return None


def _narratifs(doc: Document, skip: set[int]) -> list[Narratif]:
    found: list[Narratif] = []
    in_table = {line for t in doc.tables for line in range(t.line_start, t.line_end + 1)}
    prose = [i for i, raw in enumerate(doc.lines, 1) if i not in skip and i not in in_table and raw.strip()]
    for sentence in sentences(doc.lines, prose):  # a sentence wrapped over lines is read whole
        section = section_at(doc.sections, sentence.first)
        found += _within_budget(doc, sentence_figures(sentence, section.label if section else None, doc.report_year),
                                len(found))
    for t in doc.tables:  # prose inside cells (« points de repère » tables)
        for c in t.cells():
            if c.status == "text" and len(clean(c.text)) > 25 and c.role != "header":
                found += _within_budget(doc, figures_in(c.text, c.line, t.section, doc.report_year, t.table_id),
                                        len(found))
    return found


def _within_budget(doc: Document, figures: list[Narratif], before: int) -> list[Narratif]:
    """`figures`, unless with the `before` already read they pass the budget's chiffres_texte: a text
    report has no child process bounding the time and memory of its reading (budget.run_limited)."""
    if before + len(figures) > budget.LIMITS.chiffres_texte:
        raise budget.OverBudget(doc.path, "plus de chiffres dans le texte que la limite", "chiffres_texte")
    return figures
