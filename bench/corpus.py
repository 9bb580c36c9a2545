"""Generated corpus for the benchmark: copies of the bundled reports with perturbed figures."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

from pipelines.manifest import read_manifest

_DIGIT_RUN = re.compile(r"(?<=\d)\d(?=\d)")


def perturb(text: str, rng: random.Random) -> str:
    """Change inner digits of numbers (keeps layout, widths, units and line numbers)."""
    return _DIGIT_RUN.sub(lambda m: str(rng.randrange(10)) if rng.random() < 0.3 else m[0], text)


def generate(raw_dir: Path, out_dir: Path, n: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    entries = read_manifest(raw_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    lines = ["file,org,report_year,title,original_file"]
    for i in range(n):
        e = entries[i % len(entries)]
        name = f"{e.path.stem}_copie{i:04d}.txt"
        text = e.path.read_text(encoding="utf-8")
        (out_dir / name).write_text(perturb(text, rng), encoding="utf-8")
        lines.append(f"{name},{e.org},{e.report_year},copie {i},{e.path.name}")
    (out_dir / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir
