"""Tableaux d'un texte extrait de PDF : pas de tabulation, une ligne = un libellé suivi de
ses valeurs, libellés coupés sur plusieurs lignes, valeurs parfois reportées seules sur
la ligne suivante (« 324 agents » / « 65,5 jours »).

Spaces are both the thousands separator and the column separator here, so a run
of digit groups is split into numbers with the help of the header: « 81 153 » under
« 2020 2021 » is two figures, « 1 828 377,37 € » under « Total » is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from pipelines.extract.numbers import UNITS, clean
from pipelines.extract.tables import Block, RawRow

_DIGITS = re.compile(r"^[-+−]?\d+(?:[.,]\d+)?\.?%?$")
_UNIT_TOKENS = {u for u in UNITS if u not in ("e", "h", "j", "heure", "heures", "ticket", "tickets")} | {"€"}
_BULLET = re.compile(r"^[\s]*[\u2022\u25aa\u25e6\u27a4\u2013\u2014•➤▪◦o\-]\s|^\s*[\ue000-\uf8ff]")
_HEADER_WORDS = re.compile(
    r"\b(chapitre|libell[ée]|domaine|total|adh[ée]rent|ann[ée]e|jours|montant|nombre|entit[ée]|"
    r"application|activit[ée]|formation|type|titres|mandats|r[ée]alis|pr[ée]vu|collectivit[ée])",
    re.IGNORECASE,
)
MAX_LABEL = 90
_TOTAL = re.compile(r"^(?:sous[- ]?)?total\b", re.IGNORECASE)
_STARTS_RECORD = re.compile(r"^(?:\d{2,5}\s|(?:sous[- ]?)?total\b)", re.IGNORECASE)


@dataclass
class Tail:
    label: str
    tokens: list[str]  # digit groups and unit tokens, in order


@dataclass
class Record:
    line: int
    label: str
    tokens: list[str] = field(default_factory=list)
    token_lines: list[int] = field(default_factory=list)  # where each token is printed: a cell's provenance


def numeric_tail(line: str) -> Tail:
    words = clean(line).split(" ")
    k = len(words)
    while k > 0 and (_DIGITS.match(words[k - 1]) or words[k - 1].lower() in _UNIT_TOKENS or words[k - 1] in "-–"):
        k -= 1
    tail = words[k:]
    while tail and not re.match(r"[-+−]?\d", tail[0]) and tail[0] not in "-–":
        k += 1
        tail = tail[1:]  # a tail starts with a figure, not a unit
    return Tail(" ".join(words[:k]).strip(), tail)


@lru_cache(maxsize=4096)
def _segmentations(tokens: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Every way to read the tokens as a sequence of printed figures (units attached)."""
    if not tokens:
        return ((),)
    first = tokens[0]
    if first.lower() in _UNIT_TOKENS:
        return ()
    results = []
    groups = [first]
    j = 1
    while True:
        end = j
        unit = ""
        if end < len(tokens) and tokens[end].lower() in _UNIT_TOKENS:
            unit = " " + tokens[end]
            end += 1
        for rest in _segmentations(tokens[end:]):
            results.append((" ".join(groups) + unit,) + rest)
        last = groups[-1]
        can_extend = (
            j < len(tokens) and re.fullmatch(r"[-+−]?\d{1,3}", groups[0].rstrip("%"))
            and re.fullmatch(r"\d{3}(?:[.,]\d+)?", tokens[j]) and re.fullmatch(r"[-+−]?\d+", last)
        )
        if not can_extend:
            break
        groups.append(tokens[j])
        j += 1
    return tuple(results)


def _has_decimals(figure: str) -> bool:
    return bool(re.search(r"\d[.,]\d{1,2}(?!\d)", figure))


