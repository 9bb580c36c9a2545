"""vintage.restated, vintage.stale : un rapport contre les rapports des autres années.

Series are matched across reports from the tables themselves (same organisme,
same row label, same year column, same unit), so that the checks need no
curation and work on an author's draft; a table pair counts as the same series
only when it shares several figures.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from pipelines.extract.numbers import clean, decimals_of
from pipelines.validate.frames import check_row, fr


def _norm(text: str) -> str:
    plain = unicodedata.normalize("NFKD", clean(text or "").lower()).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


def restated_checks(store, tc: pd.DataFrame) -> list[dict]:
    out: list[dict] = []
    if tc.empty:
        return out
    docs = store.documents.set_index("document_id")
    tc = tc[tc["year"].notna()].copy()
    tc["org"] = tc["document_id"].map(docs["org"])
    tc["report_year"] = tc["document_id"].map(docs["report_year"])
    tc["label"] = tc["words"].str.len()  # placeholder column replaced below
    cells = store.cells.set_index(["table_id", "row", "col"])
    tc["label"] = [_norm(cells.loc[(t, r, c), "row_label"]) if (t, r, c) in cells.index else ""
                   for t, r, c in zip(tc["table_id"], tc["row"], tc["col"], strict=False)]
    tc = tc[tc["label"] != ""]
    keyed = tc.groupby(["org", "label", "year"])
    pairs: dict[tuple[str, str], list] = {}
    for _, g in keyed:
        if g["document_id"].nunique() < 2:
            continue
        recs = g.to_dict("records")
        for a in recs:
            for b in recs:
                if a["report_year"] < b["report_year"] and _units_match(a["unit"], b["unit"]):
                    pairs.setdefault((a["table_id"], b["table_id"]), []).append((a, b))
    for (_, _), matches in pairs.items():
        if len(matches) < 3:  # two tables share a series only when they share several figures
            continue
        equal = [m for m in matches if _same(m[0], m[1])]
        if len(equal) * 3 < len(matches):
            continue
        for a, b in matches:
            if not _same(a, b):
                a = _as_items_say(tc, a)
            if _same(a, b) or _earlier_total_was_wrong(tc, a, b):
                out.append(check_row(rule="vintage.restated", statut="ok", document_id=b["document_id"],
                                     line=int(b["line"])))
                continue
            unit = a["unit"]
            out.append(check_row(
                rule="vintage.restated", severity="warning", statut="modifie", document_id=b["document_id"],
                line=int(b["line"]), table_id=b["table_id"], found=fr(b["value"], unit), expected=fr(a["value"], unit),
                highlight=clean(b["text"]), exercice=int(a["year"]),
                key=f"{a['label']} | {int(a['year'])}",
                message=f"« {a['label']} » {int(a['year'])} vaut {fr(b['value'], unit)} dans ce rapport "
                        f"({int(b['report_year'])}) mais {fr(a['value'], unit)} dans le rapport {int(a['report_year'])} "
                        f"(ligne {a['line']}).",
                suggestion="Si le chiffre a été révisé, le signaler en note ; sinon reprendre la valeur publiée "
                           f"({fr(a['value'], unit)})."))
    return out


def _earlier_total_was_wrong(tc: pd.DataFrame, a: dict, b: dict) -> bool:
    """A total the earlier report got wrong (its items gave the later value) is not a restatement:
    total.column reports it in the earlier report."""
    if a["kind"] not in ("total", "subtotal"):
        return False
    items = tc[(tc["table_id"] == a["table_id"]) & (tc["col"] == a["col"]) & (tc["kind"] == "item")
               & (tc["unit"] == a["unit"])]
    return not items.empty and abs(items["value"].sum() - b["value"]) <= 0.5 * (len(items) + 1)


def _as_items_say(tc: pd.DataFrame, a: dict) -> dict:
    """An earlier total that its own items contradict is compared by the sum of those items."""
    if a["kind"] not in ("total", "subtotal"):
        return a
    items = tc[(tc["table_id"] == a["table_id"]) & (tc["col"] == a["col"]) & (tc["kind"] == "item")
               & (tc["unit"] == a["unit"])]
    if items.empty or abs(items["value"].sum() - a["value"]) <= 0.5 * (len(items) + 1):
        return a
    return {**a, "value": float(items["value"].sum())}


def _units_match(a, b) -> bool:
    """« 340 » in one report and « 340 jour » in the next are the same measure; % is never a count."""
    a = a if isinstance(a, str) and a else None
    b = b if isinstance(b, str) and b else None
    return a == b or (None in (a, b) and "%" not in (a, b))


def _same(a: dict, b: dict) -> bool:
    half = 0.5 * 10 ** -decimals_of(a["text"]) + 0.5 * 10 ** -decimals_of(b["text"])
    return abs(a["value"] - b["value"]) <= half + 1e-6


def stale_checks(store) -> list[dict]:
    """Figures of the prose repeated unchanged from the previous report while their year moved on
    (« Mandats émis : 76070 » in both the 2017 and 2018 reports): reported when a group of
    such figures (one table or section) has been copied, not for a lone coincidence."""
    out: list[dict] = []
    nar = store.narratifs[(store.narratifs["parse_status"] == "ok") & store.narratifs["value"].notna()].copy()
    if nar.empty:
        return out
    docs = store.documents.set_index("document_id")
    nar["org"] = nar["document_id"].map(docs["org"])
    nar["report_year"] = nar["document_id"].map(docs["report_year"])
    nar = nar[nar["report_year"].notna() & (nar["exercice"] == nar["report_year"])]
    nar["lab"] = nar["label"].map(_norm)
    for _org, g in nar.groupby("org"):
        years = sorted(g["report_year"].unique())
        for prev_y, cur_y in zip(years, years[1:], strict=False):
            if cur_y - prev_y != 1:
                continue
            prev = g[g["report_year"] == prev_y]
            cur = g[g["report_year"] == cur_y]
            merged = cur.merge(prev[["lab", "value", "unit", "line", "document_id"]], on=["lab", "value"],
                               suffixes=("", "_prev"))
            merged = merged[merged["value"].abs() >= 10].drop_duplicates(["document_id", "line", "lab", "value"])
            group_key = merged["table_id"].fillna(merged["section"].fillna(""))
            for _, grp in merged.groupby(group_key):
                if len(grp) < 3 or (grp["value"].abs() >= 100).sum() < 2:
                    continue
                for r in grp.to_dict("records"):
                    out.append(check_row(
                        rule="vintage.stale", severity="warning", statut="reprise", document_id=r["document_id"],
                        line=int(r["line"]), table_id=r["table_id"] if isinstance(r["table_id"], str) else None,
                        found=f"{r['label']} : {r['text']}", expected=f"valeur {int(cur_y)} (pas celle de {int(prev_y)})",
                        highlight=r["text"], exercice=int(cur_y), key=r["lab"],
                        message=f"« {r['label']} : {r['text']} » est présenté comme un chiffre {int(cur_y)} mais "
                                f"figure à l'identique dans le rapport {int(prev_y)} (ligne {int(r['line_prev'])}), "
                                f"comme {len(grp) - 1} autres chiffres du même bloc : bloc recopié sans mise à jour ?",
                        suggestion=f"Mettre à jour le chiffre pour {int(cur_y)} ou préciser l'année à laquelle il se rapporte."))
    return out
