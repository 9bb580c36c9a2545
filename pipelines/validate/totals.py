"""total.column, total.row, total.rounding, percent.ratio, value.missing : les tableaux contre eux-mêmes.

Rounding follows DESIGN (« Rounding-aware totals », after XBRL Calculations 1.1): every printed
item stands for an interval of half its last printed unit, and a total is consistent when its gap
to the sum of its items stays below n·u/2 (verdicts.rounding_bound says why n and why below).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

from pipelines.extract.labels import names_non_additive, names_total_column
from pipelines.extract.numbers import parse_cell, year_in_header
from pipelines.validate.frames import VALUE_ROLES, check_row, fr
from pipelines.validate.verdicts import rounding_bound, total_tolerance, totals_policy

_EPS = 1e-6


@dataclass
class Val:
    value: float | None
    decimals: int
    text: str
    unit: str | None
    status: str
    exact: bool = False  # a count (agents, tickets…) is printed as it is, not rounded
    line: int | None = None  # where the figure is printed (PDF text: not always its label's line)

    @property
    def half_unit(self) -> float:
        return 0.0 if self.exact else 0.5 * 10 ** -(self.decimals or 0)

    @property
    def unit_of_rounding(self) -> float:
        """u: the last printed unit (1 for « 1 234 », 0.01 for « 1 234,56 »)."""
        return 10 ** -(self.decimals or 0)


def _tolerance(terms: list[Val], own: Val) -> float:
    """The largest gap rounding explains (verdicts.total_tolerance, the kwargs of totaux.json): the same
    parameters choose which lines a total sums here and judge it in the suite."""
    return total_tolerance([t.unit_of_rounding for t in terms], own.unit_of_rounding, own.exact, **totals_policy())


def _bound(terms: list[Val], own: Val) -> float:
    """The gap the rounding of these lines cannot reach (verdicts.rounding_bound), for the message."""
    policy = {k: v for k, v in totals_policy().items() if k != "epsilon"}
    return rounding_bound([t.unit_of_rounding for t in terms], own.unit_of_rounding, own.exact, **policy)


def _inputs(terms: list[Val], own: Val | None, reference: float | None, relation: str = "=") -> dict:
    """The raw figures the suite judges: printed value, sum of its lines, their units, count or not."""
    return dict(valeur=own.value if own else None, reference=reference, relation=relation,
                unites=[t.unit_of_rounding for t in terms], unite=own.unit_of_rounding if own else None,
                denombrement=bool(own.exact) if own else False)


@dataclass
class TRow:
    row: int
    line: int
    kind: str
    label: str
    cells: dict[int, dict] = field(default_factory=dict)


@dataclass
class Entry:
    kind: str  # item | sub | bound (a heading or a line computed from totals: it closes a block)
    val: Val | None
    row: TRow
    span_start: int = 0
    fallback: float | None = None  # a blank sub-total stands for the sum of its items
    detail: float | None = None  # what its « dont » lines add up to, when more than the line itself


@dataclass
class Candidate:
    terms: list[Entry]
    by_detail: bool = False  # lines contradicted by their « dont » lines counted at their detail

    def total(self) -> float:
        return sum((t.detail if self.by_detail and t.detail is not None else _num(t)) or 0.0 for t in self.terms)

    def valued(self) -> list[Entry]:
        return [t for t in self.terms if _num(t) is not None]

    def figures(self) -> list[Val]:
        """The printed figures of the terms (a blank sub-total standing for its items has none)."""
        return [t.val for t in self.valued() if t.val and t.val.value is not None]


def _num(e: Entry) -> float | None:
    if e.val is not None and e.val.value is not None:
        return e.val.value
    return e.fallback


def _rows(cells: list[dict]) -> list[TRow]:
    rows: dict[int, TRow] = {}
    for rec in cells:
        r = rows.setdefault(rec["row"], TRow(rec["row"], rec["line"], rec["row_kind"], rec["row_label"] or ""))
        r.cells[rec["col"]] = rec
    return [rows[k] for k in sorted(rows)]


def _val(row: TRow, col: int, which: str, exact: bool = False) -> Val | None:
    c = row.cells.get(col)
    if c is None:
        return None
    unit = c["unit2"] if which == "value2" else c["unit"]
    return Val(c[which], c["decimals"] or 0, c["text"] or "", unit, c["parse_status"], exact, c["line"])


# What a count is about: such figures are exact, so the rounding tolerance does not apply to them.
_COUNT_UNITS = {"agents", "tickets"}
_COUNT_WORDS = re.compile(
    r"\b(?:nombre|nb|mep|mises? en production|tickets?|agents?|utilisateurs?|postes?|emplois?|logiciels?|"
    r"boites? mail|bo[iî]tes? mail|demandes?|interventions?|incidents?|dossiers?|effectifs?)\b", re.IGNORECASE)
_MEASURE_WORDS = re.compile(r"jour|heure|€|euro|montant|budget|taux|co[uû]t|d[ée]pense|recette|pr[ée]vision|"
                            r"r[ée]alis|cr[ée]dit|mandat|titre|cotisation|charge", re.IGNORECASE)


def _counts_things(table: dict, header: str | None, body: list[TRow], col: int, which: str) -> bool:
    units = [(r.cells[col]["unit2"] if which == "value2" else r.cells[col]["unit"]) or ""
             for r in body if col in r.cells]
    units = [u.lower() for u in units if u]
    if units:
        return all(u in _COUNT_UNITS for u in units)
    first = table["headers"][0] if table["headers"] else ""
    words = f"{table.get('caption') or ''} {first or ''} {header or ''}"
    return bool(_COUNT_WORDS.search(words)) and not _MEASURE_WORDS.search(words) and not any(
        r.cells.get(col, {}).get("decimals") for r in body)


def percent_columns(rows: list[TRow], headers: list[str], value_cols: list[int]) -> set[int]:
    out = set()
    for col in value_cols:
        units = [r.cells[col]["unit"] for r in rows if col in r.cells and r.cells[col]["value"] is not None]
        header = headers[col] if col < len(headers) and headers[col] else ""
        if "%" in header or (units and sum(u == "%" for u in units) * 2 > len(units)):
            out.add(col)
    return out


def _candidates(entries: list[Entry]) -> list[tuple[Candidate, int]]:
    """Interpretations of a total, nearest first: items since the previous sub-total or heading
    (a total closes its own block), then each earlier sub-total (standing for its own span) or
    heading with the items in between, up to the start."""
    out: list[tuple[Candidate, int]] = []
    terms: list[Entry] = []
    i = len(entries) - 1
    while i >= 0:
        e = entries[i]
        if e.kind == "item":
            terms.append(e)
            i -= 1
            continue
        if e.kind == "bound":
            if terms:
                out.append((Candidate(list(terms)), i + 1))
            i -= 1
            continue
        out.append((Candidate(list(terms)), i + 1))
        terms.append(e)
        i = e.span_start - 1
    out.append((Candidate(list(terms)), 0))
    # A chapter followed by its articles printed as plain rows (« 040 » then « 28031 », « 28051 »…):
    # the run that sums to the row above it is a breakdown, counted once.
    extra = []
    for cand, start in out:
        items = [t for t in reversed(cand.terms)]
        for k in range(len(items) - 2):
            head, run = items[k], items[k + 1:]
            if all(t.kind == "item" for t in run) and _num(head) is not None and len(run) >= 2:
                rs = sum(_num(t) or 0.0 for t in run)
                tol = sum(t.val.half_unit for t in run if t.val) + head.val.half_unit + _EPS
                if abs(rs - _num(head)) <= tol:
                    extra.append((Candidate(items[: k + 1]), start))
                    break
    # A chapter smaller than its own articles (« 10 : 0 € » over « 1068 : 254 968,91 € »): a total
    # that counts the articles is right, the chapter line is reported by the « dont » check.
    detailed = [(Candidate(c.terms, by_detail=True), start) for c, start in out
                if any(t.detail is not None for t in c.terms)]
    return [c for c in out + extra + detailed if c[0].valued()]


def _describe(row: TRow, header: str | None) -> str:
    col = f", colonne « {header} »" if header else ""
    return f"« {row.label or 'Total'} »{col}"


def column_checks(table: dict, rows: list[TRow], value_cols: list[int], pct: set[int]) -> list[dict]:
    out: list[dict] = []
    headers = table["headers"]
    body = [r for r in rows if r.kind != "header"]
    for col in value_cols:
        header = headers[col] if col < len(headers) else None
        if col in pct or _non_additive(table, header):
            continue
        measures = ["value"]
        if any(col in r.cells and r.cells[col]["value2"] is not None for r in body):
            measures.append("value2")
        for which in measures:
            others = {c: headers[c] if c < len(headers) else "" for c in value_cols if c != col and c not in pct}
            out += _one_column(table, body, col, which, header, others)
    return out


def _non_additive(table: dict, header: str | None) -> bool:
    """The rows are averages or rates (« Âge moyen des agents » over the labels, « Taux » over the
    figures): their « Ensemble » row is not their sum, there is no total to check."""
    first = table["headers"][0] if table["headers"] else ""
    return names_non_additive(first or "") or names_non_additive(header or "")


def _one_column(table, body, col, which, header, others: dict[int, str]) -> list[dict]:
    out: list[dict] = []
    entries: list[Entry] = []
    last_item: Entry | None = None
    subitems: list[Entry] = []

    def flush_subitems():
        if last_item is not None and subitems:
            out.extend(_subitem_check(table, last_item, subitems, header))
            detail = sum(_num(s) or 0.0 for s in subitems)
            if _num(last_item) is not None and detail > _num(last_item) + 0.5:
                last_item.detail = detail

    exact = _counts_things(table, header, body, col, which)
    for r in body:
        v = _val(r, col, which, exact)
        if r.kind == "derived" or (r.kind == "item" and _is_heading(r)):
            flush_subitems()
            subitems, last_item = [], None
            entries.append(Entry("bound", None, r))
            continue
        if r.kind == "subitem":
            subitems.append(Entry("item", v, r))
            continue
        flush_subitems()
        subitems = []
        if r.kind == "item":
            last_item = Entry("item", v, r)
            entries.append(last_item)
            continue
        if r.kind not in ("subtotal", "total"):
            continue
        last_item = None
        cands = _candidates(entries)
        if v is not None and v.status == "malformed":
            entries.append(Entry("sub", v, r, span_start=len(entries)))
            continue
        if not cands:
            entries.append(Entry("sub", v, r, span_start=len(entries)))
            if r.kind == "total":
                entries = []
            continue
        unit = next((t.val.unit for t in cands[0][0].valued() if t.val and t.val.unit), None) or (v.unit if v else None)
        what = _describe(r, header)
        own = r.kind == "total" or cands[0][1] == len(entries) - len(cands[0][0].terms) and all(
            t.kind == "item" for t in cands[0][0].terms)
        if v is None or v.value is None:
            if not own:  # a blank sub-total of rows the table does not show
                entries.append(Entry("sub", v, r, span_start=len(entries)))
                continue
            exp = cands[0][0].total()
            out.append(check_row(
                rule="value.missing", severity="error", statut="vide", document_id=table["document_id"],
                **_inputs(cands[0][0].figures(), v, exp),
                exercice=exercice_of(header),
                line=r.line, table_id=table["table_id"], found=None, expected=fr(exp, unit),
                message=f"Le total {what} est vide alors que les lignes qu'il résume ont des valeurs "
                        f"(somme : {fr(exp, unit)}).",
                suggestion=f"Renseigner {fr(exp, unit)} dans ce total.", highlight=None))
            chosen, start = cands[0]
            entries.append(Entry("sub", v, r, span_start=start, fallback=exp))
        else:
            best = None
            for cand, start in cands:
                tol = _tolerance(cand.figures(), v)
                if abs(v.value - cand.total()) <= tol:
                    best = (cand, start, tol)
                    break
            unreadable = any(t.val and t.val.status == "malformed" for t in cands[0][0].terms)
            # sums rows the table does not show, or a line value.malformed reports: nothing to compare
            if best is None and (not own or unreadable):
                entries.append(Entry("sub", v, r, span_start=len(entries)))
                if r.kind == "total":
                    entries = []
                continue
            if best is None:
                cand, start = min(cands, key=lambda cs: abs(v.value - cs[0].total()))
                best = (cand, start, _tolerance(cand.figures(), v))
            cand, start, tol = best
            total = cand.total()
            ecart = abs(v.value - total)
            n = len(cand.valued())
            hint = _gap_hint(cand, v.value - total, tol, others, which) if ecart > tol else ""
            out.append(check_row(
                rule="total.column", severity="error", ecart=ecart, tolerance=tol, exercice=exercice_of(header),
                document_id=table["document_id"], line=v.line or r.line, table_id=table["table_id"],
                found=fr(v.value, unit), expected=fr(total, unit), highlight=_clean_text(v.text),
                **_inputs(cand.figures(), v, total),
                message=(f"Le total {what} ({_shown(v, unit)}) ne correspond pas à la somme des "
                         f"lignes qu'il résume ({fr(total, unit)}, écart {fr(v.value - total, unit)}).{hint}"
                         if ecart > tol else
                         f"Le total {what} ({_shown(v, unit)}) diffère de la somme des lignes "
                         f"({fr(total, unit)}) d'un écart explicable par les arrondis des {n} lignes "
                         f"(écart possible : moins de {fr(_bound(cand.figures(), v))}).{_unlikely(cand, v, ecart)}"),
                suggestion=(f"Corriger le total en {fr(total, unit)}, ou vérifier les lignes qui le composent."
                            if ecart > tol else "Aucune correction nécessaire si les lignes sont des valeurs "
                            "arrondies ; sinon vérifier les lignes.")))
            entries.append(Entry("sub", v, r, span_start=start))
        if r.kind == "total":
            entries = []
    flush_subitems()
    return out


def _is_heading(row: TRow) -> bool:
    """« Actifs non financiers » over its lines: a label and not one figure in the row."""
    values = [c for c in row.cells.values() if c["role"] in VALUE_ROLES]
    return bool(row.label.strip()) and not any((c["text"] or "").strip() for c in values)


def _unlikely(cand: Candidate, v: Val, ecart: float) -> str:
    """Rounding errors of n lines add up like a random walk: a gap beyond three standard
    deviations is possible within the tolerance but improbable; say so (still info)."""
    units = [2 * t.val.half_unit for t in cand.valued() if t.val] + [2 * v.half_unit]
    sigma = math.sqrt(sum(u * u / 12 for u in units))
    if ecart <= 3 * sigma or ecart <= max(units):
        return ""
    return (f" Un tel écart reste toutefois peu probable pour de simples arrondis (écart type attendu "
            f"± {fr(round(sigma, 1))}) : si les lignes sont des valeurs exactes (nombres d'agents, de "
            "tickets…), l'une d'elles ou le total est faux.")


def _gap_hint(cand: Candidate, gap: float, tol: float, others: dict[int, str], which: str) -> str:
    """Say where the gap comes from when it is exactly one line left out, or another column
    counted in (« Prévisions » totalled with the « reports »): the author knows what to fix."""
    if gap < 0:
        for t in cand.valued():
            if abs(_num(t) + gap) <= tol and t.kind == "item":
                return f" L'écart est exactement la ligne « {t.row.label} » ({fr(_num(t))}) : a-t-elle été oubliée dans le total ?"
    for col, name in sorted(others.items(), key=lambda kv: kv[0]):
        vals = [_val(t.row, col, which) for t in cand.terms]
        vals = [x for x in vals if x is not None and x.value is not None]
        if vals and abs(sum(x.value for x in vals) - gap) <= tol + sum(x.half_unit for x in vals) and gap > 0:
            return (f" L'écart est exactement le total de la colonne « {name} » ({fr(gap)}) : "
                    "le total semble l'inclure.")
    return ""


def exercice_of(header: str | None) -> int | None:
    """The year a column is about (« Mandats émis en 2022 » -> 2022), for the finding."""
    ref = year_in_header(header or "")
    return ref.year if ref else None


def _shown(v: Val, unit: str | None) -> str:
    """The figure as the report prints it: « 10,644 » in a table with comma thousands, not a
    French rewriting that a reader would take for 10,64; French figures keep their usual form."""
    printed = _clean_text(v.text)
    if parse_cell(printed).value == v.value:
        return fr(v.value, unit)
    return printed


def _clean_text(text: str) -> str:
    return re.sub(r"</?[a-zA-Z][^>]*>", "", text or "").replace("**", "").strip()


def _subitem_check(table, parent: Entry, subs: list[Entry], header) -> list[dict]:
    """« dont » lines are a partial breakdown: together they cannot exceed their parent."""
    pv = _num(parent)
    valued = [s for s in subs if _num(s) is not None]
    if pv is None or not valued:
        return []
    total = sum(_num(s) for s in valued)
    tol = _tolerance([s.val for s in valued], parent.val)
    excess = max(0.0, total - pv)
    unit = parent.val.unit or next((s.val.unit for s in valued if s.val.unit), None)
    labels = ", ".join(f"« {s.row.label} »" for s in valued[:4])
    return [check_row(
        rule="total.column", severity="error", ecart=excess, tolerance=tol, exercice=exercice_of(header),
        document_id=table["document_id"], line=parent.val.line or parent.row.line, table_id=table["table_id"],
        found=fr(pv, unit), expected=fr(total, unit), highlight=_clean_text(parent.val.text),
        **_inputs([s.val for s in valued], parent.val, total, relation=">="),
        message=(f"La ligne « {parent.row.label} »{_col(header)} ({fr(pv, unit)}) est inférieure à la "
                 f"somme de ses lignes de détail {labels} ({fr(total, unit)})."),
        suggestion=f"Vérifier la ligne « {parent.row.label} » : elle devrait valoir au moins {fr(total, unit)}.")]


def _col(header) -> str:
    return f", colonne « {header} »" if header else ""


def row_checks(table: dict, rows: list[TRow], value_cols: list[int], pct: set[int]) -> list[dict]:
    """A « Total » column is the sum of some columns to its left (all of them for revenue by
    adhérent, réalisations + reports for an investment budget): the subset that explains most
    rows is taken as the table's rule, and the rows it does not explain are reported. At any
    width: 12 months + Total, 24 columns of a statistical table."""
    headers = table["headers"]
    body = [r for r in rows if r.kind != "header"]
    out: list[dict] = []
    for tcol in value_cols:
        header = headers[tcol] if tcol < len(headers) else ""
        if tcol in pct or not names_total_column(header or "") or _non_additive(table, header):
            continue
        left = [c for c in value_cols if c < tcol and c not in pct and not names_total_column(
            headers[c] if c < len(headers) else "")]
        if len(left) < 2:
            continue
        exact = _counts_things(table, header, body, tcol, "value")  # tickets per month add up exactly
        evaluable = []
        for r in body:
            tv = _val(r, tcol, "value", exact)
            vals = [_val(r, c, "value", exact) for c in left]
            if tv and tv.value is not None and any(v and v.value is not None for v in vals):
                evaluable.append((r, tv, vals))
        if len(evaluable) < 2:
            continue
        best = _row_rule(left, evaluable)
        if best is None:
            continue
        names = _columns_named([headers[left[i]] if left[i] < len(headers) else "" for i in best],
                               list(best) == list(range(best[0], best[-1] + 1)))
        for r, tv, vals in evaluable:
            parts = [vals[i] for i in best]
            if r.kind in ("total", "subtotal") and any(p is None or p.value is None for p in parts):
                continue  # a blank part of a total row is value.missing, reported by the column check
            s = sum(p.value for p in parts if p and p.value is not None)
            figures = [p for p in parts if p and p.value is not None]
            tol = _tolerance(figures, tv)
            ecart = abs(tv.value - s)
            unit = tv.unit
            out.append(check_row(
                rule="total.row", severity="error", ecart=ecart, tolerance=tol, exercice=exercice_of(header),
                document_id=table["document_id"], line=tv.line or r.line, table_id=table["table_id"],
                found=fr(tv.value, unit), expected=fr(s, unit), highlight=_clean_text(tv.text),
                **_inputs(figures, tv, s),
                message=(f"Ligne « {r.label} » : la colonne « {header} » ({_shown(tv, unit)}) ne vaut pas "
                         f"{names} ({fr(s, unit)})." if ecart > tol else
                         f"Ligne « {r.label} » : « {header} » ({fr(tv.value, unit)}) et {names} "
                         f"({fr(s, unit)}) ne diffèrent que par les arrondis."),
                suggestion=(f"Corriger « {header} » en {fr(s, unit)} ou vérifier les montants de la ligne."
                            if ecart > tol else "Aucune correction nécessaire.")))
    return out


_MAX_SUBSET_WIDTH = 8  # up to 2**8 subsets of columns are tried; wider, only runs of adjacent columns


def _columns_named(names: list[str], adjacent: bool) -> str:
    """« « a » + « b » », or « la somme des 12 colonnes de « janv. » à « déc. » » for a long run."""
    if adjacent and len(names) > _MAX_SUBSET_WIDTH:
        return f"la somme des {len(names)} colonnes de « {names[0]} » à « {names[-1]} »"
    return " + ".join(f"« {n} »" for n in names)


def _row_rule(left: list[int], evaluable: list[tuple]) -> tuple[int, ...] | None:
    """Which columns the « Total » column adds up: the subset that explains most rows, when it
    explains 60 % of them; failing that, all of them (the natural reading of « Total ») when they
    explain half the rows (a column headed « Total » says what it adds)."""
    def ok(subset):
        return sum(1 for _, tv, vals in evaluable if _row_ok(tv, [vals[i] for i in subset]))

    n = len(left)
    if n <= _MAX_SUBSET_WIDTH:
        subsets = (s for size in range(n, 1, -1) for s in itertools.combinations(range(n), size))
    else:  # 12 months, 24 columns: 2**n subsets are out of reach, adjacent runs are what tables add
        subsets = (tuple(range(a, a + size)) for size in range(n, 1, -1) for a in range(n - size + 1))
    best, best_score = None, (-1, 0)
    for subset in subsets:
        score = (ok(subset), sum(subset))
        if score > best_score:
            best, best_score = subset, score
    if best is not None and best_score[0] >= max(2, math.ceil(0.6 * len(evaluable))):
        return best
    every = tuple(range(n))
    return every if ok(every) >= max(1, math.ceil(0.5 * len(evaluable))) else None


def _row_ok(tv: Val, parts: list[Val | None]) -> bool:
    valued = [p for p in parts if p and p.value is not None]
    s = sum(p.value for p in valued)
    return abs(tv.value - s) <= _tolerance(valued, tv)


def _ratio_range(a: Val, b: Val) -> tuple[float, float] | None:
    lo_a, hi_a = a.value - a.half_unit, a.value + a.half_unit
    lo_b, hi_b = b.value - b.half_unit, b.value + b.half_unit
    if lo_b <= 0 <= hi_b or b.value == 0:
        return None
    cands = [100 * x / y for x in (lo_a, hi_a) for y in (lo_b, hi_b)]
    return min(cands), max(cands)


def percent_checks(table: dict, rows: list[TRow], value_cols: list[int], pct: set[int]) -> list[dict]:
    """A % column is réalisé / prévu (the pair of columns that explains most rows), or a share
    of the column's total (« MCO 2017 (%) »)."""
    headers = table["headers"]
    body = [r for r in rows if r.kind != "header"]
    others = [c for c in value_cols if c not in pct]
    total_row = next((r for r in reversed(body) if r.kind == "total"), None)
    out: list[dict] = []
    for pc in sorted(pct):
        pairs: list[tuple[str, int, int | None]] = [("ratio", a, b) for a in others for b in others if a != b]
        pairs += [("share", a, None) for a in others if total_row is not None]
        scored = []
        for mode, a, b in pairs:
            ok = n = 0
            for r in body:
                res = _pct_eval(r, pc, a, b, mode, total_row)
                if res is None:
                    continue
                n += 1
                ok += res[0] <= res[1]
            if n:
                scored.append((ok, -abs(pc - a), mode, a, b, n))
        if not scored:
            continue
        ok, _, mode, a, b, n = max(scored)
        if ok < max(2, math.ceil(0.6 * n)):
            continue
        header = headers[pc] if pc < len(headers) else ""
        what = (f"« {headers[a]} » / « {headers[b]} »" if mode == "ratio"
                else f"« {headers[a]} » / total de la colonne")
        for r in body:
            res = _pct_eval(r, pc, a, b, mode, total_row)
            if res is None:
                continue
            ecart, tol, computed, pv, av, bv = res
            out.append(check_row(
                rule="percent.ratio", severity="error", ecart=ecart, tolerance=tol, exercice=exercice_of(header),
                document_id=table["document_id"], line=pv.line or r.line, table_id=table["table_id"],
                found=fr(pv.value, "%", pv.decimals), expected=fr(computed, "%", pv.decimals),
                highlight=_clean_text(pv.text), valeur=pv.value, unite=pv.unit_of_rounding,
                numerateur=av.value, unite_numerateur=av.unit_of_rounding,
                denominateur=bv.value, unite_denominateur=bv.unit_of_rounding,
                message=(f"Ligne « {r.label} » : le pourcentage « {header or '%'} » ({fr(pv.value, '%', pv.decimals)}) "
                         f"ne correspond pas à {what} ({fr(computed, '%', pv.decimals)})."),
                suggestion=f"Corriger le pourcentage en {fr(computed, '%', pv.decimals)}."))
    return out


