"""Cache des couches texte des PDF et DOCX, par sha256 du fichier.

Parsing a PDF costs seconds, a text file milliseconds: the text layer of a PDF or DOCX is kept in
``<dossier du magasin>/cache/<sha256>-<version>.json`` so that a rebuild reads unchanged files
from there. The version is a digest of the reader modules, so changing a reader invalidates the
cache without anyone having to remember it. A cache that cannot be written is simply not used.
The origins of the lines (where each is in the original, for ``bilans check --annotate``) are kept
in a file of their own (JSON), ``<sha256>-<version>.origines``, read only when a draft is annotated:
the word boxes of a PDF would make every other read of the layer ten times slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path

from pipelines.extract.layer import TextLayer

_READERS = ("layer.py", "pdf.py", "pdfgrid.py", "pdfcolumns.py", "docx.py")
DIR: Path | None = None  # set by the CLI beside its store; else $BILANS_CACHE or data/curated/cache


def use(directory: Path | None) -> None:
    global DIR
    DIR = Path(directory) if directory else None


def directory() -> Path:
    return DIR or Path(os.environ.get("BILANS_CACHE", "data/curated/cache"))


@cache
def version() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _READERS:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


def _path(sha: str, suffix: str = ".json") -> Path:
    return directory() / f"{sha}-{version()}{suffix}"


def get(sha: str) -> TextLayer | None:
    """The cached layer, without its origins (:func:`origins`)."""
    try:
        return TextLayer.from_json(json.loads(_path(sha).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def origins(sha: str) -> list[dict | None] | None:
    """The origins of the cached layer's lines (layer.TextLayer), None when they are not cached."""
    try:
        found = json.loads(_path(sha, ".origines").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, list) else None


def put(sha: str, layer: TextLayer) -> None:
    """Atomic (parallel build workers may write the same entry); silent when the disk refuses.
    The origins are written first: a layer in the cache always has them beside it."""
    data = layer.to_json()
    _write(_path(sha, ".origines"), data.pop("origins"))
    _write(_path(sha), data)


def _write(target: Path, data) -> None:
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".layer-", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