def split_figures(tokens: list[str], expected: int | None, decimals: bool | None = None) -> list[str]:
    """Choose a reading: the expected number of columns, and figures printed like the
    rest of the table (« 1 114 874,04 » stays one amount in a column of amounts)."""
    options = _segmentations(tuple(tokens))
    if not options:
        return [" ".join(tokens)] if tokens else []

    def score(option: tuple[str, ...]) -> tuple[int, int, int]:
        consistent = decimals is None or all(_has_decimals(f) == decimals for f in option)
        fits = bool(expected) and len(option) in (expected, 2 * expected)
        within = not expected or len(option) <= 2 * expected
        return (consistent and within, fits, -len(option))

    return list(max(options, key=score))


def _kind(line: str) -> str:
    """V: label + figures, L: short label only, P: prose or bullet."""
    text = clean(line)
    if _BULLET.match(line) or len(text) > 140:
        return "P"
    tail = numeric_tail(line)
    if tail.tokens and len(tail.label) <= MAX_LABEL and not re.search(r";|\.\s|,$", tail.label):
        if len(tail.tokens) == 1 and re.fullmatch(r"(?:19|20)\d{2}", tail.tokens[0]) and tail.label:
            return "L"  # « Répartition activité 2021 » is a title
        return "V"
    if len(text) <= 70 and not re.search(r"[.;,]$", text):
        return "L"
    return "P"


def _years_only(tokens: list[str]) -> bool:
    return len(tokens) >= 2 and all(re.fullmatch(r"(?:19|20)\d{2}", t) for t in tokens)


def find_pdftext_blocks(lines: list[str], skip: set[int]) -> list[Block]:
    blocks: list[Block] = []
    run: list[tuple[int, str]] = []
    blanks, after_total = 0, False
    for i, line in enumerate(lines, 1):
        if i in skip:
            blocks += _blocks_from_run(run, lines)
            run, blanks = [], 0
            continue
        if not line.strip():
            blanks += 1
            if blanks >= 3 and run:
                blocks += _blocks_from_run(run, lines)
                run = []
            continue
        blanks = 0
        kind = _kind(line)
        tail = numeric_tail(line) if kind == "V" else None
        starts_table = kind == "V" and _years_only(tail.tokens) and not re.search(r"\d", tail.label)
        new_header = after_total and kind == "L" and _HEADER_WORDS.search(line)
        if kind == "P" or starts_table or new_header:
            blocks += _blocks_from_run(run, lines)  # a table ends at prose, a new header, or after its total
            run, after_total = [], False
        if kind != "P":
            run.append((i, kind))
            if tail is not None and tail.label:
                after_total = bool(_TOTAL.match(tail.label))
    blocks += _blocks_from_run(run, lines)
    for b in blocks:
        skip.update(range(b.line_start, b.line_end + 1))
    return blocks


def _blocks_from_run(run: list[tuple[int, str]], lines: list[str]) -> list[Block]:
    if sum(1 for _, k in run if k == "V") < 2:
        return []
    return _parse_run(run, lines)


