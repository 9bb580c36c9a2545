"""Le brouillon de l'auteur annoté : une copie du DOCX ou du PDF avec un commentaire par constat.

`bilans check DRAFT --annotate OUT` writes what a careful reviewer would write in the margin of
the author's own file, instead of an HTML page that cites « ligne 740 » of a text they never see:

- DOCX: one Word comment (python-docx ≥ 1.2) per finding, its range the run that holds the
  offending figure, in its cell or paragraph (the run is split around the figure when it holds
  more text); when the figure is not found, the whole paragraph or table row; author « Atelier bilans ».
- PDF: one highlight annotation (pypdf) per finding over the offending words (word boxes from
  pdfplumber, kept by the reader in the line's origin), on the finding's page, the same text as its note.
- Findings with no place in the document (between reports, series) go into one summary comment
  at the start of the document.

Where a finding is comes from the origin of its line, kept by the readers beside the text layer
(:class:`pipelines.extract.layer.TextLayer`): the body block and table row of a DOCX, the page
and box of a PDF line. Within it, the figure is found as printed (``highlight``, else ``found``,
spaces and thin spaces ignored, never inside a longer number).
The draft is never written to: the copy is made in memory and replaces OUT atomically.
This module reads findings (the frame of :func:`pipelines.validate.findings`) and never runs a rule.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.errors import BilansError
from pipelines.extract.pdfgrid import printed_lines
from pipelines.publish.authors import RULES_FR, SEVERITY_FR, _needles
from pipelines.terminal import OS_ERRORS_FR, pluriel, strip_controls

AUTHOR = "Atelier bilans"
INITIALS = "AB"
FORMATS = {"docx": ".docx", "pdf": ".pdf"}
_SPACES = "[ \u00a0\u202f\u2009]*"
_HIGHLIGHT = "ffd54f"  # amber, as the authors' HTML report marks the figure


@dataclass
class Annotated:
    """What was written: the copy, the comments anchored on the page, those in the summary."""

    path: Path
    placed: int
    summary: int


# --- the findings of a draft -------------------------------------------------------------------------

def targets(docs: list, out: Path) -> dict[str, Path]:
    """document_id -> the path of its annotated copy, for the DOCX and PDF drafts among ``docs``
    (pipelines.extract.model.Document). ``out`` is the copy's path for one draft, a folder for
    several (or when it is one): ``<folder>/<name>.annote.docx``. Checked before the (longer)
    check runs: a folder where nothing can be written (tried: the OS's own reason is given), a wrong
    suffix, the draft itself raise BilansError."""
    drafts = [d for d in docs if d.format in FORMATS]
    out = Path(out)
    as_folder = len(drafts) > 1 or out.is_dir()
    if len(drafts) > 1 and not out.is_dir():
        raise BilansError(f"{out} : dossier introuvable ; avec plusieurs brouillons, --annotate attend un dossier")
    found = {}
    for doc in drafts:
        name = f"{Path(doc.path).stem}{_repeat(doc)}"
        target = out / f"{name}.annote{FORMATS[doc.format]}" if as_folder else out
        n = 0
        while target in found.values():  # ids that do not say the repeat: numbered here
            n += 1
            target = out / f"{name}~{n}.annote{FORMATS[doc.format]}"
        _writable(target)
        if target.suffix.lower() != FORMATS[doc.format]:
            raise BilansError(f"{target} : la copie annotée d'un brouillon {doc.format.upper()} doit finir "
                              f"par {FORMATS[doc.format]}")
        if target.exists() and target.resolve() == Path(doc.path).resolve():
            raise BilansError(f"{target} : la copie annotée ne peut pas remplacer le brouillon ; "
                              "choisissez un autre nom")
        found[doc.document_id] = target
    return found


def _repeat(doc) -> str:
    """« ~n » when the draft's document id is its name's repeat (pipelines.check numbers two drafts
    of one name in two folders `name`, `name~1`): its copy is `name~1.annote.docx`, as its findings say."""
    from pipelines.extract import document_id_for

    base = document_id_for(Path(doc.path))
    tail = str(doc.document_id)[len(base):] if str(doc.document_id).startswith(base) else ""
    return tail if re.fullmatch(r"~\d+", tail) else ""


def _writable(target: Path) -> None:
    """A file can be created beside ``target``: tried (and removed), since permissions do not tell
    (root, a read-only mount, /proc); BilansError with the OS's reason otherwise."""
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, probe = tempfile.mkstemp(prefix=".annote-", dir=folder)
    except OSError as exc:
        raise BilansError(f"{target} : impossible d'écrire la copie annotée ({_why(exc, folder)})") from None
    os.close(fd)
    os.unlink(probe)


def annotate_drafts(docs: list, found: pd.DataFrame, out: Path, include_info: bool = False) -> list[Annotated]:
    """The annotated copies of the DOCX and PDF drafts among ``docs`` (paths by :func:`targets`);
    errors and warnings are annotated, infos too with ``include_info``. Raises BilansError (one
    French line) when a copy cannot be written."""
    where = targets(docs, out)
    return [annotate(d, found[found["document_id"] == d.document_id], where[d.document_id], include_info)
            for d in docs if d.document_id in where]


def annotate(doc, findings: pd.DataFrame, out: Path, include_info: bool = False) -> Annotated:
    """One draft: ``doc`` a Document of format docx or pdf (its ``origins`` per line), ``findings``
    its findings (columns of pipelines.validate.FINDING_COLUMNS). Writes ``out`` and returns what
    was written."""
    out = Path(out)
    if out.exists() and out.resolve() == Path(doc.path).resolve():
        raise BilansError(f"{out} : la copie annotée ne peut pas remplacer le brouillon ; choisissez un autre nom")
    data = _draft_bytes(Path(doc.path), doc.sha256)
    kept = ("error", "warning", "info") if include_info else ("error", "warning")
    rows = [r for r in findings.to_dict("records") if r["severity"] in kept]
    rows.sort(key=lambda r: ({"error": 0, "warning": 1, "info": 2}[r["severity"]], _line(r) or 0))
    write = _docx if doc.format == "docx" else _pdf
    payload, placed, summary = write(data, doc, rows, _origins(doc, data))
    _replace(out, payload)
    return Annotated(out, placed, summary)


def _origins(doc, data: bytes) -> list[dict | None]:
    """The origins of the draft's lines: read with it, else from the cache, else read again
    (within the reading budget)."""
    from pipelines.extract import budget, cache

    found = doc.origins or cache.origins(doc.sha256)
    if found is None or len(found) != len(doc.lines):
        found = budget.read_document(doc.format, data, Path(doc.path).name).origins
    return found


def _draft_bytes(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BilansError(f"{path} : brouillon illisible pour l'annoter ({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BilansError(f"{path} : le brouillon a changé pendant le contrôle ; relancez « bilans check »")
    return data


def _replace(out: Path, payload: bytes) -> None:
    """Atomic: a copy is whole or absent. An unwritable place is one French line."""
    folder = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".annote-", dir=folder)
    except OSError as exc:
        raise BilansError(f"{out} : impossible d'écrire la copie annotée ({_why(exc, folder)})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o666 & ~_umask())  # a file as any other the user writes (mkstemp makes it 0600)
        os.replace(tmp, out)
    except OSError as exc:
        raise BilansError(f"{out} : impossible d'écrire la copie annotée ({_why(exc, folder)})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _why(exc: OSError, folder: Path) -> str:
    """Why nothing can be written in ``folder``, in French, with the OS's own words: « dossier
    introuvable » only when the folder is absent (/proc answers ENOENT although it exists)."""
    os_words = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT and not folder.exists():
        return f"dossier introuvable : {folder}"
    if exc.errno == errno.ENOTDIR or (folder.exists() and not folder.is_dir()):
        return f"{folder} n'est pas un dossier"
    if exc.errno in OS_ERRORS_FR and exc.errno != errno.ENOENT:  # ENOENT in a folder that exists: said below
        return f"{OS_ERRORS_FR[exc.errno]} : {os_words}"
    return f"le système refuse d'y créer un fichier : {os_words}"


def comment_text(f: dict) -> str:
    """The comment of a finding: severity and rule, the French message, found / expected, the
    suggested fix and what the rule asks (authors.RULES_FR). Lines separated by « \\n »."""
    lines = [f"{SEVERITY_FR.get(f['severity'], f['severity'])} [{f['rule']}] {_s(f.get('message'))}",
             f"Trouvé : {_s(f.get('found')) or '—'} ; attendu : {_s(f.get('expected')) or '—'}"]
    if _s(f.get("suggestion")):
        lines.append(f"Correction suggérée : {_s(f['suggestion'])}")
    if f["rule"] in RULES_FR:
        lines.append(f"Règle : {RULES_FR[f['rule']]}")
    return "\n".join(strip_controls(line) for line in lines)


def summary_text(rows: list[dict]) -> str:
    head = (f"{AUTHOR} : {pluriel(len(rows), 'constat', 'constats')} sans place dans le document "
            "(entre rapports, séries, ou texte introuvable) :")
    return "\n".join([head] + [f"— {comment_text(f)}" for f in rows])


def _s(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _line(f: dict) -> int | None:
    n = f.get("line")
    return None if n is None or pd.isna(n) else int(n)


def _origin(origins: list[dict | None], f: dict) -> dict | None:
    n = _line(f)
    return origins[n - 1] if n and 0 < n <= len(origins) else None


# --- finding the figure in a text ---------------------------------------------------------------------

def figure_span(text: str, f: dict) -> tuple[int, int] | None:
    """(start, end) of the finding's figure in ``text``: its printed form (``highlight``), else
    ``found``, else their digits; spaces inside ignored, never part of a longer number."""
    found = _figure_match(text, f)
    return found[1] if found else None


def _figure_match(text: str, f: dict) -> tuple[int, tuple[int, int]] | None:
    """(rank of the needle that matched — 0 the printed form —, span) of the figure in ``text``."""
    for rank, needle in enumerate(_needles(f.get("highlight"), f.get("found"))):
        m = figure_pattern(needle).search(text)
        if m:
            return rank, m.span()
    return None


def figure_pattern(needle: str) -> re.Pattern:
    """The needle as printed, spaces inside ignored. A digit edge never meets another digit, nor a
    decimal or date separator followed by one: « 31 » is not found in « 31/12/2022 », a date is
    one printed token (its digits are a needle's last resort, see authors._needles)."""
    parts = [re.escape(p) for p in needle.split()]
    body = _SPACES.join(parts)
    before = r"(?<![\d,.])(?<!\d/)" if needle[:1].isdigit() else ""
    after = r"(?![\d]|[,./]\d)" if needle[-1:].isdigit() else ""
    return re.compile(before + body + after)


# --- DOCX ---------------------------------------------------------------------------------------------

def _docx(data: bytes, doc, rows: list[dict], origins: list) -> tuple[bytes, int, int]:
    import docx

    from pipelines.extract.docx import transitional

    try:
        document = docx.Document(io.BytesIO(transitional(data)))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # noqa: BLE001 - the check read it: only a damaged package lands here
        raise BilansError(f"{doc.path} : DOCX illisible pour l'annoter ({type(exc).__name__})") from None
    placed, elsewhere = 0, []
    for f in rows:
        runs = _docx_runs(blocks, _origin(origins, f), f)
        if runs:
            document.add_comment(runs, text=comment_text(f), author=AUTHOR, initials=INITIALS)
            placed += 1
        else:
            elsewhere.append(f)
    if elsewhere:
        document.add_comment(_first_runs(document), text=summary_text(elsewhere), author=AUTHOR, initials=INITIALS)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue(), placed, len(elsewhere)


def _docx_runs(blocks: list, origin: dict | None, f: dict) -> list | None:
    """The runs a finding's comment spans: those of its figure (in the cell of the row that holds
    it, or in the paragraph), else the whole paragraph or row; None when the origin is not in the file."""
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    if not origin or "block" not in origin or not 0 <= origin["block"] < len(blocks):
        return None
    block = blocks[origin["block"]]
    if isinstance(block, Paragraph) and "row" not in origin:
        return _figure_runs(block, f) or _runs(block) or None
    if not isinstance(block, Table) or "row" not in origin:
        return None  # the file differs from what was read: no guess
    trs = block._tbl.tr_lst
    if not 0 <= origin["row"] < len(trs):
        return None
    tcs = trs[origin["row"]].tc_lst
    cells = [_Cell(tcs[k], block) for k in _cell_order(origin["cells"], f) if 0 <= k < len(tcs)]
    for cell in cells:
        for p in cell.paragraphs:
            runs = _figure_runs(p, f)
            if runs:
                return runs
    row_runs = [r for cell in (_Cell(tc, block) for tc in tcs) for p in cell.paragraphs for r in _runs(p)]
    return row_runs or None


def _cell_order(cells: list[int], f: dict) -> list[int]:
    """The cells of the line, those whose text (in the extracted line) holds the figure first: the
    cell that prints it whole before one that holds only its digits (a date « 31/12/2022 » is not
    the « 31 » of « 31/12/2021 » in the cell before)."""
    texts = _s(f.get("source_line")).split("\t")
    ranked = []
    for col, k in enumerate(cells):
        found = _figure_match(re.sub(r"</?[bi]>", "", texts[col]), f) if k >= 0 and col < len(texts) else None
        if found:
            ranked.append((found[0], col, k))
    holding = [k for _, _, k in sorted(ranked)]
    return holding + [k for k in cells if k >= 0 and k not in holding]


def _runs(paragraph) -> list:
    """The runs of a paragraph, those of its hyperlinks included, in order."""
    from docx.text.hyperlink import Hyperlink

    out = []
    for item in paragraph.iter_inner_content():
        out += item.runs if isinstance(item, Hyperlink) else [item]
    return out


def _figure_runs(paragraph, f: dict) -> list | None:
    """The runs that hold exactly the figure: the runs around it are split at its edges when they
    are plain text (one w:t), so that the comment's range is the figure itself."""
    runs = _runs(paragraph)
    span = figure_span("".join(r.text for r in runs), f)
    if span is None:
        return None
    for at in span:
        _cut(_runs(paragraph), at)
    out, pos = [], 0
    for r in _runs(paragraph):
        n = len(r.text)
        if n and pos < span[1] and pos + n > span[0]:
            out.append(r)
        pos += n
    return out or None


def _cut(runs: list, at: int) -> None:
    """Split the run that holds character ``at`` strictly inside it, when it is plain text."""
    from docx.oxml.ns import qn
    from docx.text.run import Run

    pos = 0
    for r in runs:
        text = r.text
        if pos < at < pos + len(text):
            children = [c for c in r._r if c.tag != qn("w:rPr")]
            if len(children) != 1 or children[0].tag != qn("w:t"):
                return  # tabs, breaks, fields: the range stays the whole run
            twin = copy.deepcopy(r._r)
            r._r.addnext(twin)
            r.text = text[:at - pos]
            Run(twin, r._parent).text = text[at - pos:]
            return
        pos += len(text)


def _first_runs(document) -> list:
    """Where the summary comment goes: the first paragraph with text (a run added when none has)."""
    for p in document.paragraphs:
        runs = [r for r in _runs(p) if r.text.strip()]
        if runs:
            return runs
    paragraphs = document.paragraphs
    p = paragraphs[0] if paragraphs else document.add_paragraph()
    return [p.add_run(AUTHOR)]


# --- PDF ----------------------------------------------------------------------------------------------

def _pdf(data: bytes, doc, rows: list[dict], origins: list) -> tuple[bytes, int, int]:
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import Text

    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        n_pages = len(writer.pages)
    except Exception as exc:  # noqa: BLE001 - the check read it: only a damaged file lands here
        raise BilansError(f"{doc.path} : PDF illisible pour l'annoter ({type(exc).__name__})") from None
    placed, elsewhere = 0, []
    for f in rows:
        origin = _origin(origins, f) or {}
        boxes = _pdf_boxes(origin, f) if 0 < origin.get("page", 0) <= n_pages else None
        if not boxes:
            elsewhere.append(f)
            continue
        page = writer.pages[origin["page"] - 1]
        writer.add_annotation(page, _highlight(boxes, float(page.mediabox.height), comment_text(f)))
        placed += 1
    if elsewhere:
        box = writer.pages[0].mediabox
        x, y = float(box.left) + 10, float(box.top) - 30
        note = Text(rect=(x, y, x + 20, y + 20), text=summary_text(elsewhere), open=True, title_bar=AUTHOR)
        writer.add_annotation(0, note)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), placed, len(elsewhere)


def _pdf_boxes(origin: dict, f: dict) -> list[tuple[float, float, float, float]] | None:
    """Boxes (x0, top, x1, bottom; pdfplumber's points) of the figure's words, one per printed
    line; all the line's words when the figure is not found among them. The words are those the
    reader kept in the line's origin: the PDF is not parsed again."""
    words = [dict(zip(("text", "x0", "top", "x1", "bottom"), w, strict=True)) for w in origin.get("words") or []]
    if not words:
        return None
    lines = printed_lines(words)
    ordered = [w for ln in lines for w in ln]
    chosen = _figure_words(ordered, lines, f) or _figure_words(_by_column(words), lines, f) or ordered
    return [_union(ln) for ln in printed_lines(chosen)]


def _by_column(words: list[dict]) -> list[dict]:
    """The words column by column: a figure wrapped in its cell (« 288 » at the end of a printed
    line, « 000 » under it) is read whole, not cut by the label printed beside its second line.
    Columns are the runs of x that the words of every printed line leave no gap in."""
    columns: list[list[float]] = []
    for w in sorted(words, key=lambda w: w["x0"]):
        if columns and w["x0"] <= columns[-1][1] + 2.0:
            columns[-1][1] = max(columns[-1][1], w["x1"])
        else:
            columns.append([w["x0"], w["x1"]])
    def column(w: dict) -> int:
        return next(k for k, (x0, x1) in enumerate(columns) if x0 <= w["x0"] <= x1)
    return [w for k in range(len(columns)) for ln in printed_lines([w for w in words if column(w) == k]) for w in ln]


def _figure_words(words: list[dict], lines: list[list[dict]], f: dict) -> list[dict] | None:
    """The words of the figure; when it is printed more than once in the box (a band of rows
    sharing one box), the occurrence on the printed line that shares most words with the finding's
    line."""
    text, starts = "", []
    for w in words:
        starts.append(len(text))
        text += w["text"] + " "
    tokens = set(_s(f.get("source_line")).split())
    line_of = {id(w): k for k, ln in enumerate(lines) for w in ln}
    best, best_score = None, -1
    for needle in _needles(f.get("highlight"), f.get("found")):
        for m in figure_pattern(needle).finditer(text):
            covered = [w for w, s in zip(words, starts, strict=True) if s < m.end() and s + len(w["text"]) > m.start()]
            on = {line_of[id(w)] for w in covered}
            score = sum(1 for k in on for w in lines[k] if w["text"] in tokens)
            if score > best_score:
                best, best_score = covered, score
        if best:
            return best
    return None


def _union(words: list[dict]) -> tuple[float, float, float, float]:
    return (min(w["x0"] for w in words), min(w["top"] for w in words),
            max(w["x1"] for w in words), max(w["bottom"] for w in words))


def _highlight(boxes: list[tuple[float, float, float, float]], height: float, text: str):
    """A highlight over the boxes. pdfplumber's top is measured down from the top of the media box,
    the PDF's y up from its bottom: y = height − top (rotated pages are not handled)."""
    from pypdf.annotations import Highlight
    from pypdf.generic import ArrayObject, FloatObject, NameObject, TextStringObject

    quads = []
    for x0, top, x1, bottom in boxes:
        y0, y1 = height - bottom, height - top
        quads += [x0, y1, x1, y1, x0, y0, x1, y0]
    xs, ys = quads[0::2], quads[1::2]
    annotation = Highlight(rect=(min(xs), min(ys), max(xs), max(ys)),
                           quad_points=ArrayObject(FloatObject(round(v, 2)) for v in quads),
                           highlight_color=_HIGHLIGHT, printing=True, title_bar=AUTHOR)
    annotation[NameObject("/Contents")] = TextStringObject(text)
    return annotation
