"""Carnets des pôles (SI, infrastructures, support) : jours d'activité, tickets, formations et séries d'indicateurs du pôle.
"""

from __future__ import annotations

from collections import defaultdict

from pipelines.metrics import Metrique, declarations
from pipelines.publish import fmt
from pipelines.publish.analyses.commun import (
    AXE_COLONNES,
    AXE_LIBELLES,
    AXES,
    AXES_FEMININS,
    LIBELLES,
    MAX_INDICATEURS_RESUME,
    POLES,
    Contexte,
    Publie,
    Resume,
    _dedupe,
    _display,
    _e,
    _noter,
    _rubrique,
    _section,
    du_texte,
    est_total,
    indicateurs,
    indicateurs_sql,
    message,
    metrique,
    publier_cellules,
    publier_repartition,
    publier_series,
    somme,
    sources_texte,
    tableau,
    vintages,
)
from pipelines.publish.analyses.graphiques import (
    _barres,
    _chart_data,
    _figure,
    _pivot,
    _signal_encoding,
    annees,
    imprimes_du_magasin,
    titre_annees,
)
from pipelines.publish.comparaison import evolution, evolution_metrique

# ---------------------------------------------------------------- activity pôles

def _poles_sql(ctx: Contexte) -> tuple[str, list[str]]:
    poles = list(POLES[ctx.template])
    return f"AND pole IN ({', '.join('?' * len(poles))})", poles


def _axes() -> dict[str, Metrique]:
    """analysis axis -> the metric of the days on that axis (metriques.toml, `axe`)."""
    return {m.axe: m for m in declarations().values() if m.famille == "activite" and m.axe}


def _pole(ctx: Contexte) -> str | None:
    """The pôle a pôle notebook's figures are about (its first activite.pole value); None elsewhere."""
    return POLES[ctx.template][0] if ctx.template in POLES else None


def activite(ctx: Contexte) -> list[dict]:
    """The days of the notebook's pôles on every axis, from the metrics layer: the items of each axis
    (niveau `detail`) and its total (`categorie_norm` « Total », niveau `total`), never both added."""
    out = []
    for axe, m in _axes().items():
        for pole in POLES[ctx.template]:
            for r in metrique(ctx, m.nom, pole=pole):
                poste = r["niveau"] == "poste"
                label = (r.get("detail") or r.get("adherent")) if poste else "Total"
                out.append({**r, "axe": axe, "categorie": label, "categorie_norm": label, "concept": label,
                            "jours": r["valeur"], "niveau": "detail" if poste else "total",
                            "niveau_metrique": r["niveau"]})
    return out


def _jours_pole(ctx: Contexte) -> list[dict]:
    """The total days of the first of the notebook's pôles the report of `year` gives (metric
    `jours_pole`: one axis, its printed total when it foots), every exercice up to `year`."""
    for pole in POLES[ctx.template]:
        rows = metrique(ctx, "jours_pole", pole=pole)
        if any(r["exercice"] == ctx.year and r.get("detail") is None for r in rows):
            return rows
    return []


def _serie_poste(rows: list[dict], poste: str) -> list[dict]:
    """One item of an axis across the exercices, as a series of its own."""
    return [dict(r, detail=None, niveau="total_imprime") for r in rows
            if r["niveau"] == "detail" and r["categorie_norm"] == poste]


