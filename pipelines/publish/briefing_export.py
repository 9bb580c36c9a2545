"""Pages statiques du briefing : une page HTML autonome et imprimable par adhérent et par exercice.

For the élus who will not open the dashboard. No external resource at all
(no CDN, no font, no script): the chart is an SVG drawn here, so the page
opens offline, prints on one A4 page and can be attached to an e-mail.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.extract.numbers import fold
from pipelines.publish import fmt, registre
from pipelines.publish.briefing_data import BriefingData, ComparisonRow, HistoryPoint
from pipelines.publish.briefing_html import (
    CSS,
    MEASURE_COLOURS,
    _e,
    history_measures,
    measure_label,
    render_cards,
    render_comparison,
    render_history,
    render_projections,
)

PRINT_CSS = """
body { margin: 24px; background: #fff; }
.bf-foot { font-size: 12px; color: #6a6a6a; margin-top: 18px; }
.bf-charts { display: flex; gap: 24px; flex-wrap: wrap; }
.bf-tables { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; }
  .bf { font-size: 12pt; }
  .bf .bf-value { font-size: 20pt; }
  .bf .bf-cards { grid-template-columns: repeat(3, 1fr); gap: 6px; }
  .bf .bf-card { padding: 6px 8px; }
  .bf h1 { font-size: 20pt; } .bf h2 { font-size: 14pt; margin: 10px 0 4px; }
  .bf table { font-size: 10pt; }
  .bf-nav { display: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", fold(str(text))).strip("-") or "adherent"


def svg_history(points: list[HistoryPoint], year: int, width: int = 420, height: int = 240) -> str:
    """Bar chart of the contribution per exercice, one bar and one colour per measure (contribution
    totale, cotisation …, named in the legend), the chosen year in full colour; inline SVG."""
    measures = history_measures(points)
    colour = {m: MEASURE_COLOURS[i % len(MEASURE_COLOURS)] for i, m in enumerate(measures)}
    values = [v for p in points for v in p.par_mesure.values()]
    top = max(values, default=0) or 1
    left, bottom, pad, legend = 10, 40, 8, 22
    slot = (width - left * 2) / max(len(points), 1)
    bar_w = (slot - 2 * pad) / max(len(measures), 1)
    bars = []
    max_chars = max(int((slot - 2 * pad) / 6), 4)  # ~6 px per character at 11 px
    for i, p in enumerate(points):
        name = p.printed_name if len(p.printed_name) <= max_chars else p.printed_name[: max_chars - 1] + "…"
        x0 = left + i * slot + pad
        for j, m in enumerate(measures):
            value = p.par_mesure.get(m)
            if value is None:
                continue
            h = (height - bottom - 30 - legend) * value / top
            x, y = x0 + j * bar_w, height - bottom - h
            opacity = "1" if p.year == year else "0.45"
            bars.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour[m]}" '
                f'fill-opacity="{opacity}" data-mesure="{_e(m)}">'
                f"<title>{_e(p.year)} : {_e(measure_label(m))} {_e(fmt.euros(value))} ({_e(p.printed_name)})"
                f"</title></rect>"
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 6:.1f}" text-anchor="middle" font-size="10">'
                f"{_e(fmt.euros(value))}</text>")
        bars.append(
            f'<text x="{x0 + (slot - 2 * pad) / 2:.1f}" y="{height - bottom + 18:.1f}" text-anchor="middle" '
            f'font-size="13">{_e(p.year)}</text>'
            f'<text x="{x0 + (slot - 2 * pad) / 2:.1f}" y="{height - bottom + 34:.1f}" text-anchor="middle" '
            f'font-size="11" fill="#555">{_e(name)}</text>')
    keys = "".join(
        f'<rect x="{left + k * 150}" y="4" width="12" height="12" fill="{colour[m]}"/>'
        f'<text x="{left + k * 150 + 16}" y="14" font-size="12">{_e(measure_label(m))}</text>'
        for k, m in enumerate(measures))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="Contribution par exercice et par mesure" font-family="Arial, sans-serif">{keys}'
            f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" stroke="#888"/>'
            f'{"".join(bars)}</svg>')


