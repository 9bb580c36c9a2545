"""`make bench` : médianes des temps de l'atelier, à côté du plancher (interpréteur + imports).

Prints medians and ratios; nothing here is asserted (performance is measured, not tested).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import generate  # noqa: E402
from bench.growth import fr  # noqa: E402
from pipelines.build import build, extract_all  # noqa: E402
from pipelines.extract import extract_document  # noqa: E402
from pipelines.manifest import read_manifest  # noqa: E402

RAW = ROOT / "data" / "raw"


def median_time(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def quiet_build(raw, db, validate):
    """`build` without its summary on stdout: the benchmark prints only timings."""
    with contextlib.redirect_stdout(io.StringIO()):
        return build(raw, db, validate=validate)


def command_time(args: list[str], repeat: int = 3) -> float:
    return median_time(lambda: subprocess.run(args, check=True, capture_output=True, cwd=ROOT), repeat)


def line(label: str, seconds: float, extra: str = "") -> None:
    print(f"  {label:<52} {fr(seconds * 1000):>9} ms  {extra}")


def main() -> None:
    py = sys.executable
    print("Plancher")
    floor = command_time([py, "-c", "import pipelines.extract, pipelines.build"])
    line("python + import pipelines", floor)
    ge_floor = command_time([py, "-c", "import great_expectations"])
    line("python + import great_expectations", ge_floor)

    print("Extraction par rapport (médiane de 5)")
    entries = read_manifest(RAW)
    total = 0.0
    for e in entries:
        t = median_time(lambda e=e: extract_document(e.path, e.org, e.report_year))
        total += t
        line(e.path.name, t)
    line("les cinq rapports", total, "(objectif : bien moins d'une seconde)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("Corpus généré (copies perturbées des rapports)")
        sizes = {}
        for n in (50, 200):
            corpus = generate(RAW, tmp / f"corpus{n}", n)
            ents = read_manifest(corpus)
            serial = median_time(lambda ents=ents: extract_all(ents, workers=1), 1)
            parallel = median_time(lambda ents=ents: extract_all(ents), 1)
            sizes[n] = serial
            line(f"extraction de {n} rapports, 1 processus", serial, f"{fr(serial / n * 1000)} ms/rapport")
            line(f"extraction de {n} rapports, parallèle", parallel, f"accélération ×{fr(serial / parallel, 2)}")
        line("croissance 50 -> 200 rapports (linéaire = ×4)", sizes[200], f"×{fr(sizes[200] / sizes[50], 2)}")
        corpus = tmp / "corpus200"
        t_build = median_time(lambda: quiet_build(corpus, tmp / "c200.duckdb", validate=False), 1)
        line("bilans build (200 rapports, sans contrôles)", t_build)
        t_full200 = median_time(lambda: quiet_build(corpus, tmp / "c200_full.duckdb", validate=True), 1)
        line("bilans build (200 rapports, avec contrôles)", t_full200,
             f"contrôles seuls ≈ {fr(t_full200 - t_build)} s (objectif < 60 s)")
        t_seeds = median_time(lambda: quiet_build(RAW, tmp / "seeds.duckdb", validate=False), 3)
        line("bilans build (5 rapports, sans contrôles)", t_seeds)
        t_full = median_time(lambda: quiet_build(RAW, tmp / "seeds_full.duckdb", validate=True), 1)
        line("bilans build (5 rapports, avec contrôles)", t_full)

        print("Croissance de bilans build (100, 400, 1 600 rapports ; pointe = le plus gros processus)")
        from bench.growth import bench_growth

        bench_growth(tmp / "croissance", echo=print)
        for module, fn_name, args in (
            ("bench.bench_formats", "bench_formats", (tmp,)),
            ("bench.bench_check", "bench_check", ([e.path for e in entries], tmp / "seeds_full.duckdb",
                                                  sorted(corpus.glob("*.txt")))),
            ("bench.bench_check", "bench_watch", ([e.path for e in entries], tmp / "seeds_full.duckdb", tmp)),
            ("bench.bench_runs", "bench_runs", (tmp / "seeds_full.duckdb",)),
            ("bench.bench_briefing", "bench_briefing", (tmp / "seeds_full.duckdb",)),
        ):
            try:
                fn = getattr(importlib.import_module(module), fn_name)
            except (ImportError, AttributeError) as exc:
                print(f"{module} indisponible : {exc}")
                continue
            print(f"{module}")
            try:
                results = fn(*args)
            except Exception as exc:  # a broken optional bench must not hide the others
                print(f"  échec : {exc}")
                continue
            for key, value in (results or {}).items():
                print(f"  {key:<52} {value}")
    print(f"Référence : import great_expectations = {fr(ge_floor, 2)} s ; plancher atelier = {fr(floor, 2)} s")


if __name__ == "__main__":
    main()
