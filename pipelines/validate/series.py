"""series.break : une série qui change de nom ou de périmètre d'un rapport à l'autre.

Read from the curated `series` view (concept, measure, perimeter on every
figure). Two kinds of break, each reported once, citing both reports:

- a concept of the earlier report is gone from the later one, while a new
  concept gives the same figures for the years both reports print (a renaming
  the referentials do not know), or the new concept equals the sum of several
  vanished ones (a regrouping: « Système d'information global et divers »);
- a total whose change from one exercice to the next is mostly made of
  categories that enter or leave, so that the two totals do not cover the same
  things.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from itertools import combinations

from pipelines import catalogue
from pipelines.extract.numbers import format_fr
from pipelines.validate.frames import check_row

# Families whose rows are a nomenclature (types, domains, adhérents): a category entering or
# leaving changes the perimeter of the total. Budget chapters come and go with the flows.
_PERIMETER_FAMILIES = tuple(f.nom for f in catalogue.familles() if f.nomenclature)


def _params() -> dict:
    """The rule's parameters, as the suite expectations/series.json states them."""
    from pipelines.validate.verdicts import suite_kwargs

    kw = suite_kwargs("series", "expect_series_to_stay_comparable")
    return {"close": kw.get("ecart_renommage", 0.02), "near": kw.get("ecart_reprise", 0.10),
            "part": kw.get("part_expliquee", 0.5)}


def _close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= max(1.0, rel * max(abs(a), abs(b)))


def _groups(con, orgs: list | None = None, batch: int = 5000) -> Iterator[dict[int, list[dict]]]:
    """The table figures of the `series` view (of the organismes `orgs` only, when given), one series
    (org, family, perimeter, measure) at a time, by report year: read from DuckDB in batches, so that
    memory holds one series, not the corpus."""
    if not _has_series(con):
        return
    only, params = "", []
    if orgs is not None:
        only, params = " AND (list_contains(?, org) OR (org IS NULL AND ?))", [[o for o in orgs if o is not None],
                                                                              None in orgs]
    cur = con.execute(f"""
        SELECT * FROM series WHERE source = 'tableau' AND valeur IS NOT NULL{only}
        ORDER BY org, famille, perimetre, mesure, report_year, document_id, line  -- one order for two reports of a year
        """, params)
    names = [c[0] for c in cur.description]
    key, group = None, defaultdict(list)
    while rows := cur.fetchmany(batch):
        for row in rows:
            p = dict(zip(names, row, strict=True))
            k = (p["org"], p["famille"], p["perimetre"], p["mesure"])
            if k != key and group:
                yield group
                group = defaultdict(list)
            key = k
            group[p["report_year"]].append(p)
    if group:
        yield group


def _has_series(con) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'series'").fetchone()[0] > 0


def series_break_checks(con, document_ids: list[str] | None = None, orgs: list | None = None) -> list[dict]:
    """series.break check rows of the reports `document_ids` (all by default), from the series of the
    organismes `orgs` (all by default: a series never crosses organismes)."""
    params = _params()
    wanted = set(document_ids) if document_ids is not None else None
    out: list[dict] = []
    for by_report in _groups(con, orgs):
        found = []
        reports = sorted(by_report)
        for a, b in zip(reports, reports[1:], strict=False):
            found += _renamed(by_report[a], by_report[b], params)
        if next(iter(by_report.values()))[0]["famille"] in _PERIMETER_FAMILIES:
            found += _total_moves(by_report, params["part"])
        out += [c for c in found if wanted is None or c["document_id"] in wanted]
    return out


def _by_concept(points: list[dict]) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = defaultdict(dict)
    for p in points:
        if p["concept"] != "total" and p.get("niveau") not in ("total", "sous_total"):
            out[p["concept"]].setdefault(p["exercice"], p)
    return out


def _renamed(earlier: list[dict], later: list[dict], params: dict) -> list[dict]:
    old, new = _by_concept(earlier), _by_concept(later)
    common_years = {y for c in old.values() for y in c} & {y for c in new.values() for y in c}
    if not common_years:
        return []
    gone = {c: v for c, v in old.items() if c not in new and common_years & set(v)}
    came = {c: v for c, v in new.items() if c not in old and common_years & set(v)}
    out = []
    for figures in came.values():
        years = sorted(common_years & set(figures))
        for size in (1, 2, 3, 4, 5, 6):
            match = _matching_group(gone, figures, years, size, params)
            if match:
                out.append(_break_row([gone[c] for c in match], figures, years))
                for c in match:
                    gone.pop(c)
                break
    return out


def _matching_group(gone: dict, figures: dict, years: list[int], size: int, params: dict) -> list[str] | None:
    """`size` vanished concepts whose figures add up to the new concept's in every common year."""
    candidates = [c for c in gone if all(y in gone[c] for y in years)]
    if len(candidates) < size or len(candidates) > 12:
        return None
    for group in combinations(sorted(candidates), size):
        sums = [(sum(gone[c][y]["valeur"] for c in group), figures[y]["valeur"]) for y in years]
        if any(_close(a, b, params["close"]) for a, b in sums) and all(_close(a, b, params["near"]) for a, b in sums):
            return list(group)
    return None