def _parse_run(run: list[tuple[int, str]], lines: list[str]) -> list[Block]:
    header: RawRow | None = None
    captions: list[str] = []
    records: list[Record] = []
    pending: list[tuple[int, str]] = []
    for lineno, kind in run:
        text = clean(lines[lineno - 1])
        if kind == "L":
            pending.append((lineno, text))
            if len(pending) > 3:
                captions.append(pending.pop(0)[1])
            continue
        tail = numeric_tail(text)
        if not records and header is None and _years_only(tail.tokens) and not re.search(r"\d", tail.label):
            captions += [t for _, t in pending]
            pending = []
            header = RawRow(lineno, [tail.label, *tail.tokens])
            continue
        if not records and header is None and pending and _HEADER_WORDS.search(pending[-1][1]):
            captions += [t for _, t in pending[:-1]]
            h_line, h_text = pending[-1]
            header = RawRow(h_line, [p for p in re.split(r" {2,}", lines[h_line - 1].strip()) if p] or [h_text])
            pending = []
        if not tail.label:
            if pending:
                starts = [k for k, (_, t) in enumerate(pending) if _STARTS_RECORD.match(t)]
                cut = starts[-1] if starts else 0
                records += [Record(n, t) for n, t in pending[:cut]]
                records.append(Record(pending[cut][0], " ".join(t for _, t in pending[cut:]), tail.tokens,
                                      [lineno] * len(tail.tokens)))
                pending = []
            elif records:
                records[-1].tokens += tail.tokens  # values carried over to the next line
                records[-1].token_lines += [lineno] * len(tail.tokens)
            continue
        if pending and tail.label[:1].islower():
            records.append(Record(pending[0][0], " ".join([*(t for _, t in pending), tail.label]), tail.tokens,
                                  [lineno] * len(tail.tokens)))
        else:
            records += [Record(n, t) for n, t in pending] if records or header else []
            records.append(Record(lineno, tail.label, tail.tokens, [lineno] * len(tail.tokens)))
        pending = []
    if sum(1 for r in records if r.tokens) < (2 if header else 3):
        return []
    expected = _expected_columns(header, records)
    greedy = [f for r in records for f in split_figures(r.tokens, None)]
    decimals = sum(map(_has_decimals, greedy)) * 2 > len(greedy) if greedy else None
    rows = [_header_row(header, expected)] if header else []
    for r in records:
        figures = _pair_composites(split_figures(r.tokens, expected, decimals), expected)
        where = _figure_lines(figures, r.token_lines)
        label = r.label
        while expected and len(figures) > expected and re.fullmatch(r"\d{1,3}", figures[0]):
            label = f"{label} {figures.pop(0)}"  # « SAF 94 » is a name, not a figure
            where.pop(0)
        rows.append(RawRow(r.line, [label, *figures], [r.line, *where]))
    caption = captions[-1] if captions else None
    return [Block("pdftext", rows, header_hint=1 if header else 0, caption_hint=caption)]


def _figure_lines(figures: list[str], token_lines: list[int]) -> list[int]:
    """The line of each figure's first token: « TOTAL » may sit lines above its values."""
    out, k = [], 0
    for f in figures:
        out.append(token_lines[min(k, len(token_lines) - 1)])
        k += len(f.split(" "))
    return out


def _header_row(header: RawRow, expected: int | None) -> RawRow:
    """Header cells aligned on the columns: the label header, then one per value column."""
    if len(header.texts) == (expected or 0) + 1 or not expected:
        return header
    words = " ".join(header.texts).split()
    label_words = []
    while words and len(words) > expected and re.match(r"(?i)chapitre|libell|domaine|adh|entit|compte", words[0]):
        label_words.append(words.pop(0))
    if len(words) < expected:
        return RawRow(header.line, [" ".join(label_words or header.texts), *words])
    values = [" ".join(words[: len(words) - expected + 1]), *words[len(words) - expected + 1:]]
    return RawRow(header.line, [" ".join(label_words), *values])


def _expected_columns(header: RawRow | None, records: list[Record]) -> int | None:
    if header:
        years = [t for t in header.texts[1:] if re.fullmatch(r"(?:19|20)\d{2}", t)]
        if len(years) >= 2:
            return len(years)
    counts = [len(split_figures(r.tokens, None)) for r in records if r.tokens]
    return max(set(counts), key=counts.count) if counts else None


def _pair_composites(figures: list[str], expected: int | None) -> list[str]:
    """« 324 agents », « 65,5 jours » twice as many as the columns: one composite cell each."""
    if not expected or len(figures) != 2 * expected:
        return figures
    units = [f.split(" ")[-1].lower() for f in figures]
    if all(u in _UNIT_TOKENS for u in units) and units[0::2] == [units[0]] * expected and units[1] != units[0]:
        return [f"{figures[i]} {figures[i + 1]}" for i in range(0, len(figures), 2)]
    return figures
