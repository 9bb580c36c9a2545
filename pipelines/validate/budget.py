"""budget.balance, crosstable : deux tableaux d'un même rapport qui doivent concorder."""

from __future__ import annotations

import re

from pipelines.extract.numbers import clean, plain, year_in_header
from pipelines.validate.frames import check_row, fr, items_give

_ADHERENTS = re.compile(r"adh[ée]rent", re.IGNORECASE)
_PREVU = re.compile(r"pr[ée]vision|pr[ée]vu|cr[ée]dits ouverts|budget", re.IGNORECASE)
# « MCO (en jours) » names the row « MCO »; « Dématérialisation (charge Projet en nb de jours) » does not.
_UNIT_PAREN = re.compile(r"\((?:en\s+)?(?:nb|nombre)?\s*(?:de\s+)?(?:jours?|agents?|euros?|€|k€|%)\)", re.IGNORECASE)
_REALISE = re.compile(r"r[ée]alis|titres [ée]mis", re.IGNORECASE)
_TOTAL = re.compile(r"total", re.IGNORECASE)
_CHAPTER_74 = re.compile(r"^\s*74\b")
_YEAR = re.compile(r"(?:19|20)\d{2}")


def _norm(text: str) -> str:
    return plain(text)


def _total_cell(cells: list[dict], header_re: re.Pattern) -> dict | None:
    return next((c for c in cells if c["row_kind"] == "total" and c["value"] is not None
                 and header_re.search(c["header"] or "")), None)


def balance_checks(store) -> list[dict]:
    """Voted prévisions balance per section; a gap equal and opposite in the two sections is the
    virement 023 → 021 left out of the printed tables."""
    out = []
    for doc in store.documents:
        found: dict[tuple[str, str], dict] = {}
        for t in store.tables_of(doc):
            if t["table_id"] not in store.budget:  # a budget table, its section and sens as curated
                continue
            section, sens = store.budget[t["table_id"]]
            cell = _total_cell(store.table_cells(t["table_id"]), _PREVU)
            if cell and (section, sens) not in found:
                found[(section, sens)] = cell
        gaps = {}
        for section in ("fonctionnement", "investissement"):
            rec, dep = found.get((section, "recettes")), found.get((section, "depenses"))
            if rec and dep:
                gaps[section] = (rec, dep, rec["value"] - dep["value"])
        for section, (rec, dep, gap) in gaps.items():
            other = gaps.get("investissement" if section == "fonctionnement" else "fonctionnement")
            virement = other is not None and abs(gap + other[2]) < 0.01 and abs(gap) > 0.01
            ecart = abs(gap)
            msg = (f"Section de {section} : les prévisions de recettes ({fr(rec['value'], '€', 2)}) et de dépenses "
                   f"({fr(dep['value'], '€', 2)}) ne s'équilibrent pas (écart {fr(gap, '€', 2)}).")
            if virement:
                msg += (" L'écart est le même, en sens inverse, dans l'autre section : c'est vraisemblablement le "
                        "virement de la section de fonctionnement (023) à la section d'investissement (021), "
                        "absent des tableaux.")
            out.append(check_row(
                rule="budget.balance", severity="warning" if virement else "error", ecart=ecart, tolerance=0.01,
                document_id=doc, line=int(dep["line"]), table_id=dep["table_id"],
                found=fr(dep["value"], "€", 2), expected=fr(rec["value"], "€", 2), highlight=clean(dep["text"]),
                valeur=dep["value"], reference=rec["value"], message=msg,
                suggestion=("Faire figurer les lignes 023 (dépenses de fonctionnement) et 021 (recettes "
                            f"d'investissement) pour {fr(abs(gap), '€', 2)}." if virement else
                            "Vérifier les prévisions de la section (budget primitif + décisions modificatives).")))
    return out


def _first_header(store, table_id: str) -> str:
    """« MCO (en jours) » -> « mco »: the name a detail table gives itself in its first header."""
    heads = [c for c in store.table_cells(table_id) if c["role"] == "header" and c["col"] == 0]
    head = heads[-1] if heads else None  # the row just above the body, under any banner row
    return _norm(_UNIT_PAREN.sub("", clean(head["text"] or ""))) if head else ""


def crosstable_checks(store) -> list[dict]:
    return _drilldown(store) + _synthesis(store) + _chapter_vs_adherents(store)


