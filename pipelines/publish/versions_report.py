"""`bilans check NEW --since OLD --html OUT` : la page des auteurs qui compare deux versions d'un rapport.

Three lists — « Corrigés », « Toujours présents », « Nouveaux » — each finding drawn as in the
authors' validation report (pipelines/publish/authors.py: same style sheet, same quoted line with
the offending figure marked). Every value from the reports is escaped; the page needs no network.
"""

from __future__ import annotations

import html

import pandas as pd

from pipelines.publish.authors import _CSS, RULES_FR, SEVERITY_FR, _label_html, _s, highlight, where_in_source
from pipelines.validate.versions import FIXED, NEW, OPEN, counts

SECTIONS = ((FIXED, "Corrigés"), (OPEN, "Toujours présents"), (NEW, "Nouveaux"))
_EXTRA_CSS = ".fixed{border-color:#2e7d32;opacity:.85}.avant{color:#555;font-size:.9rem}"


def render_versions_html(compared: pd.DataFrame, new_path: str, old_path: str) -> str:
    """compared: `pipelines.validate.versions.compare` frame. Returns the whole HTML page."""
    e = html.escape
    n = counts(compared)
    title = f"Comparaison des versions — {new_path}"
    parts = [f"<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
             f"<style>{_CSS}{_EXTRA_CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             f"<p>Nouvelle version : <code>{e(new_path)}</code> — version précédente : <code>{e(old_path)}</code></p>",
             "<h2>Résumé</h2><table class=\"resume\"><tr><th>Constats</th><th>Nombre</th></tr>",
             f"<tr><td>Corrigés</td><td>{n[FIXED]}</td></tr>",
             f"<tr><td>Toujours présents</td><td>{n[OPEN]}</td></tr>",
             f"<tr><td>Nouveaux</td><td>{n[NEW]}</td></tr></table>"]
    for status, heading in SECTIONS:
        group = compared[compared["version_status"] == status] if len(compared) else compared
        parts.append(f"<h2>{heading} ({len(group)})</h2>")
        if group.empty:
            parts.append("<p>Aucun.</p>")
        parts += [_finding_html(f) for f in group.to_dict("records")]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _finding_html(f: dict) -> str:
    e = html.escape
    s = _s(f["severity"])
    status = f["version_status"]
    where = e(where_in_source(f)) + (f", tableau « {e(_s(f['table']))} »" if _s(f["table"]) else "")
    if status == FIXED:
        where += " (version précédente)"
    before = ""
    if status == OPEN and f.get("old_line") is not None:
        before = f"<p class=\"avant\">Dans la version précédente : ligne {e(_s(f['old_line']))}.</p>"
    css = "fixed" if status == FIXED else s
    return (f"<div class=\"constat {e(css)}\"><div><span class=\"sev\">{e(SEVERITY_FR.get(s, s))}</span> "
            f"— {where} — <code>{e(_s(f['rule']))}</code></div>"
            f"<p>{e(_s(f['message']))}</p>{before}"
            f"<pre>{_label_html(f)}{e(_s(f['line'])):>5} | "
            f"{highlight(_s(f['source_line']), f.get('highlight'), f.get('found'))}</pre>"
            f"<dl><dt>Trouvé</dt><dd>{e(_s(f['found'])) or '—'}</dd>"
            f"<dt>Attendu</dt><dd>{e(_s(f['expected'])) or '—'}</dd>"
            f"<dt>Correction</dt><dd>{e(_s(f['suggestion'])) or '—'}</dd></dl>"
            f"<p class=\"regle\">Règle : {e(RULES_FR.get(f['rule'], _s(f['rule'])))}</p></div>")
