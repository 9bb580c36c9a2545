"""Great Expectations à côté de `bilans build` : un processus à part, sur l'autre cœur.

Importing GE (seconds) and running it are Python: in a thread of the build they would wait for the
GIL that the build holds between its DuckDB queries, and the build for them. `checks_aside` starts,
as the build starts, one process (a new interpreter, not a fork: the build holds DuckDB's threads,
whose locks a fork would copy) that imports GE at once, then runs the calls the build gives it, in
order: a module-level function and its arguments, pickled (the check frames of a batch,
validate.judge_batch; the results and Data Docs of the store once in place,
`write_beside`). They are the functions the build would run itself: `InProcess` runs
them in the build's process, when GE is imported there already (a test session, a notebook), with
the same answers.

A call that raises in that process raises the same exception in the build (a BilansError keeps its
one French line); a process that died says so in one line. The build ends the process when it ends,
however it ends (an error, Ctrl-C, SIGTERM); killed itself, the process sees its pipe closed and
stops after the call at hand: no process outlives the build.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import NoReturn

from pipelines.errors import BilansError

CHECKS = "pipelines.validate.suites"  # what the process imports as it starts: Great Expectations
GE = "great_expectations"
ROOT = Path(__file__).resolve().parents[1]  # where the process finds `pipelines`


class InProcess:
    """The calls run in this process, each when its result is asked (as a batch is judged once the
    next is made: validate.findings_in_batches holds a few batches at most)."""

    def submit(self, fn: Callable, *args) -> Callable[[], object]:
        return functools.partial(fn, *args)


class Sidecar:
    """One process (`python -m pipelines.sidecar`, in its own process group) running the calls given to
    `submit`, in order, over two pipes; `submit` returns at once a function that waits for that call's
    result (or raises its exception)."""

    def __init__(self, warm: str = CHECKS) -> None:
        calls, self._calls = os.pipe()
        self._answers_fd, answers = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        try:
            # its own process group: Ctrl-C is the build's, which ends it (a child killed by the terminal's
            # SIGINT as it starts would print a trace)
            self._process = subprocess.Popen([sys.executable, "-m", "pipelines.sidecar", warm, str(calls), str(answers)],
                                             pass_fds=(calls, answers), env=env, process_group=0)
        finally:
            os.close(calls)  # the process's ends only: its death reads as the end of the pipe
            os.close(answers)
        self._send, self._results = Connection(self._calls, readable=False), Connection(self._answers_fd, writable=False)
        self._sent = self._read = 0
        self._answers: dict[int, tuple[bool, object]] = {}

    def submit(self, fn: Callable, *args) -> Callable[[], object]:
        n, self._sent = self._sent, self._sent + 1
        try:
            self._send.send((fn, args))  # its reader takes it at once, importing or not
        except BrokenPipeError:
            self._died()
        return functools.partial(self._answer, n)

    def _answer(self, n: int):
        while n not in self._answers:
            self._answers[self._read] = self._receive()
            self._read += 1
        done, value = self._answers.pop(n)
        if not done:
            raise value
        return value

    def _receive(self) -> tuple[bool, object]:
        try:
            return self._results.recv()
        except EOFError:
            self._died()

    def _died(self) -> NoReturn:
        code = self._process.wait()
        raise BilansError(f"le processus des contrôles Great Expectations s'est arrêté (code {code}) ; "
                          "relancez « bilans build »") from None

    def close(self) -> None:
        """End the process (its calls answered, or the build stopped: an error, Ctrl-C, SIGTERM)."""
        self._process.terminate()
        self._process.wait()
        self._send.close()
        self._results.close()


def write_beside(db_path: str | Path) -> bool:
    """GE's results and Data Docs of the store at `db_path` written into its results folder (suites.refresh,
    from the store's result parts; stored_results.gx_dir), the store read in read-only mode. Returns
    whether they were written. Here, not in pipelines/validate: suites imports the results' module."""
    import duckdb

    # Great Expectations (suites): seconds to import, for the checks only
    from pipelines.validate.stored_results import gx_dir
    from pipelines.validate.suites import refresh

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return refresh(con, gx_dir(db_path))
    finally:
        con.close()


@contextlib.contextmanager
def checks_aside(enabled: bool = True) -> Iterator[Sidecar | InProcess | None]:
    """Where a build runs Great Expectations: a Sidecar, or InProcess when GE is imported here already
    (its import, the Sidecar's gain, is paid); None when not `enabled` (`bilans build --no-validate`)."""
    if not enabled:
        yield None
        return
    if GE in sys.modules:
        yield InProcess()
        return
    aside = Sidecar()
    try:
        yield aside
    finally:
        aside.close()


def serve(warm: str, calls: Connection, answers: Connection) -> None:
    """The process of a Sidecar: import `warm` while a thread reads the calls as they come (the build
    does not wait to send them), then run each call and send back (True, its result) or (False, its
    exception), in order, until the build closes its end."""
    waiting: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                waiting.put(calls.recv_bytes())  # unpickled below: a call that cannot be is answered too
        waiting.put(None)

    threading.Thread(target=read, daemon=True).start()
    with contextlib.suppress(Exception):  # a failed import is raised by the first call that needs it
        importlib.import_module(warm)
    while (call := waiting.get()) is not None:
        try:
            fn, args = pickle.loads(call)
            answer = (True, fn(*args))
        except Exception as exc:  # noqa: BLE001 — raised again in the build
            answer = (False, _portable(exc))
        try:
            answers.send(answer)
        except OSError:  # the build is gone
            return


def _portable(exc: Exception) -> Exception:
    """The exception as the build can raise it: itself (with the trace of this process as a note, but
    for a BilansError, which is one line for the user), or a RuntimeError of its text when it cannot
    be pickled."""
    if not isinstance(exc, BilansError):
        exc.add_note("".join(traceback.format_exception(exc)))
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001
        return RuntimeError("".join(traceback.format_exception(exc)))
    return exc


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # not in the terminal's group, all the same
    # ended by the build (Sidecar.close): as an exit, so that the call at hand removes its temporary files
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    serve(sys.argv[1], Connection(int(sys.argv[2]), writable=False), Connection(int(sys.argv[3]), readable=False))
