"""Chiffres du texte : « Mandats émis : 76070 », « 60 000 patients traités (60 607 en 2016) »,
« +48% du nombre d'agents formés (1407 agents) », chacun avec son libellé, son unité et
l'exercice auquel il se rapporte (celui du rapport, ou l'année dite entre parenthèses).
"""

from __future__ import annotations

import re

from pipelines.extract.model import Narratif
from pipelines.extract.numbers import canonical_unit, clean, readable, to_float

_NUMBER = re.compile(
    r"(?<![\w.,/°])(?P<sign>[+−-])?\s?(?P<num>\d{1,3}(?:[ ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
    r"(?![\w/]|[.,]\d)"
)
_MALFORMED = re.compile(
    r"(?<![\d,.])\d{1,3}(?: \d{1,3})*(?: \d{1,2}(?= |,))(?: ?, ?\d+| \d+)*\s?(?P<unit>€)"
    r"|(?<![\d,.])\d{1,3}(?: \d{3})* \d{1,3}, \d{2}\s?(?P<unit2>€)?"
)
_UNIT_AFTER = re.compile(r"^\s?(?P<unit>k€|M€|€|%|jours?\b|agents?\b|To\b|Go\b|ETP\b|etp\b|heures?\b)")
_YEAR_AFTER = re.compile(r"^[^()]{0,40}?\ben\s+((?:19|20)\d{2})\b")
_PAREN_YEAR = re.compile(r"\b(?:en|de|pour)\s+((?:19|20)\d{2})\b")
_SENTENCE_YEAR = re.compile(r"\b(?:en|année|au cours de l'année|pour)\s+((?:19|20)\d{2})\b", re.IGNORECASE)
_SKIP_WORD = re.compile(
    r"\b(?:iso|rds|server|sharepoint|windows|pih|version|v|article|loi|annexe|page|chapitre|compte|"
    r"comptes|n°|cms|sql|office|microsoft|ts|m14|m57|m31|ept|thd|pes|ipv|rgs|crystal|mars|avril|mai|juin|"
    r"janvier|février|juillet|août|septembre|octobre|novembre|décembre|le|du|au)\s*$",
    re.IGNORECASE,
)
_GLUED = re.compile(r"[A-Za-zÀ-ÿ]-?$")  # « M57 », « V5 », « EPT12 »
_ORDINAL_AFTER = re.compile(r"^(?:er|ère|e|ème|eme|nd|nde|\^\{)", re.IGNORECASE)
_STOP_WORDS = {"en", "et", "de", "du", "des", "la", "le", "les", "à", "au", "aux", "pour", "sur", "par", "dont"}


def figures_in(text: str, line: int, section: str | None, report_year: int | None,
               table_id: str | None = None) -> list[Narratif]:
    plain = clean(text)
    if not re.search(r"\d", plain):
        return []
    found = []
    for m in _MALFORMED.finditer(plain):  # digit groups that do not make a number
        found.append(Narratif(line, section, _label(plain[: m.start()], plain[m.end():]) or "montant",
                              None, canonical_unit(m["unit"]), report_year, m[0].strip(), plain[:400],
                              table_id, "malformed"))
        plain = plain[: m.start()] + " " * len(m[0]) + plain[m.end():]
    for m in _NUMBER.finditer(plain):
        fig = _figure(plain, m, report_year)
        if fig:
            label, value, unit, year = fig
            status = "ok" if readable(value) else "malformed"  # 400 digits: kept as text, flagged
            found.append(Narratif(line, section, label, value if status == "ok" else None, unit, year,
                                  m[0].strip()[:60], plain[:400], table_id, status))
    return found


def _figure(plain: str, m: re.Match, report_year: int | None):
    before, after = plain[: m.start()], plain[m.end():]
    num = m["num"]
    if _GLUED.search(before) or _SKIP_WORD.search(before[-16:]):
        return None
    if _ORDINAL_AFTER.match(after) or re.match(r"^\s?(?:h\d|:\d|/)", after):
        return None
    value = to_float(num)
    unit_m = _UNIT_AFTER.match(after)
    unit = canonical_unit(unit_m["unit"]) if unit_m else None
    if re.fullmatch(r"(?:19|20)\d{2}", num) and unit is None:
        return None  # a year, not a figure
    if m["sign"] in ("+", "−") or (m["sign"] == "-" and unit == "%"):
        value = -value if m["sign"] in ("-", "−") else value
    label = _label(before, after[unit_m.end():] if unit_m else after)
    if not label:
        return None
    return label, value, unit, _exercice(before, after, report_year)


def _label(before: str, after: str) -> str:
    """« Mandats émis : 76070 » -> « Mandats émis »; « 60 000 patients traités » -> « patients traités »."""
    colon = re.search(r"([^:;➤•○(),]{3,80})\s*:\s*(?:environ|près de|plus de|\+ de)?\s*$", before)
    if colon:
        return colon[1].strip(" -–")
    words = re.split(r"\s+", after.strip())
    picked: list[str] = []
    for w in words:
        if not w or re.match(r"^[()\[\];:.,!?]", w) or re.match(r"^\d", w):
            break
        picked.append(w.rstrip(",;:.)"))
        if w.endswith((",", ";", ":", ".", ")")) or len(picked) >= 6:
            break
    while picked and picked[-1].lower() in _STOP_WORDS:
        picked.pop()
    if picked:
        return " ".join(picked)
    context = re.split(r"[(•➤○;:]", before.rstrip(" ("))[-1]  # « … agents formés (1407 agents) »
    numbers = list(_NUMBER.finditer(context))
    if numbers:  # « 1 250 tickets (1 100 en 2018) »: the figure in brackets is more « tickets »
        after_number = _label("", context[numbers[-1].end():])
        if after_number:
            return after_number
    return " ".join(context.split()[-6:]).strip(" ,-–")


def _exercice(before: str, after: str, report_year: int | None) -> int | None:
    open_paren = before.rfind("(") > before.rfind(")")
    if open_paren:
        inside = before[before.rfind("(") + 1:] + " " + after.split(")")[0]
        if m := _PAREN_YEAR.search(inside):
            return int(m[1])
    if m := _YEAR_AFTER.match(after):
        return int(m[1])
    head = before.split("(")[0]
    years = _SENTENCE_YEAR.findall(head)
    if years:
        return int(years[-1])
    return report_year
