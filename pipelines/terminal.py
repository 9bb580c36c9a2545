"""Texte pour le terminal : aucun caractère de contrôle venu d'un rapport n'atteint l'écran,
et les nombres écrits à la française (« 8,2 s », « 1 600 documents »).

A label printed raw can carry ANSI/OSC escapes (`\\e]0;titre\\a`, `\\e[2J`) that retitle or clear
the terminal and hide findings, or bidi overrides that reorder what is shown. Whole escape
sequences are removed, then every remaining control character (C0 but newline and tab, DEL, C1,
bidi controls). JSON output is left alone: `json.dumps` escapes C0 itself.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import re
import signal
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager

from pipelines.publish.fmt import nombre, pluriel

__all__ = ["Progress", "ascii_json", "console_encoding", "duree", "filtered_output", "nombre", "os_error_fr", "pluriel", "reader_gone", "safe", "strip_controls", "terminate", "terminated"]

# CSI (ESC [ … final), OSC/DCS/APC/PM/SOS strings (ESC ] … BEL or ST), other two-byte escapes.
_SEQUENCES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]"
                        r"|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*(?:\x07|\x9c)?")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\n\t]")


def duree(seconds: float) -> str:
    """A duration for the user, in seconds with one decimal: 8.24 -> « 8,2 s », 1234.5 -> « 1 234,5 s ».

    Every duration the command line prints goes through here (`bilans build`, `run`, `make bench`);
    counts use `nombre` (thin no-break space between thousands, comma as the decimal mark)."""
    return f"{nombre(seconds, 1)} s"


class Progress:
    """The progress of a long step, every tenth of it: « lecture : 120/400 documents (30 %), 42,1 s ».

    `total` steps of `unit` (plural), `phase` naming the step; silent without `echo` or under `minimum`
    steps (a short corpus is done before a line would help)."""

    def __init__(self, total: int, echo: Callable[[str], None] | None, phase: str = "lecture",
                 unit: str = "documents", every: int = 10, minimum: int = 40):
        self.total, self.echo, self.started = total, echo, time.perf_counter()
        self.phase, self.unit = phase, unit
        self.step = max(1, -(-total // every)) if echo and total >= minimum else 0
        self.done = 0

    def tick(self) -> None:
        self.done += 1
        if self.step and (self.done % self.step == 0 or self.done == self.total):
            self.echo(f"  {self.phase} : {nombre(self.done)}/{nombre(self.total)} {self.unit} "
                      f"({100 * self.done // self.total} %), {duree(time.perf_counter() - self.started)}")


def strip_controls(text: str) -> str:
    """Text without escape sequences nor control characters; newlines and tabs kept."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def safe(text: str) -> str:
    """One printable line: `strip_controls`, and newlines/tabs turned into spaces."""
    return _LINE_BREAKS.sub(" ", strip_controls(str(text)))


class _Filtered:
    """A text stream that strips control characters from everything written through it."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(strip_controls(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


# What a console that cannot show a character gets instead, the first it can show (a latin-1 or cp1252
# console has the no-break space, not the narrow one of « 1 280 »); « ? » for any other.
_STAND_INS = {"\u202f": ("\u00a0", " "), "\u2009": ("\u00a0", " "), "\u00a0": (" ",), "\u2019": ("'",),
              "\u2026": ("...",), "\u2013": ("-",), "\u2014": ("-",), "\u2192": ("->",), "\u2264": ("<=",),
              "\u2265": (">=",), "\u00ab": ('"',), "\u00bb": ('"',), "\u0153": ("oe",), "\u20ac": ("EUR",)}


def _shown(encoding: str, text: str) -> bool:
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _stand_in(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler « bilans.console » (codecs.register_error): the text for a console whose
    encoding (PYTHONIOENCODING=latin-1, a cp1252 pipe) lacks some characters."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    chars = exc.object[exc.start:exc.end]
    return "".join(next((s for s in _STAND_INS.get(c, ()) if _shown(exc.encoding, s)), "?") for c in chars), exc.end


codecs.register_error("bilans.console", _stand_in)


@contextmanager
def filtered_output(stdout: bool = True):
    """Filter sys.stderr, and sys.stdout unless `stdout` is False (`--json`, written ASCII-escaped off
    UTF-8: ascii_json), for the block; what the console's encoding cannot carry is replaced
    (« bilans.console ») rather than ending the command on UnicodeEncodeError."""
    saved = sys.stdout, sys.stderr
    with console_encoding() if stdout else _errors(sys.stderr, "bilans.console"):
        if stdout:
            sys.stdout = _Filtered(sys.stdout)
        sys.stderr = _Filtered(sys.stderr)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved


@contextmanager
def console_encoding():
    """sys.stdout and sys.stderr replace what the console's encoding lacks (« bilans.console ») for the
    block: what argparse writes (help, usage errors) comes before filtered_output."""
    with _errors(sys.stdout, "bilans.console"), _errors(sys.stderr, "bilans.console"):
        yield


def ascii_json(stream=None) -> bool:
    """Whether JSON written to `stream` (sys.stdout by default) must escape every character beyond
    ASCII: JSON travels in UTF-8 (RFC 8259), and a console in another encoding would write others."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig")
    except LookupError:
        return True


