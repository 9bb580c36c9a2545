"""Budget de lecture d'un document : toutes les limites en un seul endroit (issue 18).

A report is read within limits, so that a hostile or broken file is refused in one French line
(exit 2 from ``bilans check`` / ``bilans extract``; ``bilans build`` records it and goes on)
instead of exhausting the machine. The limits are in :data:`LIMITS` and documented in the README
(« Budget de lecture »); every refusal names its limit by the key used there.

Where a library has a limit of its own we use it; where it has none, we bound the input before
the library sees it (page tree depth, ZIP parts read through a capped stream, rulings and objects
counted per page, cell spans capped at the table's width) and run the PDF or DOCX reading of one
document in a forked child process with an address-space limit and a wall-clock timeout
(:func:`run_limited`). Text reports and cached layers never pay for the child process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import stat
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import UnusableInput

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Every limit of the reading budget; the README table lists the same keys."""

    fichier_mo: int = 50  # size of the file on disk
    duree_s: int = 120  # wall-clock time to read one PDF or DOCX (a 150-page report takes 5 to 30 s)
    memoire_mo: int = 768  # address space the reading may add to the process that reads
    pages: int = 500  # pages of a PDF (an annual report has 30 to 150)
    profondeur_pages: int = 32  # levels of the PDF page tree (a balanced tree of 10 000 pages has 5)
    flux_pdf_mo: int = 64  # one PDF stream once inflated (a dense page's content is under 1 MB)
    flux_pdf_total_mo: int = 512  # all the streams of one PDF once inflated
    objets_page: int = 50_000  # characters, rulings and images of one page (a dense page has 5 000)
    traits_page: int = 5_000  # rulings (lines, rectangles, curves) of one page
    croisements_page: int = 20_000  # distinct horizontal × vertical rulings: the table finder's work
    mots_page: int = 10_000  # words of one page (a dense page has 800)
    partie_docx_mo: int = 100  # one part of a DOCX once unzipped
    docx_total_mo: int = 300  # all the parts of a DOCX once unzipped
    paragraphes_docx: int = 50_000  # paragraphs, tables and cells of a DOCX (a long report has 5 000)
    colonnes_tableau: int = 200  # columns of one DOCX table: a cell span is capped at the table's width
    chiffres_texte: int = 20_000  # figures in the prose of one document, any format (a report has 100 to 200)


LIMITS = Limits()


class OverBudget(UnusableInput):
    """A document refused because reading it would exceed a limit of :data:`LIMITS`."""

    def __init__(self, name: str, what: str, limit: str):
        value = f"{getattr(LIMITS, limit):,}".replace(",", " ")
        super().__init__(f"{name} : refusé, {what} (limite {limit} = {value})")


# --- Files: regular files only, read without blocking -----------------------------------------------