def resume_activite(ctx: Contexte) -> Resume:
    res = Resume()
    pole_rows = _jours_pole(ctx)
    ev = evolution_metrique(pole_rows, ctx.year, formatter=fmt.jours) if pole_rows else None
    if ev is None:
        res.phrases.append(f"Le bilan {ctx.year} ne donne pas de jours d'activité pour {LIBELLES[ctx.template]}.")
        _resume_series(ctx, res)
    else:
        res.phrases.append(
            f"En {ctx.year}, {LIBELLES[ctx.template]} du {ctx.org} a réalisé {ev.courant.texte(fmt.jours)} "
            f"d'activité ({ev.texte()}).")
        _noter(res, ev, Publie("activite", "jours", nom="jours_pole", pole=pole_rows[0].get("pole")))
        total = next(r for r in pole_rows if r["exercice"] == ctx.year and r.get("detail") is None)
        if total["niveau"] == "somme_des_postes" and len(total["_lignes"]) > 1:
            res.phrases.append("Aucun total imprimé ne tombe juste sur ses lignes : le chiffre ci-dessus est la "
                               f"somme des lignes ({total['source']}).")
        data = activite(ctx)
        items = [r for r in data if r["niveau"] == "detail"]
        for axe in [a for a in AXES if any(r["axe"] == a and r["exercice"] == ctx.year for r in items)]:
            now = [r for r in items if r["axe"] == axe and r["exercice"] == ctx.year]
            top = max(now, key=lambda r: r["jours"] or 0)
            ev = evolution_metrique(_serie_poste([r for r in data if r["axe"] == axe], top["categorie_norm"]),
                                    ctx.year, formatter=fmt.jours)
            if ev is None:
                continue
            premier = "Première" if axe in AXES_FEMININS else "Premier"
            res.phrases.append(f"{premier} {AXE_LIBELLES.get(axe, axe)} : {top['categorie_norm']}, "
                               f"{ev.courant.texte(fmt.jours)} ({ev.texte()}).")
            _noter(res, ev, Publie("activite", "jours", nom=top["metrique"], pole=top.get("pole"),
                                   detail=top["categorie_norm"]))
    if ctx.template == "pole_support":
        _resume_support(ctx, res)
    res.constats = _dedupe(res.constats)
    return res


def tickets(ctx: Contexte) -> list[dict]:
    """Tickets per entité (the items of the metric `tickets`) and their total (entite « Total »)."""
    return [dict(r, entite=r["detail"] or "Total", tickets=r["valeur"]) for r in metrique(ctx, "tickets")]


def formations(ctx: Contexte) -> list[dict]:
    """Agents trained and days of training per type (metrics `agents_formes`, `jours_formation`),
    one row per (exercice, type); the total has type « total »."""
    rows: dict[tuple, dict] = {}
    for nom, column in (("agents_formes", "agents"), ("jours_formation", "jours")):
        for r in metrique(ctx, nom):
            kind = r["detail"] or "total"
            row = rows.setdefault((r["exercice"], kind), {**r, "type": kind, "agents": None, "jours": None,
                                                         "_constats": [], "_lignes": []})
            row[column] = r["valeur"]
            row["_constats"] = _dedupe(row["_constats"] + r["_constats"])
            row["_lignes"] = sorted(set(row["_lignes"]) | set(r["_lignes"]))
            row["signale"] = bool(row["_constats"])
    return sorted(rows.values(), key=lambda r: (r["exercice"], r["type"] == "total", r["type"]))


def _resume_support(ctx: Contexte, res: Resume) -> None:
    ev = evolution_metrique(metrique(ctx, "tickets"), ctx.year)
    if ev is not None:
        res.phrases.append(f"Tickets traités en {ctx.year} : {ev.courant.texte()} ({ev.texte()}).")
        _noter(res, ev, Publie("tickets", "tickets", nom="tickets"))
    agents = evolution_metrique(metrique(ctx, "agents_formes"), ctx.year)
    days = evolution_metrique(metrique(ctx, "jours_formation"), ctx.year, formatter=fmt.jours)
    if agents is not None:
        tail = (f", {days.courant.texte(fmt.jours)} de formation ({days.texte()})" if days is not None else "")
        res.phrases.append(f"Formations {ctx.year} : {agents.courant.texte()} agents formés ({agents.texte()}){tail}.")
        _noter(res, agents, Publie("formations", "agents", nom="agents_formes"))
        _noter(res, days, Publie("formations", "jours", nom="jours_formation"))


def graphique_activite(ctx: Contexte, axe: str | tuple[str, ...]) -> None:
    """Stacked days per exercice for one axis (or several, e.g. adhérents = collectivités + OPH)."""
    if ctx.absence:
        return
    axes = (axe,) if isinstance(axe, str) else axe
    label = AXE_LIBELLES.get(axes[0], axes[0])
    _section(f"Jours d'activité par {label}")
    data = [r for r in activite(ctx) if r["axe"] in axes and not est_total(r["categorie_norm"])]
    if not data:
        message(f"Pas de répartition des jours par {label} pour {LIBELLES[ctx.template]} "
                f"dans les bilans du {ctx.org} jusqu'en {ctx.year}.")
        return
    _barres(ctx, data, "categorie_norm", "jours", titre=f"Jours d'activité par {label}",
            cle_titre=AXE_COLONNES.get(axes[0], label[:1].upper() + label[1:]), mesure_titre="Jours",
            formatter=fmt.jours, publie=Publie("activite", "jours"))


