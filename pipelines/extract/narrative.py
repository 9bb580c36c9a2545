"""Chiffres du texte : « Mandats émis : 76070 », « 60 000 patients traités (60 607 en 2016) »,
« +48% du nombre d'agents formés (1407 agents) », chacun avec son sujet (« Requiem » dans
« Requiem (cimetières) : 845 actes enregistrés »), sa mesure (« actes enregistrés »), son unité
et l'exercice auquel il se rapporte (celui du rapport, ou l'année dite entre parenthèses).

A sentence may be wrapped over several lines, with a blank line between them in PDF text
(« … (888 en » / blank / « 2020). »): the lines are joined into one sentence first, and
each figure keeps the line where it is printed. Phone numbers, postal addresses and dates
are not figures; a change (« 4 agents par rapport à l'année précédente ») is kept with
the status « comparaison », out of the indicators.

Each figure of a bracket has its own year (« (517 700 en 2021 et 373 000 en 2020) »); a year after the
report's (« 33,2 ETP à fin 2023 ») gives the status « projection ». A dash before a space heads a bullet
(« - 12 500 »), a dash glued to the digits is a minus (« -500 k€ »). Footnote markers (« (1) », « ² »),
table-of-contents entries (dot leaders), list numbers (« 1. ») and codes printed with their zero
(« 013 ») are no figures. Which figures are published as key figures is decided at curation
(pipelines/curate/shapers.py, `indicateurs_texte`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache

from pipelines.extract.model import Narratif
from pipelines.extract.numbers import canonical_unit, clean, prose_float, readable

# A sign is « + » or « − » (a space may follow) or a dash glued to the digits (« -500 k€ »): « - 12 500 »
# at the head of a bullet is a dash, « Bac+4 » and « 2007-2017 » are no signs.
_NUMBER = re.compile(
    r"(?<![\w.,/°+-])(?P<sign>[+−]\s?|-(?=\d))?"
    r"(?P<num>\d{1,3}(?:[ ]\d{3})+(?:[.,]\d+)?|[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?)"
    r"(?![\w/]|[.,]\d)"
)
_MALFORMED = re.compile(
    r"(?<![\d,.])\d{1,3}(?: \d{1,3})*(?: \d{1,2}(?= |,))(?: ?, ?\d+| \d+)*\s?(?P<unit>€)"
    r"|(?<![\d,.])\d{1,3}(?: \d{3})* \d{1,3}, \d{2}\s?(?P<unit2>€)?"
)
# The stretches of digit groups (digits, spaces, commas) where a _MALFORMED amount may be: it backtracks
# exponentially with the length of such a stretch (a 3 kB one cost 28 s, a 10 kB line never ended), so
# each is searched alone, and past _RUN_LIMIT characters (more groups than an amount has: a row of
# figures run together) only its tail, the groups before the unit an amount of the first kind ends on.
_DIGIT_RUN = re.compile(r"(?<![\d,.])\d[\d ,]*")
_RUN_LIMIT = 64
# « M » (capital) after an amount is millions: « 25,677 M »
_UNIT_AFTER = re.compile(r"^\s?(?P<unit>k€|K€|M€|€|%|jours?\b|agents?\b|To\b|Go\b|ETP\b|etp\b|heures?\b|euros?\b"
                         r"|millions?\b|M\b)")
_WHEN = r"(?:en|à\s+fin|fin|au\s+31/12/|au\s+31\s+d[ée]cembre|d'ici|d’ici)"
_YEAR_AFTER = re.compile(rf"^[^(),;\d]{{0,40}}?\b{_WHEN}\s+((?:19|20)\d{{2}})\b")
_TIME_PHRASE = re.compile(rf"\b{_WHEN}\s+(?:19|20)\d{{2}}\b|\bau\s+31/12\b")
_PAREN_YEAR = re.compile(r"\b(?:en|de|pour|à)\s+((?:19|20)\d{2})\b")  # (idem à 2016 avec 68 158 courriers)
_SKIP_WORD = re.compile(
    r"\b(?:iso|rds|server|sharepoint|windows|pih|version|v|article|loi|annexe|page|chapitre|compte|"
    r"comptes|n°|cms|sql|office|microsoft|ts|m14|m57|m31|ept|thd|pes|ipv|rgs|crystal|mars|avril|mai|juin|"
    r"janvier|février|juillet|août|septembre|octobre|novembre|décembre|le|du|au)\s*$",
    re.IGNORECASE,
)
_ACRONYM = re.compile(r"\b[A-Z]{2,}\s$")  # « SIIM 94 » is a name
_GLUED = re.compile(r"[A-Za-zÀ-ÿ]-?$")  # « M57 », « V5 », « EPT12 »
_ORDINAL_AFTER = re.compile(r"^(?:er|ère|e|ème|eme|nd|nde|\^\{)", re.IGNORECASE)
_STOP_WORDS = {"en", "et", "de", "du", "des", "la", "le", "les", "à", "au", "aux", "pour", "sur", "par", "dont"}
_MONTHS = r"janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|d[ée]cembre"
_NOT_FIGURES = (  # spans blanked before reading numbers: they hold digits but no quantity
    re.compile(r"(?<![\d,.])(?:\+33\s?(?:\(0\)\s?)?|0)[1-9](?:[ .-]?\d{2}){4}(?![\d,])"),  # 01 41 60 85 00
    re.compile(rf"(?<!\d)\d{{1,2}}/\d{{1,2}}/\d{{2,4}}(?!\d)|(?<![\d,])\d{{1,2}}(?:er)?\s+(?:{_MONTHS})"
               rf"(?:\s+(?:19|20)\d{{2}})?\b|\b(?:{_MONTHS})\s+(?:19|20)\d{{2}}\b", re.IGNORECASE),
    re.compile(r"(?<![\d,.])\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|av\.|boulevard|bd|place|all[ée]e|chemin|"
               r"impasse|quai|route|square|cours|voie)\b|\b(?:BP|CS|TSA)\s?\d+", re.IGNORECASE),
    re.compile(r"(?<![\d,.])(?<!\d )\d{5}(?=(?:\s+[A-ZÀ-Ý][\w'’-]*)+\s*(?:CEDEX\b|Cedex\b|$|[,;]))"),  # 93000 Bobigny
    re.compile(r"\(\s?\d{1,2}\s?\)|\(\*\)|[¹²³⁴⁵⁶⁷⁸⁹⁰]+"),  # footnote markers: « (1) », « (3) (4) », « ² »
)
# At the head of a printed line: a list number (« 1. Introduction », « 2) … ») or a code printed with its
# leading zero (« 013 Atténuations de charges »).
_LINE_HEAD = re.compile(r"\s*(?:[-–•]\s*)?(?:\d{1,2}\s?[.)](?=\s+\D)|0\d{1,3}\b)")
# A table-of-contents entry: its dot leader (« Composition du Conseil..... 4 »); its numbers are pages.
_TOC_ENTRY = re.compile(r"\.{4,}|…{2,}|(?:\. ){3,}")
_COMPARISON = re.compile(r"^\s*(?:de plus|de moins|par rapport|compar[ée]|vs\b|versus|d['’][ée]cart|"
                         r"(?:en )?(?:plus|moins) qu)", re.IGNORECASE)
_WORD_UNITS = {"jours", "agents", "heures", "ETP"}
_ENDS_SENTENCE = re.compile(r"[.;:!?]\s*$")
_CONTINUES = re.compile(r"^(?:[a-zà-ÿ0-9(),%€]|(?:To|Go|ETP|M€|K€)\b)")  # « et 4,4 » / « To de sauvegardes »
_BULLET_START = re.compile(r"^\s*(?:[-–—•➤▪◦○*]|o\s|[\ue000-\uf8ff])")
MAX_SENTENCE = 1500
# A line longer than any sentence is read in pieces of this many characters (`_pieces`): each figure
# looks at the text of its piece before and after it, a cost in the square of the piece's length.
PIECE = 400


@dataclass
class Sentence:
    """Prose lines read as one sentence; ``starts`` maps offsets of ``text`` to source lines."""

    text: str = ""
    starts: list[tuple[int, int]] = field(default_factory=list)

    def add(self, line: int, text: str) -> None:
        if self.text:
            self.text += " "
        self.starts.append((len(self.text), line))
        self.text += text

    def line_at(self, offset: int) -> int:
        return next(line for start, line in reversed(self.starts) if start <= offset)

    @property
    def first(self) -> int:
        return self.starts[0][1]

    @property
    def last(self) -> int:
        return self.starts[-1][1]


def sentences(lines: list[str], candidates: list[int]) -> list[Sentence]:
    """Join prose lines that continue one sentence: the previous line ends without punctuation and
    the next one goes on in lower case, a digit or a bracket, directly or after one blank line."""
    out: list[Sentence] = []
    prev = 0
    for i in candidates:
        raw = lines[i - 1]
        text = clean(raw)
        gap_blank = all(not lines[k - 1].strip() for k in range(prev + 1, i))
        if (out and prev and i - prev <= 2 and gap_blank and not _ENDS_SENTENCE.search(out[-1].text)
                and _CONTINUES.match(text) and not _BULLET_START.match(raw) and not text.isdigit()
                and len(out[-1].text) + len(text) < MAX_SENTENCE):
            out[-1].add(i, text)
        else:
            out.append(Sentence())
            out[-1].add(i, text)
        prev = i
    return [piece for sentence in out for piece in _pieces(sentence)]  # each piece within the reading budget


def figures_in(text: str, line: int, section: str | None, report_year: int | None,
               table_id: str | None = None) -> list[Narratif]:
    """Figures of one line or cell of text."""
    sentence = Sentence()
    sentence.add(line, clean(text))
    return sentence_figures(sentence, section, report_year, table_id)


def sentence_figures(sentence: Sentence, section: str | None, report_year: int | None,
                     table_id: str | None = None) -> list[Narratif]:
    """The figures of one sentence, each on the source line that prints it."""
    if not sentence.starts:
        return []
    if len(sentence.text) > MAX_SENTENCE:  # one line longer than any sentence: read piece by piece
        return [n for piece in _pieces(sentence) for n in sentence_figures(piece, section, report_year, table_id)]
    first = sentence.first
    moved = tuple((start, line - first) for start, line in sentence.starts)
    # the table id (« document@line ») moves with the table: set after, not a key of the memo
    return [replace(n, line=n.line + first, sentence_start=n.sentence_start + first,
                    sentence_end=n.sentence_end + first, table_id=table_id)
            for n in _figures_from_line_0(sentence.text, moved, section, report_year, table_id is not None)]


def _pieces(sentence: Sentence) -> Iterator[Sentence]:
    """`sentence` itself, or when longer than MAX_SENTENCE, cut at spaces into pieces of at most PIECE
    characters, each on its lines. Only a line longer than a sentence is (sentences() joins lines up to
    MAX_SENTENCE): a row of figures run together, or a hostile file. Reading a sentence costs the square
    of its length (each figure looks at the text before and after it): 39 s for a 10 kB line, a 100 kB
    one never ended."""
    text, start = sentence.text, 0
    if len(text) <= MAX_SENTENCE:
        yield sentence
        return
    while start < len(text):
        end = len(text) if len(text) - start <= PIECE else text.rfind(" ", start + 1, start + PIECE)
        end = start + PIECE if end <= start else end  # no space: cut in the word
        on = [line for s, line in sentence.starts if s <= start][-1]  # the line the piece begins on
        yield Sentence(text[start:end], [(0, on)] + [(s - start, line) for s, line in sentence.starts if start < s < end])
        start = end


@lru_cache(maxsize=4096)
def _figures_from_line_0(text: str, starts: tuple, section, report_year, in_table: bool) -> tuple[Narratif, ...]:
    """sentence_figures of a sentence whose first line is 0: a pure function of its text and line
    breaks, memoized — a draft checked again on every save (`bilans check --watch`) reads the same
    sentences, most of them only moved by the lines inserted above them. Copied by the caller."""
    return tuple(_sentence_figures(Sentence(text, list(starts)), section, report_year, "" if in_table else None))


def _malformed(plain: str) -> Iterator[re.Match]:
    """The matches of _MALFORMED in `plain`, in order, within a time bounded by its length (see
    _DIGIT_RUN): the same as `_MALFORMED.finditer(plain)` for stretches of digit groups of at most
    _RUN_LIMIT characters."""
    for run in _DIGIT_RUN.finditer(plain):
        start = run.start()
        if run.end() - start > _RUN_LIMIT:  # its tail, from the first group that starts in it
            space = plain.find(" ", run.end() - _RUN_LIMIT, run.end())
            start = space + 1 if space >= 0 else run.end()
        yield from _MALFORMED.finditer(plain, start, min(len(plain), run.end() + 2))  # + « \s?€ »


def _sentence_figures(sentence: Sentence, section: str | None, report_year: int | None,
                      table_id: str | None = None) -> list[Narratif]:
    plain = sentence.text
    if not re.search(r"\d", plain) or _TOC_ENTRY.search(plain):
        return []  # a table-of-contents entry: its numbers are pages
    for pattern in _NOT_FIGURES:  # blanked, offsets kept: the lines of later figures stay right
        plain = pattern.sub(lambda m: " " * len(m[0]), plain)
    for start, _ in sentence.starts:  # not the end of a number wrapped over two lines (« plus de 115 » / « 000 »)
        if not re.search(r"\d\s?$", sentence.text[:start]) and (head := _LINE_HEAD.match(plain, start)):
            plain = plain[: head.start()] + " " * len(head[0]) + plain[head.end():]
    found = []
    for m in _malformed(plain):  # digit groups that do not make a number
        found.append(_narratif(sentence, m, section, _label(plain[: m.start()], plain[m.end():]) or "montant",
                               None, canonical_unit(m["unit"]), report_year, table_id, "malformed"))
        plain = plain[: m.start()] + " " * len(m[0]) + plain[m.end():]
    main = None  # the figure a bracket refers to: « 845 actes enregistrés (888 en 2020) »
    for m in _NUMBER.finditer(plain):
        fig = _figure(plain, sentence.text, m, report_year, main)
        if not fig:
            continue
        value, unit, year, sujet, mesure, label, status = fig
        if not readable(value):
            value, status = None, "malformed"  # 400 digits: kept as text, flagged
        n = _narratif(sentence, m, section, label, value, unit, year, table_id, status, sujet, mesure)
        found.append(n)
        part = main is not None and n.mesure == main.mesure and n.sujet != main.sujet \
            and re.match(r"^\s*pour\s", plain[m.end():])  # « … dont 460 pour …, 116 pour … »: all parts of one
        if not _in_brackets(plain[: m.start()]) and not part:
            main = n
    return found


def _narratif(sentence: Sentence, m: re.Match, section, label, value, unit, year, table_id, status,
              sujet=None, mesure=None) -> Narratif:
    return Narratif(sentence.line_at(m.start() + len(m[0]) - len(m[0].lstrip())), section, label, value, unit, year,
                    m[0].strip()[:60], _sentence_text(sentence.text, m.start()), table_id, status, sujet, mesure,
                    sentence.first, sentence.last)


def _sentence_text(text: str, offset: int) -> str:
    """The sentence itself, or, in a long paragraph, the part of it that holds the figure."""
    if len(text) <= 400:
        return text
    cuts = [0] + [m.end() for m in re.finditer(r"[.!?]\s+(?=[A-ZÀ-Ý•➤-])", text)]
    start = max(c for c in cuts if c <= offset)
    return text[start: start + 400]


def _in_brackets(before: str) -> bool:
    return before.rfind("(") > before.rfind(")")


def _figure(plain: str, text: str, m: re.Match, report_year: int | None, main: Narratif | None):
    """(value, unit, exercice, sujet, mesure, label, status) of one number, or None when it is no figure.
    ``plain`` is the sentence with non-figures blanked, ``text`` the sentence as printed (its dates give years)."""
    before, after = plain[: m.start()], plain[m.end():]
    num = m["num"]
    if _GLUED.search(before) or _SKIP_WORD.search(before[-16:]) or _ACRONYM.search(before[-12:]):
        return None
    if _ORDINAL_AFTER.match(after) or re.match(r"^\s?(?:h\d|:\d|/)", after):
        return None
    value = prose_float(num)
    unit_m = _UNIT_AFTER.match(after)
    unit = canonical_unit(unit_m["unit"]) if unit_m else None
    if re.fullmatch(r"(?:19|20)\d{2}", num) and unit is None:
        return None  # a year, not a figure
    if m["sign"] and m["sign"].strip() in ("-", "−"):
        value = -value
    rest = after[unit_m.end():] if unit_m else after
    if not _words_after(rest):  # « 3 498 (4 047 en 2021) aides légales attribuées »
        rest = re.sub(r"^\s*\([^()]*\)", " ", rest)
    old_label = _label(before, rest)
    if not old_label and not (main is not None and _elided(rest)):
        return None
    bracket = _in_brackets(before)
    sujet, mesure = _subject(before, unit), _measure(unit, rest)
    if main is not None and mesure and unit == "%" and re.search(r"\bdont\s+(?:environ\s+)?$", before) \
            and main.mesure:  # « 427 793 factures … dont 66% sécurisées »: a share of the main figure
        sujet, mesure = main.sujet, f"{main.mesure} {mesure}"
    elif main is not None and (
            (bracket and (not mesure or f" {main.mesure or ''} ".startswith(f" {mesure} ")))
            or (not mesure and not sujet and unit is None and _elided(rest))):
        # the measure is the main figure's: (888 en 2020), (4 855 actes en 2021), « contre 15 à fin 2021 »
        sujet, mesure, unit = main.sujet, main.mesure or mesure, unit or main.unit
    elif (mesure is None and unit is None and main is not None and main.unit is None and main.mesure
          and re.match(r"^\s*pour\s+", rest) and re.search(r"\bdont\b|:", before[before.rfind(main.text):])):
        part = _words_after(re.sub(r"^\s*pour\s+(?:les?\s+|la\s+|l['’])?", "", rest))
        sujet, mesure = (part or None), main.mesure  # « applications RH — traitements batch quotidiens »
    elif sujet is None and main is not None and unit == main.unit and re.search(r"\bet\s+$", before):
        sujet = main.sujet  # « le taux est de 88,83 % en investissement et 89,32 % en fonctionnement »
    elif sujet is None and main is not None and bracket:
        sujet = main.sujet  # « le pôle était constitué de 11 agents (10,8 ETP) »: the pôle's ETP
    label = f"{sujet} — {mesure}" if sujet and mesure else (sujet or mesure or old_label)
    status = "comparaison" if _COMPARISON.match(rest) or _COMPARISON.match(label) else "ok"
    year = _exercice(text[: m.start()], text[m.end():], report_year, main if bracket else None)
    if status == "ok" and year and report_year and year > report_year:
        status = "projection"  # « 33,2 ETP à fin 2023 » in the 2022 report: a forecast, not a réalisé
    return value, unit, year, sujet, mesure, label, status


def _elided(rest: str) -> bool:
    """Nothing but a date, a bracket or punctuation after the number: its measure is the previous one's."""
    rest = _TIME_PHRASE.sub(" ", rest)
    return bool(re.match(r"^\s*[().,;:!?]", rest))  # not the end of a line: « et 4,4 » / « To de … »