def read_regular(path: Path) -> bytes:
    """The bytes of a regular file of at most ``fichier_mo``; a FIFO, a device or a folder is refused
    at once (opened non-blocking, so a FIFO without writer cannot hang the build)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UnusableInput(f"fichier introuvable : {path}") from None
    except IsADirectoryError:
        raise UnusableInput(f"{path} : c'est un dossier, pas un fichier") from None
    except OSError as exc:
        raise UnusableInput(f"{path} : illisible ({exc.strerror})") from None
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):  # before fdopen, which refuses a folder with an English message
        os.close(fd)
        raise UnusableInput(f"{path} : c'est un dossier, pas un fichier")
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(info.st_mode):
            raise UnusableInput(f"{path} : pas un fichier ordinaire (tube, périphérique ou socket), refusé")
        cap = LIMITS.fichier_mo * MB
        if info.st_size > cap:
            raise OverBudget(path, f"fichier de {info.st_size // MB} Mo", "fichier_mo")
        data = fh.read(cap + 1)
    if len(data) > cap:  # the file grew while we read it
        raise OverBudget(path, "fichier de plus de la limite", "fichier_mo")
    return data


# --- A child process with limits --------------------------------------------------------------------

def read_document(kind: str, data: bytes, name: str):
    """The text layer of a PDF or DOCX (``kind``), read in a child process within the budget."""
    return run_limited(_read_pdf if kind == "pdf" else _read_docx, data, name)


def _read_pdf(data: bytes, name: str):
    from pipelines.extract import pdf

    with pdf_streams(name):
        try:
            return pdf.read_pdf(data, name)
        except UnusableInput as exc:
            # pdfplumber wraps what pdfminer raises: a refused stream is the true reason
            raise (_INFLATER.refusal or exc) from None


def _read_docx(data: bytes, name: str):
    from pipelines.extract import docx

    return docx.read_docx(data, name)


def run_limited(read, data: bytes, name: str):
    """``read(data, name)`` in a forked child limited to ``memoire_mo`` more address space and
    ``duree_s`` seconds; its result is returned, its UnusableInput re-raised, an overrun refused.
    Where fork or resource limits do not exist (Windows), the reading runs in this process."""
    try:
        import resource
    except ImportError:
        return read(data, name)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(r)
        _child(read, data, name, w, resource)
    os.close(w)
    try:
        payload, timed_out = _collect(r, time.monotonic() + LIMITS.duree_s)
    finally:
        os.close(r)
        _reap(pid)
    return _outcome(payload, timed_out, name)


def _child(read, data: bytes, name: str, w: int, resource) -> None:
    code = 0
    try:
        with contextlib.suppress(ValueError, OSError):
            extra = LIMITS.memoire_mo * MB
            resource.setrlimit(resource.RLIMIT_AS, (_address_space() + extra,) * 2)
        try:
            message = ("ok", read(data, name))
        except UnusableInput as exc:
            message = ("refus", str(exc))
        except MemoryError:
            message = ("memoire", None)
        except RecursionError:
            message = ("refus", f"{name} : refusé, structure imbriquée trop profonde")
        except BaseException as exc:  # noqa: BLE001 - a bug: raised again in the parent, as is
            message = ("exception", exc)
        try:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            payload = pickle.dumps(("exception", RuntimeError(repr(message[1]))))
        with os.fdopen(w, "wb") as fh:
            fh.write(payload)
    except MemoryError:
        code = 3
    except BaseException:  # noqa: BLE001 - the parent says it in one line; the child must exit
        code = 1
    finally:
        os._exit(code)


def _address_space() -> int:
    """Bytes of address space this process already uses (the child starts as a copy of its parent)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 1024 * MB


