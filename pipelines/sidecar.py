"""Great Expectations à côté de `bilans build` : un processus à part, sur l'autre cœur.

Importing GE (seconds) and running it are Python: in a thread of the build they would wait for the
GIL that the build holds between its DuckDB queries, and the build for them. `checks_aside` starts,
as the build starts, one process (start method « spawn »: the build holds DuckDB's threads, whose
locks a fork would copy) that imports GE at once, then runs the calls the build gives it, in order:
a module-level function and its arguments, pickled (the check frames of a batch, validate.judge_batch;
the results and Data Docs of the store once in place, stored_results.write_beside). They are the
functions the build would run itself: `InProcess` runs them in the build's process, when GE is
imported there already (a test session, a notebook), and with the same answers.

A call that raises in that process raises the same exception in the build (a BilansError keeps its
one French line); a process that died says so in one line. Ctrl-C reaches the whole process group:
the process ignores it, and the build, unwinding (as on SIGTERM or any error), ends it: no process
outlives the build.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import multiprocessing
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import wait

from pipelines.errors import BilansError

CHECKS = "pipelines.validate.suites"  # what the process imports as it starts: Great Expectations
GE = "great_expectations"


class InProcess:
    """The calls run in this process, each when its result is asked (as a batch is judged once the
    next is made: validate.findings_in_batches holds a few batches at most)."""

    def submit(self, fn: Callable, *args) -> Callable[[], object]:
        return functools.partial(fn, *args)


class Sidecar:
    """One spawned process running the calls given to `submit`, in order; `submit` returns at once
    a function that waits for that call's result (or raises its exception)."""

    def __init__(self, warm: str = CHECKS) -> None:
        context = multiprocessing.get_context("spawn")
        self._requests = context.Queue()  # its feeder thread pickles and sends: submit does not wait
        self._results, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(warm, self._requests, sender), daemon=True,
                                        name="bilans-ge")
        self._process.start()
        sender.close()  # the process's end only: its death reads as the end of the pipe
        self._sent = self._read = 0
        self._answers: dict[int, tuple[bool, object]] = {}

    def submit(self, fn: Callable, *args) -> Callable[[], object]:
        n, self._sent = self._sent, self._sent + 1
        self._requests.put((fn, args))
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
        wait([self._results, self._process.sentinel])  # an answer, or the process's end
        try:
            return self._results.recv()
        except EOFError:
            self._process.join()
            raise BilansError(f"le processus des contrôles Great Expectations s'est arrêté (code "
                              f"{self._process.exitcode}) ; magasin inchangé, relancez « bilans build »") from None

    def close(self, finished: bool) -> None:
        """End the process: once its calls are done when `finished`, else at once (an error, Ctrl-C, SIGTERM)."""
        if finished and self._process.is_alive():
            self._requests.put(None)
            self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._requests.cancel_join_thread()  # what is left in the queue goes nowhere: exit does not wait for it
        self._requests.close()
        self._results.close()


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
    finished = False
    try:
        yield aside
        finished = True
    finally:
        aside.close(finished)


def _serve(warm: str, requests, results) -> None:
    """The process of a Sidecar: import `warm`, then run each call of `requests` (None: the end) and
    send back (True, its result) or (False, its exception), in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's: it ends this process
    with contextlib.suppress(Exception):  # a failed import is raised by the first call that needs it
        importlib.import_module(warm)
    while (call := requests.get()) is not None:
        fn, args = call
        try:
            answer = (True, fn(*args))
        except Exception as exc:  # noqa: BLE001 — raised again in the build
            answer = (False, _portable(exc))
        results.send(answer)


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
