"""Temps de `bilans check` : un rapport, tout le corpus, et le plancher `import great_expectations`.

Called by bench/run.py: ``bench_check(paths, db_path) -> dict`` (seconds). Each measure runs in a
fresh interpreter, as a user would, so that the GE import is counted once per command.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def _time(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def bench_check(paths: list[Path], db_path) -> dict:
    py = sys.executable
    floor = min(_time([py, "-c", "import great_expectations"]) for _ in range(2))
    cli = [py, "-m", "pipelines.cli", "--db", str(db_path), "check", "--json"]
    one = min(_time(cli + [str(paths[0])]) for _ in range(2))
    corpus = _time(cli + [str(p) for p in paths])
    return {
        "ge_import_floor_s": round(floor, 2),
        "check_one_s": round(one, 2),
        "check_one_over_floor": round(one / floor, 2) if floor else None,
        "check_corpus_s": round(corpus, 2),
        "n_reports": len(paths),
        "check_per_report_s": round(corpus / max(len(paths), 1), 3),
    }


if __name__ == "__main__":
    files = sorted(Path("data/raw").glob("*.txt"))
    print(bench_check(files, Path("data/curated/bilans.duckdb")))
