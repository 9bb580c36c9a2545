"""Carnets des pôles (SI, infrastructures, support) : jours d'activité, tickets, formations et séries d'indicateurs du pôle.
"""

from __future__ import annotations

from collections import defaultdict

from pipelines.publish import fmt
from pipelines.publish.analyses.commun import (
    ALERTE,
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
    latest,
    message,
    nom_metrique,
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
    imprimes,
    titre_annees,
)
from pipelines.publish.comparaison import evolution

# ---------------------------------------------------------------- activity pôles

def _poles_sql(ctx: Contexte) -> tuple[str, list[str]]:
    poles = list(POLES[ctx.template])
    return f"AND pole IN ({', '.join('?' * len(poles))})", poles


def _pole(ctx: Contexte) -> str | None:
    """The pôle a pôle notebook's figures are about (its first activite.pole value); None elsewhere."""
    return POLES[ctx.template][0] if ctx.template in POLES else None


def activite(ctx: Contexte) -> list[dict]:
    where, poles = _poles_sql(ctx)
    data = latest(ctx.con, "activite", ctx.org, ctx.year, ("pole", "axe", "concept"), where, poles)
    for r in data:
        r["categorie_norm"] = r.get("categorie_norm") or r.get("categorie")
    return ctx.marquer(data)


def _axe_reference(items: list[dict], year: int) -> str | None:
    axes = {r["axe"] for r in items if r["exercice"] == year}
    ordered = [a for a in AXES if a in axes] + sorted(a for a in axes if a not in AXES and a)
    return ordered[0] if ordered else None


def _totaux_signales(rows: list[dict], year: int, report_year: int | None) -> list[dict]:
    return [r for r in rows if r["exercice"] == year and r.get("report_year") == report_year
            and r.get("niveau") == "total" and r["signale"]]


def resume_activite(ctx: Contexte) -> Resume:
    data = activite(ctx)
    res = Resume()
    items = [r for r in data if r.get("niveau") not in ("total", "sous_total")]
    ref = _axe_reference(items, ctx.year)
    if ref is None:
        res.phrases.append(f"Le bilan {ctx.year} ne donne pas de jours d'activité pour {LIBELLES[ctx.template]}.")
        _resume_series(ctx, res)
    else:
        where, poles = _poles_sql(ctx)
        every = vintages(ctx, "activite", where, poles)
        on_axis = [r for r in every if r["axe"] == ref]
        ev = evolution(on_axis, ctx.year, "jours", formatter=fmt.jours)
        res.phrases.append(
            f"En {ctx.year}, {LIBELLES[ctx.template]} du {ctx.org} a réalisé {ev.courant.texte(fmt.jours)} "
            f"d'activité ({ev.texte()}).")
        _noter(res, ev, Publie("activite", "jours", nom="jours_pole", pole=_pole(ctx)))
        for t in _totaux_signales(on_axis, ctx.year, ev.courant.report_year):
            res.phrases.append(
                f"Le total imprimé « {t['categorie']} » ({fmt.jours(t['jours'])} {ALERTE}, {t['source']}) "
                f"est signalé par les contrôles ; le chiffre ci-dessus est la somme des lignes.")
            res.constats += t["_constats"]
        for axe in [a for a in AXES if any(r["axe"] == a and r["exercice"] == ctx.year for r in items)]:
            now = [r for r in items if r["axe"] == axe and r["exercice"] == ctx.year]
            top = max(now, key=lambda r: r["jours"] or 0)
            serie = [r for r in every if r["axe"] == axe and r.get("concept") == top.get("concept")]
            ev = evolution(serie, ctx.year, "jours", formatter=fmt.jours)
            if ev is None:
                continue
            premier = "Première" if axe in AXES_FEMININS else "Premier"
            res.phrases.append(f"{premier} {AXE_LIBELLES.get(axe, axe)} : {top['categorie_norm']}, "
                               f"{ev.courant.texte(fmt.jours)} ({ev.texte()}).")
            _noter(res, ev, Publie("activite", "jours", nom=nom_metrique("activite", f"axe = '{axe}'"),
                                         pole=_pole(ctx), detail=top["categorie_norm"]))
    if ctx.template == "pole_support":
        _resume_support(ctx, res)
    res.constats = _dedupe(res.constats)
    return res


def tickets(ctx: Contexte) -> list[dict]:
    return ctx.marquer(latest(ctx.con, "tickets", ctx.org, ctx.year, ("concept",)))


def formations(ctx: Contexte) -> list[dict]:
    return ctx.marquer(latest(ctx.con, "formations", ctx.org, ctx.year, ("concept",)))


def _resume_support(ctx: Contexte, res: Resume) -> None:
    ev = evolution(vintages(ctx, "tickets"), ctx.year, "tickets")
    if ev is not None:
        res.phrases.append(f"Tickets traités en {ctx.year} : {ev.courant.texte()} ({ev.texte()}).")
        _noter(res, ev, Publie("tickets", "tickets", nom="tickets"))
    every = vintages(ctx, "formations")
    agents = evolution(every, ctx.year, "agents")
    days = evolution(every, ctx.year, "jours", formatter=fmt.jours)
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
    for r in data:  # one chart may join two axes (collectivités and OPH): each point has its metric
        r["_metrique"] = nom_metrique("activite", f"axe = '{r['axe']}'")
    if not data:
        message(f"Pas de répartition des jours par {label} pour {LIBELLES[ctx.template]} "
                f"dans les bilans du {ctx.org} jusqu'en {ctx.year}.")
        return
    _barres(ctx, data, "categorie_norm", "jours", titre=f"Jours d'activité par {label}",
            cle_titre=AXE_COLONNES.get(axes[0], label[:1].upper() + label[1:]), mesure_titre="Jours",
            formatter=fmt.jours, publie=Publie("activite", "jours", nom_de="_metrique", pole=_pole(ctx)))


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
    imprimes(data, "entite", "entite_imprimee", "entite_libelle")
    _barres(ctx, data, "entite_libelle", "tickets", titre="Tickets traités par entité",
            cle_titre="Entité", mesure_titre="Tickets", formatter=fmt.nombre, publie=Publie("tickets", "tickets", nom="tickets", poste_de="entite"))


def graphique_formations(ctx: Contexte) -> None:
    """Agents trained and days of training by type, stacked: the printed total is the height of the
    stack, never a bar beside its parts."""
    data = _rubrique(ctx, "Formations", formations, "tableau des formations")
    if not data:
        return
    imprimes(data, "type", "type_imprime", "type_libelle")
    _barres(ctx, data, "type_libelle", "agents", titre="Agents formés par type de formation",
            cle_titre="Type de formation", mesure_titre="Agents formés", formatter=fmt.nombre,
            publie=Publie("formations", "agents", nom="agents_formes", poste_de="type"))
    _barres(ctx, data, "type_libelle", "jours", titre="Jours de formation par type",
            cle_titre="Type de formation", mesure_titre="Jours de formation", formatter=fmt.jours,
            publie=Publie("formations", "jours", nom="jours_formation", poste_de="type"))


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