def graphique_indicateurs(ctx: Contexte) -> None:
    if ctx.absence:
        return
    ind = indicateurs(ctx)
    if not ind:
        return
    graphique_series(ctx, ind)
    graphique_repartitions(ctx, ind)
    _section("Indicateurs clés")
    years, body = _pivot(ind, "indicateur", "valeur", fmt.nombre)
    publier_cellules(ctx, Publie("indicateurs", "valeur", pole=_pole(ctx), poste_de="concept"), ind, "indicateur",
                     "valeur", "Indicateurs clés")
    tableau(["Indicateur", *map(str, years)], body)
    _display(f"<p><small>{_e(sources_texte(ind, ctx))}</small></p>", sources_texte(ind, ctx))


def graphique_tickets(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Tickets par entité", lambda c: [r for r in tickets(c) if not est_total(r.get("entite"))],
                     "décompte de tickets")
    if not data:
        return
    _barres(ctx, data, "entite", "tickets", titre="Tickets traités par entité",
            cle_titre="Entité", mesure_titre="Tickets", formatter=fmt.nombre, publie=Publie("tickets", "tickets"))


def graphique_formations(ctx: Contexte) -> None:
    """Agents trained and days of training by type, stacked: the printed total is the height of the
    stack, never a bar beside its parts; types under the label the report prints (« métiers »)."""
    data = _rubrique(ctx, "Formations", formations, "tableau des formations")
    if not data:
        return
    imprimes_du_magasin(ctx, data, "formations", "type", "type_imprime", "type_libelle")
    _barres(ctx, data, "type_libelle", "agents", titre="Agents formés par type de formation",
            cle_titre="Type de formation", mesure_titre="Agents formés", formatter=fmt.nombre,
            publie=Publie("formations", "agents", nom="agents_formes"))
    _barres(ctx, data, "type_libelle", "jours", titre="Jours de formation par type",
            cle_titre="Type de formation", mesure_titre="Jours de formation", formatter=fmt.jours,
            publie=Publie("formations", "jours", nom="jours_formation"))


def graphique_autres_axes(ctx: Contexte) -> None:
    """Breakdowns beyond the usual axes (e.g. MCO vs projects) that this org's reports give."""
    if ctx.absence:
        return
    shown = {"type", "domaine", "collectivite", "oph", "application"}
    for axe in sorted({r["axe"] for r in activite(ctx)} - shown, key=str):
        if axe:
            graphique_activite(ctx, axe)


# ---------------------------------------------------------------- the pôle's indicator series

def _series(rows: list[dict]) -> dict[tuple, list[dict]]:
    """Table figures by series (concept, measure, perimeter); prose figures stay in the table."""
    out: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if not du_texte(r) and r.get("valeur") is not None:
            out[(r.get("concept"), r.get("mesure"), r.get("perimetre"))].append(r)
    return out


def _pluriannuelles(rows: list[dict], year: int) -> list[list[dict]]:
    """Series printed for several exercices, `year` included, in the order of the report."""
    kept = [rs for rs in _series(rows).values()
            if len({r["exercice"] for r in rs}) >= 2 and any(r["exercice"] == year for r in rs)]
    return sorted(kept, key=lambda rs: (min(r["line"] for r in rs if r["exercice"] == year), rs[0]["indicateur"]))


def _resume_series(ctx: Contexte, res: Resume) -> None:
    """Without days of activity, the pôle's multi-year figures (a synthesis table) make the summary."""
    cond, params = indicateurs_sql(ctx.con, ctx.template)
    series = _pluriannuelles(vintages(ctx, "indicateurs", f"AND {cond}", params), ctx.year)
    for rs in series[:MAX_INDICATEURS_RESUME]:
        ev = evolution(rs, ctx.year, "valeur")
        if ev is None:
            continue
        unit = f" {rs[0]['unite']}" if rs[0].get("unite") else ""
        label = next(r["indicateur"] for r in rs if r["exercice"] == ctx.year)
        res.phrases.append(f"{label} en {ctx.year} : {ev.courant.texte()}{unit} ({ev.texte()}).")
        _noter(res, ev, Publie("indicateurs", "valeur", pole=_pole(ctx), detail=rs[0].get("concept"),
                               unite=rs[0].get("unite")))
    if len(series) > MAX_INDICATEURS_RESUME:
        n = len(series) - MAX_INDICATEURS_RESUME
        res.phrases.append(f"{n} autre{'s' if n > 1 else ''} série{'s' if n > 1 else ''} "
                           f"pluriannuelle{'s' if n > 1 else ''} : voir le graphique des séries.")


