"""`bilans report` : rapports de validation pour les auteurs (HTML autonome + Markdown) et Data Docs GE.

Reads only the store (findings, lignes, documents); never re-parses a report, never runs a suite:
the Data Docs are those the check run wrote beside the store (pipelines.validate.stored_results),
copied to `<out>/data_docs`. All source text is escaped; the offending figure is marked in the
quoted line.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

from pipelines import catalogue
from pipelines.errors import BilansError
from pipelines.terminal import pluriel, strip_controls
from pipelines.validate.stored_results import DATA_DOCS, copy_data_docs, gx_dir, written_from

SEVERITY_FR = {"error": "Erreur", "warning": "Alerte", "info": "Information"}
_SEVERITIES_FR = {"error": ("erreur", "erreurs"), "warning": ("alerte", "alertes"),
                  "info": ("information", "informations")}
RULES_FR = catalogue.descriptions()  # rule id -> its French description (pipelines/catalogue/regles.toml)
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:62rem;
color:#1d1d1f;line-height:1.45;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;border-bottom:1px solid #ccc;margin-top:2rem}
table.resume{border-collapse:collapse;margin:.5rem 0}table.resume td,table.resume th{border:1px solid #ccc;
padding:.2rem .6rem;text-align:left}
.constat{border-left:4px solid #999;padding:.4rem .8rem;margin:.8rem 0;background:#fafafa}
.error{border-color:#c62828}.warning{border-color:#ef6c00}.info{border-color:#1565c0}
.sev{font-weight:600}.error .sev{color:#c62828}.warning .sev{color:#ef6c00}.info .sev{color:#1565c0}
pre{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:.4rem;margin:.3rem 0;font-size:.9rem}
mark{background:#ffe082;padding:0 .1rem}.regle{color:#555;font-size:.9rem}dl{margin:.3rem 0}
dt{font-weight:600;float:left;clear:left;width:9rem}dd{margin-left:9.5rem}
"""


def write_reports(db_path: Path, out_dir: Path) -> int:
    from pipelines.store import connect

    if not Path(db_path).exists():
        raise BilansError(f"magasin introuvable : {db_path} (lancez d'abord « bilans build »)")
    con = connect(db_path, read_only=True)
    try:
        docs = con.execute("SELECT document_id, org, report_year, path, title FROM documents "
                           "ORDER BY document_id").df()
        unchecked = con.execute("SELECT count(*) FROM documents WHERE checks_version IS NULL").fetchone()[0]
        if unchecked:  # « aucune incohérence » would be said of reports nobody checked
            raise BilansError(f"{pluriel(unchecked, 'document du magasin', 'documents du magasin')} {db_path} "
                              f"{pluriel(unchecked, 'n’a pas été contrôlé', 'n’ont pas été contrôlés', False)} (construit "
                              "avec --no-validate ?) : relancez « bilans build » avant « bilans report »")
        found = con.execute("SELECT * FROM findings").df()
        target = Path(out_dir) / "validation"
        target.mkdir(parents=True, exist_ok=True)
        _remove_gone(target, set(docs["document_id"]))
        for d in docs.to_dict("records"):
            mine = found[found["document_id"] == d["document_id"]]
            # the store keeps findings in no order (written batch by batch): the page sorts them
            # fully, so two builds of the same corpus write the same page
            mine = mine.assign(_o=mine["severity"].map({"error": 0, "warning": 1, "info": 2})).sort_values(
                ["line", "_o", "rule", "table", "found", "expected", "message"], kind="stable",
                na_position="first").drop(columns="_o")
            (target / f"{d['document_id']}.html").write_text(render_html(d, mine), encoding="utf-8")
            (target / f"{d['document_id']}.md").write_text(render_markdown(d, mine), encoding="utf-8")
        n_docs = len(docs)
        current = written_from(con, gx_dir(db_path))
    finally:
        con.close()
    print(f"{n_docs} rapports de validation écrits dans {target} ; {_data_docs(db_path, Path(out_dir), current)}")
    sys.stdout.flush()
    return 0


