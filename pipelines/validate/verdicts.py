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

__all__ = ["POLICIES", "balance", "foot", "half_width", "published", "ratio", "rounding_bound", "status",
           "suite_kwargs", "total_tolerance", "total_tolerance_sql", "totals_policy", "within"]

# Rounding policies: the half width, in units u, of the interval a figure printed to the unit u
# stands for (« n*u/2 »: the totals of n items; « u/2 »: one figure; « exact »: a count).
POLICIES = {"n*u/2": 0.5, "u/2": 0.5, "exact": 0.0}


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def half_width(unit: float, policy: str) -> float:
    """A figure printed to the unit u stands for [x − u/2, x + u/2] (XBRL Calculations 1.1)."""
    if policy not in POLICIES:
        raise ValueError(f"politique d'arrondi inconnue : « {policy} » (attendu : {', '.join(POLICIES)})")
    return POLICIES[policy] * unit


def rounding_bound(units, unit: float, exact: bool, arrondi: str = "n*u/2", denombrements: str = "exact") -> float:
    """The gap |total − Σ items| that the rounding of the items cannot reach (DESIGN, « Rounding-aware
    totals »): Σ u_i/2 for n items printed to the units u_i (n·u/2 when they share u), plus u/2 when the
    total is printed to a unit u coarser than every item's; 0 for counts (`denombrements` « exact »).

    Why n·u/2 and not XBRL's n·u/2 + u/2: a total printed to the unit of its items is the figure the
    report states for the whole (a count of days, a sum of unrounded amounts), not one more rounded
    figure; what may separate it from the sum of its printed items is their rounding, each item
    off by at most u/2. A total printed coarser than its items (items to the cent, total to the euro)
    is visibly rounded itself: its own u/2 counts too.

    Why the bound is excluded (a gap must be below it): reaching it needs every item to sit exactly on a
    half (10,5 + 20,5 printed 11 + 21, total 31), all rounded the same way, which an actual table never
    shows; at the bound lies the plainest error instead (two whole items, 10 + 20 printed 31). For an
    odd number of items printed to one unit the bound is a half unit and no printed gap meets it.
    """
    policy = denombrements if exact else arrondi
    units = list(units)
    own = half_width(unit, policy) if units and unit > max(units) else 0.0
    return sum(half_width(u, policy) for u in units) + own


def total_tolerance(units, unit: float, exact: bool, arrondi: str = "n*u/2",
                    denombrements: str = "exact", epsilon: float = 1e-6) -> float:
    """The largest gap |total − Σ items| that rounding explains: just below `rounding_bound` (the
    bound excluded, `epsilon` the floating-point margin), `epsilon` for a count. Units as printed
    (1 for « 12 », 0.1 for « 12,5 »); same unit as the figures."""
    return max(rounding_bound(units, unit, exact, arrondi, denombrements) - epsilon, epsilon)


def totals_policy() -> dict:
    """The rounding parameters of expectations/totaux.json (`arrondi`, `denombrements`, `epsilon` of
    expect_totals_to_foot), for the builders (totals.py) and the metrics SQL to judge as the suite does."""
    return {k: v for k, v in suite_kwargs("totaux", "expect_totals_to_foot").items()
            if k in ("arrondi", "denombrements", "epsilon")}


def total_tolerance_sql(n: str, u_items: str, u_total: str, exact: str, arrondi: str = "n*u/2",
                        denombrements: str = "exact", epsilon: float = 1e-6) -> str:
    """`total_tolerance` as a SQL expression over columns: `n` items all printed to `u_items`, their
    total to `u_total`, `exact` a BOOLEAN (a count). The metrics layer (pipelines/metrics.py) decides
    with it, from the same suite kwargs, whether a printed total foots."""
    def bound(policy: str) -> str:
        h = POLICIES[policy]
        return f"{n} * {h} * {u_items} + CASE WHEN {u_total} > {u_items} THEN {h} * {u_total} ELSE 0 END"
    for policy in (arrondi, denombrements):
        half_width(1.0, policy)  # an unknown policy is the same ValueError as in Python
    return (f"greatest(CASE WHEN {exact} THEN {bound(denombrements)} ELSE {bound(arrondi)} END - {epsilon!r}, "
            f"{epsilon!r})")


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
