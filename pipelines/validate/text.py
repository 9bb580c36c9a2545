"""text.year, text.table, text.percent : le texte du rapport contre ses tableaux et son année."""

from __future__ import annotations

import itertools
import re

from pipelines.extract.numbers import clean, decimals_of, fold, year_in_header
from pipelines.validate.frames import VALUE_ROLES, check_row, fr

_COMPARE_YEAR = re.compile(
    r"(?P<phrase>(?:par rapport (?:à|a|en|au)(?: l['’]ann[ée]e| l['’]exercice)?|compar[ée]e?s? (?:à|avec)"
    r"(?: l['’]ann[ée]e)?|\bvs\.?|versus|(?:en )?(?:hausse|baisse|progression|diminution) sur)"
    r"\s+(?P<year>(?:19|20)\d{2}))(?!\d)",
    re.IGNORECASE,
)
_TOC_LINE = re.compile(r"\.{4,}|\t\s*\d+\s*$|\s\d{1,3}\s*$")
_CHANGE_WORDS = re.compile(r"hausse|augment|progress|baisse|diminu|évolu|evolu|croissance|recul", re.IGNORECASE)
_AT_LEAST = re.compile(r"(?:\+\s?de|plus de|sup[ée]rieure? à|au moins)\s*$", re.IGNORECASE)
_ABOUT = re.compile(r"(?:près de|environ|quelque|approximativement|~)\s*$", re.IGNORECASE)
_ANY_YEAR = re.compile(r"(?:19|20)\d{2}")
_COUNTED = ("agents", "jours", "€", "tickets")
_STOP = {"dans", "pour", "avec", "sont", "nombre", "total", "cette", "leur", "plus", "moins", "entre", "depuis",
         "jour", "jours", "agent", "agents", "euro", "euros", "annee", "tickets", "general"}


def _stems(text: str) -> set[str]:
    plain = fold(clean(text))
    return {w[:4] for w in re.findall(r"[a-z]{4,}", plain) if w not in _STOP}


def year_checks(store, lignes: list[dict]) -> list[dict]:
    """« stable par rapport à 2018 » written in the 2018 report compares a year with itself."""
    out = []
    for rec in lignes:
        text = rec["text"] or ""
        if not _ANY_YEAR.search(text):
            continue
        report_year = store.report_year(rec["document_id"])
        if not report_year:
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


def table_figures(store) -> list[dict]:
    """Value cells with their column year, unit, row label and wording, composite cells split in two."""
    rows = []
    years: dict[str, int | None] = {}
    for t in store.tables:
        first_header = (t["headers"][0] or "") if t["headers"] else ""
        for c in store.table_cells(t["table_id"]):
            if c["role"] not in VALUE_ROLES:
                continue
            header = c["header"] or ""
            if header not in years:
                ref = year_in_header(header) if header else None
                years[header] = ref.year if ref else None
            words = f"{t['caption'] or ''} {first_header} {c['row_label'] or ''} {header}"
            for v, u in ((c["value"], c["unit"]), (c["value2"], c["unit2"])):
                if v is not None:
                    rows.append(dict(document_id=c["document_id"], table_id=c["table_id"], row=c["row"],
                                     col=c["col"], line=c["line"], value=float(v), unit=u or "", year=years[header],
                                     words=words, line_start=t["line_start"], line_end=t["line_end"],
                                     kind=c["row_kind"], text=c["text"], row_label=c["row_label"] or ""))
    return rows


def _by(rows: list[dict], *keys: str) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


def _near_miss(a: float, b: float) -> bool:
    """One digit mistyped or two adjacent digits swapped (« 1407 » for « 1467 »), cents included."""
    if a != int(a) or b != int(b):
        a, b = round(a * 100), round(b * 100)
    sa, sb = str(int(a)), str(int(b))
    if len(sa) != len(sb) or sa == sb:
        return False
    diff = [i for i in range(len(sa)) if sa[i] != sb[i]]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and sa[diff[0]] == sb[diff[1]] and sa[diff[1]] == sb[diff[0]]


