"""Quel tableau va dans quelle famille : règles [[rattachement]] du catalogue
(pipelines/catalogue/familles.toml), évaluées dans l'ordre."""

from __future__ import annotations

import re

from pipelines import catalogue
from pipelines.extract.model import Document, Table


def section_chain(doc: Document, table: Table) -> list[str]:
    """The table's section and its parents' titles, deepest first (« 8.4.3 », « 8.4 », « 8 »)."""
    if not table.section:
        return []
    number = table.section.split(" ")[0]
    titles = {s.number: s.title for s in doc.sections}
    chain, parts = [], number.split(".")
    while parts:
        title = titles.get(".".join(parts))
        if title:
            chain.append(title)
        parts.pop()
    return chain or [table.section]


def family_of(doc: Document, table: Table) -> str | None:
    headers = " | ".join(table.headers)
    caption = table.caption or ""
    context = " | ".join([caption, *section_chain(doc, table)])
    values = [c for r in table.body for c in r.cells[table.n_label_cols:]]
    units = {c.unit for c in values} | {c.unit2 for c in values}
    numeric = any(c.value is not None for c in values)
    for rule in catalogue.rattachements():
        if "entete" in rule and not all(re.search(p, headers, re.IGNORECASE) for p in rule["entete"]):
            continue
        if "legende" in rule and not re.search(rule["legende"], caption, re.IGNORECASE):
            continue
        if "contexte" in rule and not re.search(rule["contexte"], context, re.IGNORECASE):
            continue
        if "unite" in rule and rule["unite"] not in units:
            continue
        if rule.get("numerique") and not numeric:
            continue
        if "exclure" in rule and re.search(rule["exclure"], caption + " " + headers, re.IGNORECASE):
            continue
        return rule["famille"]
    return None
