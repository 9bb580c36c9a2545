"""What the tests of `bilans check --watch` read its output with: printed lines as a queue, and the
findings of one `--json` array."""

from __future__ import annotations

import json
import queue


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