def _rounded(cited: float, printed: float) -> bool:
    """« 1 110 » for 1 111 or « 12 000 » for 12 040: the prose rounded the table's figure."""
    if cited != int(cited) or cited == 0:
        return False
    step = 10
    while cited % (step * 10) == 0:
        step *= 10
    return cited % step == 0 and round(printed / step) * step == cited


def _printed_decimals(text: str | None) -> int | None:
    """Decimals of a cell holding one figure; None (guess) for « 1467 agents 250.5 jours »."""
    figures = re.findall(r"\d[\d .,]*", clean(text or ""))
    return (decimals_of(text) or None) if len(figures) == 1 else None


def _agrees(n: dict, c: dict) -> bool:
    """Equal to the printed precision of the less precise of the two: « 4 986 331.25 » and
    « 4 986 331,15 » both give cents, so they differ; « 4 986 331 » rounds either."""
    decimals = min(decimals_of(n["text"] or ""), decimals_of(c["text"] or ""))
    return abs(c["value"] - n["value"]) <= 0.5 * 10 ** -decimals + 1e-9


def table_text_checks(store, tc: list[dict]) -> list[dict]:
    out = []
    by_unit = _by(tc, "document_id", "unit")
    for n in store.narratifs:
        v = n["value"]
        if (n["parse_status"] != "ok" or n["unit"] not in _COUNTED or n["table_id"] is not None or v is None
                or abs(v) < 100):
            continue
        # cells printed without their unit (« 624 671,14 » under « Réalisations ») may be the same measure
        same = by_unit.get((n["document_id"], n["unit"]), []) + by_unit.get((n["document_id"], ""), [])
        if n["exercice"]:
            same = [c for c in same if c["year"] is None or c["year"] == n["exercice"]]
        near = [c for c in same if c["line_start"] - 40 <= n["line"] <= c["line_end"] + 40]
        if not near:
            continue
        # a figure of the nearby tables, or a large one quoted from further away, is confirmed
        if any(_agrees(n, c) for c in near) or (abs(v) >= 1000 and any(_agrees(n, c) for c in same)):
            out.append(check_row(rule="text.table", statut="ok", document_id=n["document_id"], line=int(n["line"])))
            continue
        sentence = n["sentence"] or ""
        before = sentence[:max(sentence.find(n["text"]), 0)]
        if _ABOUT.search(before) or _AT_LEAST.search(before):
            continue  # « environ 1110 jours » for 1 111: an approximation, not a typo
        words = _stems(sentence)
        for c in sorted(near, key=lambda c: c["kind"] != "total"):
            if _near_miss(v, c["value"]) and not _rounded(v, c["value"]) and words & _stems(c["words"]):
                unit = n["unit"]
                cited = fr(v, unit, _printed_decimals(n["text"]))  # « 766 606,60 », as printed
                printed = fr(c["value"], unit, _printed_decimals(c["text"]))
                out.append(check_row(
                    rule="text.table", severity="error", statut="contredit", document_id=n["document_id"],
                    line=int(n["line"]), table_id=c["table_id"], found=cited, expected=printed,
                    highlight=n["text"],
                    message=f"Le texte cite {cited} alors que le tableau voisin (ligne {c['line']}, "
                            f"« {clean(c['text'])} ») donne {printed} : chiffres inversés ou mal recopiés ?",
                    suggestion=f"Écrire {printed} (ou corriger le tableau)."))
                break
    return out