def svg_comparison(rows: list[ComparisonRow], width: int = 520) -> str:
    """Horizontal bars of every adhérent's contribution for the year, the selected one highlighted."""
    bar_h, label_w = 24, 220
    height = bar_h * len(rows) + 10
    top = max((r.contribution for r in rows), default=0) or 1
    items = []
    for i, r in enumerate(rows):
        w = (width - label_w - 120) * r.contribution / top
        y = 5 + i * bar_h
        fill = "#000091" if r.selected else "#a8a8d8"
        bold = ' font-weight="bold"' if r.selected else ""
        items.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="13"'
            f"{bold}>{_e(r.adherent)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" fill="{fill}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12">{_e(fmt.euros(r.contribution))}'
            f" · {_e(fmt.pourcent(r.part))}</text>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="Contributions des adhérents" font-family="Arial, sans-serif">{"".join(items)}</svg>')


def _noter_source(sources: list) -> str:
    return registre.sources((s.document_id, s.line) for s in sources)


def _montant(data: BriefingData, measure: str, org: str, adherent: str, year: int) -> dict:
    """How an adhérent's amount is recorded: the value of its metric, or, when its line adds a successor
    and predecessors printed apart that year, a sum derived from each entity's value (`.lignee`)."""
    entities = data.composition(org, year, adherent, measure)
    if entities in ([], [adherent]):
        return {"metrique": measure}
    return {"metrique": f"{measure}.lignee", "derive_de": [registre.cle(measure, org, e, year) for e in entities]}


def publier(reg: registre.Registre, data: BriefingData, kf, points: list[HistoryPoint],
            comp: list[ComparisonRow]) -> None:
    """Record every figure of a briefing page: tiles, history cells and bars, comparison rows and bars.

    A contribution is a value of its metric (contribution totale, cotisation …) for the adhérent (its
    group across renamings); jours per pôle are parts of the all-pôles tile; a share and a rank are
    derived from the contributions they divide or order."""
    org, adh, year = kf.org, kf.adherent, kf.year
    contrib = data.mesure(org, year, adh)
    total = registre.cle(contrib, org, None, year)
    others = [registre.cle(contrib, org, r.adherent, year) for r in comp]
    if contrib and kf.contribution.value is not None:
        reg.noter(kf.contribution.label, "tuile", kf.contribution.value, org=org, adherent=adh,
                  exercice=year, unite="€", sources=_noter_source(kf.contribution.sources),
                  **_montant(data, contrib, org, adh, year))
    if contrib and kf.part.value is not None:
        reg.noter(kf.part.label, "tuile", kf.part.value, metrique=f"{contrib}.part", org=org, adherent=adh,
                  exercice=year, unite="%", derive_de=[registre.cle(contrib, org, adh, year), total])
    total_jours = next((f for f in kf.jours if f.key == "jours_total"), None)
    for f in kf.jours:
        if f.value is None:
            continue
        pole = None if f.key == "jours_total" else f.key.removeprefix("jours_")
        reg.noter(f.label, "tuile", f.value, metrique="activite.jours", org=org, adherent=adh, exercice=year,
                  pole=pole, unite="jours", sources=_noter_source(f.sources),
                  partie_de=total_jours.label if total_jours is not None and pole else None)
    if kf.tickets.value is not None:
        reg.noter(kf.tickets.label, "tuile", kf.tickets.value, metrique="tickets.tickets", org=org, adherent=adh,
                  exercice=year, unite="tickets", sources=_noter_source(kf.tickets.sources))
    if kf.formations.value is not None:
        reg.noter(kf.formations.label, "tuile", kf.formations.value, metrique="agents_formes", org=org,
                  exercice=year, unite="agents", sources=_noter_source(kf.formations.sources))
    for p in points:
        for m, value in p.par_mesure.items():
            src = _noter_source(p.sources) if m == p.mesure else ""
            for element, role in (("Évolution (tableau)", "cellule"), ("Contribution par exercice (graphique)", "point")):
                reg.noter(element, role, value, org=org, adherent=adh, exercice=p.year, unite="€",
                          sources=src, **_montant(data, m, org, adh, p.year))
        if p.part is not None and p.mesure:
            reg.noter("Évolution (tableau)", "cellule", p.part, metrique=f"{p.mesure}.part", org=org, adherent=adh,
                      exercice=p.year, unite="%", derive_de=[registre.cle(p.mesure, org, adh, p.year),
                                                             registre.cle(p.mesure, org, None, p.year)])
        if p.jours is not None:
            reg.noter("Évolution (tableau)", "cellule", p.jours, metrique="activite.jours", org=org, adherent=adh,
                      exercice=p.year, unite="jours")
        if p.tickets is not None:
            reg.noter("Évolution (tableau)", "cellule", p.tickets, metrique="tickets.tickets", org=org,
                      adherent=adh, exercice=p.year, unite="tickets")
    for rank, r in enumerate(comp, 1):
        key = registre.cle(contrib, org, r.adherent, year)
        table = f"Comparaison avec les autres adhérents en {year} (tableau)"
        for element, role in ((table, "cellule"), ("Contributions des adhérents (graphique)", "point")):
            reg.noter(element, role, r.contribution, org=org, adherent=r.adherent, exercice=year,
                      unite="€", **_montant(data, contrib, org, r.adherent, year))
        reg.noter(table, "cellule", float(rank), metrique=f"{contrib}.rang", org=org, adherent=r.adherent,
                  exercice=year, unite="rang", derive_de=others)
        if r.part is not None:
            reg.noter(table, "cellule", r.part, metrique=f"{contrib}.part", org=org, adherent=r.adherent,
                      exercice=year, unite="%", derive_de=[key, total])


