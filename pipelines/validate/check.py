"""Ancienne adresse de `bilans check` : l'orchestration est dans pipelines/check.py.

validate/ computes findings from a connection and imports no stage before it; the command that
extracts and curates drafts lives above it. This name is kept for callers of
`pipelines.validate.check.check` and is resolved on use, so importing validate/ pulls nothing up.
"""

from __future__ import annotations


def __getattr__(name: str):
    import importlib

    return getattr(importlib.import_module("pipelines.check"), name)
