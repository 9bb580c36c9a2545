"""Gabarit commun des graphiques : format français, dessin SVG en ligne (vl-convert), tableau des valeurs et sources sous chaque graphique.

In JupyterLab the Vega-Lite spec of the bundle is drawn (interactive); the
HTML export (nbconvert) has no Vega-Lite renderer and takes the SVG, so a page
opened offline or from a mail attachment still shows every chart.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pipelines.publish import dessin, fmt
from pipelines.publish.analyses.commun import (
    AUTRES,
    MAX_CATEGORIES,
    NIVEAUX_FEUILLES,
    PALETTE,
    Contexte,
    Publie,
    _constats_html,
    _constats_plain,
    _dedupe,
    _display,
    _e,
    est_total,
    publier_series,
    somme,
    sources_texte,
    tableau,
)


def chart_bundle(chart) -> dict:
    """Mime bundle: the Vega-Lite spec (JupyterLab draws it, interactive) and the same chart
    drawn as SVG (the HTML export shows it inline, without network nor script).

    No text/html entry: JupyterLab would prefer it to the spec. Source text in
    the SVG is XML-escaped by vl-convert.
    """
    spec = chart.configure(locale={"number": fmt.VEGA_FORMAT_LOCALE, "time": dessin.FR_TIME}).to_dict()
    title = spec.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    bundle = {dessin.JUPYTER_VEGALITE: dessin.pour_jupyter(spec), "text/plain": f"Graphique : {title or ''}"}
    if dessin.actif():
        bundle["image/svg+xml"] = dessin.svg(spec)
    return bundle


def montrer(chart) -> None:
    """Display an Altair chart with French number formats (also for analysts' own charts)."""
    from IPython.display import display

    bundle = chart_bundle(chart)
    alt_text = bundle["text/plain"] + " (valeurs dans le tableau ci-dessous)"
    display(bundle, raw=True, metadata={"alt": alt_text})


def _signal_encoding(alt):
    return dict(stroke=alt.condition("datum.signale", alt.value("#d62728"), alt.value(None)),
                strokeWidth=alt.condition("datum.signale", alt.value(3), alt.value(0)))


def _chart_data(data: list[dict], keep: tuple[str, ...]) -> list[dict]:
    return [{k: r.get(k) for k in (*keep, "source", "signale", "signalement")} for r in data]


# ---------------------------------------------------------------- what a chart may draw

def feuilles(data: list[dict], cle: str, mesure: str) -> list[dict]:
    """The rows a chart stacks: items only (no total, sub-total nor « dont » line stacked on its parts)
    with a value (a null in a Vega-Lite stack blanks its whole bar)."""
    return [r for r in data if r.get(mesure) is not None and r.get("niveau") in NIVEAUX_FEUILLES
            and not est_total(str(r.get(cle) or ""))]


def imprimes(data: list[dict], cle: str, imprime: str, cible: str) -> None:
    """Label each row with the printed label of its key in the most recent report (« métiers », not the
    canonical key « metiers »): rows stay grouped by key across reports that print it differently."""
    latest: dict[Any, tuple[int, str]] = {}
    for r in data:
        label = r.get(imprime) or r.get(cle)
        if label and (r[cle] not in latest or (r.get("report_year") or 0) >= latest[r[cle]][0]):
            latest[r[cle]] = (r.get("report_year") or 0, str(label))
    for r in data:
        r[cible] = latest.get(r[cle], (0, r.get(cle) or "?"))[1]


def imprimes_du_magasin(ctx: Contexte, data: list[dict], table: str, cle: str, imprime: str, cible: str) -> None:
    """`imprimes` when the rows (values of the metrics layer) lost the printed label: read it from the
    curated table, for the reports up to the page's year."""
    labels = dict(ctx.con.execute(
        f'SELECT "{cle}", arg_max("{imprime}", report_year) FROM "{table}" WHERE org = ? AND report_year <= ? '
        f'AND "{imprime}" IS NOT NULL GROUP BY 1', [ctx.org, ctx.year]).fetchall())
    for r in data:
        r[cible] = labels.get(r.get(cle)) or r.get(cle) or "?"


def annees(data: list[dict]) -> list[int]:
    return sorted({int(r["exercice"]) for r in data if r.get("exercice") is not None})


def titre_annees(base: str, years: list[int]) -> str:
    """« base, 2015–2018 », « base, 2018 »: the years of the points drawn, never the years asked for."""
    if not years:
        return base
    span = str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"
    return f"{base}, {span}"


def regrouper(data: list[dict], cle: str, mesure: str, limite: int = MAX_CATEGORIES) -> list[dict]:
    """Beyond `limite` categories, the first `limite` (by their value of the last year drawn, then by
    their total) and one « autres » per exercice: a legend of more colours than a palette has is ambiguous.
    An « autres » row keeps the rows it sums (`_parties`) for its sources and its provenance."""
    totals: dict[str, tuple[float, float]] = {}
    last = max(annees(data), default=None)
    for r in data:
        cur, tot = totals.get(r[cle], (0.0, 0.0))
        totals[r[cle]] = (cur + (r[mesure] if r["exercice"] == last else 0.0), tot + r[mesure])
    if len(totals) <= limite:
        return data
    kept = set(sorted(totals, key=lambda k: (-totals[k][0], -totals[k][1], str(k)))[:limite])
    out = [r for r in data if r[cle] in kept]
    rest: dict[int, list[dict]] = defaultdict(list)
    for r in data:
        if r[cle] not in kept:
            rest[r["exercice"]].append(r)
    for year, rs in sorted(rest.items()):
        flags = _dedupe([f for r in rs for f in r.get("_constats", [])])
        out.append({"exercice": year, cle: AUTRES, mesure: sum(r[mesure] for r in rs), "_parties": rs,
                    "_constats": flags, "signale": bool(flags),
                    "signalement": " ; ".join(f"{f['rule']} : {f['message']}" for f in flags),
                    "source": " ; ".join(dict.fromkeys(r["source"] for r in rs if r.get("source")))})
    return out


def ordre(data: list[dict], cle: str, mesure: str) -> list[str]:
    """Categories by their value in the last year drawn (then total), « autres » last: the legend's order."""
    last = max(annees(data), default=None)
    score: dict[str, tuple[float, float]] = {}
    for r in data:
        cur, tot = score.get(r[cle], (0.0, 0.0))
        score[r[cle]] = (cur + (r[mesure] if r["exercice"] == last else 0.0), tot + r[mesure])
    return sorted(score, key=lambda k: (k == AUTRES, -score[k][0], -score[k][1], str(k)))


def couleurs(alt, domaine: list[str]):
    """One distinct colour per category (at most MAX_CATEGORIES + « autres » = the palette's ten)."""
    return alt.Scale(domain=domaine, range=PALETTE[:max(len(domaine), 1)])


def _pivot(data: list[dict], label: str, value: str, formatter) -> tuple[list[int], list[list[str]]]:
    years = sorted({r["exercice"] for r in data})
    cells: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in data:
        cells[r[label]][r["exercice"]].append(r)
    last = years[-1] if years else None
    order = sorted(cells, key=lambda k: (k == AUTRES, -(somme(cells[k].get(last, []), value).valeur or 0), str(k)))
    body = [[k, *[somme(cells[k][y], value).texte(formatter) if cells[k].get(y) else "—" for y in years]]
            for k in order]
    return years, body


def _figure(ctx: Contexte, chart, data: list[dict], headers: list[str], body: list[list[Any]]) -> None:
    montrer(chart)
    tableau(headers, body)
    flags = _dedupe([f for r in data for f in r.get("_constats", [])])
    note = sources_texte(data, ctx)
    _display(f"<p><small>{_e(note)}</small></p>" + _constats_html(flags, ctx),
             "\n".join([note, _constats_plain(flags, ctx)]).strip())


def _barres(ctx: Contexte, data: list[dict], cle: str, mesure: str, *, titre: str, cle_titre: str,
            mesure_titre: str, formatter, entete: str | None = None, euros: bool = False,
            ligne: bool = False, publie: Publie | None = None) -> None:
    """One measure per exercice, stacked by `cle` (or one line per `cle`), with the figures
    as a table below: the shape of most charts of the analyses.

    `titre` is the subject (« Postes pourvus par filière »): its years are those of the points drawn.
    Only items with a value are drawn (`feuilles`), at most MAX_CATEGORIES and « autres ». Each point
    and each cell of the table is recorded in the page's register when `publie` says what it measures.
    """
    import altair as alt

    # lines are series side by side (one per key), never stacked: a series' own total is what they draw
    drawn = [r for r in data if r.get(mesure) is not None] if ligne else feuilles(data, cle, mesure)
    data = regrouper(drawn, cle, mesure)
    titre = titre_annees(titre, annees(data))
    axe_format = "$,.0f" if euros else ",.0f"
    if ligne:  # a line joins the points of one key: tooltips must aggregate, not split by source
        tooltip = [alt.Tooltip(f"{cle}:N", title=cle_titre), alt.Tooltip("exercice:O", title="Exercice"),
                   alt.Tooltip(f"sum({mesure}):Q", title=mesure_titre, format=axe_format)]
        extra = {}
    else:
        tooltip = [alt.Tooltip(f"{cle}:N", title=cle_titre), alt.Tooltip("exercice:O", title="Exercice"),
                   alt.Tooltip(f"{mesure}:Q", title=mesure_titre, format=axe_format),
                   alt.Tooltip("source:N", title="Source"), alt.Tooltip("signalement:N", title="Contrôle")]
        extra = _signal_encoding(alt)
    domaine = ordre(data, cle, mesure)
    chart = alt.Chart(alt.Data(values=_chart_data(data, ("exercice", cle, mesure))))
    chart = (chart.mark_line(point=True) if ligne else chart.mark_bar()).encode(
        x=alt.X("exercice:O", title="Exercice"),
        y=alt.Y(f"sum({mesure}):Q", title=mesure_titre, axis=alt.Axis(format=axe_format)),
        color=alt.Color(f"{cle}:N", title=cle_titre, sort=domaine, scale=couleurs(alt, domaine)),
        tooltip=tooltip, **extra,
    ).properties(title=titre, width=420, height=280)
    years, body = _pivot(data, cle, mesure, formatter)
    if publie is not None:
        publier_series(ctx, publie, data, cle, mesure, titre, years)
    _figure(ctx, chart, data, [entete or cle_titre, *map(str, years)], body)