def graphique_series(ctx: Contexte, ind: list[dict]) -> None:
    """One small line chart per multi-year series (own scale each: pages and servers differ by 10⁶)."""
    import altair as alt

    series = _pluriannuelles(ind, ctx.year)
    if not series:
        return
    data = [r for rs in series for r in rs]
    titre = titre_annees("Séries pluriannuelles du rapport", annees(data))
    _section(titre)
    order = [rs[0]["indicateur"] for rs in series]
    chart = alt.Chart(alt.Data(values=_chart_data(data, ("exercice", "indicateur", "valeur")))).mark_line(
        point=True).encode(
        x=alt.X("exercice:Q", title="Exercice", axis=alt.Axis(format="d", tickMinStep=1),
                scale=alt.Scale(zero=False)),
        y=alt.Y("valeur:Q", title=None, axis=alt.Axis(format=",.0f")),
        tooltip=[alt.Tooltip("indicateur:N", title="Indicateur"), alt.Tooltip("exercice:O", title="Exercice"),
                 alt.Tooltip("valeur:Q", title="Valeur", format=",.0f"), alt.Tooltip("source:N", title="Source"),
                 alt.Tooltip("signalement:N", title="Contrôle")],
    ).properties(width=220, height=140).facet(
        facet=alt.Facet("indicateur:N", title=None, sort=order), columns=3,
    ).resolve_scale(y="independent").properties(title=titre)
    years, body = _pivot(data, "indicateur", "valeur", fmt.nombre)
    publier_series(ctx, Publie("indicateurs", "valeur", pole=_pole(ctx), poste_de="concept"), data, "indicateur",
                   "valeur", titre, years)
    _figure(ctx, chart, data, ["Indicateur", *map(str, years)], body)


def _repartitions(ind: list[dict], year: int) -> list[list[dict]]:
    """Tables of the year that break one measure down by item (mises en production by application)."""
    by_table: dict[str, list[dict]] = defaultdict(list)
    multi = {r.get("concept") for rs in _pluriannuelles(ind, year) for r in rs}
    for r in ind:
        if r["exercice"] == year and r.get("table_id") and not du_texte(r) \
                and r.get("concept") not in multi:
            by_table[r["table_id"]].append(r)
    return [rs for rs in by_table.values() if sum(not est_total(r["indicateur"]) for r in rs) >= 3]


def graphique_repartitions(ctx: Contexte, ind: list[dict]) -> None:
    import altair as alt

    for rs in _repartitions(ind, ctx.year):
        caption = ctx.con.execute("SELECT caption FROM tables WHERE table_id = ?", [rs[0]["table_id"]]).fetchone()
        titre = (caption[0] if caption and caption[0] else "Répartition") + f" ({ctx.year})"
        items = [dict(r, item=r["indicateur"].split(" — ")[0]) for r in rs if not est_total(r["indicateur"])]
        _section(titre)
        chart = alt.Chart(alt.Data(values=_chart_data(items, ("item", "valeur")))).mark_bar().encode(
            y=alt.Y("item:N", title=None, sort="-x"),
            x=alt.X("valeur:Q", title="Valeur", axis=alt.Axis(format=",.0f", tickMinStep=1)),
            tooltip=[alt.Tooltip("item:N", title="Libellé"), alt.Tooltip("valeur:Q", title="Valeur"),
                     alt.Tooltip("source:N", title="Source"), alt.Tooltip("signalement:N", title="Contrôle")],
            **_signal_encoding(alt),
        ).properties(title=titre, width=380, height=max(120, 16 * len(items)))
        body = [[r["indicateur"], somme([r], "valeur").texte()] for r in
                sorted(rs, key=lambda r: (est_total(r["indicateur"]), -(r["valeur"] or 0), r["indicateur"]))]
        publier_repartition(ctx, Publie("indicateurs", "valeur", pole=_pole(ctx), poste_de="concept"), rs, titre)
        _figure(ctx, chart, rs, ["Libellé", str(ctx.year)], body)
