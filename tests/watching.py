"""What the tests of `bilans check --watch` read its output with: printed lines as a queue, and the
findings of one `--json` array."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Lines:
    """A text stream that hands each printed line to a queue."""

    def __init__(self):
        self.lines: queue.Queue[str] = queue.Queue()
        self._buf = ""

    def write(self, text: str) -> int:
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.lines.put(line)
        return len(text)

    def flush(self) -> None:
        pass


def findings(line: str) -> list[dict]:
    """One array of --watch --json, without the row that says the store is absent (in the first array)."""
    return [f for f in json.loads(line) if f["rule"] != "check.magasin"]


def watch_process(tmp_path: Path, text: str, scope: list[str], **popen) -> tuple[subprocess.Popen, queue.Queue[str]]:
    """`bilans check brouillon.txt --watch --json` on a draft holding `text`, as a user starts it (no
    store): the process and the queue of its stdout lines. `popen`: more arguments of Popen."""
    draft = tmp_path / "brouillon.txt"
    draft.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "--db", str(tmp_path / "absent.duckdb"), "check",
                             str(draft), "--watch", "--json", *scope], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path, **popen)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    return proc, lines
