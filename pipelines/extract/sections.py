"""Sections (titres numérotés) et table des matières.

A table of contents is a run of entries ending with a page number (after a tab
or dot leaders); its lines are neither sections nor tables. Numbered headings
are accepted only when their number follows the previous one (7.4.1 -> 7.4.2,
7.4.1.1, 7.5 or 8), so that « 2 135 télétransmissions » never becomes a section.
"""

from __future__ import annotations

import re

from pipelines.extract.model import Section
from pipelines.extract.numbers import clean

_TOC_ENTRY = re.compile(
    r"^\s*(?:[\dIVXLA-H]+(?:\.\d+)*\.?)?\s*\t?.*?(?:\.{3,}\s*\t?\s*(?:\d+|Erreur)|\t\s*(?:\d{1,3}|Erreur ! Signet non d\S+ni\.?)\s*)\s*$"
)
_TOC_TITLE = re.compile(r"^\s*(contenu|table des mati[eè]res|sommaire)\b", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*(?P<num>\d{1,2}(?:\.\d{1,2}){0,5})\.?[\t ]+(?P<title>[^\d\s].{1,160})$")
_MARKDOWN = re.compile(r"^\s*(?P<hashes>#{1,6})\s+(?P<title>.+)$")
_MD_NUMBER = re.compile(r"^(?P<num>[IVXL]+|[A-H]|\d{1,2}(?:\.\d{1,2})*)[.)]\s+(?P<title>.+)$")


def _is_toc(lines: list[str], run: list[int]) -> bool:
    """A run of « title TAB number » lines is a table of contents only when it looks like one:
    a « Sommaire » title above it, dot leaders, or numbered titles with increasing pages
    (a two-column table « Arcueil TAB 26 » is none of these)."""
    if any(_TOC_TITLE.match(lines[j - 1]) for j in range(max(1, run[0] - 5), run[0])):
        return True
    entries = [lines[i - 1] for i in run]
    if sum("..." in e for e in entries) * 2 >= len(entries):
        return True
    pages = [int(m[1]) for e in entries if (m := re.search(r"(\d+)\s*$", e))]
    numbered = sum(bool(re.match(r"^\s*(?:\d+(?:\.\d+)*|[IVX]+\.|[A-H]\.)\s", e.replace("\t", " "))) for e in entries)
    return numbered * 5 >= len(entries) * 3 and pages == sorted(pages)


def find_toc(lines: list[str]) -> tuple[int, int] | None:
    """1-based inclusive line range of the table of contents, if any."""
    hits = [i for i, line in enumerate(lines, 1) if line.strip() and _TOC_ENTRY.match(line)]
    best: tuple[int, int] | None = None
    run: list[int] = []
    for i in hits:
        if run and i - run[-1] > 3:
            best = _longest(best, run, lines)
            run = []
        run.append(i)
    best = _longest(best, run, lines)
    if best is None:
        return None
    start, end = best
    for j in range(start - 1, max(0, start - 6), -1):  # include the « CONTENU » title
        if _TOC_TITLE.match(lines[j - 1]):
            start = j
            break
    return start, end


def _longest(best: tuple[int, int] | None, run: list[int], lines: list[str]) -> tuple[int, int] | None:
    if len(run) < 4 or not _is_toc(lines, run):
        return best
    if best is None or run[-1] - run[0] > best[1] - best[0]:
        return run[0], run[-1]
    return best


def _follows(prev: tuple[int, ...] | None, num: tuple[int, ...]) -> bool:
    if prev is None:
        return len(num) == 1 and num[0] <= 3
    if len(num) > len(prev) and num[: len(prev)] == prev and all(x == 1 for x in num[len(prev):]):
        return True  # first child (« 9.6 » -> « 9.6.1.1 » when 9.6.1 has no heading)
    for depth in range(min(len(prev), len(num)), 0, -1):
        if len(num) == depth and num[:-1] == prev[: depth - 1] and 0 < num[-1] - prev[depth - 1] <= 2:
            return True  # next sibling (one skipped number tolerated) at this level
    return False


def find_sections(lines: list[str], skip: set[int]) -> list[Section]:
    sections: list[Section] = []
    prev: tuple[int, ...] | None = None
    for i, raw in enumerate(lines, 1):
        if i in skip or not raw.strip():
            continue
        if m := _MARKDOWN.match(raw):
            title = clean(m["title"])
            number = ""
            if n := _MD_NUMBER.match(title):
                number, title = n["num"], n["title"]
            sections.append(Section(number, title, len(m["hashes"]), i))
            continue
        if "\t" in raw.strip("\t ") and not re.match(r"^\s*\d+(\.\d+)*\t[^\t]+$", raw):
            continue  # a tab-separated row, not a heading
        m = _NUMBERED.match(raw.replace("\t", " "))
        if not m:
            continue
        title = clean(m["title"])
        if len(title) > 140 or title.endswith((",", ";")) or not title[:1].isupper():
            continue
        num = tuple(int(x) for x in m["num"].split("."))
        if not _follows(prev, num):
            continue
        prev = num
        sections.append(Section(m["num"], title, len(num), i))
    return sections


def section_at(sections: list[Section], line: int) -> Section | None:
    current = None
    for s in sections:
        if s.line > line:
            break
        current = s
    return current