def _break_row(gone: list[dict], figures: dict, years: list[int]) -> dict:
    y = years[-1]
    new, olds = figures[y], [g[y] for g in gone]
    pairs = "; ".join(f"{x} : {format_fr(sum(g[x]['valeur'] for g in gone))} contre {format_fr(figures[x]['valeur'])}"
                      for x in years)
    printed_old = ", ".join(f"« {o['libelle']} »" for o in olds)
    first = olds[0]
    where = f"rapport {first['report_year']}, ligne {first['line']}"
    verb = "semble renommé" if len(olds) == 1 else "semblent regroupés sous"
    total_old = sum(o["valeur"] for o in olds)
    return _finding(
        new, found=f"« {new['libelle']} » : {format_fr(new['valeur'])}",
        expected=f"{printed_old} : {format_fr(total_old)}", highlight=new["libelle"],
        message=(f"{printed_old} ({where}) {verb} « {new['libelle']} » : chiffres égaux ou proches pour "
                 f"les années que donnent les deux rapports ({pairs}). "
                 "Les deux libellés ne forment pas une même série dans les référentiels : la comparaison "
                 "d'une année sur l'autre n'est pas possible telle qu'imprimée."),
        suggestion=("S'il s'agit du même concept, l'ajouter comme alias dans data/referentiels/ ; sinon, "
                    "dire dans le rapport ce que le nouveau libellé recouvre."))


def _total_moves(by_report: dict[int, list[dict]], part: float) -> list[dict]:
    """A total's change made mostly of categories entering or leaving (latest vintage of each year)."""
    latest: dict[int, list[dict]] = {}
    for report in sorted(by_report):
        for year in {p["exercice"] for p in by_report[report]}:
            latest[year] = [p for p in by_report[report] if p["exercice"] == year]
    out = []
    years = sorted(latest)
    for y1, y2 in zip(years, years[1:], strict=False):
        t1, t2 = _total(latest[y1]), _total(latest[y2])
        if t1 is None or t2 is None or t1["report_year"] == t2["report_year"]:
            continue  # one report prints both years side by side: its reader sees the categories
        i1, i2 = _by_concept(latest[y1]), _by_concept(latest[y2])
        entered = {c: v[y2]["valeur"] for c, v in i2.items() if c not in i1 and v[y2]["valeur"]}
        left = {c: v[y1]["valeur"] for c, v in i1.items() if c not in i2 and v[y1]["valeur"]}
        delta = t2["valeur"] - t1["valeur"]
        moved = sum(entered.values()) - sum(left.values())
        if not (entered or left) or abs(delta) < 1 or abs(moved) < part * abs(delta) or delta * moved < 0:
            continue
        out.append(_moves_row(t1, t2, entered, left, i1, i2, delta, moved))
    return out


def _total(points: list[dict]) -> dict | None:
    totals = [p for p in points if p["concept"] == "total" or p.get("niveau") == "total"]
    return totals[0] if totals else None


def _moves_row(t1, t2, entered, left, i1, i2, delta, moved) -> dict:
    y1, y2 = t1["exercice"], t2["exercice"]
    parts = []
    if entered:
        parts.append("entrées en " + str(y2) + " : " + ", ".join(
            f"« {i2[c][y2]['libelle']} » ({format_fr(v)})" for c, v in sorted(entered.items())))
    if left:
        parts.append("absentes en " + str(y2) + " : " + ", ".join(
            f"« {i1[c][y1]['libelle']} » ({format_fr(v)})" for c, v in sorted(left.items())))
    return _finding(
        t2, found=f"{format_fr(t1['valeur'])} ({y1}) -> {format_fr(t2['valeur'])} ({y2})",
        expected=f"évolution à périmètre constant : {format_fr(delta - moved)}", highlight=t2["libelle"],
        message=(f"Le total « {t2['libelle']} » passe de {format_fr(t1['valeur'])} en {y1} (rapport "
                 f"{t1['report_year']}, ligne {t1['line']}) à {format_fr(t2['valeur'])} en {y2} ; "
                 f"{format_fr(moved)} de cet écart tient aux catégories qui changent ({'; '.join(parts)}). "
                 "Les deux totaux ne couvrent pas le même périmètre."),
        suggestion="Donner l'évolution à périmètre constant, ou dire dans le texte ce qui entre et ce qui sort.")


def _finding(point: dict, **kw) -> dict:
    """A series.break check row located on the later report's figure."""
    return check_row(rule="series.break", severity="warning", statut="rupture", document_id=point["document_id"],
                     line=int(point["line"]), table_id=point["table_id"], exercice=point["exercice"],
                     family=point["famille"], key=point["serie"], **kw)
