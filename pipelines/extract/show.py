"""`bilans extract FILE` : montrer comment un rapport a été lu."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.extract import extract_document
from pipelines.extract.model import Document
from pipelines.extract.numbers import NOTATIONS, clean
from pipelines.publish.fmt import pluriel


def as_dict(doc: Document) -> dict:
    return {
        "document": doc.path, "org": doc.org, "report_year": doc.report_year, "encoding": doc.encoding,
        "format": doc.format, "n_pages": doc.n_pages, "n_lines": doc.n_lines, "toc": list(doc.toc_lines) if doc.toc_lines else None,
        "sections": [{"number": s.number, "title": s.title, "line": s.line} for s in doc.sections],
        "tables": [
            {
                "table_id": t.table_id, "caption": t.caption, "section": t.section, "layout": t.layout,
                "line_start": t.line_start, "line_end": t.line_end, "headers": t.headers,
                "notation": t.notation,
                "rows": [
                    {"line": r.line, "page": doc.page_of(r.line), "place": doc.place_of(r.line), "kind": r.kind, "label": r.label,
                     "cells": [{"text": c.text, "value": c.value, "unit": c.unit, "status": c.status,
                                "value2": c.value2, "unit2": c.unit2} for c in r.cells]}
                    for r in t.rows
                ],
            }
            for t in doc.tables
        ],
        "narratifs": [
            {"line": n.line, "place": doc.place_of(n.line), "label": n.label, "value": n.value, "unit": n.unit, "exercice": n.exercice,
             "text": n.text}
            for n in doc.narratifs
        ],
    }


def show(path: Path, as_json: bool = False) -> int:
    doc = extract_document(path)
    if as_json:
        print(json.dumps(as_dict(doc), ensure_ascii=False, indent=1))
        return 0
    unreadable = [c for t in doc.tables for c in t.cells() if c.status in ("malformed", "irregular")]
    pages = f"{doc.format.upper()} de {pluriel(doc.n_pages, 'page', 'pages')}, " if doc.n_pages else \
        (f"{doc.format.upper()}, " if doc.format != "texte" else "")
    print(f"{doc.path} : {doc.org or 'organisme inconnu'} {doc.report_year or 'année inconnue'}, {pages}"
          f"{pluriel(doc.n_lines, 'ligne', 'lignes')}, {pluriel(len(doc.sections), 'section', 'sections')}, "
          f"{pluriel(len(doc.tables), 'tableau', 'tableaux')}, "
          f"{pluriel(len(doc.narratifs), 'chiffre dans le texte', 'chiffres dans le texte')}, "
          f"{pluriel(len(unreadable), 'cellule illisible', 'cellules illisibles')}")
    for t in doc.tables:
        print(f"\n[{t.table_id}] lignes {t.line_start}-{t.line_end} ({t.layout}) « {t.caption or '—'} »")
        print(f"  notation : {NOTATIONS.get(t.notation, t.notation)}")
        if t.section:
            print(f"  section : {t.section}")
        for r in t.rows:
            cells = " | ".join(clean(c.text) or "·" for c in r.cells)
            place = f" ({doc.place_of(r.line)})" if doc.place_of(r.line) else ""
            print(f"  {r.line:>5} {r.kind:<8} {cells[:150]}{place}")
    for c in unreadable:
        place = f" ({doc.place_of(c.line)})" if doc.place_of(c.line) else ""
        print(f"illisible ligne {c.line}{place} : « {c.text} » ({c.status})")
    return 0
