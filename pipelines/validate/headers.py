"""header.year, header.label, value.malformed : en-têtes et cellules illisibles."""

from __future__ import annotations

import re
from collections import Counter

from pipelines.extract.numbers import clean, year_in_header
from pipelines.validate.frames import check_row, fr

_PLACEHOLDER = re.compile(r"^(?:colonne|column|col|champ|field|unnamed)[\s_:-]*\d*$", re.IGNORECASE)
# Columns legitimately about a later year: projections, votes, budgets to come.
_FUTURE_OK = re.compile(r"projection|prévision|previsi|prévu|vote|budget|bp\b|objectif|cible|prospect",
                        re.IGNORECASE)


def header_checks(store) -> list[dict]:
    out: list[dict] = []
    for table in store.tables:
        table_id = table["table_id"]
        cells = [c for c in store.table_cells(table_id) if c["role"] == "header"]
        if not cells:
            continue
        report_year = store.report_year(table["document_id"])
        caption = (table["caption"] or "") + " " + " ".join(h or "" for h in table["headers"])
        years = []
        first_row: dict[int, tuple[int, str]] = {}  # col -> (row, text) of its first header cell
        for c in cells:
            text = clean(c["text"] or "")
            row, text0 = first_row.setdefault(c["col"], (c["row"], text))
            if row != c["row"] and text0 == text:
                continue  # the header printed again (a table continued on the next page): one header
            base = dict(document_id=table["document_id"], line=int(c["line"]), table_id=table_id)
            if _PLACEHOLDER.match(text):
                out.append(check_row(
                    rule="header.label", severity="warning", statut="placeholder", found=text,
                    expected=None, highlight=text, **base,
                    message=f"L'en-tête de colonne « {text} » est un nom provisoire de tableur, pas un titre.",
                    suggestion="Donner à la colonne un titre explicite (par exemple « % réalisé »)."))
                continue
            if c["col"] == 0 and not re.fullmatch(r"[\d\s/]+", text):
                continue
            ref = year_in_header(text)
            if ref is None:
                out.append(check_row(rule="header.label", statut="ok", **base))
                continue
            years.append((c, ref, text))
            if ref.malformed:
                out.append(check_row(
                    rule="header.year", severity="warning", statut="malformed", found=ref.printed,
                    expected=str(ref.year), highlight=ref.printed, **base,
                    message=f"L'année « {ref.printed} » de l'en-tête est mal saisie (espace de milliers).",
                    suggestion=f"Écrire « {ref.year} »."))
            elif report_year and ref.year > report_year and not _FUTURE_OK.search(text + " " + caption):
                out.append(check_row(
                    rule="header.year", severity="error", statut="future", found=str(ref.year),
                    expected=f"≤ {report_year}", highlight=ref.printed, **base,
                    message=f"L'en-tête « {text} » porte l'année {ref.year}, postérieure à celle du rapport "
                            f"({report_year}).",
                    suggestion="Vérifier l'année de la colonne (décalage d'une année ?)."))
            else:
                out.append(check_row(rule="header.year", statut="ok", **base))
        out += _sequence(table, years)
        out += _dates(table, years)
    return out


def _stem(text: str, printed: str) -> str:
    return re.sub(r"\s+", " ", text.replace(printed, "#")).strip().lower()


def _sequence(table, years) -> list[dict]:
    """Years of one series (same header apart from the year) must be distinct and ordered."""
    out = []
    series: dict[str, list] = {}
    for c, ref, text in years:
        if ref.date:
            continue
        series.setdefault(_stem(text, ref.printed) if not re.fullmatch(r"[\d ]+", text) else "#", []).append(
            (c, ref, text))
    for items in series.values():
        if len(items) < 2:
            continue
        seen: dict[int, dict] = {}
        ys = [ref.year for _, ref, _ in items]
        increasing = sum(b > a for a, b in zip(ys, ys[1:], strict=False)) >= sum(
            b < a for a, b in zip(ys, ys[1:], strict=False))
        for k, (c, ref, text) in enumerate(items):
            base = dict(document_id=table["document_id"], line=int(c["line"]), table_id=table["table_id"],
                        highlight=ref.printed, found=str(ref.year))
            if ref.year in seen:
                out.append(check_row(
                    rule="header.year", severity="error", statut="duplicated", expected=None, **base,
                    message=f"L'année {ref.year} apparaît deux fois dans les en-têtes du tableau "
                            f"(« {clean(seen[ref.year]['text'])} » et « {text} »).",
                    suggestion="Corriger l'année de l'une des deux colonnes."))
                continue
            seen[ref.year] = c
            if k:
                prev = items[k - 1][1].year
                if (increasing and ref.year < prev) or (not increasing and ref.year > prev):
                    out.append(check_row(
                        rule="header.year", severity="error", statut="sequence",
                        expected=f"{'après' if increasing else 'avant'} {prev}", **base,
                        message=f"L'année {ref.year} rompt l'ordre des colonnes (elle suit {prev}).",
                        suggestion="Vérifier l'ordre ou l'année des colonnes."))
    return out


def _dates(table, years) -> list[dict]:
    """Within one table, the columns of one year should be at the same date (« 31/12/2022 »)."""
    out = []
    by_year: dict[int, list] = {}
    for c, ref, text in years:
        if ref.date:
            by_year.setdefault(ref.year, []).append((c, ref, text))
    for year, items in by_year.items():
        dates = [ref.date for _, ref, _ in items]
        if len(set(dates)) < 2:
            continue
        common = min(Counter(dates).most_common(), key=lambda dc: (-dc[1], dc[0]))[0]  # ties: earliest
        common_printed = next(ref.printed for _, ref, _ in items if ref.date == common)
        for c, ref, text in items:
            if ref.date == common:
                continue
            out.append(check_row(
                rule="header.label", severity="warning", statut="date", document_id=table["document_id"],
                line=int(c["line"]), table_id=table["table_id"], found=ref.printed, expected=common_printed,
                highlight=ref.printed,
                message=f"La colonne « {text} » est datée du {ref.printed} alors que les autres colonnes "
                        f"{year} du tableau sont au {common_printed}.",
                suggestion=f"Harmoniser la date ({common_printed} ?)."))
    return out


def malformed_checks(store) -> list[dict]:
    out = []
    bad = [c for t in store.tables for c in store.table_cells(t["table_id"])
           if c["parse_status"] in ("malformed", "irregular")]
    for c in bad:
        text = clean(c["text"] or "")
        irregular = c["parse_status"] == "irregular"
        readable = fr(c["value"], c["unit"], None) if irregular else None
        out.append(check_row(
            rule="value.malformed", severity="info" if irregular else "error",
            statut=c["parse_status"], document_id=c["document_id"], line=int(c["line"]),
            table_id=c["table_id"], found=text, expected=readable, highlight=text,
            message=(f"Le nombre « {text} » est lisible mais ses chiffres sont mal groupés."
                     if irregular else f"Le nombre « {text} » ne peut pas être lu tel qu'il est imprimé."),
            suggestion=(f"Écrire « {readable} »." if irregular else "Corriger la saisie du nombre.")))
    for n in (n for n in store.narratifs if n["parse_status"] == "malformed"):
        out.append(check_row(
            rule="value.malformed", severity="error", statut="malformed", document_id=n["document_id"],
            line=int(n["line"]), table_id=n["table_id"], found=n["text"], expected=None, highlight=n["text"],
            message=f"Le montant « {n['text']} » cité dans le texte ne peut pas être lu (groupes de chiffres "
                    "incohérents).",
            suggestion="Corriger la saisie du montant (espaces et virgule)."))
    return out
