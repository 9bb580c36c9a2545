"""Empreintes du code : ce qui décide des lignes d'un document (`reader_version`) et de ses
constats (`checks_version`). Stored on each document of the store; a build reuses the rows and the
findings of a document only under the same empreintes (pipelines/flow.py), and `bilans report`
refuses a store whose documents were never checked (checks_version NULL).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What decides the rows a document gives: its readers, its curation, the referentiels and the
# schema. A change to any of them changes `reader_version`, so no stale row is ever reused.
READER_INPUTS = ("pipelines/extract", "pipelines/curate", "pipelines/store.py", "data/referentiels")
# What decides the findings besides the rows: the checks and their suites (see `checks_version`).
CHECK_INPUTS = ("pipelines/validate", "expectations")


@cache
def reader_version() -> str:
    """Digest of READER_INPUTS (every file under them), 12 hex digits."""
    return _reader_digest().hexdigest()[:12]


@cache
def checks_version() -> str:
    """Digest of READER_INPUTS and CHECK_INPUTS: findings kept from a previous store are those
    of the same rows under the same checks."""
    return _digest(CHECK_INPUTS, _reader_digest().copy()).hexdigest()[:12]


@cache
def _reader_digest():
    """The sha256 of READER_INPUTS, read once per process: checks_version continues it (the files
    are read once, not twice)."""
    return _digest(READER_INPUTS)


def _digest(roots: tuple[str, ...], digest=None):
    """The sha256 of the files under `roots` (paths and bytes), continuing `digest` when given."""
    digest = digest or hashlib.sha256()
    for root in roots:
        base = ROOT / root
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for path in files:
            if path.suffix == ".pyc" or not path.exists():
                continue
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest
