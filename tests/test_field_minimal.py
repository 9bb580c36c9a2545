"""The field's minimal inputs (../shared/field/minimal/, issue 19) give the right answers of their README,
read and checked as `bilans check FILE` reads and checks them."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
_CANDIDATES = [Path(os.environ["BILANS_FIELD"])] if os.environ.get("BILANS_FIELD") else [
    ROOT.parent / "shared" / "field", ROOT.parent.parent / "shared" / "field"]
FIELD = next((p / "minimal" for p in _CANDIDATES if (p / "minimal").is_dir()), None)
pytestmark = pytest.mark.skipif(FIELD is None, reason="../shared/field/ absent (BILANS_FIELD)")

# README of the field: file -> the findings `bilans check` should give, as (rule, line, found, expected).
RIGHT_ANSWERS = {
    "f1_paren.txt": [],
    "f2_dots.txt": [],
    "f3_scope.txt": [],
    "f4_months.txt": [("total.row", 3, "130", "120"), ("total.row", 6, "166", "156")],
    "f6_us.txt": [],
    "f7_dates.txt": [],
    # two whole items, 10 + 20 = 30 printed 31: a gap of 1 is not below 2 × 1/2 (verdicts.rounding_bound)
    "f8_ensemble.txt": [("total.column", 5, "31", "30")],
    "f8_totaux.txt": [("total.column", 5, "31", "30")],
}


def _check(path: Path) -> list[tuple]:
    from pipelines.build import extract_files, write_store
    from pipelines.curate import curate
    from pipelines.curate.views import create_views
    from pipelines.store import create_schema
    from pipelines.validate import findings

    docs = extract_files([(path, None, None, None)])
    con = duckdb.connect(":memory:")
    create_schema(con)
    write_store(con, docs, curate(docs)[0])
    create_views(con)
    df = findings(con, document_ids=[d.document_id for d in docs])
    return sorted((r["rule"], int(r["line"]), r["found"], r["expected"]) for r in df.to_dict("records"))


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_field_minimal_file(name):
    assert _check(FIELD / name) == RIGHT_ANSWERS[name]