@contextmanager
def _errors(stream, handler: str):
    """`stream` (a TextIOWrapper: sys.stdout, sys.stderr) with the codec error handler `handler`, for the block."""
    before = getattr(stream, "errors", None)
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        stream.reconfigure(errors=handler)
    try:
        yield
    finally:
        if before is not None:
            with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
                stream.reconfigure(errors=before)


def reader_gone() -> None:
    """stdout's reader closed the pipe (`bilans … | head`): what is left to write goes nowhere, without
    the interpreter's « Exception ignored … BrokenPipeError » at exit (as the Python documentation
    advises for SIGPIPE). The one handling of a closed pipe: bilans.cli calls it for every command
    (exit 0, no verdict lost); a command whose exit code is a verdict (check, --since) calls it
    around its printing and keeps its code."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


_TERMINATED: list[int] = []  # SIGTERM received by this process (see `terminate`)


def terminate(signum, frame) -> None:
    """The SIGTERM handler of `bilans` (a `kill PID`, a service stop): unwinds like Ctrl-C, so temp
    stores and folders are removed, and records the signal. A library that catches the exception
    raised here and raises its own KeyboardInterrupt instead (watchfiles does) loses the difference
    with Ctrl-C; `terminated()` keeps it, so the command still exits 143."""
    from pipelines.errors import Terminated

    _TERMINATED.append(signum)
    raise Terminated()


def terminated() -> bool:
    """True once SIGTERM has reached `terminate` (since the last `forget_signals()`)."""
    return bool(_TERMINATED)


_INTERRUPTED: list[int] = []  # Ctrl-C received by this process (see `interrupt`)


def interrupt(signum, frame) -> None:
    """The SIGINT handler of `bilans`: Python's own (KeyboardInterrupt), which also records the signal.
    DuckDB turns a Ctrl-C that lands during a query into its own error (« Query interrupted », or a
    transaction left aborted that the next statement reports): `interrupted()` tells the command
    line that such an error is the user's Ctrl-C, not a broken store."""
    _INTERRUPTED.append(signum)
    signal.default_int_handler(signum, frame)


def interrupted() -> bool:
    """True once Ctrl-C or SIGTERM has reached `interrupt` or `terminate` (since `forget_signals()`)."""
    return bool(_INTERRUPTED or _TERMINATED)


def forget_signals() -> None:
    """A new command in the same process (tests call `bilans.cli.main` many times) starts unsignalled."""
    _TERMINATED.clear()
    _INTERRUPTED.clear()


# The OS's reasons in French (Python gives them in the C library's English: « Not a directory »).
OS_ERRORS_FR = {
    errno.EACCES: "droits insuffisants", errno.EPERM: "droits insuffisants",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.ENOTDIR: "un élément du chemin est un fichier, pas un dossier",
    errno.EEXIST: "existe déjà, et ce n'est pas un dossier", errno.ENOENT: "fichier ou dossier introuvable",
    errno.ENOSPC: "disque plein", errno.EDQUOT: "quota de disque dépassé", errno.EROFS: "support en lecture seule",
    errno.ENAMETOOLONG: "nom trop long", errno.ELOOP: "trop de liens symboliques",
    errno.EMFILE: "trop de fichiers ouverts", errno.ENFILE: "trop de fichiers ouverts",
    errno.EBUSY: "ressource occupée", errno.EIO: "erreur d'entrée-sortie du support",
}


def os_error_fr(exc: OSError) -> str:
    """An OSError in one French line: « reports/validation : un élément du chemin est un fichier, pas un
    dossier » (the path, then the reason of OS_ERRORS_FR, else the OS's own words)."""
    why = OS_ERRORS_FR.get(exc.errno) or exc.strerror or str(exc)
    return f"{exc.filename} : {why}" if exc.filename else why
