"""Carnet des ressources humaines : effectifs et indicateurs du personnel.
"""

from __future__ import annotations

import datetime as dt

from pipelines.publish import fmt
from pipelines.publish.analyses.commun import (
    MAX_INDICATEURS_RESUME,
    NIVEAUX_FEUILLES,
    Contexte,
    Publie,
    Resume,
    _by_exercice,
    _dedupe,
    _domaine_sql,
    _noter,
    _previous,
    _rubrique,
    du_texte,
    est_total,
    indicateurs,
    latest,
    vintages,
)
from pipelines.publish.analyses.graphiques import _barres
from pipelines.publish.comparaison import Chiffre, compare, evolution

# ---------------------------------------------------------------- ressources humaines

# The declared metric (metriques.toml) of each staff column the page shows.
METRIQUES_RH = {"emplois": "emplois_budgetaires", "pourvus": "postes_pourvus"}


def effectifs(ctx: Contexte) -> list[dict]:
    """Staff by grade: items only (no total, sub-total nor « dont » line: « (*) dont 2 ingénieurs à 80 % » is
    already counted in its grade)."""
    data = latest(ctx.con, "effectifs", ctx.org, ctx.year, ("date", "filiere", "categorie", "grade"))
    return ctx.marquer([r for r in data if not est_total(r.get("grade")) and not est_total(r.get("filiere"))
                        and r.get("niveau") in NIVEAUX_FEUILLES])


def _date_fr(iso: str | None) -> str:
    return dt.date.fromisoformat(iso[:10]).strftime("%d/%m/%Y") if iso else "date non précisée"


def _effectif(rows: list[dict], column: str) -> Chiffre | None:
    """Staff at the last date of an exercice: the sum over grades (a nomenclature of posts)."""
    last = max((r["date"] or "" for r in rows), default="") or None
    at = [r for r in rows if (r["date"] or None) == last and r.get(column) is not None]
    if not at:
        return None
    return Chiffre(sum(r[column] for r in at), [f for r in at for f in r.get("_constats", [])],
                   exercice=at[0]["exercice"], report_year=at[0].get("report_year"), cle=(column, ""),
                   composition={str(r.get("concept")): r[column] for r in at}, imprime=False,
                   lignes=[(r.get("document_id"), r.get("line")) for r in at])


def resume_rh(ctx: Contexte) -> Resume:
    res = Resume()
    eff = effectifs(ctx)
    if any(r["exercice"] == ctx.year for r in eff):
        by = _by_exercice(eff)
        prev_year = _previous(sorted(by), ctx.year)
        date = max((r["date"] or "" for r in by[ctx.year]), default="") or None
        parts = []
        for column, what in (("emplois", "emplois budgétaires"), ("pourvus", "pourvus")):
            cur = _effectif(by[ctx.year], column)
            if cur is None:
                continue
            ev = compare(cur, _effectif(by[prev_year], column) if prev_year else None)
            parts.append(f"{cur.texte()} {what} ({ev.texte()})")
            _noter(res, ev, Publie("effectifs", column, nom=METRIQUES_RH[column]))
        if parts:
            res.phrases.append(f"Au {_date_fr(date)} : {', '.join(parts)}.")
    cond, pats = _domaine_sql(ctx.template)
    every = vintages(ctx, "indicateurs", f"AND {cond}", pats)
    # key figures of tables only: prose figures stay in the table below the summary
    for r in [r for r in indicateurs(ctx) if r["exercice"] == ctx.year and not du_texte(r)][
            :MAX_INDICATEURS_RESUME]:
        serie = [x for x in every if x.get("concept") == r.get("concept") and x.get("perimetre") == r.get("perimetre")
                 and not du_texte(x)]
        ev = evolution(serie, ctx.year, "valeur")
        if ev is None:
            continue
        unit = f" {r['unite']}" if r.get("unite") else ""
        res.phrases.append(f"{r['indicateur']} : {ev.courant.texte()}{unit} ({ev.texte()}).")
        _noter(res, ev, Publie("indicateurs", "valeur", detail=r.get("concept"), unite=r.get("unite")))
    if not res.phrases:
        res.phrases.append(f"Le bilan {ctx.year} ne donne pas d'effectifs pour l'exercice {ctx.year}.")
    res.constats = _dedupe(res.constats)
    return res


def graphique_effectifs(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Effectifs", effectifs, "tableau des effectifs")
    if not data:
        return
    for r in data:
        r["filiere"] = r.get("filiere") or "non précisée"
    _barres(ctx, data, "filiere", "pourvus", titre="Postes pourvus par filière",
            cle_titre="Filière", entete="Filière (postes pourvus)", mesure_titre="Postes pourvus",
            formatter=fmt.nombre, publie=Publie("effectifs", "pourvus", nom=METRIQUES_RH["pourvus"]))