def _collect(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe, or what came before the deadline."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), True
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def _reap(pid: int) -> None:
    """Kill the child if it still runs (a timeout) and collect it, so that no zombie is left."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _outcome(payload: bytes, timed_out: bool, name: str):
    if timed_out:
        raise OverBudget(name, f"lecture de plus de {LIMITS.duree_s} s", "duree_s")
    try:
        kind, value = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - an empty or cut payload: the child died (memory, signal)
        kind, value = "memoire", None
    if kind == "ok":
        return value
    if kind == "memoire":
        raise OverBudget(name, f"lecture de plus de {LIMITS.memoire_mo} Mo de mémoire", "memoire_mo")
    if kind == "exception":
        raise value
    raise UnusableInput(value)


# --- PDF --------------------------------------------------------------------------------------------

def check_pdf(pdf, name: str) -> None:
    """Before pdfplumber lists the pages of ``pdf`` (a ``pdfplumber.PDF``): a page tree no deeper than
    ``profondeur_pages`` with at most ``pages`` pages. On refusal the file is closed here, because
    pdfplumber's own close() would list the pages again and fail a second time."""
    try:
        _page_tree(pdf.doc, name)
    except UnusableInput:
        with contextlib.suppress(Exception):
            pdf.stream.close()
        raise


def _page_tree(doc, name: str) -> None:
    from pdfminer.pdftypes import resolve1

    root = resolve1(doc.catalog.get("Pages"))
    stack = [(root, 1)]
    seen: set[int] = set()
    pages = 0
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        if depth > LIMITS.profondeur_pages:
            raise OverBudget(name, f"arbre des pages de plus de {LIMITS.profondeur_pages} niveaux",
                             "profondeur_pages")
        kids = resolve1(node.get("Kids"))
        if isinstance(kids, list):
            stack.extend((resolve1(k), depth + 1) for k in kids)
        else:
            pages += 1
            if pages > LIMITS.pages:
                raise OverBudget(name, f"PDF de plus de {LIMITS.pages} pages", "pages")


def check_pdf_page(page, number: int, name: str) -> None:
    """Before a page is read: its objects, rulings, ruling crossings and words within the budget
    (the table finder's cost grows with the crossings, the word grouping with the words)."""
    objects = page.objects
    where = f"page {number}"
    n_objects = sum(len(v) for v in objects.values())
    if n_objects > LIMITS.objets_page:
        raise OverBudget(name, f"{where} : {n_objects} objets", "objets_page")
    rulings = sum(len(objects.get(k, ())) for k in ("line", "rect", "curve"))
    if rulings > LIMITS.traits_page:
        raise OverBudget(name, f"{where} : {rulings} traits", "traits_page")
    if rulings:
        edges = page.edges
        rows = {round(e["top"]) for e in edges if e["orientation"] == "h"}
        cols = {round(e["x0"]) for e in edges if e["orientation"] == "v"}
        if len(rows) * len(cols) > LIMITS.croisements_page:
            raise OverBudget(name, f"{where} : {len(rows)} × {len(cols)} traits croisés", "croisements_page")
    if len(objects.get("char", ())) > LIMITS.mots_page:  # fewer characters than the limit: fewer words
        n_words = len(page.extract_words())
        if n_words > LIMITS.mots_page:
            raise OverBudget(name, f"{where} : {n_words} mots", "mots_page")


class _Inflater:
    """zlib for pdfminer, with every stream and the sum of one document's streams capped."""

    error = zlib.error

    def __init__(self):
        self.total = 0
        self.name = "PDF"
        self.refusal: OverBudget | None = None

    def decompress(self, data: bytes) -> bytes:
        d = self.decompressobj()
        out = d.decompress(data)
        if not d.eof:
            raise zlib.error("incomplete or truncated stream")
        return out

    def decompressobj(self, *args):
        return _CappedStream(self, zlib.decompressobj(*args))

    def count(self, n: int, produced: int) -> None:
        self.total += n
        if produced > LIMITS.flux_pdf_mo * MB:
            self.refusal = OverBudget(self.name, f"flux PDF de plus de {LIMITS.flux_pdf_mo} Mo une fois "
                                      "décompressé", "flux_pdf_mo")
        elif self.total > LIMITS.flux_pdf_total_mo * MB:
            self.refusal = OverBudget(self.name, f"flux PDF de plus de {LIMITS.flux_pdf_total_mo} Mo en tout une "
                                      "fois décompressés", "flux_pdf_total_mo")
        if self.refusal:
            raise self.refusal


class _CappedStream:
    def __init__(self, owner: _Inflater, inner):
        self.owner, self.inner, self.produced = owner, inner, 0

    def decompress(self, data: bytes) -> bytes:
        cap = LIMITS.flux_pdf_mo * MB + 1 - self.produced
        out = self.inner.decompress(data, max(cap, 1))
        self.produced += len(out)
        if self.inner.unconsumed_tail:
            self.produced += 1  # more to come than the cap allows
        self.owner.count(len(out), self.produced)
        return out

    @property
    def eof(self) -> bool:
        return self.inner.eof

    def flush(self) -> bytes:
        return self.inner.flush()


_INFLATER = _Inflater()


@contextlib.contextmanager
def pdf_streams(name: str):
    """Inflate the streams of one PDF under the caps ``flux_pdf_mo`` and ``flux_pdf_total_mo``:
    pdfminer inflates with ``zlib.decompress`` and no limit, so its zlib is replaced by a capped one."""
    import pdfminer.pdftypes as pdftypes

    _INFLATER.total, _INFLATER.name, _INFLATER.refusal = 0, name, None
    saved, pdftypes.zlib = pdftypes.zlib, _INFLATER
    try:
        yield
    finally:
        pdftypes.zlib = saved


# --- DOCX -------------------------------------------------------------------------------------------

def check_docx_parts(archive, data: bytes, name: str) -> None:
    """Every part of the DOCX ``archive`` (a ``zipfile.ZipFile`` over ``data``) within ``partie_docx_mo``
    and all of them within ``docx_total_mo``: the sizes the ZIP headers declare are checked, then the
    real ones, each part inflated through a capped stream, since headers can lie."""
    part_cap, total_cap = LIMITS.partie_docx_mo * MB, LIMITS.docx_total_mo * MB
    declared = 0
    for info in archive.infolist():
        declared += info.file_size
        if info.file_size > part_cap:
            raise OverBudget(name, f"partie {info.filename} de {info.file_size // MB} Mo une fois décompressée",
                             "partie_docx_mo")
        if declared > total_cap:
            raise OverBudget(name, f"plus de {LIMITS.docx_total_mo} Mo une fois décompressé", "docx_total_mo")
    for info in archive.infolist():
        body = _BodyCount() if info.filename == "word/document.xml" else None
        if info.compress_type == zlib.DEFLATED and _inflated_size(data, info, name, body) != info.file_size:
            raise UnusableInput(f"{name} : DOCX illisible ou corrompu (la partie {info.filename} n'a pas la "
                                "taille que l'archive ZIP déclare)")


class _BodyCount:
    """Paragraphs and cells of the body counted in the inflated XML, before lxml parses it (852 000
    paragraphs take seconds and 500 MB to parse); :func:`check_docx_body` counts exactly after."""

    MARKS = (b"<w:p>", b"<w:p ", b"<w:p/>", b"<w:tbl>", b"<w:tc>", b"<w:tc ")

    def __init__(self):
        self.count = 0

    def __call__(self, chunk: bytes, name: str) -> None:
        self.count += sum(chunk.count(mark) for mark in self.MARKS)
        if self.count > LIMITS.paragraphes_docx:
            raise OverBudget(name, f"plus de {self.count} paragraphes, tableaux et cellules", "paragraphes_docx")


def _inflated_size(data: bytes, info, name: str, body: _BodyCount | None = None) -> int:
    """The real size of a deflated part, inflated piece by piece from its local header on, trusting
    neither its declared size nor its compressed size; over ``partie_docx_mo`` it is refused."""
    import struct

    head = info.header_offset
    try:
        name_len, extra_len = struct.unpack_from("<2H", data, head + 26)
    except struct.error:
        return -1
    raw = memoryview(data)[head + 30 + name_len + extra_len:]
    inflater = zlib.decompressobj(-15)
    produced = 0
    for start in range(0, len(raw), MB):
        pending = bytes(raw[start:start + MB])
        while pending and not inflater.eof:
            try:
                out = inflater.decompress(pending, MB)
            except zlib.error:
                return -1
            produced += len(out)
            if body is not None:
                body(out, name)
            pending = inflater.unconsumed_tail
            if produced > LIMITS.partie_docx_mo * MB:
                raise OverBudget(name, f"partie {info.filename} de plus de {LIMITS.partie_docx_mo} Mo une fois "
                                 "décompressée (en-têtes ZIP inexacts)", "partie_docx_mo")
        if inflater.eof:
            break
    return produced


def check_docx_body(document, name: str) -> None:
    """Paragraphs, tables and cells of the body (python-docx ``Document``) within ``paragraphes_docx``:
    counted in the parsed XML before any of them is read."""
    body = document.element.body
    count = sum(1 for _ in body.iter("{*}p", "{*}tbl", "{*}tc"))
    if count > LIMITS.paragraphes_docx:
        raise OverBudget(name, f"{count} paragraphes, tableaux et cellules", "paragraphes_docx")


def span(grid_span: int, width: int, taken: int) -> int:
    """A cell's span (``w:gridSpan``) capped at what its table's width (``w:tblGrid``, at most
    ``colonnes_tableau`` columns) leaves once ``taken`` cells of its row are counted: a span of
    100 000 000 before one more cell, in a two-column table, is 1."""
    width = min(width or LIMITS.colonnes_tableau, LIMITS.colonnes_tableau)
    return max(1, min(grid_span or 1, width - taken))
