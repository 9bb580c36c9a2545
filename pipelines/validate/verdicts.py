"""Les verdicts des règles, calculés à partir des chiffres bruts d'une ligne de contrôle.

Pure functions, without Great Expectations (nor its import): the custom expectations of
`pipelines/validate/expectations/` call them with their suite kwargs, and the
rule builders (totals.py) call the same tolerance with the same kwargs when
they choose which lines a total sums, so that the suite JSON is the single
place where a rule's parameters live.

A verdict is (rule, severity) for an unexpected row, None for a row that passes.
"""

from __future__ import annotations

import math

# Re-exported: the rule builders take the suite's parameters from here, beside the tolerance they feed.
from pipelines.validate.suite_specs import suite_kwargs

__all__ = ["POLICIES", "balance", "foot", "half_width", "published", "ratio", "status", "suite_kwargs",
           "total_tolerance", "within"]

# Rounding policies: how much a figure printed to the unit u may differ from the true value.
POLICIES = {"n*u/2": 0.5, "u/2": 0.5, "exact": 0.0}


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def half_width(unit: float, policy: str) -> float:
    """A figure printed to the unit u stands for [x − u/2, x + u/2] (XBRL Calculations 1.1)."""
    if policy not in POLICIES:
        raise ValueError(f"politique d'arrondi inconnue : « {policy} » (attendu : {', '.join(POLICIES)})")
    return POLICIES[policy] * unit


def total_tolerance(units, unit: float, exact: bool, arrondi: str = "n*u/2",
                    denombrements: str = "exact", epsilon: float = 1e-6) -> float:
    """n items printed to the units u_i and their total printed to u: Σ u_i/2 + u/2, or 0 for counts."""
    policy = denombrements if exact else arrondi
    return sum(half_width(u, policy) for u in units) + half_width(unit, policy) + epsilon


def foot(row: dict, arrondi: str, denombrements: str, epsilon: float, seuil_arrondi: float):
    """A total against the sum of its items: blank, wrong beyond the rounding, or off by rounding only."""
    if _blank(row["valeur"]):
        return ("value.missing", "error") if not _blank(row["reference"]) else None
    value, ref = float(row["valeur"]), float(row["reference"])
    # « >= »: « dont » lines are a partial breakdown, they may add up to less than their line.
    ecart = max(0.0, ref - value) if row["relation"] == ">=" else abs(value - ref)
    tol = total_tolerance(row["unites"], row["unite"], bool(row["denombrement"]), arrondi, denombrements, epsilon)
    if ecart > tol:
        return row["rule"], row["severity"]
    if ecart > seuil_arrondi:
        return "total.rounding", "info"
    return None


def ratio(row: dict, arrondi: str, epsilon: float):
    """A printed % against numerator / denominator, each figure taken with its rounding interval."""
    h = [half_width(row[k], arrondi) for k in ("unite_numerateur", "unite_denominateur", "unite")]
    a, b, pv = float(row["numerateur"]), float(row["denominateur"]), float(row["valeur"])
    lo_b, hi_b = b - h[1], b + h[1]
    if lo_b <= 0 <= hi_b or b == 0:
        return None
    cands = [100 * x / y for x in (a - h[0], a + h[0]) for y in (lo_b, hi_b)]
    lo, hi = min(cands), max(cands)
    computed = 100 * a / b
    ecart = 0.0 if lo - h[2] <= pv <= hi + h[2] else abs(pv - computed)
    tol = 0.0 if ecart == 0 else max(hi - computed, computed - lo) + h[2]
    return (row["rule"], row["severity"]) if ecart > tol + epsilon else None


def balance(row: dict, tolerance: float):
    """Voted recettes and dépenses of a section are equal, to the cent."""
    ecart = abs(float(row["valeur"]) - float(row["reference"]))
    return (row["rule"], row["severity"]) if ecart > tolerance else None


def within(row: dict, epsilon: float | None = None):
    """The row's own gap against its own tolerance (rules whose interval the builder computes)."""
    tol = row["tolerance"] if epsilon is None else epsilon
    return (row["rule"], row["severity"]) if float(row["ecart"]) > tol else None


def status(row: dict, acceptes):
    """A qualitative check: the builder names what it saw (« malformed », « reprise »…)."""
    return None if row["statut"] in acceptes else (row["rule"], row["severity"])


def published(row: dict, epsilon: float):
    """A published figure against its reference (its metric, or the sum of the parts shown): the page's
    own reason (`statut` « motif ») excuses a total; a metric without a value is a warning."""
    if row["statut"] == "motif":
        return None
    if row["statut"] == "absente":
        return row["rule"], "warning"
    if abs(float(row["valeur"]) - float(row["reference"])) <= epsilon:
        return None
    return row["rule"], row["severity"]