_COPULA = re.compile(
    r"(?:\b(?:le|la|les|un|une|son|sa|ses|leur|leurs)\s+|\bl['’]\s*)(?P<np>(?:[A-Za-zÀ-ÿ'’ -]|(?<=[A-Za-z])\d+|(?:19|20)\d\d){2,80}?)"
    r"(?:\s+(?:en|pour)\s+(?:19|20)\d{2})?\s+(?:(?:est|sont|était|étaient|a été|ont été|s['’]él[eè]v\w*|"
    r"atteint|atteignent|représente|représentent|comptait|compte|comptent|comptaient|emploie|employait|"
    r"(?:est|était|sont|étaient) constituée?s? de|(?:est|était) composée? de)\s+(?:aujourd['’]hui\s+|désormais\s+|donc\s+)?"
    r"(?:de|à|d['’])?|(?P<de>de|d['’](?=environ)))\s*(?:hauteur de\s+)?(?:environ\s+|près de\s+|plus de\s+)?$",
    re.IGNORECASE)
_OF_AMOUNT = {"€", "k€", "M€", "To", "Go"}  # « une subvention de 40 k€ », « un volume … d'environ 2,6 To »
_DETERMINER = re.compile(r"\b(?:le|la|les|un|une|son|sa|ses|leur|leurs|l['’])(?=[\s\w])", re.IGNORECASE)
_PREPOSITION = re.compile(r"(?:\b(?:à|de|du|des|au|aux|par|sur|dans|en|avec)\s+|\bd['’])$", re.IGNORECASE)


