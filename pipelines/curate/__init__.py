"""Curation : tableaux extraits -> tables pluriannuelles du dictionnaire de données.

Each table is mapped to a family by the declarative rules of familles.toml and
reshaped by that family's shaper; figures quoted in the prose become
`indicateurs` rows (source = 'texte'). Every vintage is kept (report_year).
"""

from __future__ import annotations

from collections import defaultdict

from pipelines.curate.matching import family_of
from pipelines.curate.referentiels import load
from pipelines.curate.shapers import SHAPERS
from pipelines.extract.model import Document, Table


def curate(documents: list[Document]) -> tuple[dict[str, list[dict]], list[Table]]:
    """(rows per curated family, tables left unmapped)."""
    refs = load()
    refs.unknown.clear()  # the referentiels are cached per process: report this build's labels only
    out: dict[str, list[dict]] = defaultdict(list)
    unmapped: list[Table] = []
    for doc in documents:
        for table in doc.tables:
            table.family = family_of(doc, table)
            if table.family is None:
                unmapped.append(table)
                continue
            out[table.family] += SHAPERS[table.family](doc, table, refs)
        out["indicateurs"] += _narratifs(doc)
    return dict(out), unmapped


def _narratifs(doc: Document) -> list[dict]:
    rows = []
    for n in doc.narratifs:
        if n.value is None or n.status != "ok":
            continue  # unreadable, or a change (« 4 agents par rapport à l'année précédente »): no indicator
        rows.append({"org": doc.org, "exercice": n.exercice or doc.report_year, "report_year": doc.report_year,
                     "document_id": doc.document_id, "line": n.line, "domaine": (n.section or "texte")[:80],
                     "indicateur": n.label, "valeur": n.value, "unite": n.unit, "source": "texte",
                     "table_id": n.table_id})
    return rows


def unknown_labels() -> list[tuple[str, str]]:
    """(kind, printed label) met by the last `curate` and absent from data/referentiels/."""
    return sorted(load().unknown)
