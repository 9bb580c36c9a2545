"""Curation : tableaux extraits -> tables pluriannuelles du dictionnaire de données."""

from __future__ import annotations

from pipelines.extract.model import Document, Table


def curate(documents: list[Document]) -> tuple[dict[str, list[dict]], list[Table]]:
    """(rows per curated family, tables left unmapped). Filled in by the curation stage."""
    return {}, [t for d in documents for t in d.tables]
