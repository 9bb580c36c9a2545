"""Ce qu'un rapport contient une fois lu : sections, tableaux, cellules, chiffres du texte."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cell:
    row: int  # 0-based row index in the table (header rows first)
    col: int
    line: int  # 1-based line in the source file
    text: str  # as printed (tags kept)
    value: float | None = None
    unit: str | None = None
    role: str = "value"  # header | label | value | subtotal | total
    status: str = "empty"  # ok | irregular | malformed | empty | text | date
    value2: float | None = None
    unit2: str | None = None
    decimals: int = 0


@dataclass
class Row:
    index: int
    line: int
    cells: list[Cell]
    kind: str = "item"  # header | item | subitem | subtotal | total | derived (computed from totals)
    label: str = ""


@dataclass
class Table:
    table_id: str
    document_id: str
    caption: str | None
    section: str | None
    line_start: int
    line_end: int
    layout: str  # tsv | pipe | fixed | pdftext | side_by_side
    rows: list[Row] = field(default_factory=list)
    n_header_rows: int = 1
    n_label_cols: int = 1
    headers: list[str] = field(default_factory=list)  # one combined header text per column
    ragged: list[int] = field(default_factory=list)  # lines whose cell count differs from the header
    family: str | None = None
    notation: str = "fr"  # fr | fr_points | en: how its figures are printed (numbers.NOTATIONS)

    @property
    def body(self) -> list[Row]:
        return [r for r in self.rows if r.kind != "header"]

    @property
    def n_cols(self) -> int:
        return max((len(r.cells) for r in self.rows), default=0)

    def cells(self) -> list[Cell]:
        return [c for r in self.rows for c in r.cells]


@dataclass
class Section:
    number: str
    title: str
    level: int
    line: int

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}".strip()


@dataclass
class Narratif:
    """A figure quoted in prose: « Mandats émis : 76070 », « (60 607 en 2016) »."""

    line: int
    section: str | None
    label: str
    value: float | None  # None when the figure cannot be read (« 7 697 07, 80 € »)
    unit: str | None
    exercice: int | None
    text: str  # the number as printed
    sentence: str
    table_id: str | None = None  # set when the prose sits in a table cell
    status: str = "ok"  # ok | malformed | comparaison (a change) | projection (a year after the report's): out of indicateurs
    sujet: str | None = None  # the bullet or sentence lead: « Requiem » in « Requiem (cimetières) : 845 actes »
    mesure: str | None = None  # the words after the number: « actes enregistrés »
    sentence_start: int | None = None  # first and last line of the sentence (wrapped PDF text)
    sentence_end: int | None = None


@dataclass
class Document:
    document_id: str
    path: str
    org: str | None
    report_year: int | None
    sha256: str
    encoding: str | None  # None for a PDF or a DOCX
    lines: list[str]
    title: str | None = None
    sections: list[Section] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    narratifs: list[Narratif] = field(default_factory=list)
    toc_lines: tuple[int, int] | None = None
    format: str = "texte"  # texte | pdf | docx
    pages: list[int | None] | None = None  # per line of a PDF's extracted text
    places: list[str | None] | None = None  # per line: « page 12, ligne 5 », « tableau 3, rangée 2 »
    n_pages: int | None = None
    origins: list[dict | None] | None = None  # per line: body block, table row or PDF box (layer.TextLayer)

    @property
    def n_lines(self) -> int:
        return len(self.lines)

    def page_of(self, line: int) -> int | None:
        return self.pages[line - 1] if self.pages and 0 < line <= len(self.pages) else None

    def place_of(self, line: int) -> str | None:
        return self.places[line - 1] if self.places and 0 < line <= len(self.places) else None