def _drilldown(store) -> list[dict]:
    """A row of a summary table (« MCO ») detailed by the next table whose first header is that
    row (« MCO (en jours) »): the detail's total equals the summary row, year by year."""
    out = []
    for doc in store.documents:
        ids = [t["table_id"] for t in store.tables_of(doc)]
        first = {i: _first_header(store, i) for i in ids}
        for i, summary in enumerate(ids):
            items = [c for c in store.value_cells(summary) if c["row_kind"] == "item"]
            for detail in ids[i + 1: i + 4]:
                name = first.get(detail)
                if not name:
                    continue
                rows = [c for c in items if _norm(c["row_label"]) == name]
                if not rows:
                    continue
                dcells = store.value_cells(detail)
                dtot = [c for c in dcells if c["row_kind"] == "total"]
                for s in rows:
                    sy = year_in_header(s["header"] or "")
                    for d in dtot:
                        dy = year_in_header(d["header"] or "")
                        if not sy or not dy or sy.year != dy.year:
                            continue
                        ecart = abs(s["value"] - d["value"])
                        if ecart > 0.5 and _items_agree(dcells, d, s["value"]):
                            ecart = 0.0  # the detail's own total is wrong: total.column says so
                        unit = s["unit"]
                        out.append(check_row(
                            rule="crosstable", severity="error", ecart=ecart, tolerance=0.5 + 1e-6, exercice=dy.year,
                            document_id=doc, line=int(d["line"]), table_id=detail, found=fr(d["value"], unit),
                            expected=fr(s["value"], unit), highlight=clean(d["text"]),
                            message=f"Le total du tableau détaillé « {name} » pour {dy.year} ({fr(d['value'], unit)}) "
                                    f"ne correspond pas à la ligne « {s['row_label']} » du tableau de synthèse "
                                    f"(ligne {s['line']} : {fr(s['value'], unit)}).",
                            suggestion="Mettre les deux tableaux en accord (l'un des deux chiffres est faux)."))
    return out


def _items_agree(cells: list[dict], total: dict, value: float) -> bool:
    """The item rows of the total's column add up to `value` (to the rounding of their unit)."""
    items = [c["value"] for c in cells if c["col"] == total["col"] and c["row_kind"] == "item"]
    return items_give(sum(items), len(items), value)


def _synthesis(store) -> list[dict]:
    """A table with one row per year (« 2018 | 77 | … ») against the detail table of that year
    whose caption names the same measure (« Les Mises en Production en 2018 … TOTAL 73 »)."""
    out = []
    for doc in store.documents:
        recs = store.tables_of(doc)
        for syn in recs:
            labels = [c for c in store.table_cells(syn["table_id"]) if c["col"] == 0 and c["role"] == "label"]
            if not labels or not all(_YEAR.fullmatch(clean(c["text"] or "")) for c in labels):
                continue
            sc = store.value_cells(syn["table_id"])
            for det in recs:
                if det["table_id"] == syn["table_id"]:
                    continue
                dtot = [c for c in store.value_cells(det["table_id"]) if c["row_kind"] == "total"]
                if len(dtot) != 1:
                    continue
                d = dtot[0]
                ref = year_in_header(det["caption"] or "")
                year = ref.year if ref else store.report_year(doc)
                cap = _norm(det["caption"] or "")
                for s in [c for c in sc if clean(c["row_label"] or "") == str(year)]:
                    h = _norm(s["header"] or "")
                    if len(h) < 5 or h not in cap:
                        continue
                    ecart = abs(s["value"] - d["value"])
                    out.append(check_row(
                        rule="crosstable", severity="error", ecart=ecart, tolerance=0.5 + 1e-6, document_id=doc,
                        exercice=year, line=int(s["line"]), table_id=syn["table_id"], found=fr(s["value"]), expected=fr(d["value"]),
                        highlight=clean(s["text"]),
                        message=f"Le tableau de synthèse donne {fr(s['value'])} « {s['header']} » pour {year}, mais le "
                                f"tableau détaillé « {det['caption']} » totalise {fr(d['value'])} (ligne {d['line']}).",
                        suggestion="Mettre la synthèse et le détail en accord (l'un des deux chiffres est faux)."))
    return out


def _chapter_vs_adherents(store) -> list[dict]:
    """Chapter 74 (dotations et participations) is what the adhérents paid: it equals the grand
    total of the revenue-by-adhérent table of the same report, to the rounding of its euros."""
    out = []
    for doc in store.documents:
        tabs = store.tables_of(doc)
        adh = [t for t in tabs if _ADHERENTS.search(t["caption"] or "")]
        fin = [t for t in tabs if store.budget.get(t["table_id"]) == ("fonctionnement", "recettes")]
        for a in adh:
            ac = store.value_cells(a["table_id"])
            tot = [c for c in ac if c["row_kind"] == "total" and _TOTAL.search(c["header"] or "")]
            if not tot:
                continue
            t = tot[-1]
            n_items = sum(1 for c in ac if c["row_kind"] == "item" and c["col"] == t["col"])
            for f in fin:
                ch = [c for c in store.value_cells(f["table_id"]) if _CHAPTER_74.match(c["row_label"] or "")
                      and _REALISE.search(c["header"] or "")]
                for c in ch[:1]:
                    ecart = abs(c["value"] - t["value"])
                    out.append(check_row(
                        rule="crosstable", severity="error", ecart=ecart, tolerance=0.5 * (n_items + 1) + 0.01,
                        document_id=doc, line=int(t["line"]), table_id=a["table_id"], found=fr(t["value"], "€"),
                        expected=fr(c["value"], "€", 2), highlight=clean(t["text"]),
                        message=f"Le total des recettes par adhérent ({fr(t['value'], '€')}) ne correspond pas au "
                                f"chapitre 74 réalisé (ligne {c['line']} : {fr(c['value'], '€', 2)}).",
                        suggestion="Vérifier la répartition par adhérent ou le montant du chapitre 74."))
    return out
