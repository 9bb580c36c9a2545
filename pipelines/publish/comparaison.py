"""Comparaisons honnêtes : une évolution d'une année sur l'autre n'est calculée qu'entre deux
chiffres de la même série (même concept, même mesure, même périmètre).

Every headline of the notebooks and of the briefing goes through `evolution`:

- the figure of an exercice is the printed total when it passes the checks, else
  the sum of the items (and that sum's composition is kept);
- the pair preferred is the one a single report prints (the 2018 report gives
  2017 and 2018), else the latest vintage of each year;
- two figures of different measures or perimeters, or two sums whose items
  differ, are not compared: the text says why, and a like-for-like change over
  the common items is given when there is one.

Rows are dicts of the curated store (`exercice`, `report_year`, `concept`,
`mesure`, `perimetre`, `niveau`, `source`, `document_id`, `line`) with the
findings that concern them in `_constats`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines.publish import fmt

ALERTE = "⚠"
TOTAL_NIVEAUX = ("total",)
MESURES = {
    "realise": "réalisé", "realise_reports": "réalisé + reports", "prevu": "prévu", "reports": "reports",
    "cotisation": "cotisations", "cotisation_socle": "cotisations infogérance du socle", "cotisation_votee": "cotisations votées (projection)", "total": "contribution totale",
    "infogerance": "infogérance", "prestations_recurrentes": "prestations récurrentes",
    "prestations_specifiques": "prestations spécifiques", "jours": "jours", "agents": "agents",
}


@dataclass
class Chiffre:
    """One figure of a series for one exercice, with where it comes from."""

    valeur: float | None
    constats: list[dict] = field(default_factory=list)
    exercice: int | None = None
    report_year: int | None = None
    cle: tuple = ()  # (measure, perimeter) of the series
    composition: dict[str, float] = field(default_factory=dict)  # items summed: concept -> value
    libelles: dict[str, str] = field(default_factory=dict)  # concept -> printed label
    imprime: bool = False  # a printed total, not a re-summation
    lignes: list[tuple[str, int]] = field(default_factory=list)

    def texte(self, formatter=fmt.nombre) -> str:
        return formatter(self.valeur) + (f" {ALERTE}" if self.constats else "")


@dataclass
class Evolution:
    """A change between two figures of one series, or the reason there is none."""

    courant: Chiffre
    precedent: Chiffre | None = None
    variation: float | None = None  # percent
    raison: str | None = None  # why the years are not comparable (French)
    commun: tuple[float, float, float | None] | None = None  # like-for-like: (current, previous, %)
    formatter: Callable = fmt.nombre

    @property
    def comparable(self) -> bool:
        return self.raison is None and self.variation is not None

    def texte(self) -> str:
        """« +3,7 % par rapport à 2017 : 2 617 jours » or « non comparable à 2017 : … »."""
        p, f = self.precedent, self.formatter
        if p is None:
            return self.raison or "pas de chiffre antérieur dans la même série"
        if self.raison is None:
            if self.variation is None:
                return f"{p.exercice} : {p.texte(f)}"
            return f"{fmt.pourcent(self.variation, signe=True)} par rapport à {p.exercice} : {p.texte(f)}{_vintage(p)}"
        text = f"non comparable à {p.exercice} ({p.texte(f)}) : {self.raison}"
        if self.commun:
            cur, prev, change = self.commun
            text += (f" ; à périmètre constant, {f(cur)} contre {f(prev)} en {p.exercice}"
                     f" ({fmt.pourcent(change, signe=True)})")
        return text


def _vintage(p: Chiffre) -> str:
    return "" if p.report_year is None or p.report_year == p.exercice else f", chiffre du bilan {p.report_year}"


# Findings that say a printed total is not the sum of its items: the items are then summed instead.
# Other findings on the line (the prose contradicts it, another report restates it) keep the total.
TOTAL_REJETE = ("total.column", "value.malformed", "value.missing")


def _flagged(r: dict) -> bool:
    return any(f.get("rule") in TOTAL_REJETE for f in r.get("_constats", []))


def _is_total(r: dict) -> bool:
    return r.get("niveau") in TOTAL_NIVEAUX or str(r.get("concept")).lower() == "total"


def chiffre(rows: list[dict], valeur: str, cle: Callable[[dict], tuple] | None = None) -> Chiffre | None:
    """The figure of one exercice from one report: its printed total when the checks pass it,
    else the sum of its items (sub-items and sub-totals left out)."""
    rows = [r for r in rows if r.get(valeur) is not None]
    if not rows:
        return None
    cle = cle or (lambda r: (r.get("mesure"), r.get("perimetre")))
    items = [r for r in rows if not _is_total(r) and r.get("niveau") in (None, "detail")]
    totals = [r for r in rows if _is_total(r) and not _flagged(r)]
    composition: dict[str, float] = {}
    libelles: dict[str, str] = {}
    for r in items:
        c = str(r.get("concept"))
        composition[c] = composition.get(c, 0.0) + float(r[valeur])
        libelles[c] = str(r.get("libelle") or r.get("categorie") or c)
    base = totals[:1] if totals else items
    if not base:
        return None
    first = base[0]
    return Chiffre(valeur=float(sum(r[valeur] for r in base)),
                   constats=[f for r in base for f in r.get("_constats", [])],
                   exercice=first["exercice"], report_year=first.get("report_year"), cle=cle(first),
                   composition=composition, libelles=libelles, imprime=bool(totals),
                   lignes=[(r.get("document_id"), r.get("line")) for r in base])


def _select(rows: list[dict], mesures: tuple[str, ...], want: str | None = None) -> list[dict]:
    """The rows of one measure: `want` when present, else the first of `mesures` present."""
    present = {r.get("mesure") for r in rows}
    for m in (want, *mesures):
        if m is not None and m in present:
            return [r for r in rows if r.get("mesure") == m]
    if len(present) <= 1:
        return rows
    return [r for r in rows if r.get("mesure") == sorted(present, key=str)[0]]


def evolution(rows: list[dict], year: int, valeur: str, *, formatter: Callable = fmt.nombre,
              cle: Callable[[dict], tuple] | None = None, nomenclature: bool = True,
              mesures: tuple[str, ...] = ()) -> Evolution | None:
    """The figure of `year` and its change from the previous exercice of the same series.

    rows: every vintage (report_year <= year) of the items and totals of one aggregate.
    nomenclature: the items are a nomenclature (types, adhérents): a sum over other items is
    another perimeter. False for budget chapters, which come and go with the flows.
    mesures: measures in order of preference when rows hold several (« total », « cotisation »).
    """
    by_report: dict[int, dict[int, list[dict]]] = {}
    for r in rows:
        by_report.setdefault(r.get("report_year") or r["exercice"], {}).setdefault(r["exercice"], []).append(r)
    giving = [ry for ry in sorted(by_report, reverse=True) if year in by_report[ry] and ry <= year]
    if not giving:
        return None
    report = giving[0]
    cur_rows = _select(by_report[report][year], mesures)
    cur = chiffre(cur_rows, valeur, cle)
    if cur is None:
        return None
    want = cur_rows[0].get("mesure")
    earlier = sorted({ex for ry in by_report for ex in by_report[ry] if ex < year and ry <= year})
    if not earlier:
        return Evolution(cur, formatter=formatter)
    prev_year = earlier[-1]
    same = by_report[report].get(prev_year)
    if same:  # the pair one report prints
        prev = chiffre(_select(same, mesures, want), valeur, cle)
    else:
        vintages = [ry for ry in sorted(by_report, reverse=True) if prev_year in by_report[ry] and ry <= year]
        prev = chiffre(_select(by_report[vintages[0]][prev_year], mesures, want), valeur, cle)
    return compare(cur, prev, formatter=formatter, nomenclature=nomenclature)


def compare(cur: Chiffre, prev: Chiffre | None, *, formatter: Callable = fmt.nombre,
            nomenclature: bool = True) -> Evolution:
    ev = Evolution(cur, prev, formatter=formatter)
    if prev is None or prev.valeur is None:
        return ev
    if cur.cle[:1] != prev.cle[:1]:
        ev.raison = _autre_serie(cur, prev)
        return ev
    same_table = cur.imprime and prev.imprime and cur.report_year == prev.report_year
    if nomenclature and not same_table and _items_differ(cur, prev):
        ev.raison, ev.commun = _autre_composition(cur, prev)
        return ev
    if cur.cle != prev.cle:
        ev.raison = _autre_serie(cur, prev)
        return ev
    ev.variation = fmt.variation(cur.valeur, prev.valeur)
    return ev


def _autre_serie(cur: Chiffre, prev: Chiffre) -> str:
    (m1, p1), (m2, p2) = (tuple(cur.cle) + (None, None))[:2], (tuple(prev.cle) + (None, None))[:2]
    if m1 != m2:
        return (f"autre mesure ({MESURES.get(m2, m2)} en {prev.exercice}, "
                f"{MESURES.get(m1, m1)} en {cur.exercice})")
    return f"autre périmètre ({p2 or 'non précisé'} en {prev.exercice}, {p1 or 'non précisé'} en {cur.exercice})"


def _items_differ(cur: Chiffre, prev: Chiffre) -> bool:
    return bool(cur.composition) and bool(prev.composition) and set(cur.composition) != set(prev.composition)


def _autre_composition(cur: Chiffre, prev: Chiffre) -> tuple[str, tuple | None]:
    entered = sorted(set(cur.composition) - set(prev.composition))
    left = sorted(set(prev.composition) - set(cur.composition))
    parts = []
    if entered:
        parts.append(f"{_liste(cur, entered)} absent{'s' if len(entered) > 1 else ''} en {prev.exercice}")
    if left:
        parts.append(f"{_liste(prev, left)} absent{'s' if len(left) > 1 else ''} en {cur.exercice}")
    raison = "les deux chiffres ne couvrent pas les mêmes catégories (" + " ; ".join(parts) + ")"
    common = set(cur.composition) & set(prev.composition)
    if not common:
        return raison, None
    a = sum(cur.composition[c] for c in common)
    b = sum(prev.composition[c] for c in common)
    return raison, (a, b, fmt.variation(a, b))


def _liste(ch: Chiffre, concepts: list[str]) -> str:
    shown = [f"« {ch.libelles.get(c, c)} »" for c in concepts[:4]]
    extra = len(concepts) - 4
    more = f" et {extra} autre{'s' if extra > 1 else ''}" if extra > 0 else ""
    return ", ".join(shown) + more


# ---------------------------------------------------------------- metrics (pipelines/metrics.py)

def chiffre_metrique(rows: list[dict], exercice: int, cle: tuple = (),
                     regroupe: Callable[[str], str] | None = None) -> Chiffre | None:
    """The figure of one exercice from the rows of one metric (`metrics.valeurs` records, or rows
    marked by `analyses.metrique`): the metric's total, its items as composition.

    rows: one metric, one total per exercice (filter adherent/pole beforehand); cle: (measure, perimeter);
    regroupe: item -> the item it continues as (a renamed adhérent, OPALY -> VALDEVY), so that two
    years of one line compare.
    """
    total = next((r for r in rows if r["exercice"] == exercice and r.get("detail") is None
                  and r.get("niveau") != "poste"), None)
    if total is None or total.get("valeur") is None:
        return None
    items = [r for r in rows if r["exercice"] == exercice and r.get("niveau") == "poste"
             and r.get("report_year") == total.get("report_year")]
    composition: dict[str, float] = {}
    for r in items:
        item = str(r.get("detail") or r.get("adherent"))
        item = regroupe(item) if regroupe else item
        composition[item] = composition.get(item, 0.0) + float(r["valeur"])
    return Chiffre(float(total["valeur"]), constats=list(total.get("_constats", [])), exercice=exercice,
                   report_year=total.get("report_year"), cle=cle or (total.get("metrique"),),
                   composition=composition, libelles={c: c for c in composition},
                   imprime=total.get("niveau") == "total_imprime",
                   lignes=list(total.get("_lignes", [])))


def evolution_metrique(rows: list[dict], year: int, *, formatter: Callable = fmt.nombre, cle: tuple = (),
                       nomenclature: bool = True, regroupe: Callable[[str], str] | None = None
                       ) -> Evolution | None:
    """The figure of `year` and its change from the previous exercice of the same metric: one
    series, one measure, each year's value under the metric's vintage rule."""
    cur = chiffre_metrique(rows, year, cle, regroupe)
    if cur is None:
        return None
    earlier = sorted({r["exercice"] for r in rows if r["exercice"] < year})
    if not earlier:
        return Evolution(cur, formatter=formatter)
    prev = chiffre_metrique(rows, earlier[-1], cle, regroupe)
    return compare(cur, prev, formatter=formatter, nomenclature=nomenclature)
