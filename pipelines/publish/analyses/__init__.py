"""Analyses annuelles par pôle : la logique partagée des carnets paramétrés.

The notebooks in ``notebooks/`` only call this package (``from pipelines.publish
import analyses as a``), so that everything they show is computed here and
unit-testable without papermill. One module per subject, so that the code of a
notebook's figures is in one place:

- ``commun``: parameters, store access, context, summaries, tables and sources;
- ``graphiques``: the shared chart template (French locale, inline SVG, table and
  sources under each chart);
- ``activite``: the pôle notebooks (days of activity, tickets, trainings, the
  pôle's indicator series);
- ``finances``: budget and contributions; ``effectifs``: staff;
  ``qualite``: the findings of the checks.

Reading rules:

- the store is opened read-only and never re-parsed;
- "multi-year context up to `year`" = rows of the base tables with
  ``report_year <= year`` and ``exercice <= year``, keeping for each key the
  value of the most recent report (the `*_latest` semantics, frozen at `year`,
  so that a later report does not change an earlier analysis);
- a curated row carries a finding when they share (document_id, line) and the
  finding is about the same exercice (or about no exercice in particular).

Heavy imports (altair, IPython, vl-convert) happen inside the display functions:
runs.py imports this package to plan runs and must stay fast.
"""

from __future__ import annotations

from pipelines.publish.analyses.activite import (
    activite,
    formations,
    graphique_activite,
    graphique_autres_axes,
    graphique_formations,
    graphique_indicateurs,
    graphique_tickets,
    resume_activite,
    tickets,
)
from pipelines.publish.analyses.commun import (
    LIBELLES,
    POLE_TEMPLATES,
    POLES,
    ROOT,
    TABLES,
    TEMPLATES,
    TITRES,
    Contexte,
    Resume,
    _constats_html,
    _constats_plain,
    _display,
    _e,
    connecter,
    has_data,
    indicateurs,
    latest,
    message,
    ouvrir,
    publier_resume,
    resolve_db,
    rows,
    sources_texte,
    tableau,
    tableau_html,
    tables_presentes,
)
from pipelines.publish.analyses.effectifs import effectifs, graphique_effectifs, resume_rh
from pipelines.publish.analyses.finances import (
    chapitres,
    contributions,
    graphique_budget,
    graphique_budget_historique,
    graphique_contributions,
    historique_budget,
    resume_finances,
)
from pipelines.publish.analyses.graphiques import chart_bundle, montrer
from pipelines.publish.analyses.qualite import (
    constats_document,
    graphique_qualite,
    liste_constats,
    pires_tableaux,
    resume_qualite,
)

A_LA_UNE = "bilans_a_la_une"

__all__ = [
    "LIBELLES", "POLES", "POLE_TEMPLATES", "ROOT", "TABLES", "TEMPLATES", "TITRES", "Contexte", "Resume",
    "activite", "chart_bundle", "connecter", "constats_document", "contributions", "effectifs", "entete",
    "chapitres", "historique_budget", "formations", "graphique_activite", "graphique_autres_axes", "graphique_budget",
    "graphique_budget_historique", "graphique_contributions", "graphique_effectifs", "graphique_formations",
    "graphique_indicateurs", "graphique_qualite", "graphique_tickets", "has_data", "indicateurs", "latest",
    "liste_constats", "message", "montrer", "ouvrir", "pires_tableaux", "resolve_db", "resume", "rows",
    "sources_texte", "tableau", "tableau_html", "tables_presentes", "tickets",
]


# ---------------------------------------------------------------- summary dispatch

def resume(ctx: Contexte) -> Resume:
    if ctx.absence:
        return Resume([ctx.absence])
    if ctx.template in POLES:
        return resume_activite(ctx)
    if ctx.template == "finances":
        return resume_finances(ctx)
    if ctx.template == "ressources_humaines":
        return resume_rh(ctx)
    if ctx.template == "qualite":
        return resume_qualite(ctx)
    return Resume([f"Bilan {ctx.year} du {ctx.org}."])


def entete(ctx: Contexte) -> None:
    """Title, then the computed summary of the year (or the plain absence message)."""
    res = resume(ctx)
    publier_resume(ctx, res)
    body = f"<h1>{_e(ctx.titre)}</h1>"
    if ctx.absence:
        body += f'<p class="absence"><b>{_e(ctx.absence)}</b></p>'
    else:
        body += "<h2>L'essentiel</h2><ul>" + "".join(f"<li>{_e(p)}</li>" for p in res.phrases) + "</ul>"
        body += _constats_html(res.constats, ctx)
    plain = "\n".join([ctx.titre, *res.phrases, _constats_plain(res.constats, ctx)]).strip()
    _display(body, plain, metadata={A_LA_UNE: res.a_la_une})  # read back by the analyses index
