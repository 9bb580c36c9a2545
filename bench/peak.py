"""Où est la pointe de mémoire de `bilans build` : le résident du processus échantillonné dans un fil,
avec la pile du fil principal (fonctions du projet) à chaque nouveau maximum.

    PYTHONPATH=. .venv/bin/python bench/peak.py CORPUS_DIR DB [N [DUCKDB_MB]]

CORPUS_DIR is generated (bench/corpus.py) with N reports when N is given (0: kept as it is);
DUCKDB_MB replaces build.MEMORY_LIMIT_MB (DuckDB's bound during the build). Prints a timeline of the
new maxima (seconds, resident MB, where the main thread was) and the peak.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def resident_mb() -> float:
    """Resident set of this process now, in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def where(thread_id: int) -> str:
    """The project's frames of a thread's stack, innermost last."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return "?"
    stack = traceback.extract_stack(frame)
    mine = [f"{Path(f.filename).stem}.{f.name}" for f in stack if str(ROOT) in f.filename and "bench" not in f.filename]
    return " > ".join(mine[-5:])


def sample(main: int, timeline: list, stop: threading.Event, every: float = 0.1) -> None:
    started, top = time.perf_counter(), 0.0
    while not stop.is_set():
        rss = resident_mb()
        if rss > top + 5:
            top = rss
            timeline.append((time.perf_counter() - started, rss, where(main)))
        time.sleep(every)


if __name__ == "__main__":
    from bench.corpus import generate
    from pipelines import build as building

    corpus, db = Path(sys.argv[1]), Path(sys.argv[2])
    if len(sys.argv) > 3 and int(sys.argv[3]):
        generate(ROOT / "data" / "raw", corpus, int(sys.argv[3]))
    if len(sys.argv) > 4:
        building.MEMORY_LIMIT_MB = int(sys.argv[4])
    db.unlink(missing_ok=True)
    timeline: list = []
    stop = threading.Event()
    threading.Thread(target=sample, args=(threading.get_ident(), timeline, stop), daemon=True).start()
    building.build(corpus, db, incremental=False)
    stop.set()
    for t, rss, at in timeline:
        print(f"{t:7.1f} s {rss:7.0f} Mo  {at}")
    print(f"pointe : {max(rss for _, rss, _ in timeline):.0f} Mo")
