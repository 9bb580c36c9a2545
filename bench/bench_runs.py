"""Temps de `bilans run` : série contre parallèle, puis relance sans changement (objectif < 2 s).

`bench_runs(db_path)` is what bench/run.py calls; run this file alone to time
the real store (or the test fixture store when the real one is not built):

    .venv/bin/python bench/bench_runs.py [data/curated/bilans.duckdb]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.publish.runs import bench_runs  # noqa: E402

__all__ = ["bench_runs"]


def main(argv: list[str]) -> int:
    db = Path(argv[0]) if argv else ROOT / "data" / "curated" / "bilans.duckdb"
    with tempfile.TemporaryDirectory() as tmp:
        if not db.exists():
            sys.path.insert(0, str(ROOT / "tests"))
            from store_fixture import build_fixture_store

            db = build_fixture_store(Path(tmp) / "fixture.duckdb")
            print(f"magasin absent : mesure sur le magasin de test {db}")
        print(json.dumps(bench_runs(db), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