def _copula_subject(clause: str, unit: str | None) -> str | None:
    """The noun phrase of « L'âge moyen des agents est de », « un niveau de dépenses général de » (amounts):
    the last determiner that opens the subject (not one of a complement: « à la clôture », « d'une »)."""
    starts = [d.start() for d in _DETERMINER.finditer(clause) if not _PREPOSITION.search(clause[: d.start()])]
    for start in reversed(starts):
        cop = _COPULA.match(clause, start)
        if cop and not (cop["de"] and unit not in _OF_AMOUNT) and len(cop["np"].split()) <= 12:
            return " ".join(cop["np"].split()).strip(" -–—")
    return None


def _subject(before: str, unit: str | None = None) -> str | None:
    """The lead of the bullet or clause before its colon: « Requiem (cimetières) : » -> « Requiem »;
    else the subject of « L'âge moyen des agents est de 46 ans », « une subvention de 40 k€ » (amounts)."""
    clause = re.split(r"[;•➤○▪]|[.!?]\s", before)[-1]
    if ":" not in clause:
        return _copula_subject(clause.split("(")[-1], unit)
    head = clause[: clause.rfind(":")]
    if head.rfind("(") > head.rfind(")"):
        head = head[head.rfind("(") + 1:]  # « (temps de présence : 350 jours … »
    lead = re.sub(r"\([^)]*\)?", " ", head)
    lead = " ".join(lead.split()).strip(" -–—*,")
    if not lead or len(lead) > 60 or len(lead.split()) > 6 or not re.search(r"[A-Za-zÀ-ÿ]{2}", lead):
        return None
    return None if _COMPARISON.match(lead) else lead


