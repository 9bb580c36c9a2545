"""Deux versions d'un rapport : chaque constat est « corrigé », « toujours présent » ou « nouveau ».

Pure functions over two findings frames (the columns of `pipelines.validate.FINDING_COLUMNS`).
Lines move as authors edit (a paragraph inserted shifts every line below it), so a finding is
never matched by its line: it is matched by its rule, its table (caption), its row label and its
figures (found, expected), from the strictest key to the loosest, each finding at most once:

1. rule, table, row label, found and expected: the same error, unchanged;
2. rule, table, row label and expected: the printed figure changed but is still wrong;
3. rule, table, row label and found: the figures around it changed, the figure is still wrong;
4. rule, row label, found and expected: the same error in a table whose caption was reworded.

The row label is the label of the figure's row (`label_source` when it is printed on another line,
else the first cell of the quoted line), without its figures; for a sentence, the sentence without
its figures.
"""

from __future__ import annotations

import re

import pandas as pd

from pipelines.extract.labels import normalise

FIXED, OPEN, NEW = "fixed", "open", "new"
STATUS_FR = {FIXED: "corrigé", OPEN: "toujours présent", NEW: "nouveau"}
# The keys tried in turn (see the module docstring).
TIERS = (("rule", "table", "label", "found", "expected"), ("rule", "table", "label", "expected"),
         ("rule", "table", "label", "found"), ("rule", "label", "found", "expected"))
# a figure as printed (« 1 046 », « 12,5 % », « -3 ») : removed from a row label
_FIGURE = re.compile(r"[-+−]?\d[\d\s\u00a0\u202f.,]*")


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def row_label(finding: dict) -> str:
    """« MCO\\t1 046 jours\\t1 136 jours » -> « mco jours » : what names the row, without figures."""
    text = _text(finding.get("label_source")) or _text(finding.get("source_line"))
    cells = [c for c in text.split("\t") if c.strip()]
    text = cells[0] if len(cells) > 1 else text
    return normalise(_FIGURE.sub(" ", text))


def signatures(found: pd.DataFrame) -> list[dict]:
    """One dict per finding: the keys of TIERS, normalised (case, accents, spaces)."""
    out = []
    for f in found.to_dict("records"):
        out.append({"rule": _text(f.get("rule")), "table": normalise(_text(f.get("table"))),
                    "label": row_label(f), "found": normalise(_text(f.get("found"))),
                    "expected": normalise(_text(f.get("expected")))})
    return out


def match(new: pd.DataFrame, old: pd.DataFrame) -> list[tuple[int, int]]:
    """(row of `new`, row of `old`) pairs of the same finding, each row in at most one pair;
    rows are paired in their order within a key (the first with the first)."""
    sig_new, sig_old = signatures(new), signatures(old)
    free_new, free_old = set(range(len(sig_new))), set(range(len(sig_old)))
    pairs: list[tuple[int, int]] = []
    for keys in TIERS:
        waiting: dict[tuple, list[int]] = {}
        for j in sorted(free_old):
            waiting.setdefault(tuple(sig_old[j][k] for k in keys), []).append(j)
        for i in sorted(free_new):
            candidates = waiting.get(tuple(sig_new[i][k] for k in keys))
            if candidates:
                j = candidates.pop(0)
                pairs.append((i, j))
                free_new.discard(i)
                free_old.discard(j)
    return sorted(pairs)


def compare(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """The findings of `new` with `version_status` « open » or « new », then those of `old` that
    `new` no longer has, « fixed », at their OLD place (document, line). `old_document` and
    `old_line` give the OLD place of an open finding (None for a new one)."""
    new, old = new.reset_index(drop=True), old.reset_index(drop=True)
    pairs = dict(match(new, old))
    def before(column: str) -> pd.Series:  # object: a line stays 20, not 20.0, beside None
        return pd.Series([old.at[pairs[i], column] if i in pairs else None for i in range(len(new))],
                         index=new.index, dtype=object)

    kept = new.assign(version_status=[OPEN if i in pairs else NEW for i in range(len(new))],
                      old_document=before("document"), old_line=before("line"))
    gone = old.drop(index=list(pairs.values()))
    gone = gone.assign(version_status=FIXED, old_document=gone["document"], old_line=gone["line"])
    out = pd.concat([kept, gone], ignore_index=True) if len(gone) else kept
    return out.astype(object).where(out.notna(), None)


# where a finding is, not what it says: a paragraph inserted above moves it without changing it
# (`highlight`, the printed words an annotation looks for, is internal: never shown)
PLACE = ("line", "page", "place", "label_line", "highlight")
_SHOWN_PLACE = ("line", "page", "place", "label_line")


def changes(before: pd.DataFrame, after: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(appeared, disappeared, moved) between two checks of the same draft (`bilans check --watch`).
    Findings are paired as for `--since` (`match`); a pair is the same finding only when every field
    but its place (PLACE) is the same, else it is in the first two frames: disappeared with its old
    text, appeared with the new (a wrong total changed again, a table renamed, a message that cites
    a line that moved). `moved`: the findings of `after` that are the same as one of `before` at
    another place (line, page…), with `old_line`, the line they had. So what was shown, updated by
    the three, is `after`."""
    after, before = after.reset_index(drop=True), before.reset_index(drop=True)
    said = [c for c in after.columns.union(before.columns) if c not in PLACE]
    new, old = ({c: df[c].tolist() for c in df.columns} for df in (after, before))  # a cell at a time: slow

    def fields(df: dict, i: int, columns) -> list:
        return [_shown(df[c][i]) if c in df else None for c in columns]

    pairs = [(i, j) for i, j in match(after, before) if fields(new, i, said) == fields(old, j, said)]
    moved = [(i, j) for i, j in pairs if fields(new, i, _SHOWN_PLACE) != fields(old, j, _SHOWN_PLACE)]
    appeared = after.drop(index=[i for i, _ in pairs])
    gone = before.drop(index=[j for _, j in pairs])
    shifted = after.iloc[[i for i, _ in moved]].reset_index(drop=True)
    shifted["old_line"] = pd.Series([old["line"][j] for _, j in moved], dtype=object)  # 20, not 20.0
    return appeared.reset_index(drop=True), gone.reset_index(drop=True), shifted


def _shown(value) -> str | None:
    """A field as shown: None for a missing value (None, NaN), else its text (2023 and 2023.0 alike)."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def counts(compared: pd.DataFrame) -> dict[str, int]:
    """{'fixed': n, 'open': n, 'new': n} of a `compare` frame."""
    vc = compared["version_status"].value_counts() if len(compared) else {}
    return {s: int(vc.get(s, 0)) for s in (FIXED, OPEN, NEW)}
