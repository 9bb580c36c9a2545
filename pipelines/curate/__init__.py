"""Curation : tableaux extraits -> tables pluriannuelles du dictionnaire de données.

Each table is mapped to a family by the declarative rules of the catalogue
(pipelines/catalogue/familles.toml) and reshaped by that family's shaper; every row carries its canonical concept,
measure and perimeter beside the printed label (the series key, see views.py).
Figures quoted in the prose join the series they belong to (a cotisation
printed as a bullet joins `contributions`) or become `indicateurs` rows, with
source = 'texte'. Every vintage is kept (report_year).
"""

from __future__ import annotations

import re
from collections import defaultdict

from pipelines import catalogue
from pipelines.curate import shapers
from pipelines.curate.matching import family_of
from pipelines.curate.referentiels import Referentiels, load
from pipelines.curate.shapers import indicateurs_texte
from pipelines.extract.model import Document, Narratif, Table
from pipelines.extract.numbers import clean

_BULLET = re.compile(r"^\s*(?:[-–•➤○▪*]|\d+[.)])\s+")


def shaper(family: str):
    """The function that turns a table of this family into rows (its `mise_en_forme` in the catalogue)."""
    return getattr(shapers, catalogue.famille(family).mise_en_forme)


def curate(documents: list[Document]) -> tuple[dict[str, list[dict]], list[Table]]:
    """(rows per curated family, tables left unmapped)."""
    refs = load()
    refs.unknown.clear()  # the referentiels are cached per process: report this build's labels only
    out: dict[str, list[dict]] = defaultdict(list)
    unmapped: list[Table] = []
    for doc in documents:
        rows, left = curate_document(doc, refs)
        unmapped += left
        for family, family_rows in rows.items():
            out[family] += family_rows
    return dict(out), unmapped


def curate_document(doc: Document, refs: Referentiels) -> tuple[dict[str, list[dict]], list[Table]]:
    """One document's (rows per curated family, tables left unmapped); sets each table's `family`.
    Labels absent from the referentiels are added to `refs.unknown`."""
    rows: dict[str, list[dict]] = defaultdict(list)
    unmapped: list[Table] = []
    for table in doc.tables:
        table.family = family_of(doc, table)
        if table.family is None:
            unmapped.append(table)
            continue
        rows[table.family] += shaper(table.family)(doc, table, refs)
    joined = _contributions_texte(doc, refs, rows["contributions"])
    rows["contributions"] += joined
    rows["indicateurs"] += _narratifs(doc, {(r["line"], r["montant"]) for r in joined}, refs)
    return dict(rows), unmapped


def _narratifs(doc: Document, joined: set[tuple[int, float]] = frozenset(),
               refs: Referentiels | None = None) -> list[dict]:
    """The key figures of the prose (see shapers.indicateurs_texte)."""
    return indicateurs_texte(doc, refs or load(), joined)


def _contributions_texte(doc: Document, refs: Referentiels, table_rows: list[dict]) -> list[dict]:
    """Amounts of a bullet list that name an adhérent under a lead-in naming a contribution category
    (« Les cotisations des OPH … : » / « - OPALY (ValdeVy) : 273 989,57 € HT ») join `contributions`.
    A figure the report's tables already give for the same key is left to the tables."""
    printed = {(r["adherent"], r["mesure"], r["exercice"]) for r in table_rows}
    out = []
    for n in doc.narratifs:
        if n.value is None or n.unit != "€" or n.table_id:
            continue
        line = clean(doc.lines[n.line - 1]) if 0 < n.line <= len(doc.lines) else ""
        adherent = _adherent_named(doc, refs, _lead(line, n))
        categorie = _lead_in_measure(doc, refs, n.line)
        if adherent is None or categorie is None:
            continue
        exercice = n.exercice or doc.report_year
        if (adherent.canonique, categorie.mesure, exercice) in printed:
            continue
        out.append({"org": doc.org, "exercice": exercice, "report_year": doc.report_year,
                    "document_id": doc.document_id, "line": n.line, "table_id": None, "source": "texte",
                    "adherent": adherent.canonique, "adherent_imprime": _lead(line, n),
                    "categorie": categorie.mesure, "categorie_imprimee": categorie.libelle,
                    "montant": n.value, "niveau": "detail", "lignee": refs.lignee(doc.org, adherent.canonique),
                    "concept": adherent.canonique, "mesure": categorie.mesure, "perimetre": ""})
    return out


def _lead(line: str, n: Narratif) -> str:
    pos = line.find(n.text) if n.text else -1
    head = line[:pos] if pos > 0 else ""
    return _BULLET.sub("", head).strip(" :–-")


def _adherent_named(doc: Document, refs: Referentiels, lead: str):
    if not lead or len(lead) > 80:
        return None
    for candidate in (lead, re.sub(r"\([^)]*\)", "", lead).strip()):
        found = refs.adherent(doc.org, candidate)
        if found:
            return found
    return None


def _lead_in_measure(doc: Document, refs: Referentiels, line: int):
    """The contribution category named by the sentence that introduces a bullet list."""
    for i in range(line - 2, max(-1, line - 15), -1):
        text = clean(doc.lines[i])
        if not text or _BULLET.match(doc.lines[i]):
            continue
        return refs.mesure("contributions", text) if re.search(r"cotisation|contribution|participation",
                                                                text, re.IGNORECASE) else None
    return None


def unknown_labels() -> list[tuple[str, str, str]]:
    """(document_id, kind, printed label) met by the last `curate` and absent from data/referentiels/."""
    return sorted(load().unknown)