def _measure(unit: str | None, rest: str) -> str | None:
    """The words after the number, its unit first when it is a word (« agents formés »)."""
    words = _words_after(rest)
    parts = [unit] if unit in _WORD_UNITS else []
    if words and not _COMPARISON.match(words):
        parts.append(words)
    return " ".join(parts) or None


# Words that end the noun phrase of a measure: « 11 agents contre 15 », « 2 ingénieurs qui assurent ».
_CUT = {"contre", "soit", "dont", "pour", "qui", "que", "qu", "plus", "avec", "sur", "ont", "sont", "est",
        "a", "était", "étaient", "sera", "seront", "afin", "car", "mais", "ainsi", "depuis", "dans", "lors",
        "notamment", "malgré", "tous", "toutes", "cf", "ce", "cet", "cette", "ces", "il", "elle", "ils",
        "elles", "on", "nous", "se", "s", "couvre", "couvrent", "représente", "représentent", "permet", "permettent",
        "concerne", "concernent", "assure", "assurent", "reste", "restent", "intervient", "interviennent"}


_TREND = re.compile(r"\b(?:en|est en|sont en)\s+(?:nette\s+|forte\s+|légère\s+)?(?:hausse|baisse|diminution|augmentation|"
                    r"progression|recul)\b", re.IGNORECASE)


