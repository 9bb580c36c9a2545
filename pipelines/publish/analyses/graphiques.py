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
    Contexte,
    _constats_html,
    _constats_plain,
    _dedupe,
    _display,
    _e,
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


def _pivot(data: list[dict], label: str, value: str, formatter) -> tuple[list[int], list[list[str]]]:
    years = sorted({r["exercice"] for r in data})
    cells: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in data:
        cells[r[label]][r["exercice"]].append(r)
    last = years[-1] if years else None
    order = sorted(cells, key=lambda k: (-(somme(cells[k].get(last, []), value).valeur or 0), str(k)))
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
            ligne: bool = False) -> None:
    """One measure per exercice, stacked by `cle` (or one line per `cle`), with the figures
    as a table below: the shape of most charts of the analyses."""
    import altair as alt

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
    chart = alt.Chart(alt.Data(values=_chart_data(data, ("exercice", cle, mesure))))
    chart = (chart.mark_line(point=True) if ligne else chart.mark_bar()).encode(
        x=alt.X("exercice:O", title="Exercice"),
        y=alt.Y(f"sum({mesure}):Q", title=mesure_titre, axis=alt.Axis(format=axe_format)),
        color=alt.Color(f"{cle}:N", title=cle_titre, sort="-y"),
        tooltip=tooltip, **extra,
    ).properties(title=titre, width=420, height=280)
    years, body = _pivot(data, cle, mesure, formatter)
    _figure(ctx, chart, data, [entete or cle_titre, *map(str, years)], body)

