"""The checks hold on layouts they were not written for: seed tables re-laid out (fixed-width,
pipes) and copies with injected errors give the same findings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import run, summary  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SEED_2017 = ROOT / "data" / "raw" / "siim94_2017.txt"


def _seed_rows(first: int, last: int) -> list[list[str]]:
    lines = SEED_2017.read_text(encoding="utf-8").splitlines()[first - 1: last]
    return [line.split("\t") for line in lines]


def _layout(rows: list[list[str]], kind: str) -> str:
    if kind == "tsv":
        return "\n".join("\t".join(r) for r in rows)
    if kind == "pipe":
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows[1:]])
    if kind == "pdf":  # text of a PDF: single spaces, a blank line between rows, units kept
        return "\n\n".join(" ".join(r) + " " for r in rows)
    widths = [max(len(r[i]) for r in rows) + 3 for i in range(len(rows[0]))]
    return "\n".join("".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _doc(table: str) -> str:
    return f"Bilan d'activité 2017 du SIIM94\n\n1 Pôle SI\n\nRépartition générale\n\n{table}\n\nFin.\n"


def _key(df, *rules):
    return [(rule, sev, found, exp) for rule, _line, sev, found, exp in summary(df, *rules)]


@pytest.mark.parametrize("kind", ["tsv", "pipe", "fixed", "pdf"])
def test_total_general_defect_found_in_every_layout(tmp_path, kind):
    # « Total général 1 164 jours » under rows summing to 2 570 (2017 report, pôle SI)
    df = run(tmp_path, _doc(_layout(_seed_rows(741, 746), kind)), year=2017)
    assert _key(df, "total.column") == [
        ("total.column", "error", "1 133 jours", "2 575 jours"),
        ("total.column", "error", "1 157 jours", "2 582 jours"),
        ("total.column", "error", "1 164 jours", "2 570 jours"),
    ]


@pytest.mark.parametrize("kind", ["tsv", "pipe", "fixed", "pdf"])
def test_consistent_seed_table_is_clean_and_injected_errors_are_found(tmp_path, kind):
    rows = _seed_rows(769, 773)  # Projet: 235+308+450 = 993, 100+294+570 = 964 (printed 965), 91+38+827 = 956
    clean = run(tmp_path, _doc(_layout(rows, kind)), year=2017)
    assert _key(clean, "total.column", "total.rounding") == [
        ("total.rounding", "info", "965 jours", "964 jours")]
    changed_cell = [list(r) for r in rows]
    changed_cell[2][3] = "83 jours"  # 38 -> 83
    df = run(tmp_path, _doc(_layout(changed_cell, kind)), year=2017)
    assert _key(df, "total.column") == [("total.column", "error", "956 jours", "1 001 jours")]
    changed_total = [list(r) for r in rows]
    changed_total[4][1] = "939 jours"  # 993 -> 939
    df = run(tmp_path, _doc(_layout(changed_total, kind)), year=2017)
    assert _key(df, "total.column") == [("total.column", "error", "939 jours", "993 jours")]
    shifted = [list(r) for r in rows]
    shifted[0][1:] = ["2016", "2017", "2018"]  # year header shifted by one in the 2017 report
    df = run(tmp_path, _doc(_layout(shifted, kind)), year=2017)
    assert _key(df, "header.year") == [("header.year", "error", "2018", "≤ 2017")]
