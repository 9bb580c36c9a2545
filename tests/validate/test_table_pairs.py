"""The pairs of tables the raw row labels compare (vintages._table_pairs), counted one later table at a
time, are those of their definition: every two tables of an organisme sharing three labels or more,
the later one of a later report year, but for two curated tables; in the order shifted_columns reads
them (later table, then the latest earlier report, then the id)."""

from __future__ import annotations

import random

import pytest

from pipelines.validate.vintages import _table_pairs


def _every_pair(dated: list[dict], meta: dict[str, tuple], curated: frozenset[str]) -> list[tuple[str, str]]:
    labels: dict[str, set[tuple]] = {}
    for c in dated:
        labels.setdefault(c["table_id"], set()).add((c["org"], c["label"]))
    pairs = [(b, a) for b in labels for a in labels
             if None not in (meta[a][1], meta[b][1]) and meta[a][1] < meta[b][1]
             and not (a in curated and b in curated) and len(labels[a] & labels[b]) >= 3]
    return sorted(pairs, key=lambda p: (p[0], -meta[p[1]][1], p[1]))


@pytest.mark.parametrize("seed", range(40))
def test_pairs_are_those_of_their_definition(seed):
    rng = random.Random(seed)
    tables = [f"t{i:02d}" for i in range(rng.randint(1, 25))]
    meta = {t: (rng.choice(["SIIM94", "SII"]), rng.choice([None, 2017, 2018, 2019, 2020])) for t in tables}
    dated = [{"table_id": t, "org": meta[t][0], "label": f"ligne {rng.randint(0, 8)}"}
             for t in tables for _ in range(rng.randint(0, 12))]
    curated = frozenset(t for t in tables if rng.random() < 0.4)
    assert list(_table_pairs(dated, meta, curated)) == _every_pair(dated, meta, curated)


def test_three_shared_labels_make_a_pair():
    meta = {"a": ("SII", 2018), "b": ("SII", 2019), "c": ("SII", 2019)}
    dated = [{"table_id": t, "org": "SII", "label": lab} for t, labs in
             (("a", "wxyz"), ("b", "wxy"), ("c", "wx")) for lab in labs]
    assert list(_table_pairs(dated, meta, frozenset())) == [("b", "a")]
    assert list(_table_pairs(dated, meta, frozenset({"a", "b"}))) == []