def _pct_eval(r: TRow, pc, a, b, mode, total_row):
    pv = _val(r, pc, "value")
    av = _val(r, a, "value")
    bv = _val(r, b, "value") if mode == "ratio" else (_val(total_row, a, "value") if total_row else None)
    if not (pv and av and bv) or None in (pv.value, av.value, bv.value):
        return None
    if mode == "share" and r is total_row:
        return None
    rng = _ratio_range(av, bv)
    if rng is None:
        return None
    computed = 100 * av.value / bv.value
    lo, hi = rng
    ecart = 0.0 if lo - pv.half_unit <= pv.value <= hi + pv.half_unit else abs(pv.value - computed)
    tol = 0.0 if ecart == 0 else max(hi - computed, computed - lo) + pv.half_unit
    return ecart, tol + _EPS, computed, pv, av, bv


def table_checks(store, kept: dict | None = None) -> list[dict]:
    """The check rows of every table of `store` (total.column, total.row, percent.ratio…), table by
    table. The rows of a table read its description and its cells only: with `kept` (a dict a session
    keeps between checks of one draft, pipelines/live.py), the rows of a table equal in both to one seen
    before are copies of that table's rows (a save that changed one figure checks one table again)."""
    out: list[dict] = []
    for table in store.tables:
        cells = store.table_cells(table["table_id"])
        if not cells:
            continue
        if kept is None:
            out += _table_checks(table, cells)
            continue
        key = repr((table, cells))
        if key not in kept:
            if len(kept) >= _KEPT_TABLES:  # a day of edits of one draft, not a corpus
                kept.clear()
            kept[key] = _table_checks(table, cells)
        out += [{k: list(v) if isinstance(v, list) else v for k, v in r.items()} for r in kept[key]]
    return out


_KEPT_TABLES = 5000


def _table_checks(table: dict, cells: list[dict]) -> list[dict]:
    rows = _rows(cells)
    value_cols = sorted({c["col"] for c in cells if c["role"] in VALUE_ROLES})
    body = [r for r in rows if r.kind != "header"]
    pct = percent_columns(body, table["headers"], value_cols)
    return (column_checks(table, rows, value_cols, pct) + row_checks(table, rows, value_cols, pct)
            + percent_checks(table, rows, value_cols, pct))
