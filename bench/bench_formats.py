"""Lecture d'un rapport PDF et DOCX de 40 pages générés (tests/docgen.py) : à froid et depuis le cache."""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from docgen import long_report, to_docx, to_pdf  # noqa: E402

from pipelines.extract import cache, extract_document  # noqa: E402


def _times(path: Path, cache_dir: Path, repeat: int = 3) -> tuple[float, float, object]:
    cold, warm = [], []
    for _ in range(repeat):
        shutil.rmtree(cache_dir, ignore_errors=True)
        t = time.perf_counter()
        doc = extract_document(path)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        extract_document(path)
        warm.append(time.perf_counter() - t)
    return statistics.median(cold), statistics.median(warm), doc


def bench_formats(tmp: Path, pages: int = 40) -> dict[str, str]:
    blocks = long_report(pages)
    pdf, docx = tmp / "rapport40.pdf", tmp / "rapport40.docx"
    to_pdf(blocks, pdf)
    to_docx(blocks, docx)
    cache.use(tmp / "cache")
    out = {}
    try:
        for path in (pdf, docx):
            cold, warm, doc = _times(path, tmp / "cache")
            kind = path.suffix[1:].upper()
            goal = f" (objectif < 5 s ; {doc.n_pages} pages lues)" if kind == "PDF" else ""
            out[f"{kind} de {pages} pages, à froid ({len(doc.tables)} tableaux)"] = f"{cold * 1000:9.1f} ms{goal}"
            out[f"{kind} de {pages} pages, depuis le cache"] = f"{warm * 1000:9.1f} ms  (×{cold / warm:.0f} plus rapide)"
    finally:
        cache.use(None)
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        for k, v in bench_formats(Path(d)).items():
            print(f"  {k:<52} {v}")