def _data_docs(db_path: Path, out_dir: Path, current: bool) -> str:
    """Copy the store's Data Docs to `out_dir/data_docs` and say where; Data Docs written from another
    store (a build stopped after replacing it: `written_from`) are not published, and an earlier copy
    of them is removed: their findings would not be the store's."""
    site = gx_dir(db_path) / DATA_DOCS
    if not current and (site / "index.html").is_file():
        shutil.rmtree(out_dir / "data_docs", ignore_errors=True)
        return (f"Data Docs non publiées : celles de {site} ne sont pas celles du magasin (construction "
                "interrompue ?) ; relancez « bilans build » pour les écrire")
    docs_dir = copy_data_docs(db_path, out_dir / "data_docs")
    return (f"Data Docs : {docs_dir}" if docs_dir else
            f"Data Docs absentes ({site} : relancez « bilans build » pour les écrire)")


def _remove_gone(target: Path, documents: set[str]) -> None:
    """Remove the reports written earlier for documents no longer in the store (removed with
    --force): a report on a document that left the corpus would be sent to its authors."""
    for path in [*target.glob("*.html"), *target.glob("*.md")]:
        if path.stem not in documents:
            path.unlink()


def highlight(line: str, needle: str | None, found: str | None = None) -> str:
    """The escaped source line with the offending text wrapped in <mark>."""
    text = line or ""
    for cand in _needles(needle, found):
        i = text.find(cand)
        if i >= 0:
            return (html.escape(text[:i]) + "<mark>" + html.escape(cand) + "</mark>"
                    + html.escape(text[i + len(cand):]))
    return html.escape(text)


def _needles(needle, found):
    out = []
    for n in (needle, found):
        if isinstance(n, str) and n.strip():
            out.append(n.strip())
            digits = re.search(r"[-+]?\d[\d  .,]*\d|\d", n)
            if digits:
                out.append(digits[0].strip())
                out.append(digits[0].replace(" ", "").replace("\u00a0", "").strip())
    return out


def _summary(findings: pd.DataFrame) -> tuple[Counter, Counter]:
    return Counter(findings["severity"]), Counter(zip(findings["severity"], findings["rule"], strict=False))


