"""Temps de `bilans run` : série, pool de processus et cluster Dask local, puis relance sans
changement (objectif < 2 s) ; et l'extraction par document sur le cluster Dask, pour voir si elle paie.

`bench_runs(db_path)` is what bench/run.py calls; run this file alone to time
the real store (or the test fixture store when the real one is not built):

    .venv/bin/python bench/bench_runs.py [data/curated/bilans.duckdb]
    .venv/bin/python bench/bench_runs.py --extraction
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from distributed import Client, LocalCluster  # noqa: E402

from bench.corpus import generate  # noqa: E402
from pipelines.build import extract_files  # noqa: E402
from pipelines.extract import extract_document  # noqa: E402
from pipelines.manifest import read_manifest  # noqa: E402
from pipelines.publish.runs import LOCAL_CLUSTER  # noqa: E402
from pipelines.publish.runs import bench_runs as bench_notebooks  # noqa: E402
from pipelines.terminal import duree, nombre  # noqa: E402

RAW = ROOT / "data" / "raw"


def bench_runs(db_path: Path, workers: int | None = None) -> dict:
    """The notebook runs (pool beside cluster), then extraction per document on the cluster."""
    results = bench_notebooks(db_path, workers)
    results.update({f"extraction, {k}": v for k, v in bench_extraction(RAW, workers=workers).items()})
    return results


def bench_extraction(raw_dir: Path, n_reports: int = 48, workers: int | None = None) -> dict:
    """Does extraction per document pay off on the Dask cluster? The same generated corpus read
    serially, by the local process pool of `bilans build`, and by a local Dask cluster (its start
    timed apart: an existing cluster would not pay it). French text values."""
    n_workers = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-extraction-") as tmp:
        entries = read_manifest(generate(raw_dir, Path(tmp) / "corpus", n_reports))
        specs = [(e.path, e.org, e.report_year, e.document_id) for e in entries]
        t0 = time.perf_counter()
        extract_files(specs, workers=1)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        extract_files(specs, workers=n_workers)
        pool = time.perf_counter() - t0
        t0 = time.perf_counter()
        with (LocalCluster(n_workers=n_workers, **LOCAL_CLUSTER) as cluster,
              Client(cluster, set_as_default=False) as client):
            started = time.perf_counter() - t0
            t0 = time.perf_counter()
            client.gather(client.map(extract_document, *zip(*specs, strict=True), pure=False))
            on_cluster = time.perf_counter() - t0
    return {
        "rapports": nombre(len(specs)), "processus": nombre(n_workers),
        "série": f"{duree(serial)} ({nombre(serial / len(specs) * 1000, 1)} ms par rapport)",
        f"pool de processus ({n_workers})": f"{duree(pool)} (×{nombre(serial / pool, 2)})",
        f"cluster Dask local ({n_workers}), démarrage": duree(started),
        f"cluster Dask local ({n_workers}), extraction": f"{duree(on_cluster)} (×{nombre(serial / on_cluster, 2)})",
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--extraction"]:  # the extraction part alone (no notebook run)
        for key, value in bench_extraction(RAW).items():
            print(f"  {key:<52} {value}")
        return 0
    db = Path(argv[0]) if argv else ROOT / "data" / "curated" / "bilans.duckdb"
    with tempfile.TemporaryDirectory() as tmp:
        if not db.exists():
            sys.path.insert(0, str(ROOT / "tests"))
            from store_fixture import build_fixture_store

            db = build_fixture_store(Path(tmp) / "fixture.duckdb")
            print(f"magasin absent : mesure sur le magasin de test {db}")
        for key, value in bench_runs(db).items():
            print(f"  {key:<52} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