def percent_text_checks(store, tc: list[dict]) -> list[dict]:
    """« +235 % … (865 agents) »: the change the figures give, from the sentence itself
    (« 13 620 factures (12 560 en 2016) soit + de 8 % ») or from the table row holding the figure."""
    out = []
    index = _FigureIndex(tc)
    groups = _by([n for n in store.narratifs if n["parse_status"] == "ok"], "document_id", "line")
    for (doc, line), group in groups.items():
        if not any(g["unit"] == "%" for g in group):
            continue
        for p in [g for g in group if g["unit"] == "%"]:
            sentence = p["sentence"] or ""
            pos = sentence.find(p["text"])
            before = sentence[:max(pos, 0)]
            signed = p["text"].startswith(("+", "-", "−"))
            figures = [g for g in group if g["unit"] != "%" and g["value"] is not None]
            # « de 4,200 M€ à 5,040 M€, soit 20 % »: the sentence states the change itself
            computed = _from_to(figures, sentence, max(pos, 0))
            if computed is None and not signed and not _CHANGE_WORDS.search(before[-60:] + sentence[pos: pos + 80]):
                continue
            if computed is None and re.search(r"\b(?:soit|représent|part|dont|occupe)\b", before[-40:]) and not signed:
                continue
            computed = computed or _from_sentence(figures, sentence)
            source = "les chiffres de la phrase"
            if computed is None:
                computed = index.change(figures, doc)
                source = "le tableau"
            if computed is None:
                continue
            cur, prev, cur_d, prev_d = computed[:4]
            shown_prev, shown_cur = (computed[5], computed[4]) if len(computed) > 4 else (fr(prev), fr(cur))
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
                message=f"Le texte annonce {p['text']} % mais, d'après {source}, on passe de {shown_prev} à {shown_cur}, "
                        f"soit {'+' if change >= 0 else ''}{fr(change, '%', 1)}.",
                suggestion=f"Écrire {'+' if change >= 0 else ''}{fr(change, '%', 0)} (ou vérifier les chiffres cités)."))
    return out


def _half(text: str) -> float:
    return 0.5 * 10 ** -decimals_of(text) if text else 0.5


_FROM = re.compile(r"\b(?:de|d['’]|du)\s*$", re.IGNORECASE)
_TO = re.compile(r"^[^\d]{0,20}?(?:\s(?:en|au)\s[^\d]{0,20}?(?:19|20)\d{2}[^\d]{0,5}?)?\s(?:à|a)\s*$", re.IGNORECASE)


def _from_to(figures, sentence, pct_pos):
    """« de X à Y » before the percentage, X and Y of the same unit: (Y, X, half-units) as printed."""
    placed = sorted(((sentence.find(f["text"]), f) for f in figures if 0 <= sentence.find(f["text"]) < pct_pos),
                    key=lambda pf: pf[0])
    for (pa, a), (pb, b) in itertools.pairwise(placed):
        if a["unit"] != b["unit"] or not a["value"] or pb <= pa:
            continue
        if _FROM.search(sentence[:pa]) and _TO.match(sentence[pa + len(a["text"]): pb]):
            return (b["value"], a["value"], _half(b["text"]), _half(a["text"]),
                    fr_printed(b), fr_printed(a))
    return None


def fr_printed(n: dict) -> str:
    """A prose figure quoted as printed, with its unit: « 4,200 M€ »."""
    return f"{n['text']} {n['unit']}" if n["unit"] else n["text"]


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


class _FigureIndex:
    """Table figures by (document, unit) and by row, to find the year before a cited figure."""

    def __init__(self, tc: list[dict]):
        self.by_unit = _by([c for c in tc if c["year"] is not None], "document_id", "unit")
        self.by_row = _by(tc, "table_id", "row", "unit", "year")

    def change(self, figures, doc):
        """(current, previous, half-units) from the table row holding one of the figures."""
        for f in figures:
            if not isinstance(f["unit"], str):
                continue
            for h in self.by_unit.get((doc, f["unit"]), []):
                if abs(h["value"] - f["value"]) >= 1e-6:
                    continue
                prev = self.by_row.get((h["table_id"], h["row"], h["unit"], h["year"] - 1), [])
                if len(prev) == 1 and prev[0]["value"] > 0:
                    return h["value"], float(prev[0]["value"]), _half(h["text"]), _half(prev[0]["text"])
        return None
