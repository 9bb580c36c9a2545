"""Texte courant sur deux colonnes d'une page PDF : lu colonne par colonne, pas ligne à ligne à travers
la page (ce qui ferait de chaque paire de lignes une rangée de « tableau »).

A run of printed lines is two columns of prose when a vertical gutter in the middle of the page
(between 25 % and 75 % of its width, at least 6 points wide) is crossed by no word of the run,
and on each side at least four lines are prose: words rather than figures, most lines filled up
to the side's right edge (justified or ragged text). A table whose first column holds short
labels does not fill its side, and a table of figures is not prose: both stay as they are.
A line crossing the gutter (a title, a caption, a wide table's row) ends the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_MIN_GUTTER = 6.0
_MIN_LINES = 4
_LETTERS = re.compile(r"[^\W\d_]")


def reading_order(lines: list, page_width: float, rebuild: Callable[[list[dict]], list]) -> list[tuple]:
    """Lines (objects with ``words``, ``top``) -> [(sort key, line)]: the lines of a two-column
    run split at the gutter, the left column before the right one, both at the run's place on
    the page; the other lines keyed by their top. ``rebuild`` makes lines of a list of words."""
    out: list[tuple] = []
    i = 0
    while i < len(lines):
        j, gutter = _run(lines, i, page_width)
        start, end = _trimmed(lines, i, j, gutter) if gutter is not None else (i, j)
        if gutter is not None and _prose_on_both_sides(lines[start:end], gutter):
            out += [((ln.top, 0), ln) for ln in lines[i:start]]
            words = [w for ln in lines[start:end] for w in ln.words]
            left = rebuild([w for w in words if w["x1"] <= gutter[0]])
            right = rebuild([w for w in words if w["x0"] >= gutter[1]])
            out += [((lines[start].top, n), ln) for n, ln in enumerate(left + right)]
            i = end
        else:
            out.append(((lines[i].top, 0), lines[i]))
            i += 1
    return out


def _run(lines: list, i: int, page_width: float) -> tuple[int, tuple[float, float] | None]:
    """End of the longest run from line i that leaves a gutter free, and the widest such gutter."""
    free = [(0.25 * page_width, 0.75 * page_width)]
    j = i
    while j < len(lines):
        narrower = _minus(free, [(w["x0"], w["x1"]) for w in lines[j].words])
        if not narrower:
            break
        free, j = narrower, j + 1
    if j - i < _MIN_LINES:
        return j, None
    return j, max(free, key=lambda g: g[1] - g[0])


def _trimmed(lines: list, i: int, j: int, gutter: tuple[float, float]) -> tuple[int, int]:
    """Without the one-sided lines set apart above the first line with text on both sides or
    below the last one (a title over the left column, a closing line under it)."""
    both = [k for k in range(i, j) if _sides(lines[k], gutter) == 2]
    if not both:
        return i, j
    first, last = both[0], both[-1]
    while first > i and _close(lines[first - 1], lines[first]):
        first -= 1
    while last + 1 < j and _close(lines[last], lines[last + 1]):
        last += 1
    return first, last + 1


def _sides(line, gutter: tuple[float, float]) -> int:
    return int(any(w["x1"] <= gutter[0] for w in line.words)) + int(any(w["x0"] >= gutter[1] for w in line.words))


def _close(above, below) -> bool:
    return below.top - above.bottom <= 1.0 * max(above.bottom - above.top, 1.0)


def _minus(free: list[tuple[float, float]], spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    for a, b in spans:
        free = [piece for lo, hi in free for piece in ((lo, min(hi, a)), (max(lo, b), hi))]
        free = [(lo, hi) for lo, hi in free if hi - lo >= _MIN_GUTTER]
    return free


def _prose_on_both_sides(run: list, gutter: tuple[float, float]) -> bool:
    left = [[w for w in ln.words if w["x1"] <= gutter[0]] for ln in run]
    right = [[w for w in ln.words if w["x0"] >= gutter[1]] for ln in run]
    return _prose([p for p in left if p]) and _prose([p for p in right if p])


def _prose(parts: list[list[dict]]) -> bool:
    """At least four lines, mostly letters, two in three reaching the right edge of their side."""
    if len(parts) < _MIN_LINES:
        return False
    text = " ".join(w["text"] for p in parts for w in p)
    if len(_LETTERS.findall(text)) < 0.8 * len(text.replace(" ", "")):
        return False
    x0 = min(w["x0"] for p in parts for w in p)
    x1 = max(w["x1"] for p in parts for w in p)
    filled = sum(1 for p in parts if max(w["x1"] for w in p) >= x1 - 0.1 * (x1 - x0))
    return filled * 3 >= 2 * len(parts)
