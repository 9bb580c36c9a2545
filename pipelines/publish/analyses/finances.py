"""Carnet des finances : budget par chapitre et contributions des adhérents.
"""

from __future__ import annotations

from pipelines.metrics import Metrique, declarations, usage
from pipelines.publish import fmt
from pipelines.publish.analyses.commun import (
    Contexte,
    Publie,
    Resume,
    _dedupe,
    _noter,
    _rubrique,
    _section,
    du_texte,
    message,
    metrique,
    publier_cellules,
    somme,
)
from pipelines.publish.analyses.graphiques import _barres, _figure, _signal_encoding
from pipelines.publish.comparaison import MESURES, evolution_metrique

# the measures of the budget a page shows as « réalisé », in order of preference for the year
REALISES = ("realise", "realise_reports")

# ---------------------------------------------------------------- finances


def budget() -> dict[str, dict[str, Metrique]]:
    """rubrique (« Investissement — dépenses ») -> measure code -> metric, in the declarations' order."""
    out: dict[str, dict[str, Metrique]] = {}
    for m in declarations().values():
        if m.famille == "finances" and m.rubrique:
            out.setdefault(m.rubrique, {})[m.cle_mesure] = m
    return out


def _realise_de_l_annee(ctx: Contexte, mesures: dict[str, Metrique]) -> tuple[Metrique, list[dict]] | None:
    """The measure of réalisé the report gives for `year` (réalisé, else réalisé + reports), its rows."""
    for code in REALISES:
        if code in mesures:
            rows = metrique(ctx, mesures[code].nom)
            if any(r["exercice"] == ctx.year for r in rows):
                return mesures[code], rows
    return None


def historique_budget(ctx: Contexte) -> list[dict]:
    """The total of each rubrique and measure of réalisé per exercice: one value per (rubrique,
    measure, exercice), never a sum over two reports nor over two measures."""
    out = []
    for rubrique, mesures in budget().items():
        for code in REALISES:
            if code in mesures:
                m = mesures[code]
                for r in metrique(ctx, m.nom, detail=None):
                    out.append({**r, "bloc": f"{rubrique} ({m.mesure})", "realise": r["valeur"]})
    return out


def contributions(ctx: Contexte, nom: str = "contribution_totale") -> list[dict]:
    """One figure per adhérent and exercice in one measure (contribution totale, cotisation …)."""
    m = declarations()[nom]
    return [dict(r, montant=r["valeur"], mesure=m.mesure) for r in metrique(ctx, m.nom)
            if r["niveau"] == "poste" and r.get("adherent")]


def resume_finances(ctx: Contexte) -> Resume:
    res = Resume()
    for rubrique, mesures in budget().items():
        found = _realise_de_l_annee(ctx, mesures)
        if found is None:
            continue
        m, rows = found
        ev = evolution_metrique([r for r in rows if r.get("detail") is None or r["niveau"] == "poste"], ctx.year,
                                formatter=fmt.euros, nomenclature=False)
        if ev is None:
            continue
        section, _, sens = rubrique.partition(" — ")
        taux_txt = ""
        if m.cle_mesure == "realise" and "prevu" in mesures:
            prevu = metrique(ctx, mesures["prevu"].nom, exercice=ctx.year, detail=None)
            taux = fmt.variation(ev.courant.valeur, prevu[0]["valeur"]) if prevu else None
            taux_txt = f", taux de réalisation {fmt.pourcent(taux + 100)}" if taux is not None else ""
            res.constats += [f for r in prevu for f in r["_constats"]]
        quoi = "réalisées" if m.cle_mesure == "realise" else f"réalisées ({m.mesure})"
        res.phrases.append(
            f"{sens.capitalize()} {_de(section)} {quoi} en {ctx.year} : "
            f"{ev.courant.texte(fmt.euros)} ({ev.texte()}){taux_txt}.")
        _noter(res, ev, Publie("finances", m.cle_mesure, nom=m.nom))
    _resume_contributions(ctx, res)
    if not res.phrases:
        res.phrases.append(f"Le bilan {ctx.year} ne donne ni budget ni contributions pour l'exercice {ctx.year}.")
    res.constats = _dedupe(res.constats)
    return res


