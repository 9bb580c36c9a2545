"""Formats français pour l'affichage : « 1 234 567 € », « 1 083 jours », « 12,5 % »."""

from __future__ import annotations

import math
from functools import cache

NBSP = "\u202f"  # espace fine insécable, séparateur de milliers typographique


def nombre(value: float | int | None, decimals: int = 0) -> str:
    """1234567.8 -> '1 234 568' (thin no-break spaces, comma as decimal mark)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",")


def pluriel(n: int, singulier: str, pluriel: str, avec_nombre: bool = True) -> str:
    """A count and its words, agreed: (1, « cellule illisible », « cellules illisibles ») -> « 1 cellule
    illisible », 2 -> « 2 cellules illisibles », 0 -> « 0 cellule illisible » (French takes the singular
    below 2: the CLDR plural rule, read through Babel). `avec_nombre` False: the words alone. Every
    count printed to a user goes through here."""
    words = singulier if _french_plural()(abs(n)) == "one" else pluriel
    return f"{nombre(n)} {words}" if avec_nombre else words


@cache
def _french_plural():
    from babel import Locale

    return Locale("fr").plural_form


def euros(value: float | int | None, decimals: int = 0) -> str:
    return "—" if value is None else f"{nombre(value, decimals)}\u00a0€"


def jours(value: float | int | None) -> str:
    if value is None:
        return "—"
    decimals = 0 if float(value).is_integer() else 1
    return f"{nombre(value, decimals)}\u00a0jour{'s' if abs(float(value)) >= 2 else ''}"


def pourcent(value: float | None, decimals: int = 1, signe: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = nombre(value, decimals)
    if signe and value > 0:
        text = "+" + text
    return f"{text}\u00a0%"


def variation(current: float | None, previous: float | None) -> float | None:
    """Change in percent, None when there is no base to compare with."""
    if current is None or previous in (None, 0):
        return None
    return (float(current) - float(previous)) / abs(float(previous)) * 100


# d3-format locale for Altair/Vega-Lite charts (alt.renderers / config.locale).
VEGA_FORMAT_LOCALE = {
    "decimal": ",",
    "thousands": "\u202f",
    "grouping": [3],
    "currency": ["", "\u00a0€"],
}
