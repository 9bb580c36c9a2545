"""Carnet de la qualité des données : constats des contrôles par règle et par tableau.
"""

from __future__ import annotations

from collections import defaultdict

from pipelines.publish import fmt
from pipelines.publish.analyses.commun import GRAVITES, Contexte, Resume, _section, rows, tableau
from pipelines.publish.analyses.graphiques import montrer

# ---------------------------------------------------------------- qualité

def constats_document(ctx: Contexte, year: int | None = None) -> list[dict]:
    year = ctx.year if year is None else year
    # publication.* findings are about a page of the workbench (no document): by the page's org and year
    return rows(ctx.con, """
        SELECT f.* FROM findings f LEFT JOIN documents d USING (document_id)
        WHERE coalesce(d.org, f.org) = ? AND coalesce(d.report_year, f.report_year) = ?
          AND (d.document_id IS NOT NULL OR f.document_id IS NULL)
        ORDER BY CASE f.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, f.line, f.rule, f.message""",
                [ctx.org, year])


def _compte(n: int, singulier: str, pluriel: str) -> str:
    return f"{fmt.nombre(n)} {singulier if n <= 1 else pluriel}"


def resume_qualite(ctx: Contexte) -> Resume:
    res = Resume()
    found = constats_document(ctx)
    counts = {s: sum(1 for f in found if f["severity"] == s) for s in GRAVITES}
    prev_years = [d["report_year"] for d in ctx.documents.values() if d["report_year"] < ctx.year]
    prev_txt = ""
    if prev_years:
        py = max(prev_years)
        prev_txt = f" (bilan {py} : {_compte(len(constats_document(ctx, py)), 'constat', 'constats')})"
    if ctx.registre is not None:  # the workbench's own counts: figures of no report, traced to no line
        for gravite, n in (("toutes", len(found)), *counts.items()):
            ctx.registre.noter("L'essentiel, phrase 0", "titre", float(n), metrique=f"constats.{gravite}",
                               org=ctx.org, exercice=ctx.year, unite="constats")
    res.phrases.append(
        f"Le bilan {ctx.year} du {ctx.org} compte {_compte(len(found), 'constat', 'constats')} : "
        f"{_compte(counts['error'], 'erreur', 'erreurs')}, "
        f"{_compte(counts['warning'], 'avertissement', 'avertissements')}, "
        f"{_compte(counts['info'], 'information', 'informations')}{prev_txt}.")
    if not found:
        res.phrases.append("Les contrôles n'ont rien relevé sur ce bilan.")
        return res
    by_rule = defaultdict(int)
    for f in found:
        by_rule[f["rule"]] += 1
    ranked = sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    res.phrases.append("Règles en défaut : " + ", ".join(f"{r} ({fmt.nombre(n)})" for r, n in ranked) + ".")
    worst = pires_tableaux(found)[:1]
    if worst:
        res.phrases.append(f"Tableau le plus touché : « {worst[0]['tableau']} » "
                           f"({_compte(worst[0]['constats'], 'constat', 'constats')}, "
                           f"dont {_compte(worst[0]['erreurs'], 'erreur', 'erreurs')}).")
    return res


def pires_tableaux(found: list[dict]) -> list[dict]:
    agg: dict[str, dict] = {}
    for f in found:
        name = f.get("table") or "(hors tableau)"
        a = agg.setdefault(name, {"tableau": name, "constats": 0, "erreurs": 0, "premiere_ligne": f["line"]})
        a["constats"] += 1
        a["erreurs"] += f["severity"] == "error"
        a["premiere_ligne"] = min(a["premiere_ligne"] or 0, f["line"] or 0)
    return sorted(agg.values(), key=lambda a: (-a["erreurs"], -a["constats"], a["tableau"]))


def graphique_qualite(ctx: Contexte) -> None:
    if ctx.absence:
        return
    import altair as alt

    found = constats_document(ctx)
    if not found:
        return
    _section("Constats par règle")
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for f in found:
        counts[(f["rule"], GRAVITES.get(f["severity"], f["severity"]))] += 1
    values = [{"regle": r, "gravite": g, "constats": n} for (r, g), n in counts.items()]
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        y=alt.Y("regle:N", title="Règle", sort="-x"),
        x=alt.X("sum(constats):Q", title="Constats", axis=alt.Axis(format=",.0f", tickMinStep=1)),
        color=alt.Color("gravite:N", title="Gravité",
                        scale=alt.Scale(domain=["erreur", "avertissement", "information"],
                                        range=["#d62728", "#ff7f0e", "#1f77b4"])),
        tooltip=[alt.Tooltip("regle:N", title="Règle"), alt.Tooltip("gravite:N", title="Gravité"),
                 alt.Tooltip("constats:Q", title="Constats")],
    ).properties(title=f"Constats du bilan {ctx.year} par règle", width=420)
    montrer(chart)
    tableau(["Règle", "Gravité", "Constats"], [[v["regle"], v["gravite"], v["constats"]] for v in
                                                sorted(values, key=lambda v: -v["constats"])])
    _section("Tableaux les plus touchés")
    tableau(["Tableau", "Constats", "Erreurs", "Première ligne"],
            [[t["tableau"], t["constats"], t["erreurs"], t["premiere_ligne"]] for t in pires_tableaux(found)[:10]])


def liste_constats(ctx: Contexte) -> None:
    if ctx.absence:
        return
    found = constats_document(ctx)
    if not found:
        return
    _section("Liste des constats")
    tableau(["Ligne", "Gravité", "Règle", "Section", "Tableau", "Constat", "Trouvé", "Attendu", "Suggestion",
             "Ligne source"],
            [[f["line"], GRAVITES.get(f["severity"], f["severity"]), f["rule"], f.get("section"), f.get("table"),
              f["message"], f.get("found"), f.get("expected"), f.get("suggestion"), f.get("source_line")]
             for f in found])
