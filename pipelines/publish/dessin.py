"""Dessin des graphiques en SVG, sans réseau : vl-convert (Vega et Vega-Lite compilés dans
une bibliothèque native) transforme une spécification Vega-Lite en SVG.

Used by the analysis notebooks (pipelines/publish/analyses/graphiques.py: each chart's output carries
its SVG beside the interactive spec, which the page's HTML shows offline) and by the analyses index (runs.a_la_une: the
thumbnail of a page's first chart). The briefing does not use it: its export draws its two
charts as hand-written SVG (briefing_export.svg_history, svg_comparison). vl-convert is told
to load nothing (`allowed_base_urls=[]`): the specs carry their data inline.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache

from pipelines.publish import fmt
from pipelines.terminal import strip_controls

FR_TIME = {
    "dateTime": "%A %e %B %Y à %X", "date": "%d/%m/%Y", "time": "%H:%M:%S", "periods": ["AM", "PM"],
    "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
    "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
    "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
               "octobre", "novembre", "décembre"],
    "shortMonths": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                    "nov.", "déc."],
}
# JupyterLab 4 and Voilà draw Vega-Lite 3 to 5: Altair >= 6 specs are relabelled v5 (the
# marks and encodings used here read the same).
JUPYTER_VEGALITE = "application/vnd.vegalite.v5+json"
JUPYTER_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def actif() -> bool:
    """BILANS_SVG=0 leaves the SVG out (the benchmark's « before » : spec only)."""
    return os.environ.get("BILANS_SVG", "1") != "0"


@lru_cache(maxsize=1)
def _vl_version() -> str | None:
    """The Vega-Lite version Altair wrote the spec for, when vl-convert carries it."""
    import altair as alt
    import vl_convert as vlc

    wanted = ".".join(alt.VEGALITE_VERSION.split(".")[:2])
    return wanted if wanted in vlc.get_vegalite_versions() else None


def sans_controles(value):
    """The spec with no control character in any string: vl-convert aborts the whole process
    (a Rust panic, not an exception) on a label holding one, such as an ANSI escape."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {sans_controles(k): sans_controles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sans_controles(v) for v in value]
    return value


def svg(spec: dict) -> str:
    """The chart as a standalone SVG document (French number and date formats)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(sans_controles(spec), vl_version=_vl_version(), allowed_base_urls=[],
                               format_locale=fmt.VEGA_FORMAT_LOCALE, time_format_locale=FR_TIME)


def pour_jupyter(spec: dict) -> dict:
    """The spec as JupyterLab's and Voilà's Vega-Lite renderer reads it (interactive: tooltips)."""
    spec = copy.deepcopy(spec)
    spec["$schema"] = JUPYTER_SCHEMA
    return spec


def vignette(spec: dict, largeur: int = 220, hauteur: int = 110) -> str:
    """A small SVG of a chart for a table of contents: its first view, without title nor legend."""
    small = copy.deepcopy(spec)
    for key in ("hconcat", "vconcat", "concat"):  # a dashboard of charts: its first one
        if small.get(key):
            small = {**small[key][0], **{k: small[k] for k in ("config", "datasets", "$schema") if k in small}}
    small.pop("title", None)
    view = small.get("spec", small)  # a faceted chart: one small panel per facet
    view.pop("title", None)
    if "spec" in small:
        view.update(width=largeur // 3, height=hauteur // 2)
    else:
        view.update(width=largeur, height=hauteur)
    for channel in ("row", "column", "facet"):
        small.get("encoding", {}).pop(channel, None)
    cfg = small.setdefault("config", {})
    cfg["legend"] = {"disable": True}
    cfg.setdefault("axis", {}).update(title=None, labelFontSize=8)
    cfg["header"] = {"labelFontSize": 8}
    return svg(small)