def _words_after(after: str) -> str:
    picked: list[str] = []
    after = _TIME_PHRASE.split(after, maxsplit=1)[0]  # « ETP à fin 2023 »: the date is no part of the measure
    after = _TREND.split(after, maxsplit=1)[0]  # « 1110 jours de charge en hausse … »
    for w in re.split(r"\s+", after.strip()):
        if not w or re.match(r"^[()\[\];:.,!?«»➤•○▪]", w) or re.match(r"^\d", w):
            break
        if re.split(r"['’]", w.lower())[0] in _CUT or w in ("+", "-", "–", "&"):
            break
        if w == "et" and re.match(r"^\s*et\s+(?:un|une|le|la|les|l['’]|des|d['’])", after[after.find(w):]):
            break  # « 4 départs et une évolution en interne »: a second clause
        picked.append(w.rstrip(",;:.)"))
        if w.endswith((",", ";", ":", ".", ")")) or len(picked) >= 6:
            break
    while picked and picked[-1].lower() in _STOP_WORDS:
        picked.pop()
    return " ".join(picked)


def _label(before: str, after: str) -> str:
    """« Mandats émis : 76070 » -> « Mandats émis »; « 60 000 patients traités » -> « patients traités »."""
    colon = re.search(r"([^:;➤•○(),]{3,80})\s*:\s*(?:environ|près de|plus de|\+ de)?\s*$", before)
    if colon:
        return colon[1].strip(" -–")
    words = _words_after(after)
    if words:
        return words
    context = re.split(r"[(•➤○;:]", before.rstrip(" ("))[-1]  # « … agents formés (1407 agents) »
    numbers = list(_NUMBER.finditer(context))
    if numbers:  # « 1 250 tickets (1 100 en 2018) »: the figure in brackets is more « tickets »
        after_number = _label("", context[numbers[-1].end():])
        if after_number:
            return after_number
    return " ".join(context.split()[-6:]).strip(" ,-–")