def _de(section: str) -> str:
    return f"d'{section.lower()}" if section[:1].lower() in "aeiouy" else f"de {section.lower()}"


def _resume_contributions(ctx: Contexte, res: Resume) -> None:
    for nom in usage("contributions"):
        m = declarations()[nom]
        rows = metrique(ctx, nom)
        ev = evolution_metrique(rows, ctx.year, formatter=fmt.euros, regroupe=lambda a: lignee(ctx.org, a))
        if ev is not None:
            break
    else:
        return
    cur = ev.courant
    n = len(cur.composition)
    texte = [r for r in rows if r["exercice"] == ctx.year and r["niveau"] == "poste"
             and any(du_texte_ligne(ctx, d, line) for d, line in r["_lignes"])]
    cite = f", dont {len(texte)} cités dans le texte" if texte else ""
    phrase = (f"Contributions des adhérents en {ctx.year} ({MESURES.get(m.cle_mesure, m.mesure)}, {n} adhérents{cite}) : "
              f"{cur.texte(fmt.euros)} ({ev.texte()})")
    if cur.composition and cur.valeur:
        top = max(sorted(cur.composition), key=lambda c: cur.composition[c])
        share = cur.composition[top] / cur.valeur * 100
        phrase += (f" ; premier contributeur : {top} ({fmt.euros(cur.composition[top])}, "
                   f"{fmt.pourcent(share)} du total)")
    res.phrases.append(phrase + ".")
    _noter(res, ev, Publie("contributions", "montant", nom=m.nom))


def lignee(org: str, adherent: str) -> str:
    """The line an adhérent continues as (OPALY -> VALDEVY, data/referentiels/adherents.csv)."""
    from pipelines.curate.referentiels import load

    return load().lignee(org, adherent)


def du_texte_ligne(ctx: Contexte, document_id: str, line: int) -> bool:
    """Whether the figure on this line was read in the prose (a bullet), not in a table."""
    found = ctx.con.execute("SELECT 1 FROM contributions WHERE document_id = ? AND line = ? AND source = 'texte' "
                            "LIMIT 1", [document_id, line]).fetchone()
    return found is not None and du_texte({"source": "texte"})


