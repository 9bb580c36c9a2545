"""text.year, text.table, text.percent : le texte du rapport contre ses tableaux et son année."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from pipelines.extract.numbers import clean, decimals_of, year_in_header
from pipelines.validate.frames import check_row, fr

_COMPARE_YEAR = re.compile(
    r"(?P<phrase>(?:par rapport (?:à|a|en|au)(?: l['’]ann[ée]e| l['’]exercice)?|compar[ée]e?s? (?:à|avec)"
    r"(?: l['’]ann[ée]e)?|\bvs\.?|versus|(?:en )?(?:hausse|baisse|progression|diminution) sur)"
    r"\s+(?P<year>(?:19|20)\d{2}))(?!\d)",
    re.IGNORECASE,
)
_TOC_LINE = re.compile(r"\.{4,}|\t\s*\d+\s*$|\s\d{1,3}\s*$")
_CHANGE_WORDS = re.compile(r"hausse|augment|progress|baisse|diminu|évolu|evolu|croissance|recul", re.IGNORECASE)
_AT_LEAST = re.compile(r"(?:\+\s?de|plus de|sup[ée]rieure? à|au moins)\s*$", re.IGNORECASE)
_ABOUT = re.compile(r"(?:près de|environ|~)\s*$", re.IGNORECASE)
_STOP = {"dans", "pour", "avec", "sont", "nombre", "total", "cette", "leur", "plus", "moins", "entre", "depuis",
         "jour", "jours", "agent", "agents", "euro", "euros", "annee", "tickets", "general"}


def _stems(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", clean(text).lower()).encode("ascii", "ignore").decode()
    return {w[:4] for w in re.findall(r"[a-z]{4,}", plain) if w not in _STOP}


def year_checks(store, lignes: pd.DataFrame) -> list[dict]:
    """« stable par rapport à 2018 » written in the 2018 report compares a year with itself."""
    out = []
    years = dict(zip(store.documents["document_id"], store.documents["report_year"], strict=False))
    for rec in lignes.to_dict("records"):
        text = rec["text"] or ""
        if not re.search(r"(?:19|20)\d{2}", text):
            continue
        report_year = years.get(rec["document_id"])
        if not report_year or pd.isna(report_year):
            continue
        plain = clean(text)
        if _TOC_LINE.search(text.rstrip("\n")) and not plain.endswith("."):
            continue  # table of contents: the heading itself is checked
        for m in _COMPARE_YEAR.finditer(plain):
            year = int(m["year"])
            if year < report_year:
                out.append(check_row(rule="text.year", statut="ok", document_id=rec["document_id"],
                                     line=int(rec["line"])))
                continue
            out.append(check_row(
                rule="text.year", severity="error", statut="annee", document_id=rec["document_id"],
                line=int(rec["line"]), found=m["phrase"], expected=f"{m['phrase'][: -4]}{int(report_year) - 1}",
                highlight=m["phrase"],
                message=f"Le texte compare avec {year} (« {m['phrase']} ») dans le rapport {int(report_year)} : "
                        f"la comparaison porte sans doute sur l'année précédente.",
                suggestion=f"Écrire « {m['phrase'][: -4]}{int(report_year) - 1} » (ou vérifier les chiffres comparés)."))
    return out


def _table_cells(store) -> pd.DataFrame:
    """Value cells with their column year, unit and wording, composite cells split in two."""
    cells = store.cells[store.cells["role"].isin(["value", "subtotal", "total"])]
    tables = {t["table_id"]: t for t in store.tables.to_dict("records")}
    first_header = {k: h[0] if h is not None and len(h) else "" for k, h in
                    ((k, t["headers"]) for k, t in tables.items())}
    rows = []
    for c in cells.to_dict("records"):
        t = tables[c["table_id"]]
        ref = year_in_header(c["header"] or "") if c["header"] else None
        year = ref.year if ref else None
        words = f"{t['caption'] or ''} {first_header.get(c['table_id'], '')} {c['row_label'] or ''} {c['header'] or ''}"
        for v, u in ((c["value"], c["unit"]), (c["value2"], c["unit2"])):
            if v is not None and not pd.isna(v):
                rows.append(dict(document_id=c["document_id"], table_id=c["table_id"], row=c["row"],
                                 col=c["col"], line=c["line"], value=float(v), unit=u if isinstance(u, str) else "", year=year,
                                 words=words, line_start=t["line_start"], line_end=t["line_end"],
                                 kind=c["row_kind"], text=c["text"]))
    return pd.DataFrame(rows)


def _near_miss(a: float, b: float) -> bool:
    """One digit mistyped or two adjacent digits swapped (« 1407 » for « 1467 »)."""
    if a != int(a) or b != int(b):
        return False
    sa, sb = str(int(a)), str(int(b))
    if len(sa) != len(sb) or sa == sb:
        return False
    diff = [i for i in range(len(sa)) if sa[i] != sb[i]]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and sa[diff[0]] == sb[diff[1]] and sa[diff[1]] == sb[diff[0]]


def table_text_checks(store, tc: pd.DataFrame) -> list[dict]:
    out = []
    if tc.empty:
        return out
    narr = store.narratifs[(store.narratifs["parse_status"] == "ok") & store.narratifs["unit"].isin(
        ["agents", "jours", "€", "tickets"]) & store.narratifs["table_id"].isna()]
    by_doc = dict(tuple(tc.groupby("document_id", sort=False)))
    for n in narr.to_dict("records"):
        v = n["value"]
        if v is None or pd.isna(v) or abs(v) < 100 or n["document_id"] not in by_doc:
            continue
        doc_cells = by_doc[n["document_id"]]
        same = doc_cells[doc_cells["unit"] == n["unit"]]
        if n["exercice"] and not pd.isna(n["exercice"]):
            same = same[same["year"].isna() | (same["year"] == n["exercice"])]
        near = same[(same["line_start"] - 40 <= n["line"]) & (n["line"] <= same["line_end"] + 40)]
        if near.empty:
            continue
        if ((near["value"] - v).abs() <= 0.5).any() or ((same["value"] - v).abs() <= 0.5).any():
            out.append(check_row(rule="text.table", statut="ok", document_id=n["document_id"], line=int(n["line"])))
            continue
        words = _stems(n["sentence"] or "")
        for c in near.sort_values("kind", key=lambda k: k != "total").to_dict("records"):
            if _near_miss(v, c["value"]) and words & _stems(c["words"]):
                unit = n["unit"]
                out.append(check_row(
                    rule="text.table", severity="error", statut="contredit", document_id=n["document_id"],
                    line=int(n["line"]), table_id=c["table_id"], found=fr(v, unit), expected=fr(c["value"], unit),
                    highlight=n["text"],
                    message=f"Le texte cite {fr(v, unit)} alors que le tableau voisin (ligne {c['line']}, "
                            f"« {clean(c['text'])} ») donne {fr(c['value'], unit)} : chiffres inversés ou mal recopiés ?",
                    suggestion=f"Écrire {fr(c['value'], unit)} (ou corriger le tableau)."))
                break
    return out


def percent_text_checks(store, tc: pd.DataFrame) -> list[dict]:
    """« +235 % … (865 agents) »: the change the figures give, from the sentence itself
    (« 13 620 factures (12 560 en 2016) soit + de 8 % ») or from the table row holding the figure."""
    out = []
    nar = store.narratifs[store.narratifs["parse_status"] == "ok"]
    by_doc = dict(tuple(tc.groupby("document_id", sort=False))) if not tc.empty else {}
    groups: dict[tuple, list[dict]] = {}
    for rec in nar.to_dict("records"):  # plain records: tens of thousands of tiny groups on a corpus
        groups.setdefault((rec["document_id"], rec["line"]), []).append(rec)
    for (doc, line), group in groups.items():
        if not any(g["unit"] == "%" for g in group):
            continue
        for p in [g for g in group if g["unit"] == "%"]:
            sentence = p["sentence"] or ""
            pos = sentence.find(p["text"])
            before = sentence[:max(pos, 0)]
            signed = p["text"].startswith(("+", "-", "−"))
            if not signed and not _CHANGE_WORDS.search(before[-60:] + sentence[pos: pos + 80]):
                continue
            if re.search(r"\b(?:soit|représent|part|dont|occupe)\b", before[-40:]) and not signed:
                continue
            figures = [g for g in group if g["unit"] != "%" and g["value"] is not None and not pd.isna(g["value"])]
            computed = _from_sentence(figures, sentence)
            source = "les chiffres de la phrase"
            if computed is None:
                computed = _from_table(figures, by_doc.get(doc, tc.iloc[0:0]), doc)
                source = "le tableau"
            if computed is None:
                continue
            cur, prev, cur_d, prev_d = computed
            change = 100 * (cur / prev - 1)
            lo = 100 * ((cur - cur_d) / (prev + prev_d) - 1)
            hi = 100 * ((cur + cur_d) / (prev - prev_d) - 1)
            stated = p["value"]
            if _CHANGE_WORDS.search(before[-30:]) and re.search(r"baisse|diminu|recul", before[-30:], re.I):
                stated = -abs(stated)
            half = 0.5 * 10 ** -decimals_of(p["text"]) + (1.0 if _ABOUT.search(before) else 0.0)
            if _AT_LEAST.search(before):
                ecart = max(0.0, stated - half - hi)
            else:
                ecart = 0.0 if lo - half <= stated <= hi + half else abs(stated - change)
            out.append(check_row(
                rule="text.percent", severity="error", ecart=ecart, tolerance=1e-6, statut="ok",
                document_id=doc, line=int(line), found=f"{p['text']} %", expected=("+" if change >= 0 else "") + fr(change, "%", 1),
                highlight=p["text"],
                message=f"Le texte annonce {p['text']} % mais, d'après {source}, on passe de {fr(prev)} à {fr(cur)}, "
                        f"soit {'+' if change >= 0 else ''}{fr(change, '%', 1)}.",
                suggestion=f"Écrire {'+' if change >= 0 else ''}{fr(change, '%', 0)} (ou vérifier les chiffres cités)."))
    return out


def _half(text: str) -> float:
    return 0.5 * 10 ** -decimals_of(text) if text else 0.5


def _from_sentence(figures, sentence):
    prevs = [f for f in figures if f["exercice"] and any(
        g["exercice"] and f["exercice"] < g["exercice"] for g in figures)]
    for prev in prevs:
        ppos = sentence.find(prev["text"])
        cands = [g for g in figures if g is not prev and g["exercice"] > prev["exercice"] and g["unit"] == prev["unit"]
                 and sentence.find(g["text"]) < ppos and 0.2 < g["value"] / prev["value"] < 5]
        if cands:
            cur = max(cands, key=lambda g: sentence.find(g["text"]))
            return cur["value"], prev["value"], _half(cur["text"]), _half(prev["text"])
    return None


def _from_table(figures, tc: pd.DataFrame, doc):
    if tc.empty:
        return None
    for f in figures:
        if not isinstance(f["unit"], str):
            continue
        hit = tc[(tc["document_id"] == doc) & (tc["unit"] == f["unit"]) & ((tc["value"] - f["value"]).abs() < 1e-6)
                 & tc["year"].notna()]
        for h in hit.to_dict("records"):
            prev = tc[(tc["table_id"] == h["table_id"]) & (tc["row"] == h["row"]) & (tc["unit"] == h["unit"])
                      & (tc["year"] == h["year"] - 1)]
            if len(prev) == 1 and prev["value"].iloc[0] > 0:
                return h["value"], float(prev["value"].iloc[0]), _half(h["text"]), _half(prev["text"].iloc[0])
    return None


def text_checks(store, lignes: pd.DataFrame) -> list[dict]:
    tc = _table_cells(store)
    return year_checks(store, lignes) + table_text_checks(store, tc) + percent_text_checks(store, tc)
