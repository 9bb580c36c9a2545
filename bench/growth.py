"""Croissance de `bilans build` avec le corpus : temps et mémoire de pointe pour 100, 400, 1 600 rapports,
puis l'ajout d'un rapport à un corpus déjà construit (construction incrémentale).

Each build runs in a fresh interpreter (`python -m pipelines.cli build`), as a user would; its peak
memory is the largest resident set of the process tree (the build or one of its workers), read from
the kernel with `wait4` once it ends. Run alone:

    PYTHONPATH=. .venv/bin/python bench/growth.py [100 400 1600]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import generate  # noqa: E402
from pipelines.manifest import read_manifest  # noqa: E402

RAW = ROOT / "data" / "raw"
SIZES = (100, 400, 1600)
GOAL_PEAK_GB = 1.0
GOAL_ADD_ONE_S = 10.0


def fr(value: float, digits: int = 1) -> str:
    """« 8,2 » : a French decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def timed_build(raw: Path, db: Path, *extra: str, said: Path | None = None) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds of the process tree, peak memory in GB, exit code) of one
    `bilans build` in a fresh interpreter. CPU time is what a busy machine does not inflate."""
    cmd = [sys.executable, "-m", "pipelines.cli", "--db", str(db), "build", "--raw", str(raw), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    with open(said or os.devnull, "wb") as err:  # `said`: where its stderr goes (a file: no pipe to drain)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    # wait4 gives the child's rusage merged with its reaped descendants (the worker processes)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024 / 1024, proc.returncode


def load() -> str:
    """« charge 2,4 » : the machine's load over the last minute, said beside each time (2 cores shared
    by others inflate the wall time, not the CPU time)."""
    return f"charge {fr(os.getloadavg()[0])}"


def _manifest_rows(corpus: Path) -> tuple[str, list[str]]:
    """(header, rows) of a generated corpus's manifest."""
    header, *rows = (corpus / "manifest.csv").read_text(encoding="utf-8").splitlines()
    return header, rows


def _year(row: str) -> int:
    return int(row.split(",")[2])


def _add_cases(rows: list[str], n: int) -> list[tuple[str, str]]:
    """(label, manifest row) of the reports added to the first n: the next copy of the generator (a
    report of a year inside the corpus, sorted last of its year: the reports of the next year compare
    with it and are checked again) and a copy of the most recent year (the yearly job: nothing after it)."""
    kept, extra = rows[:n], rows[n:]
    cases = []
    for row in (extra[0], max(extra, key=_year)):
        year = _year(row)
        org = row.split(",")[1]
        after = sum(_year(r) == year + 1 and r.split(",")[1] == org for r in kept)
        label = (f"rapport {org} de {year} ajouté ({after} rapports de {year + 1} le comparent)" if after
                 else f"rapport {org} de {year}, dernière année, ajouté")
        if all(label != c[0] for c in cases):
            cases.append((label, row))
    return cases


def add_one(tmp: Path, n: int) -> dict[str, str]:
    """Build n reports, then add one to the manifest and build again, for each case of `_add_cases`
    (each from a copy of the same first build): the time of the second build."""
    corpus = generate(RAW, tmp / f"ajout{n}", n + len(read_manifest(RAW)))
    header, rows = _manifest_rows(corpus)
    manifest = corpus / "manifest.csv"
    manifest.write_text("\n".join([header, *rows[:n]]) + "\n", encoding="utf-8")
    built = tmp / f"ajout{n}_magasin"
    first, first_cpu, _, _ = timed_build(corpus, built / "bilans.duckdb")
    out = {}
    for label, row in _add_cases(rows, n):
        store = tmp / f"ajout{n}_essai"
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(built, store, symlinks=True)
        manifest.write_text("\n".join([header, *rows[:n], row]) + "\n", encoding="utf-8")
        said = load()
        again, cpu, peak, code = timed_build(corpus, store / "bilans.duckdb")
        out[f"ajout d'un rapport à {n} rapports, {label} (objectif < {fr(GOAL_ADD_ONE_S, 0)} s)"] = (
            f"{fr(again)} s (UC {fr(cpu)} s, {said}), pointe {fr(peak, 2)} Go (construction complète : "
            f"{fr(first)} s, UC {fr(first_cpu)} s)" + ("" if code == 0 else f" — code de sortie {code}"))
    return out


def add_many(tmp: Path, n: int) -> dict[str, str]:
    """Build an eighth of n reports, then all n (most of the corpus added at once): the incremental
    build must stay within DuckDB's memory bound, without being made again unbounded (« reprise »)."""
    corpus = generate(RAW, tmp / f"beaucoup{n}", n)
    header, rows = _manifest_rows(corpus)
    manifest = corpus / "manifest.csv"
    manifest.write_text("\n".join([header, *rows[:n // 8]]) + "\n", encoding="utf-8")
    store = tmp / f"beaucoup{n}_magasin" / "bilans.duckdb"
    timed_build(corpus, store)
    manifest.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    said, log = load(), tmp / f"beaucoup{n}.err"
    seconds, cpu, peak, code = timed_build(corpus, store, said=log)
    again = "reprise sans borne" if "reprise sans cette borne" in log.read_text(encoding="utf-8") else "sans reprise"
    return {f"ajout de {n - n // 8} rapports à {n // 8} (objectif pointe < {fr(GOAL_PEAK_GB, 0)} Go, sans reprise)":
            f"{fr(seconds)} s (UC {fr(cpu)} s, {said}), pointe {fr(peak, 2)} Go, {again}"
            + ("" if code == 0 else f" — code de sortie {code}")}


def growth(tmp: Path, sizes=SIZES):
    """bilans build over generated corpora of each size: (label, time, CPU per report, peak memory),
    yielded as each build ends."""
    previous = None
    for n in sizes:
        corpus = generate(RAW, tmp / f"corpus{n}", n)
        said = load()
        seconds, cpu, peak, code = timed_build(corpus, tmp / f"corpus{n}.duckdb")
        ratio = f", ×{fr(cpu / previous[1], 2)} pour ×{fr(n / previous[0], 0)} rapports" if previous else ""
        failed = "" if code == 0 else f" — code de sortie {code}"
        yield (f"bilans build, {n} rapports (objectif pointe < {fr(GOAL_PEAK_GB, 0)} Go)",
               f"{fr(seconds)} s, UC {fr(cpu)} s ({fr(cpu / n * 1000, 0)} ms UC/rapport{ratio}, {said}), "
               f"pointe {fr(peak, 2)} Go{failed}")
        previous = (n, cpu)
        (tmp / f"corpus{n}.duckdb").unlink(missing_ok=True)


def bench_growth(tmp: Path, sizes=SIZES, echo=None) -> dict[str, str]:
    """The growth, then the add-one time at 400 reports (or the smallest size), then most of a corpus
of 1 000 reports (or the largest size) added at once."""
    results: dict[str, str] = {}

    def keep(key: str, value: str) -> None:
        results[key] = value
        if echo:
            echo(f"  {key:<60} {value}")

    for key, value in growth(tmp, sizes):
        keep(key, value)
    for key, value in add_one(tmp, 400 if 400 in sizes else sizes[0]).items():
        keep(key, value)
    for key, value in add_many(tmp, 1000 if max(sizes) >= 1000 else max(sizes)).items():
        keep(key, value)
    return results


if __name__ == "__main__":
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    with tempfile.TemporaryDirectory() as d:
        bench_growth(Path(d), sizes, echo=lambda text: print(text, flush=True))
