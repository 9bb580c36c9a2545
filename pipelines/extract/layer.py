"""Couche texte d'un PDF ou d'un DOCX : les lignes extraites, chacune avec sa page et sa place.

The extracted lines are what the rest of the workbench reads (same detectors as a
text report) and what `lignes` keeps; ``places`` says in French where a line is in
the original (« page 12, ligne 5 », « paragraphe 14 », « tableau 3, rangée 2 »); ``origins`` says
it for a program, to put a comment on the author's own file (:mod:`pipelines.publish.annotate`):

- DOCX paragraph: ``{"block": i}``, i the 0-based index of the paragraph among the body's
  paragraphs and tables (``document.iter_inner_content()``);
- DOCX table row: ``{"block": i, "row": r, "cells": [k, …]}``, r the 0-based ``w:tr`` of the
  table, one k per tab-separated cell of the line: the 0-based ``w:tc`` of the row it comes from,
  -1 for the empty cells that stand for the rest of a horizontal merge;
- PDF: ``{"page": n, "box": [x0, top, x1, bottom], "words": [[text, x0, top, x1, bottom], …]}``,
  n from 1, in pdfplumber's points (from the top-left corner of the page): the words the line was
  made of (all the words of a ruled row, when a band of printed rows shares one row of the grid)
  and the box around them.

``origins`` is empty when the layer comes from the cache (:func:`pipelines.extract.cache.origins`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class TextLayer:
    lines: list[str] = field(default_factory=list)
    pages: list[int | None] = field(default_factory=list)
    places: list[str | None] = field(default_factory=list)
    n_pages: int | None = None
    origins: list[dict | None] = field(default_factory=list)

    def add(self, text: str, page: int | None = None, place: str | None = None, origin: dict | None = None) -> None:
        self.lines.append(text)
        self.pages.append(page)
        self.places.append(place)
        self.origins.append(origin)

    def blank(self, page: int | None = None) -> None:
        """A paragraph break; never two in a row, never first."""
        if self.lines and self.lines[-1] != "":
            self.add("", page)

    def to_json(self) -> dict:
        """The lists as they are (``dataclasses.asdict`` deep-copies them: 13 s for 180 000 lines)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict) -> TextLayer:
        return cls(data["lines"], data["pages"], data["places"], data.get("n_pages"), data.get("origins") or [])


def cell_text(text: str | None) -> str:
    """A table cell on one line: wrapped text joined, tabs (the column separator) removed."""
    return " ".join((text or "").split())


def table_line(cells: list[str]) -> str:
    """A table row as the text detector reads it: tab-separated, trailing empty cells kept
    (a row with only its label must still look like a row of the table)."""
    return "\t".join(cell_text(c) for c in cells)
