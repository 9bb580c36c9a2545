"""Lecture d'un rapport : octets -> lignes, sans jamais changer la numérotation des lignes.

Line numbers are the provenance users cite, so lines are split on « \\n » only, or on
« \\r » in an old Mac file (CR only), as editors number them (``str.splitlines`` would also
split on form feeds and U+2028 and shift them).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pipelines.errors import UnusableInput

MAX_BYTES = 50 * 1024 * 1024


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Return (text, encoding); refuse what is not a text report with a French reason."""
    if not data.strip():
        raise UnusableInput(f"{name} : fichier vide")
    head = data[:65536]
    if b"\x00" in head:
        raise UnusableInput(f"{name} : fichier binaire (octets nuls), pas un rapport texte")
    if head.startswith(b"%PDF") or head.startswith(b"PK\x03\x04"):
        raise UnusableInput(f"{name} : PDF ou DOCX ; convertissez-le d'abord en texte brut")
    for encoding in ("utf-8-sig", "utf-8"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        # Windows exports of the reports are cp1252; latin-1 never fails, so it is last.
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if controls > max(8, len(text[:65536]) // 50):
        raise UnusableInput(f"{name} : contenu binaire (caractères de contrôle), pas un rapport texte")
    return text, encoding


def split_lines(text: str) -> list[str]:
    """Lines as editors number them: LF and CRLF files on « \\n », old Mac files (CR only) on « \\r »."""
    if text.count("\r") - text.count("\r\n") > text.count("\n"):
        return re.split(r"\r\n|\r|\n", text)
    return [line.rstrip("\r") for line in text.split("\n")]


def read_lines(path: Path) -> tuple[list[str], str, str]:
    """(lines, encoding, sha256) of a report file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnusableInput(f"{path} : fichier introuvable") from None
    except OSError as exc:
        raise UnusableInput(f"{path} : illisible ({exc.strerror})") from None
    if path.is_dir():
        raise UnusableInput(f"{path} : c'est un dossier, pas un fichier")
    if size > MAX_BYTES:
        raise UnusableInput(f"{path} : fichier trop volumineux ({size // 1_000_000} Mo)")
    data = path.read_bytes()
    text, encoding = decode(data, path.name)
    lines = split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines, encoding, hashlib.sha256(data).hexdigest()
