"""Un document extrait -> lignes des tables `documents`, `lignes`, `sections`, `tables`, `cells`, `narratifs`."""

from __future__ import annotations

from pipelines.extract.model import Document


def document_records(doc: Document) -> dict[str, list[dict]]:
    did = doc.document_id
    out: dict[str, list[dict]] = {
        "documents": [{
            "document_id": did, "org": doc.org, "report_year": doc.report_year, "path": doc.path,
            "sha256": doc.sha256, "n_lines": doc.n_lines, "title": doc.title, "encoding": doc.encoding,
            "format": doc.format, "n_pages": doc.n_pages,
        }],
        "lignes": [{"document_id": did, "line": i, "text": t, "page": doc.page_of(i), "place": doc.place_of(i)}
                   for i, t in enumerate(doc.lines, 1)],
        "sections": [{"document_id": did, "number": s.number, "title": s.title, "level": s.level,
                      "line": s.line} for s in doc.sections],
        "tables": [], "cells": [],
        "narratifs": [{
            "document_id": did, "line": n.line, "section": n.section, "label": n.label, "value": n.value,
            "unit": n.unit, "exercice": n.exercice, "text": n.text, "sentence": n.sentence,
            "table_id": n.table_id, "parse_status": n.status, "page": doc.page_of(n.line), "place": doc.place_of(n.line),
            "sujet": n.sujet, "mesure": n.mesure, "sentence_start": n.sentence_start, "sentence_end": n.sentence_end,
        } for n in doc.narratifs],
    }
    for t in doc.tables:
        out["tables"].append({
            "table_id": t.table_id, "document_id": did, "caption": t.caption, "section": t.section,
            "line_start": t.line_start, "line_end": t.line_end, "layout": t.layout, "family": t.family,
            "n_rows": len(t.rows), "n_cols": t.n_cols, "n_header_rows": t.n_header_rows,
            "n_label_cols": t.n_label_cols, "headers": t.headers, "ragged_lines": t.ragged,
            "notation": t.notation,
        })
        for r in t.rows:
            for c in r.cells:
                out["cells"].append({
                    "table_id": t.table_id, "row": c.row, "col": c.col, "line": c.line, "text": c.text,
                    "value": c.value, "unit": c.unit, "role": c.role, "parse_status": c.status,
                    "value2": c.value2, "unit2": c.unit2, "row_kind": r.kind, "row_label": r.label,
                    "header": t.headers[c.col] if c.col < len(t.headers) else None, "decimals": c.decimals,
                    "page": doc.page_of(c.line), "place": doc.place_of(c.line),
                })
    return out
