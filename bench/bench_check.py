"""Temps de `bilans check` : un rapport, tout le corpus, et le plancher `import great_expectations`.

Called by bench/run.py: ``bench_check(paths, db_path) -> dict`` (seconds). Each measure runs in a
fresh interpreter, as a user would, so that the GE import is counted once per command.
"""

from __future__ import annotations

import re
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




def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), None elsewhere: on a shared machine
    the CPU a re-check costs says more than its wall time."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _edits(original: str, turn: int = 0) -> list[str]:
    """The saves of the bench, in turn: paragraphs inserted under the title (every line below them
    moves, no figure changes), the original back, a figure of the first table row that prints one
    changed (its units digit), the original back. Each `turn` inserts one paragraph more and moves the
    digit one more: an insertion or a figure never saved before (only the original comes back)."""
    head, _, rest = original.partition("\n")
    moved = head + "\n" + "Paragraphe ajouté pendant la relecture.\n" * (turn + 1) + rest
    lines = original.split("\n")
    for n, line in enumerate(lines):  # a table row: a label in words, then a cell that is a figure
        label, *cells = line.split("\t")
        figure = next((i for i, c in enumerate(cells) if re.fullmatch(r"\d[\d ]*\d\d(?:,\d+)?", c.strip())), None)
        if cells and label[:1].isalpha() and figure is not None:
            digits = cells[figure]
            last = max(i for i, ch in enumerate(digits.split(",")[0]) if ch.isdigit())
            cells[figure] = digits[:last] + str((int(digits[last]) + 1 + turn % 9) % 10) + digits[last + 1:]
            lines[n] = "\t".join([label, *cells])
            break
    changed = "\n".join(lines)
    return [moved, original, changed, original]


def _watch_edits(cli: list[str], draft: Path, edits: int) -> tuple[list[float], list[float]]:
    """(seconds from each save of `draft` to the JSON line `bilans check --watch --json` prints for it,
    CPU seconds the watcher spent on it). Every save is a version the watcher has not seen (blank lines
    at the end, one more each time, change no finding): a version seen before is not checked again
    (pipelines/live.py), which would say nothing of a re-check. Blank lines reach no rule, though: the
    original back reuses the cross-report frames of the original (live.CrossMemo), as an author's
    undo would; the paragraphs inserted and the figures changed are new at each turn (`_edits`).
    A last save, apart, repeats the first one (an edit undone then redone): its two figures come last."""
    import queue
    import threading

    proc = subprocess.Popen(cli + [str(draft), "--watch", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    original = draft.read_text(encoding="utf-8")
    times, cpu = [], []
    try:
        lines.get(timeout=600)  # the first check: GE imported, store copied
        saves = [_edits(original, i // 4)[i % 4] + "\n" * (i + 1) for i in range(edits)]
        for text in [*saves, saves[0]]:
            time.sleep(1.0)  # an author types between two saves
            while not lines.empty():  # a late second line of the last save (two writes seen): not this one's
                lines.get_nowait()
            started, cpu_before = time.perf_counter(), _cpu_seconds(proc.pid)
            draft.write_text(text, encoding="utf-8")
            lines.get(timeout=600)
            times.append(time.perf_counter() - started)
            cpu_after = _cpu_seconds(proc.pid)
            if cpu_before is not None and cpu_after is not None:
                cpu.append(cpu_after - cpu_before)
    finally:
        proc.send_signal(2)  # SIGINT: Ctrl-C
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return times, cpu


def bench_watch(paths: list[Path], db_path, tmp: Path, edits: int = 5) -> dict:
    """`bilans check --watch` on the shortest report of at least 1 000 lines (a 60-page report):
    median of `edits` saves (save -> output) beside the cold `bilans check` of the same file
    (median of 3, a fresh interpreter each). Goal: at most 0,5 s per save on 2 cores."""
    from pipelines.extract.numbers import format_fr

    sized = sorted((len(p.read_text(encoding="utf-8").splitlines()), p) for p in paths)
    lines, source = next(((n, p) for n, p in sized if n >= 1000), sized[-1])
    draft = Path(tmp) / f"brouillon_{source.name}"
    draft.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    cli = [sys.executable, "-m", "pipelines.cli", "--db", str(db_path), "check"]
    cold = statistics.median(_time(cli + ["--json", str(draft)]) for _ in range(3))
    times, cpu = _watch_edits(cli, draft, edits)
    undone = (times.pop(), cpu.pop() if len(cpu) > edits else None)
    watch = statistics.median(times)
    fr = lambda s: f"{format_fr(s, 2)} s"  # noqa: E731
    out = {f"fichier surveillé ({lines} lignes)": source.name,
           "check à froid (médiane de 3)": fr(cold),
           f"--watch, enregistrement -> sortie (médiane de {edits}, objectif <= 0,5 s)": fr(watch),
           "accélération": f"×{format_fr(cold / watch, 1)}"}
    if cpu:
        out[f"--watch, temps CPU par enregistrement (médiane de {edits})"] = fr(statistics.median(cpu))
    kinds = ("paragraphe inséré", "original", "chiffre changé", "original")
    out["--watch, chaque enregistrement (s, CPU s)"] = " ; ".join(
        f"{kinds[i % len(kinds)]} {format_fr(t, 2)}" + (f" ({format_fr(cpu[i], 2)})" if i < len(cpu) else "")
        for i, t in enumerate(times))
    out["--watch, une version déjà vue (modification annulée puis refaite)"] = (
        fr(undone[0]) + (f" (CPU {format_fr(undone[1], 2)} s)" if undone[1] is not None else ""))
    return out


if __name__ == "__main__":  # `python -m bench.bench_check [watch]` against the store of the worktree
    import tempfile

    files = sorted(Path("data/raw").glob("*.txt"))
    if sys.argv[1:] == ["watch"]:
        with tempfile.TemporaryDirectory() as tmp:
            for key, value in bench_watch(files, Path("data/curated/bilans.duckdb"), Path(tmp)).items():
                print(f"  {key:<70} {value}")
    else:
        print(bench_check(files, Path("data/curated/bilans.duckdb")))
