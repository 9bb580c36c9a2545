"""Lecture des nombres français tels qu'imprimés : « 1 235 734,41 », « 5 330 681.59 € »,
« 12 % », « - € », « 582 agents 91 jours », « 2 021 » (une année mal saisie),
« (1 214 894,86) » et « 1 200- » (négatifs), « 2.080.000 € » (milliers pointés),
« 3,665 » (milliers à la virgule, à l'anglo-saxonne), « 4,2 M€ », « 1.12.2009 » (une date).

Never guess: a figure whose digit groups do not form a number (« 7 697 07, 80 € »)
is kept as text with status ``malformed``; an unambiguous but irregular grouping
(« 1251 585.13 ») is read and marked ``irregular`` so that checks can report it.

« 736.000 » and « 3,665 » are ambiguous one by one: the notation of a table is
decided once from all its cells (:func:`decide_notation`), then every cell is read
in that notation (:func:`parse_cell` with ``notation=``).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

SPACES = "\u00a0\u202f\u2009\u2007"
_SPACE_RE = re.compile(f"[{SPACES}]")
_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")

# Units as printed -> canonical unit.
UNITS = {
    "€": "€", "e": "€", "eur": "€", "euros": "€", "k€": "k€", "m€": "M€",
    "%": "%", "jour": "jours", "jours": "jours", "j": "jours",
    "agent": "agents", "agents": "agents", "to": "To", "go": "Go",
    "etp": "ETP", "h": "heures", "heure": "heures", "heures": "heures",
    "tickets": "tickets", "ticket": "tickets",
}
# Written out, millions are « M » (kept apart from UNITS, whose keys PDF text reads as unit tokens).
_MILLIONS = {"million": "M", "millions": "M"}
# Multipliers of the units that scale an amount: the value stays in the unit printed (« 4,2 M€ » is
# 4.2 with unit M€), the scale says what it is worth in units (4 200 000 €).
SCALES = {"k€": 1e3, "M€": 1e6, "M": 1e6}
# « M » alone is millions only in capitals (« 25,677 M »); « m » would be metres.
_UNIT_ALT = r"k€|M€|€|%|jours?|j|agents?|To|Go|ETP|etp|heures?|h|euros?|EUR|tickets?|e|millions?|(?-i:M)"
# One number: grouped by spaces (1 234 567,89), by dots (1.234.567,89) or plain.
_NUM = (
    r"[-+−]?(?:\d{1,3}(?:[ ]\d{3})+(?:[.,]\d+)?"
    r"|\d{1,3}(?:\.\d{3})+,\d+"
    r"|\d+(?:[.,]\d+)?)"
)
_QUALIFIER = r"(?:plus de|près de|pres de|environ|moins de|~|>|<|\+ de|\+de)"
_NUMBER_CELL = re.compile(
    rf"^(?P<qual>{_QUALIFIER})?\s*(?P<num>{_NUM})\.?\s*(?P<unit>{_UNIT_ALT})?\.?\s*(?P<note>\(\*+\)|\*+)?$",
    re.IGNORECASE,
)
_COMPOSITE_CELL = re.compile(
    rf"^(?P<n1>{_NUM})\.?\s*(?P<u1>{_UNIT_ALT})\s+(?P<n2>{_NUM})\.?\s*(?P<u2>{_UNIT_ALT})$", re.IGNORECASE
)
_DASH_ZERO = re.compile(rf"^[-–—]\s*(?P<unit>{_UNIT_ALT})?$", re.IGNORECASE)
# Looks numeric (digits, separators, units only) but matched no pattern above.
_NUMERIC_LOOKING = re.compile(rf"^[-+−]?[\d][\d .,]*\s*(?:{_UNIT_ALT})?$", re.IGNORECASE)
_IRREGULAR = re.compile(rf"^(?P<num>\d{{4,}}(?:[ ]\d{{3}})+(?:[.,]\d+)?)\s*(?P<unit>{_UNIT_ALT})?$", re.IGNORECASE)
# Exponents (« 1e309 »), infinities and NaN are no way to print a figure in a report: kept, flagged.
_NOT_A_FIGURE = re.compile(r"^[-+−]?(?:\d+(?:[.,]\d+)?e[-+]?\d+|∞|inf(?:ini|inity)?|nan)$", re.IGNORECASE)
# Beyond this a « figure » is a typing accident (and no DECIMAL(18,2) column can hold it).
MAX_FIGURE = 1e15

# Notations of a table, decided from all its cells (decide_notation).
FR, FR_POINTS, EN = "fr", "fr_points", "en"
NOTATIONS = {
    FR: "milliers séparés par des espaces, virgule décimale (« 1 234,56 »)",
    FR_POINTS: "milliers séparés par des points, virgule décimale (« 1.234,56 »)",
    EN: "milliers séparés par des virgules, point décimal (« 1,234.56 »)",
}
# A date is not a figure: « 1.12.2009 », « 01/12/2009 », « 2009-12-01 ».
_DATE_CELL = re.compile(r"^(?:(?P<d>\d{1,2})(?P<sep>[./-])(?P<m>\d{1,2})(?P=sep)(?P<y>(?:19|20)\d{2})"
                        r"|(?P<iy>(?:19|20)\d{2})-(?P<im>\d{2})-(?P<id>\d{2}))$")
_NEGATIVE_PARENS = re.compile(rf"^\((?P<inner>[^()]*\d[^()]*)\)\s*(?P<unit>{_UNIT_ALT})?\.?$", re.IGNORECASE)
_TRAILING_MINUS = re.compile(r"^(?P<inner>.*\d.*?)\s?[-−]$")
# The digits of a figure, unit and sign aside: what decide_notation weighs.
_FIGURE_TOKEN = re.compile(r"^[(+−-]?\s*(?P<num>\d[\d., ]*\d|\d)\s*\)?\s*[-−]?\s*(?:[^\d\s]{1,7})?$")


@dataclass(frozen=True)
class Parsed:
    """What a printed cell says: a value with its unit, a composite pair, or text."""

    value: float | None
    unit: str | None
    status: str  # ok | irregular | malformed | empty | text
    value2: float | None = None
    unit2: str | None = None
    qualifier: str | None = None

    @property
    def scale(self) -> float:
        """What one unit of ``value`` is worth: 1e6 for « 4,2 M€ », 1e3 for « 730 k€ », else 1."""
        return SCALES.get(self.unit or "", 1.0)


# Pure functions of one printed text, called on the same cell and sentence texts by the reader, the
# curation and several rules (and again on every re-check of `bilans check --watch`): memoized.
_MEMO = 1 << 16


@lru_cache(maxsize=_MEMO)
def fold(text: str) -> str:
    """Lower case without accents, for comparing labels: « Général » -> « general » (NFKD, ASCII)."""
    return unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()


@lru_cache(maxsize=_MEMO)
def clean(text: str) -> str:
    """Strip HTML/markdown emphasis and normalise spaces; the raw text is kept elsewhere."""
    text = html.unescape(_TAG_RE.sub(" ", text))
    text = text.replace("**", "").replace("__", "")
    text = _SPACE_RE.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=_MEMO)
def plain(text: str | None) -> str:
    """The words of a printed label, folded: « Chapitre 011 – Charges générales » -> « chapitre 011
    charges generales » (clean, then fold, punctuation as spaces)."""
    return re.sub(r"[^a-z0-9]+", " ", fold(clean(text or ""))).strip()


def to_float(num: str) -> float:
    num = num.replace("−", "-").replace(" ", "")
    if re.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3})+,\d+", num):
        num = num.replace(".", "")
    return float(num.replace(",", "."))


def prose_float(num: str) -> float:
    """A figure of the prose, where no table gives a notation: in French a dot followed by
    groups of three digits separates thousands (« 762.150 euros » is 762 150), a comma decimals."""
    if re.fullmatch(r"[-+−]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?", num.replace(" ", "")):
        num = num.replace(".", "")
    return to_float(num)


def canonical_unit(unit: str | None) -> str | None:
    if not unit:
        return None
    return UNITS.get(unit.lower()) or _MILLIONS.get(unit.lower(), unit)


def readable(value: float | None) -> bool:
    """A figure that can be stored and added: finite and of a size a report can print."""
    return value is not None and math.isfinite(value) and abs(value) < MAX_FIGURE


@lru_cache(maxsize=_MEMO)  # Parsed is frozen: one instance may serve every cell printed alike
def parse_cell(raw: str, notation: str = FR) -> Parsed:
    """A printed cell read in the table's notation (FR, FR_POINTS or EN, see NOTATIONS).

    Status: ok | irregular | malformed | empty | text | date (a date has no value).
    Never raises: whatever cannot be read is kept as text or flagged malformed."""
    text = clean(raw)
    if _DATE_CELL.match(text) and _is_date(_DATE_CELL.match(text)):
        return Parsed(None, None, "date")
    parsed = _signed(text, notation)
    if parsed.value is not None and not (readable(parsed.value) and (parsed.value2 is None or readable(parsed.value2))):
        return Parsed(None, None, "malformed")  # 400 digits: unreadable, not a crash
    return parsed


def _is_date(m: re.Match) -> bool:
    day, month = (m["d"], m["m"]) if m["d"] else (m["id"], m["im"])
    return 1 <= int(day) <= 31 and 1 <= int(month) <= 12


def _signed(text: str, notation: str) -> Parsed:
    """« (1 214 894,86) », « (3 200) € » and « 1 200- » are negative amounts (accounting notation)."""
    m = _NEGATIVE_PARENS.match(text) or _TRAILING_MINUS.match(text)
    if m and m["inner"].strip()[:1] not in "-−+(":
        inner = _parse_cell(m["inner"], notation)
        unit = m.groupdict().get("unit")
        if inner.status in ("ok", "irregular") and inner.value2 is None and not (unit and inner.unit):
            return Parsed(-inner.value, inner.unit or canonical_unit(unit), inner.status, qualifier=inner.qualifier)
    return _parse_cell(text, notation)


def _in_french_groups(text: str, notation: str) -> str:
    """Rewrite the figure in the notation the patterns read (spaces for thousands, comma for
    decimals): « 2.080.000 € » (FR_POINTS) and « 1,091,255.5 » (EN) -> « 2 080 000 € », « 1 091 255,5 »."""
    if notation == FR_POINTS:
        return re.sub(r"(?<=\d)\.(?=\d{3}(?!\d))", " ", text)
    if notation == EN:
        text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", " ", text)
        return re.sub(r"(?<=\d)\.(?=\d)", ",", text)
    # Whatever the table, several dotted or comma groups can only be thousands (« 2.080.000 »).
    if re.search(r"\d\.\d{3}\.\d{3}(?!\d)", text) and not re.search(r"\d,\d{3}(?!\d)", text):
        return re.sub(r"(?<=\d)\.(?=\d{3}(?!\d))", " ", text)
    if re.search(r"\d,\d{3},\d{3}(?!\d)", text) and "." not in text:
        return re.sub(r"(?<=\d),(?=\d{3}(?!\d))", " ", text)
    return text


def _parse_cell(text: str, notation: str = FR) -> Parsed:
    text = _in_french_groups(clean(text), notation)
    if not text:
        return Parsed(None, None, "empty")
    if m := _DASH_ZERO.match(text):
        return Parsed(0.0, canonical_unit(m["unit"]), "ok")
    if m := _NUMBER_CELL.match(text):
        qual = m["qual"].lower() if m["qual"] else None
        return Parsed(to_float(m["num"]), canonical_unit(m["unit"]), "ok", qualifier=qual)
    if m := _COMPOSITE_CELL.match(text):
        return Parsed(to_float(m["n1"]), canonical_unit(m["u1"]), "ok",
                      to_float(m["n2"]), canonical_unit(m["u2"]))
    if m := _IRREGULAR.match(text):
        return Parsed(to_float(m["num"]), canonical_unit(m["unit"]), "irregular")
    if _NUMERIC_LOOKING.match(text) or _NOT_A_FIGURE.match(text):
        return Parsed(None, None, "malformed")
    return Parsed(None, None, "text")


def decide_notation(texts: list[str], fallback: str = FR) -> str:
    """The notation of a table (FR, FR_POINTS or EN), from the evidence of all its cells;
    ``fallback`` (the document's notation) when the table alone does not decide and nothing in
    it contradicts the fallback (one « 3,665 » in a document printed with comma thousands).

    Dotted thousands: a figure with several dotted groups (« 2.080.000 ») or dots then a
    decimal comma (« 1.234,56 »), or only « 736.000 »-like figures, and no dot followed by
    other than three digits. Comma thousands: a figure with several comma groups
    (« 1,091,255 ») or a dot decimal after them, or at least two « 3,665 »-like figures, and
    no comma that could not separate thousands (« 2,5 », « 0,125 », « 1 234,56 »). Anything
    else, or contradictory evidence, is the French notation."""
    tokens = [t for t in (_figure_token(x) for x in texts) if t]
    dots = [t for t in tokens if "." in t]
    commas = [t for t in tokens if "," in t]
    if dots and _fits(tokens, FR_POINTS):
        return FR_POINTS
    if commas and _fits(tokens, EN) and (len(commas) >= 2 or any(
            re.fullmatch(r"\d+(?:,\d{3}){2,}(?:\.\d+)?|\d+(?:,\d{3})+\.\d+", t) for t in commas)):
        return EN
    return fallback if fallback != FR and _fits(tokens, fallback) else FR


def _fits(tokens: list[str], notation: str) -> bool:
    """No figure contradicts the notation: « 681.59 » is no dotted thousands, « 2,5 » no comma ones."""
    if notation == FR_POINTS:
        return all(re.fullmatch(r"\d{1,3}(?:[. ]\d{3})+(?:,\d+)?", t) for t in tokens if "." in t) and all(
            re.fullmatch(r"\d+,\d+|\d{1,3}(?: \d{3})+,\d+", t) for t in tokens if "," in t and "." not in t)
    if notation == EN:
        return all(re.fullmatch(r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?", t) for t in tokens if "," in t)
    return True


def _figure_token(raw: str) -> str | None:
    """« (1.234,56) € » -> « 1.234,56 »; None for a date, a word or an empty cell."""
    text = clean(raw)
    if not text or _DATE_CELL.match(text):
        return None
    m = _FIGURE_TOKEN.match(text)
    return m["num"].strip() if m else None


def format_fr(value: float, decimals: int | None = None) -> str:
    """Print a number the French way with plain spaces, as the reports do."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    text = f"{value:,.{decimals}f}".replace(",", " ").replace(".", ",")
    return text


@lru_cache(maxsize=_MEMO)
def decimals_of(text: str, notation: str = FR) -> int:
    """Number of printed decimals: the rounding unit of an item is 10**-decimals."""
    m = re.search(r"\d([.,])(\d+)(?!.*\d)", _in_french_groups(clean(text), notation))
    if not m or (m[1] == "." and len(m[2]) == 3):
        return 0
    return len(m[2])


# --- Years in headers --------------------------------------------------------

YEAR_MIN, YEAR_MAX = 1990, 2100
_YEAR_IN_TEXT = re.compile(r"(?<![\d/])((?:19|20)\d{2}|(?:19|20)?\d[ ]\d{3})(?![\d/])")
_DATE_IN_TEXT = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})(?!\d)")


@dataclass(frozen=True)
class YearRef:
    year: int
    printed: str
    malformed: bool  # « 2 021 » instead of « 2021 »
    date: str | None = None  # ISO date when the header carries a full date


def year_in_header(raw: str) -> YearRef | None:
    """The year a column header refers to: « 2017 », « nb jours 2016 », « 31/12/2021 », « 2 021 »."""
    text = clean(raw)
    if m := _DATE_IN_TEXT.search(text):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
        return YearRef(y, m[0], False, f"{y:04d}-{mo:02d}-{d:02d}")
    for m in _YEAR_IN_TEXT.finditer(text):
        printed = m[1]
        year = int(printed.replace(" ", ""))
        if YEAR_MIN <= year <= YEAR_MAX:
            return YearRef(year, printed, " " in printed)
    return None
