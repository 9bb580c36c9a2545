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
from dataclasses import dataclass, field
from itertools import combinations

import pandas as pd

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


_KEY = ("org", "famille", "perimetre", "mesure")  # a series: what `_groups` reads together


def _groups(con, orgs: list | None = None, batch: int = 5000, keys: list[tuple] | None = None,
            families: list[str] | None = None) -> Iterator[dict[int, list[dict]]]:
    """The table figures of the `series` view (of the organismes `orgs` only, when given; of the
    series `keys` (_KEY tuples) only, when given; of the `families` only, when given), one series (org,
    family, perimeter, measure) at a time, by report year: read from DuckDB in batches, so that memory
    holds one series, not the corpus."""
    if not _has_series(con):
        return
    only, params = "", []
    if orgs is not None:
        only, params = " AND (list_contains(?, org) OR (org IS NULL AND ?))", [[o for o in orgs if o is not None],
                                                                              None in orgs]
    if families is not None:
        only += " AND list_contains(?::VARCHAR[], famille)"
        params.append(list(families))
    if keys is not None and not keys:
        return
    if keys is not None:
        con.register("_series_cles", pd.DataFrame(list(keys), columns=list(_KEY), dtype=object))
        only += (" AND (org, famille, perimetre, mesure) IN (SELECT (org, famille, perimetre, mesure) "
                 "FROM _series_cles)")
    # one order for two reports of a year, and for two figures of one line and exercice (a line printing
    # two columns of one year): the first figure of a slot is the same in every build
    order = ("ORDER BY org, famille, perimetre, mesure, report_year, document_id, line, exercice, concept, niveau, "
             "valeur, libelle, table_id")
    figures = f"FROM series WHERE source = 'tableau' AND valeur IS NOT NULL{only}"
    if keys is not None:  # a few series: read at once
        try:
            cur = con.execute(f"SELECT * {figures} {order}", params)
            rows = cur.fetchall()  # the relation is gone once the block ends
        finally:
            con.unregister("_series_cles")
        yield from _by_series([c[0] for c in cur.description], iter([rows]))
        return
    # an organisme's family at a time: DuckDB sorts the figures of one, not of the corpus (2 million
    # figures at 6 400 reports, past the build's memory bound: a sort it could not write to disk)
    for org, famille in con.execute(f"SELECT DISTINCT org, famille {figures} ORDER BY org, famille", params).fetchall():
        cur = con.execute(f"SELECT * {figures} AND org IS NOT DISTINCT FROM ? AND famille = ? {order}",
                          [*params, org, famille])
        yield from _by_series([c[0] for c in cur.description], iter(lambda cur=cur: cur.fetchmany(batch), []))


def _by_series(names: list[str], chunks) -> Iterator[dict[int, list[dict]]]:
    """The rows of `chunks` (lists of tuples of the columns `names`, in _KEY order) one series at a
    time, by report year."""
    key, group = None, defaultdict(list)
    for rows in chunks:
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
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'series'").fetchall()[0][0] > 0


def series_break_checks(con, document_ids: list[str] | None = None, orgs: list | None = None,
                        keys: list[tuple] | None = None) -> list[dict]:
    """series.break check rows of the reports `document_ids` (all by default), from the series of the
    organismes `orgs` (all by default: a series never crosses organismes), of the series `keys`
    (_KEY tuples: org, famille, perimetre, mesure) only when given."""
    return [c for c, _ in _keyed_checks(con, document_ids, orgs, keys)]


def family_checks(con, document_ids: list[str], families: list[str]) -> dict[str, list[tuple[dict, tuple]]]:
    """The (check row, _KEY tuple) of series_break_checks(con, document_ids) of the `families` only,
    family by family: a series is of one family and reads its figures only (the `series` view), so the
    rows of a family whose figures are unchanged are those found before (pipelines/live.py KeptFigures)."""
    out: dict[str, list[tuple[dict, tuple]]] = {f: [] for f in families}
    for row, key in _keyed_checks(con, document_ids, None, None, families):
        out[key[1]].append((row, key))
    return out


def in_series_order(keyed: list[tuple[dict, tuple]]) -> list[dict]:
    """The rows of family_checks of several families in the order series_break_checks gives them: that
    of `_groups` (org, NULL last as DuckDB sorts it, then famille; a family's rows are in order already)."""
    return [row for row, key in sorted(keyed, key=lambda rk: (rk[1][0] is None, rk[1][0] or "", rk[1][1]))]


def _keyed_checks(con, document_ids, orgs, keys, families: list[str] | None = None) -> list[tuple[dict, tuple]]:
    """(check row, its series' _KEY tuple) of series_break_checks (of the `families` only, when given)."""
    params = _params()
    wanted = set(document_ids) if document_ids is not None else None
    out: list[tuple[dict, tuple]] = []
    for by_report in _groups(con, orgs, keys=keys, families=families):
        if wanted is not None and not any(p["document_id"] in wanted for ps in by_report.values() for p in ps):
            continue  # every row of a series is located on one of its figures (`_finding`): none of theirs
        found = []
        reports = sorted(by_report)
        for a, b in zip(reports, reports[1:], strict=False):
            found += _renamed(by_report[a], by_report[b], params)
        first = next(iter(by_report.values()))[0]
        if first["famille"] in _PERIMETER_FAMILIES:
            found += _total_moves(by_report, params["part"])
        key = tuple(first[k] for k in _KEY)
        out += [(c, key) for c in found if wanted is None or c["document_id"] in wanted]
    return out


