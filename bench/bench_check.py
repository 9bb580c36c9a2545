"""Temps de `bilans check` : un rapport, tout le corpus, et le plancher `import great_expectations`.

Called by bench/run.py: ``bench_check(paths, db_path) -> dict`` (seconds). Each measure runs in a
fresh interpreter, as a user would, so that the GE import is counted once per command.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path


def _time(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def bench_check(paths: list[Path], db_path, corpus: list[Path] | None = None) -> dict:
    """`paths`: the bundled reports (one of them is checked alone); `corpus`: the generated
    200-report corpus, checked in one command (goal: under a minute on 2 cores)."""
    py = sys.executable
    # the same statistic on both sides of the ratio: medians of 5, runs interleaved
    cli = [py, "-m", "pipelines.cli", "--db", str(db_path), "check", "--json"]
    floors, ones = [], []
    for _ in range(5):
        floors.append(_time([py, "-c", "import great_expectations"]))
        ones.append(_time(cli + [str(paths[0])]))
    floor, one = statistics.median(floors), statistics.median(ones)
    seeds = _time(cli + [str(p) for p in paths])
    out = {
        "ge_import_floor_s": round(floor, 2),
        "check_one_s (médiane de 5)": round(one, 2),
        "check_one_over_floor (objectif <= 1,3)": round(one / floor, 2) if floor else None,
        f"check_{len(paths)}_rapports_s": round(seeds, 2),
    }
    if corpus:
        big = _time(cli + [str(p) for p in corpus])
        out[f"check_{len(corpus)}_rapports_s (objectif < 60)"] = round(big, 2)
        out["check_par_rapport_s"] = round(big / len(corpus), 3)
    return out


if __name__ == "__main__":
    files = sorted(Path("data/raw").glob("*.txt"))
    print(bench_check(files, Path("data/curated/bilans.duckdb")))
