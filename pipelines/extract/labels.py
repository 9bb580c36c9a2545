"""Libellés de lignes qui ont un rôle : totaux et sous-totaux (data/referentiels/totaux.csv),
lignes calculées à partir des totaux (data/referentiels/derives.csv), mesures qui ne s'additionnent pas
(data/referentiels/non_additifs.csv).

A label is compared without case, accents, markdown emphasis or a trailing colon:
« **TOTAL :** », « Total général 2023 », « S/total », « Totaux » and « Ensemble » are totals;
« Dette nette » is derived. The lexicons live in the referentials, not here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from pipelines.extract.numbers import fold

REF_DIR = Path(__file__).resolve().parents[2] / "data" / "referentiels"
TOTAL, SUBTOTAL = "total", "sous_total"


@dataclass(frozen=True)
class _Label:
    words: str  # normalised
    kind: str
    exact: bool
    unless: str = ""  # a stem that makes the line an ordinary item (« report » in « Résultat reporté »)


def normalise(text: str) -> str:
    """« **TOTAL général :** » -> « total general »."""
    text = fold(text)
    text = re.sub(r"[*_]+|<[^>]*>", " ", text)
    return " ".join(text.split()).strip(" :.-–")


def _rows(name: str) -> list[dict]:
    with (REF_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@cache
def _totals() -> tuple[_Label, ...]:
    labels = [_Label(normalise(r["libelle"]), r["genre"], r["correspondance"] == "exact") for r in _rows("totaux.csv")]
    return tuple(sorted(labels, key=lambda x: -len(x.words)))  # « total general » before « total »


@cache
def _derived() -> tuple[_Label, ...]:
    return tuple(_Label(normalise(r["libelle"]), "derive", r["correspondance"] == "exact",
                        normalise(r.get("sauf") or "")) for r in _rows("derives.csv"))


def _matches(label: _Label, text: str) -> bool:
    if label.unless and label.unless in text:
        return False
    if label.exact:
        return text == label.words
    return text == label.words or (text.startswith(label.words) and not text[len(label.words)].isalnum())


@lru_cache(maxsize=1 << 14)
def total_kind(text: str) -> str | None:
    """« total » or « sous_total » when the row label names a total, else None (memoized: the same
    labels come back in every table, and in every save of a draft under `bilans check --watch`)."""
    plain = normalise(text)
    return next((lab.kind for lab in _totals() if _matches(lab, plain)), None)


def names_total_column(header: str) -> bool:
    """A column header naming a total: « Total », « Total 2017 », « Nb jours total », « Ensemble »."""
    plain = normalise(header)
    words = plain.split()
    return any(_matches(lab, plain) or (not lab.exact and any(
        _matches(lab, " ".join(words[i:])) for i in range(1, len(words)))) for lab in _totals())


@cache
def _non_additive() -> re.Pattern:
    words = "|".join(r["motif"] for r in _rows("non_additifs.csv"))
    return re.compile(rf"\b(?:{words})\b")


def names_non_additive(text: str) -> bool:
    """« Âge moyen des agents », « Taux d'absentéisme »: a measure whose « Ensemble » row is not the
    sum of the rows (data/referentiels/non_additifs.csv)."""
    return bool(_non_additive().search(normalise(text)))


def is_derived(text: str) -> bool:
    """« Dette nette », « Solde », « Résultat de l'exercice »: a line computed from totals."""
    plain = normalise(text)
    return any(_matches(lab, plain) for lab in _derived())