def page(data: BriefingData, org: str, adherent: str, year: int, reg: registre.Registre | None = None) -> str:
    kf = data.key_figures(org, adherent, year)
    points = data.history(org, adherent)
    comp = data.comparison(org, adherent, year)
    if reg is not None:
        publier(reg, data, kf, points, comp)
    title = f"Briefing {kf.adherent} {year} — {org}"
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}{PRINT_CSS}</style></head><body>"
        '<div class="bf-nav bf"><a href="../index.html">← Tous les briefings</a></div>'
        f"{render_cards(kf)}"
        f'<div class="bf"><h2>Évolution et comparaison</h2><div class="bf-charts">'
        f"<div>{svg_history(points, year)}</div><div>{svg_comparison(comp)}</div></div></div>"
        f'<div class="bf-tables">{render_history(points, kf.lineage, year)}{render_comparison(comp, year, data.mesure(org, year, adherent))}</div>'
        f"{render_projections(data.projections(org, adherent))}"
        f'<div class="bf bf-foot">Sources : magasin « {_e(data.db_path.name)} », valeur du rapport le plus '
        "récent pour chaque chiffre. ⚠ : chiffre signalé par les contrôles de cohérence. Les formations sont "
        "comptées pour l'ensemble du syndicat.</div></body></html>\n")


def page_name(org: str, adherent: str, year: int) -> str:
    """The page's name in the publications register."""
    return f"briefing/{slug(org)}/{slug(adherent)}_{year}"


def export(db_path: Path, out_dir: Path, registres: list | None = None) -> list[Path]:
    """Write <out>/<org>/<adherent>_<year>.html for every adhérent with a contribution that year, and index.html.
    With `registres`, one publications register per page is appended to it."""
    data = BriefingData(db_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index_rows = []
    for org in data.organismes():
        (out_dir / slug(org)).mkdir(exist_ok=True)
        for adherent in data.adherents(org):
            links = []
            for year in data.years(org, adherent):
                rel = f"{slug(org)}/{slug(adherent)}_{year}.html"
                path = out_dir / rel
                reg = registre.Registre(page_name(org, adherent, year))
                path.write_text(page(data, org, adherent, year, reg), encoding="utf-8")
                if registres is not None:
                    registres.append(reg)
                written.append(path)
                links.append(f'<a href="{_e(rel)}">{_e(year)}</a>')
            index_rows.append(f"<tr><td>{_e(org)}</td><td class=\"bf-name\">{_e(data.lineage(adherent))}</td>"
                              f"<td>{' · '.join(links)}</td></tr>")
    body = ("".join(index_rows) if index_rows
            else '<tr><td colspan="3">Aucune contribution dans le magasin.</td></tr>')
    (out_dir / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>Briefings des élus</title>'
        f'<style>{CSS}{PRINT_CSS}</style></head><body><div class="bf"><h1>Briefings des élus</h1>'
        '<div class="bf-sub">Une page par adhérent et par exercice, imprimable.</div>'
        "<table><thead><tr><th>Organisme</th><th>Adhérent</th><th>Exercices</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div></body></html>\n", encoding="utf-8")
    return written
