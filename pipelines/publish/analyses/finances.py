"""Carnet des finances : budget par chapitre et contributions des adhérents.
"""

from __future__ import annotations

from collections import defaultdict

from pipelines.publish import fmt
from pipelines.publish.analyses.commun import (
    SECTIONS,
    SENS,
    Contexte,
    Publie,
    Resume,
    _dedupe,
    _noter,
    _rubrique,
    _section,
    declaration,
    du_texte,
    est_total,
    latest,
    message,
    publier_cellules,
    somme,
    vintages,
)
from pipelines.publish.analyses.graphiques import _barres, _figure, _signal_encoding
from pipelines.publish.comparaison import MESURES, evolution

# ---------------------------------------------------------------- finances

# The declared metric (metriques.toml) of a contribution by its measure.
METRIQUES_CONTRIBUTIONS = {"total": "contribution_totale", "cotisation": "cotisation"}


def _nom_budget(sens: str | None, section: str | None, mesure: str | None) -> str | None:
    """The declared budget metric of (sens, section, measure), e.g. depenses_investissement_realise."""
    nom = f"{sens}_{section}_{mesure}"
    return nom if declaration(nom) is not None else None


def finances(ctx: Contexte) -> list[dict]:
    data = latest(ctx.con, "finances", ctx.org, ctx.year, ("perimetre", "concept", "mesure", "niveau"))
    for r in data:
        r["bloc"] = f"{(r.get('section') or '').capitalize()} — {SENS.get(r.get('sens'), r.get('sens'))}"
        r["chapitre_libelle"] = " ".join(x for x in (r.get("chapitre"), r.get("libelle")) if x)
    return ctx.marquer([r for r in data if not est_total(r.get("libelle")) and r.get("chapitre")])


def contributions(ctx: Contexte) -> list[dict]:
    """One figure per adhérent and exercice: the printed 'total' category, else the cotisation, else
    the sum of the categories; projections (« vote 2023 ») are left out."""
    data = ctx.marquer(latest(ctx.con, "contributions", ctx.org, ctx.year, ("concept", "mesure", "perimetre")))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in data:
        if r.get("niveau") == "detail" and r.get("mesure") != "cotisation_votee":
            groups[(r["exercice"], r["adherent"])].append(r)
    out = []
    for (ex, adh), rs in sorted(groups.items()):
        base = [r for r in rs if r.get("mesure") == "total"] or [r for r in rs if r.get("mesure") == "cotisation"] or rs
        fig = somme(base, "montant")
        out.append({"exercice": ex, "adherent": adh, "montant": fig.valeur, "_constats": fig.constats,
                    "signale": bool(fig.constats), "mesure": base[0].get("mesure"),
                    "signalement": " ; ".join(f"{f['rule']} : {f['message']}" for f in fig.constats),
                    "source": " ; ".join(r["source"] for r in base) + (
                        " (cité dans le texte)" if any(du_texte(r) for r in base) else ""),
                    "document_id": base[0]["document_id"], "line": base[0]["line"]})
    return out


def resume_finances(ctx: Contexte) -> Resume:
    res = Resume()
    every = [r for r in vintages(ctx, "finances") if r.get("niveau") == "detail" and r.get("chapitre")]
    blocs = sorted({(r["section"], r["sens"]) for r in every if r["exercice"] == ctx.year and r.get("realise") is not None},
                   key=lambda b: (b[0] != "fonctionnement", b[1] != "depenses", str(b)))
    for section, sens in blocs:
        bloc = [r for r in every if r["section"] == section and r["sens"] == sens]
        ev = evolution(bloc, ctx.year, "realise", formatter=fmt.euros, nomenclature=False,
                       mesures=("realise", "realise_reports"))
        if ev is None:
            continue
        mesure = ev.courant.cle[0] if ev.courant.cle else "realise"
        cur_rows = [r for r in bloc if r["exercice"] == ctx.year and r.get("report_year") == ev.courant.report_year
                    and r.get("mesure") == mesure]
        prevu = somme(cur_rows, "prevu")
        taux = fmt.variation(ev.courant.valeur, prevu.valeur) if mesure == "realise" else None
        taux_txt = f", taux de réalisation {fmt.pourcent(taux + 100)}" if taux is not None else ""
        quoi = "réalisées" if mesure == "realise" else f"réalisées ({MESURES.get(mesure, mesure)})"
        res.phrases.append(
            f"{SENS.get(sens, sens).capitalize()} {SECTIONS.get(section, f'de {section}')} {quoi} en {ctx.year} : "
            f"{ev.courant.texte(fmt.euros)} ({ev.texte()}){taux_txt}.")
        _noter(res, ev, Publie("finances", mesure, nom=_nom_budget(sens, section, mesure)))
        res.constats += prevu.constats
    _resume_contributions(ctx, res)
    if not res.phrases:
        res.phrases.append(f"Le bilan {ctx.year} ne donne ni budget ni contributions pour l'exercice {ctx.year}.")
    res.constats = _dedupe(res.constats)
    return res