def _s(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def render_html(doc: dict, findings: pd.DataFrame) -> str:
    e = html.escape
    sev, rules = _summary(findings)
    title = f"Rapport de validation — {_s(doc.get('title')) or doc['document_id']}"
    parts = [f"<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             f"<p>Document : <code>{e(_s(doc['path']))}</code> — {e(_s(doc['org']))} {e(_s(doc['report_year']))}</p>",
             "<h2>Résumé</h2>"]
    if findings.empty:
        parts.append("<p>Aucune incohérence détectée.</p>")
    else:
        parts.append("<p>" + ", ".join(e(_severities(sev, k))
                                      for k in ("error", "warning", "info")) + "</p>")
        parts.append("<table class=\"resume\"><tr><th>Gravité</th><th>Règle</th><th>Nombre</th></tr>")
        for (s, r), n in sorted(rules.items(), key=lambda x: ({"error": 0, "warning": 1, "info": 2}[x[0][0]], x[0][1])):
            parts.append(f"<tr><td>{e(SEVERITY_FR[s])}</td><td>{e(r)} — {e(RULES_FR.get(r, ''))}</td><td>{n}</td></tr>")
        parts.append("</table>")
    for section, group in _by_section(findings):
        parts.append(f"<h2>{e(section)}</h2>")
        for f in group.to_dict("records"):
            s = f["severity"]
            where = e(where_in_source(f)) + (f", tableau « {e(_s(f['table']))} »" if _s(f["table"]) else "")
            parts.append(
                f"<div class=\"constat {e(s)}\"><div><span class=\"sev\">{e(SEVERITY_FR.get(s, s))}</span> "
                f"— {where} — <code>{e(f['rule'])}</code></div>"
                f"<p>{e(_s(f['message']))}</p>"
                f"<pre>{_label_html(f)}{f['line']:>5} | {highlight(_s(f['source_line']), f.get('highlight'), f.get('found'))}</pre>"
                f"<dl><dt>Trouvé</dt><dd>{e(_s(f['found'])) or '—'}</dd>"
                f"<dt>Attendu</dt><dd>{e(_s(f['expected'])) or '—'}</dd>"
                f"<dt>Correction</dt><dd>{e(_s(f['suggestion'])) or '—'}</dd></dl>"
                f"<p class=\"regle\">Règle : {e(RULES_FR.get(f['rule'], f['rule']))}</p></div>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def where_in_source(finding: dict) -> str:
    """« page 12, ligne 5 » in a PDF, « tableau 3, rangée 2 » in a DOCX, « ligne 740 » in a text report."""
    return _s(finding.get("place")) or f"ligne {finding['line']}"


def _label_line(f: dict) -> int | None:
    """The line of the row label when the figure is printed on another line (PDF text)."""
    n = f.get("label_line")
    return None if n is None or pd.isna(n) or int(n) == int(f["line"]) else int(n)


def _label_html(f: dict) -> str:
    n = _label_line(f)
    return "" if n is None else f"{n:>5} | {html.escape(_s(f.get('label_source')))}\n"


def _label_md(f: dict) -> list[str]:
    n = _label_line(f)
    return [] if n is None else [f"  > (ligne {n}) {md(_s(f.get('label_source')).replace(chr(9), ' | '))}"]


def _by_section(findings: pd.DataFrame):
    if findings.empty:
        return []
    key = findings["section"].fillna("Hors section").replace("", "Hors section")
    order = findings.assign(_k=key).groupby("_k", sort=False)["line"].min().sort_values().index
    return [(k, findings[key == k]) for k in order]


# Markdown that would turn source text into markup: emphasis, code, links and images, table cells.
_MD_SPECIALS = re.compile(r"([\\`*_\[\]|])")


def md(value) -> str:
    """Source text as Markdown text: raw HTML escaped as entities (`<img onerror>` shows as text),
    link and emphasis syntax backslash-escaped (`[x](javascript:…)` is not a link), one line
    without control characters (a `cat` of the file must not drive the terminal)."""
    text = html.escape(strip_controls(_s(value)), quote=False).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIALS.sub(r"\\\1", text)


def md_code(value) -> str:
    """A code span that no backtick of the text can close early (CommonMark: a longer fence)."""
    text = strip_controls(_s(value)).replace("\r", " ").replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _quoted_md(f: dict) -> str:
    """The source line, escaped, with the offending figure in bold."""
    quoted = _s(f["source_line"]).replace("\t", " | ")
    mark = next((n for n in _needles(f.get("highlight"), f.get("found")) if n in quoted), None)
    if not mark:
        return md(quoted)
    before, _, after = quoted.partition(mark)
    return f"{md(before)}**{md(mark)}**{md(after)}"


def render_markdown(doc: dict, findings: pd.DataFrame) -> str:
    """The author report in Markdown; every value from the source goes through `md`/`md_code`."""
    sev, rules = _summary(findings)
    lines = [f"# Rapport de validation — {md(_s(doc.get('title')) or doc['document_id'])}", "",
             f"Document : {md_code(doc['path'])} — {md(doc['org'])} {md(doc['report_year'])}", "", "## Résumé", ""]
    if findings.empty:
        lines.append("Aucune incohérence détectée.")
    else:
        lines.append(", ".join(_severities(sev, k) for k in ("error", "warning", "info")))
        lines += ["", "| Gravité | Règle | Nombre |", "|---|---|---|"]
        for (s, r), n in sorted(rules.items(), key=lambda x: ({"error": 0, "warning": 1, "info": 2}[x[0][0]], x[0][1])):
            lines.append(f"| {SEVERITY_FR[s]} | {md(r)} | {n} |")
    for section, group in _by_section(findings):
        lines += ["", f"## {md(section)}", ""]
        for f in group.to_dict("records"):
            table = f", tableau « {md(f['table'])} »" if _s(f["table"]) else ""
            lines += [f"- **{SEVERITY_FR.get(f['severity'], md(f['severity']))}** — {md(where_in_source(f))}{table} "
                      f"— {md_code(f['rule'])}",
                      f"  {md(f['message'])}",
                      *_label_md(f),
                      f"  > {'(ligne ' + str(f['line']) + ') ' if _label_line(f) else ''}{_quoted_md(f)}",
                      f"  Trouvé : {md(f['found']) or '—'} ; attendu : {md(f['expected']) or '—'}",
                      f"  Correction suggérée : {md(f['suggestion']) or '—'}",
                      f"  _Règle : {md(RULES_FR.get(f['rule'], f['rule']))}_"]
    return "\n".join(lines) + "\n"


def _severities(sev, kind: str) -> str:
    """« 1 erreur », « 2 alertes »: the count of one severity in a report's summary line."""
    return pluriel(sev.get(kind, 0), *_SEVERITIES_FR[kind])
