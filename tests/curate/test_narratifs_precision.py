"""Precision and recall of the key figures of the prose, on one whole report labelled by hand
(tests/fixtures/narratifs_siim94_2022_etiquetes.csv): recomputed against the current extraction."""

from __future__ import annotations

import csv
from pathlib import Path

from pipelines.curate import curate
from pipelines.extract import extract_document

ROOT = Path(__file__).resolve().parents[2]
LABELS = ROOT / "tests" / "fixtures" / "narratifs_siim94_2022_etiquetes.csv"


def _key(line, exercice, valeur, unite) -> tuple:
    return int(line), int(exercice), round(float(valeur), 2), unite


def _labelled() -> list[dict]:
    with LABELS.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def _published() -> dict[tuple, str]:
    doc = extract_document(ROOT / "data" / "raw" / "siim94_2022.txt", "SIIM94", 2022, "siim94_2022")
    rows, _ = curate([doc])
    return {_key(r["line"], r["exercice"], r["valeur"], r["unite"]): r["indicateur"]
            for r in rows["indicateurs"] if r["source"] == "texte"}


def test_precision_of_published_key_figures_is_at_least_95_percent():
    labels = _labelled()
    verdicts = {_key(r["line"], r["exercice"], r["valeur"], r["unite"]): (r["verdict"], r["indicateur"])
                for r in labels if r["publie"] == "oui"}
    published = _published()
    # a figure published today that nobody labelled counts as false: label it by hand before it counts
    true = [k for k, label in published.items() if verdicts.get(k) == ("vrai", label)]
    precision = len(true) / len(published)
    missed = [r for r in labels if r["verdict"] == "manque"
              and _key(r["line"], r["exercice"], r["valeur"], r["unite"]) not in published]
    recall = len(true) / (len(true) + len(missed))
    print(f"siim94_2022 : {len(published)} chiffres publiés, précision {precision:.1%}, rappel {recall:.1%}")
    assert precision >= 0.95
    assert recall >= 0.8  # measured 71 / 83 = 85,5 %: a drop means true figures were lost


def test_every_figure_labelled_true_is_still_published_as_labelled():
    published = _published()
    lost = [(r["line"], r["valeur"], r["indicateur"]) for r in _labelled() if r["verdict"] == "vrai"
            and published.get(_key(r["line"], r["exercice"], r["valeur"], r["unite"])) != r["indicateur"]]
    assert lost == []