def _resume_contributions(ctx: Contexte, res: Resume) -> None:
    every = [r for r in vintages(ctx, "contributions")
             if r.get("mesure") != "cotisation_votee" and r.get("niveau") in ("detail", "total")]
    for r in every:  # a successor's line (OPALY -> VALDEVY) is the same member across a renaming
        r["concept"] = r.get("lignee") or r.get("adherent")
        r["libelle"] = r["concept"]
    ev = evolution(every, ctx.year, "montant", formatter=fmt.euros, mesures=("total", "cotisation"))
    if ev is None:
        return
    cur = ev.courant
    mesure = MESURES.get(cur.cle[0], cur.cle[0]) if cur.cle else "contributions"
    n = len(cur.composition)
    texte = [r for r in every if r["exercice"] == ctx.year and du_texte(r)
             and r.get("report_year") == cur.report_year]
    cite = f", dont {len(texte)} cités dans le texte" if texte else ""
    phrase = (f"Contributions des adhérents en {ctx.year} ({mesure}, {n} adhérents{cite}) : "
              f"{cur.texte(fmt.euros)} ({ev.texte()})")
    if cur.composition and cur.valeur:
        top = max(sorted(cur.composition), key=lambda c: cur.composition[c])
        share = cur.composition[top] / cur.valeur * 100
        phrase += (f" ; premier contributeur : {top} ({fmt.euros(cur.composition[top])}, "
                   f"{fmt.pourcent(share)} du total)")
    res.phrases.append(phrase + ".")
    _noter(res, ev, Publie("contributions", "montant", nom=METRIQUES_CONTRIBUTIONS.get(cur.cle[0] if cur.cle else "")))


def graphique_budget(ctx: Contexte) -> None:
    """Chapters prévu vs réalisé for the year, by section and sens."""
    if ctx.absence:
        return
    import altair as alt

    _section(f"Budget {ctx.year} : prévu et réalisé par chapitre")
    data = [r for r in finances(ctx) if r["exercice"] == ctx.year]
    if not data:
        message(f"Pas de tableau budgétaire pour l'exercice {ctx.year} dans les bilans du {ctx.org}.")
        return
    long = []
    for r in data:
        for mesure, col in (("Prévu", "prevu"), ("Réalisé", "realise")):
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
    for r in sorted(data, key=lambda r: (r["bloc"], r["chapitre"] or "")):
        taux = fmt.variation(r.get("realise"), r.get("prevu"))
        body.append([r["bloc"], r["chapitre_libelle"], somme([r], "prevu").texte(fmt.euros),
                     somme([r], "realise").texte(fmt.euros), fmt.pourcent(taux + 100 if taux is not None else None)])
    for col in ("prevu", "realise"):
        rows_ = [dict(r, _metrique=_nom_budget(r["sens"], r["section"], r.get("mesure") if col == "realise" else col))
                 for r in data if r.get(col) is not None]
        publier_cellules(ctx, Publie("finances", col, nom_de="_metrique", poste_de="chapitre_libelle"),
                         rows_, "chapitre_libelle", col,
                         f"Chapitres budgétaires {ctx.year}, prévu et réalisé (tableau)")
    _figure(ctx, chart, data, ["Bloc", "Chapitre", "Prévu", "Réalisé", "Taux de réalisation"], body)


def graphique_budget_historique(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Réalisé par exercice", finances, "tableau budgétaire")
    if not data:
        return
    for r in data:
        r["_metrique"] = _nom_budget(r["sens"], r["section"], r.get("mesure"))
    _barres(ctx, data, "bloc", "realise", titre="Réalisé par section et sens",
            cle_titre="Section et sens", entete="Bloc", mesure_titre="Réalisé", formatter=fmt.euros,
            euros=True, ligne=True, publie=Publie("finances", "realise", nom_de="_metrique", sans_poste=True))


def graphique_contributions(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Contributions par adhérent", contributions, "tableau des contributions des adhérents")
    if not data:
        return
    for r in data:
        r["_metrique"] = METRIQUES_CONTRIBUTIONS.get(r.get("mesure"))
    _barres(ctx, data, "adherent", "montant", titre="Contributions des adhérents",
            cle_titre="Adhérent", mesure_titre="Contributions", formatter=fmt.euros, euros=True,
            publie=Publie("contributions", "montant", nom_de="_metrique", par_adherent=True))
