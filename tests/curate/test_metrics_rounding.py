"""The metrics layer takes a printed total exactly when the checks call it consistent: the same
rounding bound (n·u/2, excluded) as expectations/totaux.json, on a small hand-written store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_metrics import _store  # noqa: E402

from pipelines.metrics import valeurs  # noqa: E402


def _days(items: list[float], total: float) -> list[tuple]:
    rows = [("S", 2022, 2022, "s_2022", 100 + i, "t", "si", "type", f"Poste {i}", f"Poste {i}", d, "detail")
            for i, d in enumerate(items)]
    return [*rows, ("S", 2022, 2022, "s_2022", 120, "t", "si", "type", "Total", "Total", total, "total")]


@pytest.mark.parametrize("items, total, expected", [
    ([10.0, 20.0], 31.0, [30.0, "somme_des_postes"]),  # 2 items off by 1: total.column, the sum is the metric
    ([100.0, 294.0, 570.0], 965.0, [965.0, "total_imprime"]),  # 3 items off by 1: total.rounding, printed total
    ([100.0, 294.0, 570.0], 966.0, [964.0, "somme_des_postes"]),
    ([10.4, 20.4], 30.9, [30.8, "somme_des_postes"]),  # to the tenth: 0,1 reaches 2 × 0,1/2
    ([10.0, 20.0], 30.0, [30.0, "total_imprime"]),
])
def test_printed_total_is_the_metric_when_within_the_rounding_of_the_suite(items, total, expected):
    con = _store(activite=_days(items, total))
    got = valeurs(con, "jours_pole", pole="si", detail=None)
    assert len(got) == 1
    assert (got.valeur[0], got.niveau[0]) == (pytest.approx(expected[0]), expected[1])
