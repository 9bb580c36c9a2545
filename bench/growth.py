"""Croissance de `bilans build` avec le corpus : temps et mémoire de pointe pour 100, 400, 1 600 rapports,
puis l'ajout d'un rapport à un corpus déjà construit (construction incrémentale).

Each build runs in a fresh interpreter (`python -m pipelines.cli build`), as a user would; its peak
memory is the largest resident set of the process tree (the build or one of its workers), read from
the kernel with `wait4` once it ends. Run alone:

    PYTHONPATH=. .venv/bin/python bench/growth.py [100 400 1600]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import generate  # noqa: E402

RAW = ROOT / "data" / "raw"
SIZES = (100, 400, 1600)
GOAL_PEAK_GB = 1.0
GOAL_ADD_ONE_S = 10.0


def fr(value: float, digits: int = 1) -> str:
    """« 8,2 » : a French decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def timed_build(raw: Path, db: Path, *extra: str) -> tuple[float, float, int]:
    """(seconds, peak memory in GB, exit code) of one `bilans build` in a fresh interpreter."""
    cmd = [sys.executable, "-m", "pipelines.cli", "--db", str(db), "build", "--raw", str(raw), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    # wait4 gives the child's rusage merged with its reaped descendants (the worker processes)
    return seconds, usage.ru_maxrss / 1024 / 1024, proc.returncode


def _manifest_head(corpus: Path, n: int) -> None:
    """Keep the first n reports of a generated corpus in its manifest (the files stay)."""
    manifest = corpus / "manifest.csv"
    lines = manifest.read_text(encoding="utf-8").splitlines()
    manifest.write_text("\n".join(lines[: n + 1]) + "\n", encoding="utf-8")


def add_one(tmp: Path, n: int) -> dict[str, str]:
    """Build n reports, add one to the manifest, rebuild: the time of the second build."""
    corpus = generate(RAW, tmp / f"ajout{n}", n + 1)
    full = (corpus / "manifest.csv").read_text(encoding="utf-8")
    _manifest_head(corpus, n)
    db = tmp / f"ajout{n}.duckdb"
    first, _, _ = timed_build(corpus, db)
    (corpus / "manifest.csv").write_text(full, encoding="utf-8")
    again, peak, code = timed_build(corpus, db)
    label = f"ajout d'un rapport à {n} rapports (objectif < {fr(GOAL_ADD_ONE_S, 0)} s)"
    return {label: f"{fr(again)} s, pointe {fr(peak, 2)} Go (construction complète : {fr(first)} s)"
            + ("" if code == 0 else f" — code de sortie {code}")}


def growth(tmp: Path, sizes=SIZES) -> dict[str, str]:
    """bilans build over generated corpora of each size: time, ms per report, peak memory."""
    out: dict[str, str] = {}
    previous = None
    for n in sizes:
        corpus = generate(RAW, tmp / f"corpus{n}", n)
        seconds, peak, code = timed_build(corpus, tmp / f"corpus{n}.duckdb")
        ratio = f", ×{fr(seconds / previous[1], 2)} pour ×{fr(n / previous[0], 0)} rapports" if previous else ""
        failed = "" if code == 0 else f" — code de sortie {code}"
        out[f"bilans build, {n} rapports (objectif pointe < {fr(GOAL_PEAK_GB, 0)} Go)"] = (
            f"{fr(seconds)} s ({fr(seconds / n * 1000, 0)} ms/rapport{ratio}), pointe {fr(peak, 2)} Go{failed}")
        previous = (n, seconds)
    return out


def bench_growth(tmp: Path, sizes=SIZES) -> dict[str, str]:
    results = growth(tmp, sizes)
    results.update(add_one(tmp, 400 if 400 in sizes else sizes[0]))
    return results


if __name__ == "__main__":
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    with tempfile.TemporaryDirectory() as d:
        for key, value in bench_growth(Path(d), sizes).items():
            print(f"  {key:<60} {value}", flush=True)