def graphique_budget(ctx: Contexte) -> None:
    """Chapters prévu vs réalisé for the year, by section and sens."""
    if ctx.absence:
        return
    import altair as alt

    _section(f"Budget {ctx.year} : prévu et réalisé par chapitre")
    data = chapitres(ctx)
    if not data:
        message(f"Pas de tableau budgétaire pour l'exercice {ctx.year} dans les bilans du {ctx.org}.")
        return
    long = []
    for r in data:
        for mesure, col in (("Prévu", "prevu"), (r["mesure_realise"].capitalize(), "realise")):
            if r.get(col) is not None:
                long.append({**{k: r[k] for k in ("bloc", "chapitre_libelle", "source", "signale", "signalement")},
                             "mesure": mesure, "montant": r[col]})
    chart = alt.Chart(alt.Data(values=long)).mark_bar().encode(
        y=alt.Y("chapitre_libelle:N", title="Chapitre"),
        yOffset=alt.YOffset("mesure:N"),
        x=alt.X("montant:Q", title="Montant", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("mesure:N", title=""),
        row=alt.Row("bloc:N", title=None),
        tooltip=[alt.Tooltip("chapitre_libelle:N", title="Chapitre"), alt.Tooltip("mesure:N", title="Mesure"),
                 alt.Tooltip("montant:Q", title="Montant", format="$,.0f"), alt.Tooltip("source:N", title="Source"),
                 alt.Tooltip("signalement:N", title="Contrôle")],
        **_signal_encoding(alt),
    ).properties(title=f"Chapitres budgétaires {ctx.year}, prévu et réalisé", width=380) \
        .resolve_scale(y="independent")
    body = []
    for r in data:
        taux = fmt.variation(r.get("realise"), r.get("prevu")) if r["mesure_realise"] == "réalisé" else None
        body.append([r["bloc"], r["chapitre_libelle"], somme([r], "prevu").texte(fmt.euros),
                     somme([r], "realise").texte(fmt.euros), r["mesure_realise"],
                     fmt.pourcent(taux + 100 if taux is not None else None)])
    publier_chapitres(ctx, data, f"Chapitres budgétaires {ctx.year}, prévu et réalisé (tableau)")
    _figure(ctx, chart, data, ["Bloc", "Chapitre", "Prévu", "Réalisé", "Mesure du réalisé", "Taux de réalisation"],
            body)


def publier_chapitres(ctx: Contexte, data: list[dict], element: str) -> None:
    """Record the prévu and réalisé cells of the chapters, each under its budget metric."""
    for col in ("prevu", "realise"):
        rows = []
        for r in data:
            mesures = budget()[r["bloc"]]
            m = mesures.get("prevu") if col == "prevu" else next(
                (x for x in mesures.values() if x.mesure == r["mesure_realise"]), None)
            if r.get(col) is not None and m is not None:
                rows.append({**r, "_metrique": m.nom, "detail": r["chapitre_libelle"], "adherent": None})
        publier_cellules(ctx, Publie("finances", col, nom_de="_metrique"), rows, "chapitre_libelle", col, element)


def chapitres(ctx: Contexte) -> list[dict]:
    """The chapters of the year (the items of the budget metrics), prévu beside the réalisé of the
    measure the report gives; a sub-article (1641 under 16) is never a chapter of its own."""
    out = []
    for rubrique, mesures in budget().items():
        found = _realise_de_l_annee(ctx, mesures)
        prevus = {r["detail"]: r for r in metrique(ctx, mesures["prevu"].nom, exercice=ctx.year)
                  if r["niveau"] == "poste"} if "prevu" in mesures else {}
        realises = {r["detail"]: r for r in (found[1] if found else [])
                    if r["exercice"] == ctx.year and r["niveau"] == "poste"}
        for chapitre in sorted(set(prevus) | set(realises), key=lambda c: (realises.get(c) or prevus[c])["line"]):
            r, p = realises.get(chapitre), prevus.get(chapitre)
            base = r or p
            out.append({**base, "bloc": rubrique, "chapitre_libelle": chapitre,
                        "chapitre": chapitre.split(" ")[0], "mesure_realise": found[0].mesure if found else "réalisé",
                        "prevu": p["valeur"] if p else None, "realise": r["valeur"] if r else None,
                        "_constats": _dedupe([*(r or {}).get("_constats", []), *(p or {}).get("_constats", [])]),
                        "_lignes": [*(r or {}).get("_lignes", []), *(p or {}).get("_lignes", [])]})
    return out


def graphique_budget_historique(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Réalisé par exercice", historique_budget, "tableau budgétaire")
    if not data:
        return
    _barres(ctx, data, "bloc", "realise", titre="Réalisé par section et sens",
            cle_titre="Section, sens et mesure", entete="Bloc (mesure)", mesure_titre="Réalisé",
            formatter=fmt.euros, euros=True, ligne=True, publie=Publie("finances", "realise"))


def graphique_contributions(ctx: Contexte) -> None:
    """One chart per measure (contribution totale, cotisation …): never one measure stacked on another."""
    if ctx.absence:
        return
    shown = False
    for nom in usage("contributions"):
        data = contributions(ctx, nom)
        if not data:
            continue
        mesure = data[0]["mesure"]
        _section(f"Contributions par adhérent : {mesure}")
        _barres(ctx, data, "adherent", "montant", titre=f"{mesure.capitalize()} par adhérent",
                cle_titre="Adhérent", mesure_titre=mesure.capitalize(), formatter=fmt.euros, euros=True,
                publie=Publie("contributions", "montant"))
        shown = True
    if not shown:
        _section("Contributions par adhérent")
        message(f"Pas de tableau des contributions des adhérents dans les bilans du {ctx.org} jusqu'en {ctx.year}.")