# --- What a changed report may change in the series.break rows of the others ------------------------------------
#
# The rows of one series (a _KEY) read its figures only, through `by_report` (report year -> its
# figures, ordered by document_id then line), and of these only (`_renamed`, `_total_moves`):
# - the first item figure (neither a total nor a subtotal) of each concept and exercice of a report
#   year (`_by_concept`'s setdefault), and the first total of each exercice (`_total`);
# - which exercices a report year prints (`latest`: a subtotal alone counts).
# Every row is located on such a first figure. A changed report X (its version in the store being
# replaced, and its version now) of year y therefore changes nothing in a series where each of its
# figures has a twin in an unchanged report of year y whose document_id comes before X's: same
# exercice, same kind (item of the same concept, total, or other), so that the first figures and the
# exercices of year y stay what they were — and X, never first, has no row there. Any other series
# is reached (`_reached_keys`; a report of no year reaches all its series). The rows of the series
# not reached are those of the previous store, findings and GE result parts (one per report).

_KIND = """CASE WHEN concept = 'total' OR niveau = 'total' THEN 't' WHEN niveau = 'sous_total' THEN 'p' ELSE 'i' END"""


@dataclass
class SeriesPlan:
    """The series.break work of an incremental build (`series_plan`): `rows`, the check rows of the
    reports `redone` (their series made again, over the series reached and those where they had
    rows); the other reports of the organismes keep their series.break findings and result parts."""
    redone: set[str] = field(default_factory=set)
    rows: list[dict] = field(default_factory=list)


def series_plan(con, changes: list[tuple[str, str]], kept: list[str]) -> SeriesPlan | None:
    """What series.break redoes once the reports `changes` changed ((document_id, db) per version, db
    "" for the store of `con`, « previous. » for the store being replaced, attached as « previous »),
    for the reports `kept` (unchanged, checked by the same checks, whose series.break findings the
    previous store holds): the changed reports now in the store, and the kept reports with a row (now
    or before) in a series a change reaches. None when it cannot tell (no series, no previous
    findings): every series is redone. Source of the rule: the comment above."""
    if not _has_series(con) or not _has_previous_findings(con):
        return None
    reached = _reached_keys(con, changes, kept)
    before = _previous_rows(con, kept)  # (document_id, _KEY) of the kept reports' rows
    keys = sorted(reached | {k for _, k in before}, key=repr)
    rows = _keyed_checks(con, None, None, keys)
    now = {i for i, d in changes if d == ""}
    redone = now | {c["document_id"] for c, k in rows if k in reached} | {i for i, k in before if k in reached}
    return SeriesPlan(redone, [c for c, _ in rows if c["document_id"] in redone])


def _has_previous_findings(con) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.columns WHERE table_catalog = 'previous' "
                       "AND table_name = 'findings' AND column_name = 'scope'").fetchall()[0][0] > 0


def _reached_keys(con, changes: list[tuple[str, str]], unchanged: list[str]) -> set[tuple]:
    """The series (_KEY tuples) where a version of a changed report has a figure that no unchanged
    report of its year, before it by document_id, prints with the same exercice and kind."""
    out: set[tuple] = set()
    for db in sorted({d for _, d in changes}):
        mine = [i for i, d in changes if d == db]
        rows = con.execute(f"""
            WITH x AS (SELECT DISTINCT org, famille, perimetre, mesure, report_year, exercice, {_KIND} AS kind,
                              CASE WHEN {_KIND} = 'i' THEN concept END AS item, document_id
                       FROM {db}series WHERE source = 'tableau' AND valeur IS NOT NULL
                            AND list_contains(?::VARCHAR[], document_id)),
            u AS (SELECT DISTINCT org, famille, perimetre, mesure, report_year, exercice, {_KIND} AS kind,
                         CASE WHEN {_KIND} = 'i' THEN concept END AS item, document_id
                  FROM series WHERE source = 'tableau' AND valeur IS NOT NULL
                       AND list_contains(?::VARCHAR[], document_id)
                       AND list_contains((SELECT list(DISTINCT org) FROM x), org))
            SELECT DISTINCT org, famille, perimetre, mesure FROM x
            WHERE report_year IS NULL OR NOT EXISTS (
                SELECT 1 FROM u WHERE u.org IS NOT DISTINCT FROM x.org AND u.famille IS NOT DISTINCT FROM x.famille
                  AND u.perimetre IS NOT DISTINCT FROM x.perimetre AND u.mesure IS NOT DISTINCT FROM x.mesure
                  AND u.report_year = x.report_year AND u.exercice IS NOT DISTINCT FROM x.exercice
                  AND u.kind = x.kind AND u.item IS NOT DISTINCT FROM x.item AND u.document_id < x.document_id)""",
                           [mine, list(unchanged)]).fetchall()
        out |= set(rows)
    return out


def _previous_rows(con, kept: list[str]) -> set[tuple[str, tuple]]:
    """(document_id, _KEY) of the series.break findings of the reports `kept` in the previous store:
    every series.break check row is a finding (the suite accepts no other statut than « ok », which
    the rule never gives), located on a figure of its report and series (its key: the figure's
    `serie`)."""
    return {(r[0], r[1:]) for r in con.execute("""
        SELECT DISTINCT f.document_id, s.org, s.famille, s.perimetre, s.mesure
        FROM previous.findings f JOIN series s ON s.document_id = f.document_id AND s.line = f.line
             AND s.serie = f.key
        WHERE f.rule = 'series.break' AND f.scope = 'organisme' AND list_contains(?::VARCHAR[], f.document_id)""",
                                                 [list(kept)]).fetchall()}


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
