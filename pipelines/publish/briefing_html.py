"""Le briefing en HTML échappé : cartes des chiffres clés, historique, comparaison, projections.

Shared by the two views (dashboard and static pages), so that an élu reads the
same sentences in both.
"""

from __future__ import annotations

import html

from pipelines.metrics import usage
from pipelines.publish import fmt
from pipelines.publish.briefing_data import (
    ComparisonRow,
    Figure,
    HistoryPoint,
    KeyFigures,
    Projection,
    sources_label,
)

# --------------------------------------------------------------------------- HTML

MESURES_CONTRIBUTION = usage("contributions")
# one colour per measure of the contribution (DSFR blue, red marianne, green), distinct in print
MEASURE_COLOURS = ("#000091", "#c9191e", "#18753c")

CSS = """
.bf { font-family: "Marianne", "Segoe UI", Arial, sans-serif; color: #1e1e1e; font-size: 18px; line-height: 1.4; }
.bf h1 { font-size: 30px; margin: 0 0 4px; }
.bf h2 { font-size: 22px; margin: 24px 0 8px; }
.bf .bf-sub { font-size: 18px; color: #555; margin-bottom: 12px; }
.bf .bf-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 14px; }
.bf .bf-card { border: 1px solid #d0d0d0; border-left: 6px solid #000091; border-radius: 6px; padding: 12px 14px;
  background: #fff; break-inside: avoid; }
.bf .bf-card.bf-flag { border-left-color: #d64d00; background: #fff8f3; }
.bf .bf-label { font-size: 16px; color: #3a3a3a; }
.bf .bf-value { font-size: 34px; font-weight: 700; margin: 4px 0; white-space: nowrap; }
.bf .bf-note { font-size: 14px; color: #555; }
.bf .bf-finding { font-size: 14px; color: #a33a00; margin-top: 4px; }
.bf .bf-source { font-size: 12px; color: #6a6a6a; margin-top: 6px; }
.bf .bf-lineage { font-size: 16px; color: #000091; margin-bottom: 8px; }
.bf .bf-empty { font-size: 20px; padding: 16px; background: #f6f6f6; border-radius: 6px; }
.bf table { border-collapse: collapse; font-size: 17px; }
.bf th, .bf td { padding: 4px 12px; border-bottom: 1px solid #e2e2e2; text-align: right; }
.bf th:first-child, .bf td:first-child, .bf td.bf-name, .bf th.bf-name { text-align: left; }
.bf tr.bf-sel td { font-weight: 700; background: #eef0ff; }
.bf td.bf-src { font-size: 13px; color: #555; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_card(fig: Figure) -> str:
    warn = "".join(f'<div class="bf-finding">⚠ {_e(f.message)} <small>({_e(f.rule)})</small></div>'
                   for f in fig.findings)
    mark = ' <span class="bf-mark" title="Constat de validation">⚠</span>' if fig.flagged else ""
    note = f'<div class="bf-note">{_e(fig.note)}</div>' if fig.note else ""
    source = f'<div class="bf-source">{_e(fig.source_label)}</div>' if fig.sources else ""
    return (f'<div class="bf-card{" bf-flag" if fig.flagged else ""}" data-figure="{_e(fig.key)}">'
            f'<div class="bf-label">{_e(fig.label)}</div>'
            f'<div class="bf-value"><span class="bf-num">{_e(fig.text)}</span>{mark}</div>'
            f"{note}{warn}{source}</div>")


def render_cards(kf: KeyFigures) -> str:
    head = (f'<h1 class="bf-title">{_e(kf.adherent)} — {_e(kf.year)}</h1>'
            f'<div class="bf-sub bf-org">Organisme : {_e(kf.org)}'
            + (f" · nom dans les rapports de {_e(kf.year)} : {_e(', '.join(kf.printed_names))}"
               if kf.printed_names and kf.printed_names != [kf.adherent] else "") + "</div>")
    if kf.lineage != kf.adherent:
        head += f'<div class="bf-lineage">Historique du nom : {_e(kf.lineage)}</div>'
    if not kf.has_data:
        body = (f'<div class="bf-empty" data-figure="absent">Aucune donnée pour {_e(kf.adherent)} '
                f"en {_e(kf.year)} dans les rapports de {_e(kf.org)}.</div>")
        return f'<div class="bf">{head}{body}</div>'
    cards = "".join(render_card(f) for f in kf.figures)
    return f'<div class="bf">{head}<div class="bf-cards">{cards}</div></div>'


def _history_source(p: HistoryPoint) -> str:
    if not p.sources:
        return ""
    return sources_label(p.sources) + (" — cité dans le texte" if p.cite_texte else "")


def history_measures(points: list[HistoryPoint]) -> list[str]:
    """The measures of the contribution the history shows, in the order of the declarations."""
    seen: list[str] = []
    for p in points:
        seen += [m for m in p.par_mesure if m not in seen]
    order = {m: i for i, m in enumerate(MESURES_CONTRIBUTION)}
    return sorted(seen, key=lambda m: order.get(m, len(order)))


def measure_label(measure: str) -> str:
    from pipelines.metrics import declarations

    m = declarations().get(measure)
    label = m.mesure if m else measure
    return label[:1].upper() + label[1:]


def render_history(points: list[HistoryPoint], lineage: str, year: int) -> str:
    """One column per measure of the contribution (contribution totale, cotisation …): a year
    printed in two measures shows both, never one measure for some years and another for others."""
    measures = history_measures(points)
    several = len(measures) > 1
    rows = "".join(
        f'<tr class="{"bf-sel" if p.year == year else ""}" data-year="{p.year}"><td>{p.year}</td>'
        f'<td class="bf-name">{_e(p.printed_name)}</td>'
        + "".join(f'<td data-mesure="{_e(m)}">{_e(fmt.euros(p.par_mesure.get(m)))}</td>' for m in measures)
        + f"<td>{_e(fmt.pourcent(p.part))}"
        + (f' <small>({_e(measure_label(p.mesure).lower())})</small>' if several and p.mesure else "")
        + f"</td><td>{_e(fmt.jours(p.jours))}</td>"
        f"<td>{_e(fmt.nombre(p.tickets))}</td><td>{'⚠' if p.flagged else ''}</td>"
        f'<td class="bf-name bf-src">{_e(_history_source(p))}</td></tr>'
        for p in points)
    heads = "".join(f"<th>{_e(measure_label(m))}</th>" for m in measures) or "<th>Contribution</th>"
    return (f'<div class="bf"><h2>Évolution : {_e(lineage)}</h2>'
            '<table class="bf-history"><thead><tr><th>Exercice</th><th class="bf-name">Nom imprimé</th>'
            f"{heads}<th>Part du total des adhérents</th><th>Jours d'activité</th><th>Tickets</th><th></th>"
            '<th class="bf-name">Source de la contribution</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def render_projections(projections: list[Projection]) -> str:
    """Voted or projected amounts, apart from the history: an élu must not read them as paid."""
    if not projections:
        return ""
    rows = "".join(
        f'<tr data-year="{p.year}"><td>{p.year}</td><td>{_e(fmt.euros(p.montant))}{" ⚠" if p.findings else ""}</td>'
        f'<td class="bf-name bf-src">{_e(sources_label([p.source]))}</td></tr>' for p in projections)
    return ('<div class="bf bf-projections"><h2>Projections</h2>'
            '<div class="bf-note">Cotisations votées ou projetées pour un exercice à venir : ce ne sont pas '
            "des montants versés, elles ne comptent ni dans l'historique ni dans les comparaisons.</div>"
            '<table><thead><tr><th>Exercice</th><th>Cotisation votée (projection)</th>'
            f'<th class="bf-name">Source</th></tr></thead><tbody>{rows}</tbody></table></div>')


def render_comparison(rows: list[ComparisonRow], year: int, measure: str | None = None) -> str:
    """Every adhérent printed in the chosen one's measure that year, ranked; the measure named."""
    what = f" ({measure_label(measure).lower()})" if measure else ""
    body = "".join(
        f'<tr class="{"bf-sel" if r.selected else ""}"><td>{i}</td><td class="bf-name">{_e(r.adherent)}</td>'
        f"<td>{_e(fmt.euros(r.contribution))}</td><td>{_e(fmt.pourcent(r.part))}</td></tr>"
        for i, r in enumerate(rows, 1))
    return (f'<div class="bf"><h2>Comparaison avec les autres adhérents en {_e(year)}{_e(what)}</h2>'
            '<table class="bf-comparison"><thead><tr><th>Rang</th><th class="bf-name">Adhérent</th>'
            f"<th>{_e(measure_label(measure) if measure else 'Contribution')}</th>"
            f"<th>Part du total</th></tr></thead><tbody>{body}</tbody></table></div>")
