"""Lecture des nombres français tels qu'imprimés : « 1 235 734,41 », « 5 330 681.59 € »,
« 12 % », « - € », « 582 agents 91 jours », « 2 021 » (une année mal saisie).

Never guess: a figure whose digit groups do not form a number (« 7 697 07, 80 € »)
is kept as text with status ``malformed``; an unambiguous but irregular grouping
(« 1251 585.13 ») is read and marked ``irregular`` so that checks can report it.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

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
_UNIT_ALT = r"k€|M€|€|%|jours?|j|agents?|To|Go|ETP|etp|heures?|h|euros?|EUR|tickets?|e"
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


@dataclass(frozen=True)
class Parsed:
    """What a printed cell says: a value with its unit, a composite pair, or text."""

    value: float | None
    unit: str | None
    status: str  # ok | irregular | malformed | empty | text
    value2: float | None = None
    unit2: str | None = None
    qualifier: str | None = None


def clean(text: str) -> str:
    """Strip HTML/markdown emphasis and normalise spaces; the raw text is kept elsewhere."""
    text = html.unescape(_TAG_RE.sub(" ", text))
    text = text.replace("**", "").replace("__", "")
    text = _SPACE_RE.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def to_float(num: str) -> float:
    num = num.replace("−", "-").replace(" ", "")
    if re.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3})+,\d+", num):
        num = num.replace(".", "")
    return float(num.replace(",", "."))


def canonical_unit(unit: str | None) -> str | None:
    if not unit:
        return None
    return UNITS.get(unit.lower(), unit)


def readable(value: float | None) -> bool:
    """A figure that can be stored and added: finite and of a size a report can print."""
    return value is not None and math.isfinite(value) and abs(value) < MAX_FIGURE


def parse_cell(raw: str) -> Parsed:
    parsed = _parse_cell(raw)
    if parsed.value is not None and not (readable(parsed.value) and (parsed.value2 is None or readable(parsed.value2))):
        return Parsed(None, None, "malformed")  # 400 digits: unreadable, not a crash
    return parsed


def _parse_cell(raw: str) -> Parsed:
    text = clean(raw)
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


def format_fr(value: float, decimals: int | None = None) -> str:
    """Print a number the French way with plain spaces, as the reports do."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    text = f"{value:,.{decimals}f}".replace(",", " ").replace(".", ",")
    return text


def decimals_of(text: str) -> int:
    """Number of printed decimals: the rounding unit of an item is 10**-decimals."""
    m = re.search(r"\d([.,])(\d+)(?!.*\d)", clean(text))
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