_YEAR_WORDS = (r"\b(?:en|année|au cours de l'année|pour|à fin|fin|d[ée]but|clôture(?: de l['’]exercice)?(?: de)?|"
               r"exercice)\s+((?:19|20)\d{2})\b|\bau\s+31(?:/12/|\s+d[ée]cembre\s+)((?:19|20)\d{2})\b")
_SENTENCE_YEAR = re.compile(_YEAR_WORDS, re.IGNORECASE)


def _exercice(before: str, after: str, report_year: int | None, annotated: Narratif | None = None) -> int | None:
    """The year of a figure: printed right after it (« 517 700 en 2021 », « 15 à fin 2021 »); in a bracket,
    the year of its own part of the bracket, else the year of the figure the bracket annotates; else the
    last year its sentence gives before it (« Au 31/12/2021, … »); else the report's."""
    if m := _YEAR_AFTER.match(after):
        return int(m[1])
    if before.rfind("(") > before.rfind(")"):  # (517 700 en 2021 et 373 000 en 2020): this figure's part
        own = re.split(r"[,;]|\bet\b", before[before.rfind("(") + 1:])[-1] + " " + re.split(r"[),;]|\d", after)[0]
        if m := _PAREN_YEAR.search(own):
            return int(m[1])
        pre = before[: before.rfind("(")]  # « … en diminution par rapport à l'année 2016 (45.25 agents) »
        figures = [f.end() for f in re.finditer(r"\d+(?:[ ,.]\d+)*", pre) if not re.fullmatch(r"(?:19|20)\d\d", f[0])]
        lead = pre[figures[-1]:] if figures else pre
        years = [int(a or b) for a, b in _SENTENCE_YEAR.findall(lead)]
        if years:
            return years[-1]
        if annotated is not None and annotated.exercice:
            return annotated.exercice  # « contre 15 à fin 2021 (14,6 ETP) »
    head = re.split(r"[.!?]\s+(?=[A-ZÀ-Ý])", before)[-1].split("(")[0]  # this sentence, not the paragraph
    years = [int(a or b) for a, b in _SENTENCE_YEAR.findall(head)]
    if years:
        return years[-1]
    return report_year
