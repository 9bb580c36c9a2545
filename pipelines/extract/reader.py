"""Lecture d'un rapport : octets -> lignes, sans jamais changer la numérotation des lignes.

Line numbers are the provenance users cite, so lines are split on « \\n » only, or on
« \\r » in an old Mac file (CR only), as editors number them (``str.splitlines`` would also
split on form feeds and U+2028 and shift them).
A PDF or a DOCX is recognised by its first bytes (not its name) and turned into a text
layer (:mod:`pipelines.extract.pdf`, :mod:`pipelines.extract.docx`), cached by sha256.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import UnusableInput
from pipelines.extract import budget
from pipelines.extract.layer import TextLayer

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary Office files, and encrypted DOCX


@dataclass
class Source:
    """A report as read: its lines and, for a PDF or a DOCX, where each line is in the original."""

    lines: list[str]
    encoding: str | None
    sha256: str
    format: str  # texte | pdf | docx
    pages: list[int | None] | None = None
    places: list[str | None] | None = None
    n_pages: int | None = None
    origins: list[dict | None] | None = None  # per line, for a program (layer.TextLayer); None from the cache


# Control characters a text report never holds (tabs, line and page breaks aside), with the C1
# controls: a byte 80-9F that cp1252 leaves undefined is decoded by latin-1 into one of them, so
# that bytes no encoding of a report gives are counted too.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
# A report is words: a run of this many characters without a space is no word (a URL is far shorter)
_NOT_A_WORD = re.compile(r"\S{200,}")


def _cut_utf8(data: bytes, exc: UnicodeDecodeError) -> bool:
    """A UTF-8 text whose last character is cut (a file being written, a truncated copy): the only
    error is an unfinished sequence in the last 3 bytes, and the text before it has accented UTF-8
    characters. A cp1252 text ending in « é » (one byte, E9) has none before: it is not cut."""
    if exc.reason != "unexpected end of data" or exc.start < len(data) - 3:
        return False
    try:
        before = data[:exc.start].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not before.isascii()


# Byte order marks and the encoding each announces: UTF-16 is what Word and Notepad save as « texte
# Unicode » (its NUL bytes are no sign of a binary file); manifest.decode reads the same, and UTF-16 without
# its mark (bomless_utf16).
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def bomless_utf16(head: bytes) -> str | None:
    """« utf-16-le » or « utf-16-be » for a text saved in UTF-16 without its byte order mark (Python's
    and some exporters' « utf-16-le »): a French report is mostly Latin-1 characters, so that one byte
    of nine pairs in ten at least is NUL, always the same one, and the other almost never is. None
    otherwise (a binary file has NUL bytes on both sides)."""
    even, odd = head[0::2], head[1::2]
    pairs = len(odd)
    if pairs < 8:
        return None
    for nuls, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if nuls.count(0) >= 0.9 * pairs and others.count(0) <= 0.01 * pairs:
            return encoding
    return None


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Return (text, encoding); refuse what is not a text report with a French reason."""
    if not data.strip():
        raise UnusableInput(f"{name} : fichier vide")
    announced = next((encoding for bom, encoding in BOMS[1:] if data.startswith(bom)), None)
    if announced is None:
        announced = bomless_utf16(data[:65536])
    if announced is not None:
        try:
            text = data.decode(announced)
        except UnicodeDecodeError:
            how = "annoncé par sa marque d'ordre" if announced == "utf-16" else "sans marque d'ordre"
            raise UnusableInput(f"{name} : texte UTF-16 illisible ({how}, mais coupé ou abîmé)") from None
        if not text.strip("\ufeff \t\r\n"):
            raise UnusableInput(f"{name} : fichier vide")
        _refuse_binary(text[:65536], name)
        return text, announced
    head = data[:65536]
    if b"\x00" in head:
        raise UnusableInput(f"{name} : fichier binaire (octets nuls), pas un rapport texte")
    for encoding in ("utf-8-sig", "utf-8"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            if _cut_utf8(data, exc):
                raise UnusableInput(f"{name} : fichier UTF-8 coupé au milieu d'un caractère (écriture en cours "
                                    "ou copie tronquée ?)") from None
            continue
    else:
        # Windows exports of the reports are cp1252; latin-1 never fails, so it is last.
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
    _refuse_binary(text[:65536], name)
    return text, encoding


def _refuse_binary(sample: str, name: str) -> None:
    """Bytes that decode (no NUL) but are no text: more than 2 % control characters or bytes no
    encoding of a report gives (_CONTROL), or most of the sample in runs of 200 characters or more
    without a space (_NOT_A_WORD): UnusableInput « fichier binaire »."""
    if len(_CONTROL.findall(sample)) > max(8, len(sample) // 50):
        raise UnusableInput(f"{name} : fichier binaire (caractères de contrôle), pas un rapport texte")
    solid = sum(len(m) for m in _NOT_A_WORD.findall(sample))
    if solid > 1000 and solid > sum(not c.isspace() for c in sample) // 2:
        raise UnusableInput(f"{name} : fichier binaire (aucun mot : {solid} caractères sans espace), "
                            "pas un rapport texte")


def split_lines(text: str) -> list[str]:
    """Lines as editors number them: LF and CRLF files on « \\n », old Mac files (CR only) on « \\r »."""
    if text.count("\r") - text.count("\r\n") > text.count("\n"):
        return re.split(r"\r\n|\r|\n", text)
    return [line.rstrip("\r") for line in text.split("\n")]


def read_lines(path: Path) -> tuple[list[str], str, str]:
    """(lines, encoding, sha256) of a report file."""
    source = read_source(path)
    return source.lines, source.encoding, source.sha256


def read_source(path: Path) -> Source:
    """A text, PDF or DOCX report -> its lines; a PDF or DOCX layer comes from the cache when it can,
    else is read within the budget (:mod:`pipelines.extract.budget`)."""
    data = budget.read_regular(path)
    sha = hashlib.sha256(data).hexdigest()
    kind = binary_format(data, path.name)
    if kind:
        layer = _layer(kind, data, path.name, sha)
        return Source(layer.lines, None, sha, kind, layer.pages, layer.places, layer.n_pages, layer.origins or None)
    text, encoding = decode(data, path.name)
    lines = split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()
    return Source(lines, encoding, sha, "texte")


def binary_format(data: bytes, name: str) -> str | None:
    """« pdf », « docx », None for text; an Office format we cannot read is refused here."""
    head = data[:1024].lstrip(b"\r\n\t ")
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    if head.startswith(_OLE2):
        raise UnusableInput(f"{name} : document Word ancien format (.doc) ou DOCX protégé par un mot de passe ; "
                            "enregistrez-le en .docx sans protection, ou en PDF")
    if name.lower().endswith((".pdf", ".docx")) and data.strip():
        raise UnusableInput(f"{name} : ni PDF ni DOCX malgré son nom (fichier endommagé ?)")
    return None


def _layer(kind: str, data: bytes, name: str, sha: str) -> TextLayer:
    from pipelines.extract import cache

    layer = cache.get(sha)
    if layer is None:
        layer = budget.read_document(kind, data, name)
        if not any(line.strip() for line in layer.lines):
            raise UnusableInput(f"{name} : aucun texte dans le document")
        cache.put(sha, layer)
    return layer
