"""Mise en forme longue, une fonction par famille : un tableau rattaché -> lignes curées.

Every row carries org, exercice (the year the figure is about: from the column
header when it has one, else the report's year), report_year, document_id and
the source line of the figure: the line where that figure is printed (its cell's
line), not its row's first line — a PDF text row prints each year's value on a line of
its own below the label (pipelines/extract/pdftext.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipelines.curate.matching import section_chain
from pipelines.curate.referentiels import Referentiels, key
from pipelines.extract.model import Cell, Document, Narratif, Row, Table
from pipelines.extract.numbers import clean, year_in_header

NIVEAU = {"item": "detail", "subitem": "sous_detail", "subtotal": "sous_total", "total": "total",
          "derived": "derive"}
_CODE = re.compile(r"^\s*(\d{2,5})\b\s*(.*)$")


def _base(doc: Document, table: Table, line: int, exercice: int | None) -> dict:
    return {"org": doc.org, "exercice": exercice or doc.report_year, "report_year": doc.report_year,
            "document_id": doc.document_id, "line": line, "table_id": table.table_id, "source": "tableau"}


def _line(row: Row, col: int) -> int:
    """Line where the figure of column ``col`` is printed: its cell's, else the row's (no such cell)."""
    return row.cells[col].line if col < len(row.cells) else row.line


def _unknown_header(doc: Document, table: Table, refs: Referentiels, col: int) -> None:
    """A numeric column whose header names no measure: listed by the build, never silently dropped."""
    if any(col < len(r.cells) and r.cells[col].value is not None for r in table.body):
        refs.unknown.add((doc.document_id, "en-tête de colonne", table.headers[col]))


def _year(table: Table, col: int, doc: Document) -> int | None:
    ref = year_in_header(table.headers[col]) if col < len(table.headers) else None
    return ref.year if ref else doc.report_year


def _valued_cells(table: Table, row: Row) -> Iterator[tuple[int, Cell]]:
    """(column, cell) of the figures of a row, labels and blanks left out."""
    for col in range(table.n_label_cols, len(row.cells)):
        if row.cells[col].value is not None:
            yield col, row.cells[col]


def _label_cells(table: Table, row: Row) -> list[str]:
    return [clean(c.text) for c in row.cells[: table.n_label_cols]]


# --- finances -------------------------------------------------------------------

def finances(doc: Document, table: Table, refs: Referentiels) -> list[dict]:
    context = " ".join([table.caption or "", *section_chain(doc, table)]).lower()
    section = "investissement" if "invest" in context else "fonctionnement"
    sens = "recettes" if re.search(r"recette", context) else ("depenses" if re.search(r"d[ée]pense", context) else None)
    columns = _finance_columns(doc, table, refs)
    out = []
    chapter_seen = False
    for row in table.body:
        labels = _label_cells(table, row)
        code, libelle = _chapitre(labels)
        niveau = NIVEAU[row.kind]
        if niveau == "detail" and chapter_seen and _article(refs, code):
            niveau = "sous_detail"  # an article (28031) under its chapter (040): never added to it
        chapter_seen = chapter_seen or (niveau == "detail" and code is not None)
        per_year: dict[int, dict] = {}
        placed: set[int] = set()  # years whose line is that of one of their figures
        for col, name, mesure, year in columns:
            cell = row.cells[col] if col < len(row.cells) else None
            rec = per_year.setdefault(year, {**_base(doc, table, row.line, year), "section": section,
                                             "sens": sens or _sens(refs, code), "chapitre": code,
                                             "libelle": libelle, "niveau": niveau,
                                             "concept": code or key(libelle) or "total"})
            rec[name] = cell.value if cell else None
            if name == "realise" or "mesure" not in rec:
                rec["mesure"] = mesure  # the measure of `realise` when the table has one
            if cell and cell.value is not None and (name == "realise" or year not in placed):
                rec["line"] = cell.line  # the first figure of the year cites its line, `realise` above all
                placed.add(year)
        for rec in per_year.values():
            rec["perimetre"] = f"{section}/{rec['sens'] or ''}"
        out += per_year.values()
    return out


def _finance_columns(doc: Document, table: Table, refs: Referentiels) -> list[tuple[int, str, str, int | None]]:
    """(column, store column, measure, exercice) of each budget column the referential names."""
    columns = []
    for col in range(table.n_label_cols, len(table.headers)):
        header = table.headers[col]
        found = refs.mesure("finances", header)
        if found is None:
            _unknown_header(doc, table, refs, col)
            continue
        name, year = found.colonne, year_in_header(header)
        if name == "reports" and year and year.year < (doc.report_year or 0):
            name = "reports_anterieurs"  # « reports 2016 » printed in the 2017 report
        exercice = year.year if year and name != "reports_anterieurs" else doc.report_year
        columns.append((col, name, found.mesure, exercice))
    return columns


def _article(refs: Referentiels, code: str | None) -> bool:
    """M14/M57: chapters have two or three digits (011, 16, 040) or are listed in chapitres.csv
    (1068); a longer code is an article of a chapter (1641, 28031)."""
    return code is not None and len(code) >= 4 and code not in refs.chapitres


def _chapitre(labels: list[str]) -> tuple[str | None, str]:
    text = " ".join(x for x in labels if x)
    m = _CODE.match(text)
    if m:
        return m[1], m[2].strip() or text
    return None, text


def _sens(refs: Referentiels, code: str | None) -> str | None:
    return (refs.chapitres.get(code) or {}).get("sens") or None if code else None


# --- contributions --------------------------------------------------------------

def contributions(doc: Document, table: Table, refs: Referentiels) -> list[dict]:
    columns = _contribution_columns(doc, table, refs)
    out = []
    for row in table.body:
        printed = row.label
        adherent = _adherent(doc, refs, printed, row)
        for col, categorie, year in columns:
            if col < len(row.cells) and row.cells[col].value is not None:
                out.append({**_base(doc, table, _line(row, col), year), "adherent": adherent,
                            "adherent_imprime": printed, "categorie": categorie,
                            "categorie_imprimee": table.headers[col], "montant": row.cells[col].value,
                            "niveau": NIVEAU[row.kind], "lignee": refs.lignee(doc.org, adherent),
                            "concept": adherent, "mesure": categorie,
                            "perimetre": _perimetre(doc, table, refs, col) if row.kind in ("total", "subtotal")
                            else ""})
    return out


def _contribution_columns(doc: Document, table: Table, refs: Referentiels) -> list[tuple[int, str, int | None]]:
    """(column, category, exercice); a bare year column takes the measure the caption or the first
    header names (« Cotisations adhérents : | 2019 | 2020 »)."""
    context = " ".join([table.caption or "", *(table.headers[: table.n_label_cols])])
    default = refs.mesure("contributions", context)
    columns = []
    for col in range(table.n_label_cols, len(table.headers)):
        header = table.headers[col]
        found = refs.mesure("contributions", header)
        year = year_in_header(header)
        if found is None and year:
            found = default if default and default.mesure != "cotisation_votee" else None
            categorie = found.mesure if found else "total"
        elif found is None:
            _unknown_header(doc, table, refs, col)
            categorie = key(header) or "montant"
        else:
            categorie = found.mesure
        columns.append((col, categorie, year.year if year else doc.report_year))
    return columns


def _perimetre(doc: Document, table: Table, refs: Referentiels, col: int) -> str:
    """Who a printed total covers: « 9 adhérents : 5 villes, 1 ept, 3 établissements »."""
    kinds: dict[str, int] = {}
    for row in table.body:
        if row.kind == "item" and col < len(row.cells) and row.cells[col].value is not None:
            found = refs.adherent(doc.org, row.label)
            kind = found.type if found else "autre"
            kinds[kind] = kinds.get(kind, 0) + 1
    n = sum(kinds.values())
    return f"{n} adhérents : " + ", ".join(f"{v} {k}{'s' if v > 1 and not k.endswith('s') else ''}"
                                          for k, v in sorted(kinds.items()))


def _adherent(doc: Document, refs: Referentiels, printed: str, row: Row | None = None) -> str:
    if row is not None and row.kind in ("total", "subtotal"):
        return "Total"
    found = refs.adherent(doc.org, printed)
    if found:
        return found.canonique
    refs.unknown.add((doc.document_id, "adhérent", printed))
    return printed


# --- activité -------------------------------------------------------------------

def activite(doc: Document, table: Table, refs: Referentiels) -> list[dict]:
    chain = section_chain(doc, table)
    pole = refs.pole(doc.org, [*chain[:1], table.caption or "", *chain[1:], *_titles_above(doc, table)]) \
        or "indetermine"
    axe, classify = _axe(doc, table, refs)
    out = []
    for row in table.body:
        printed = row.label
        concept, norm = ("total", "Total") if row.kind in ("total", "subtotal") else classify(printed)
        for col, cell in _valued_cells(table, row):
            header = table.headers[col] if col < len(table.headers) else ""
            if cell.unit == "%" or "%" in header:
                continue  # shares are derived from the days, not days
            out.append({**_base(doc, table, cell.line, _year(table, col, doc)), "pole": pole, "axe": axe,
                        "categorie": printed, "categorie_norm": norm, "jours": cell.value,
                        "niveau": NIVEAU[row.kind], "concept": concept, "mesure": "jours",
                        "perimetre": f"{pole}/{axe}"})
    return out


_POLE = re.compile(r"p[ôo]le", re.I)


def _titles_above(doc: Document, table: Table) -> list[str]:
    """Short title-like lines above a table, for reports without numbered sections."""
    lines = doc.lines[max(0, table.line_start - 250): table.line_start - 1]
    # the word first: few lines hold it, and cleaning each of 250 lines twice per table was a tenth
    # of the reading of a report (a --watch re-check reads the draft at every save)
    return [t for x in reversed(lines) if _POLE.search(x) and 3 < len(t := clean(x)) < 60]


def _axe(doc: Document, table: Table, refs: Referentiels):
    """(axis, printed label -> (concept, canonical label)): by the rows' entities first (adhérents,
    domaines), then by the axes referential's caption and header patterns."""
    labels = [r.label for r in table.body if r.kind == "item" and r.label]
    adherents = [refs.adherent(doc.org, x) for x in labels]
    domaines = [refs.domaine(x) for x in labels]
    caption, first = table.caption or "", table.headers[0] if table.headers else ""
    if labels and sum(a is not None for a in adherents) * 2 >= len(labels):
        oph = all(a is None or a.type == "oph" for a in adherents)
        return ("oph" if oph else "collectivite"), lambda x: (_adherent(doc, refs, x),) * 2
    if labels and sum(d is not None for d in domaines) * 2 >= len(labels):
        text = f"{caption} {first}"
        suffix = "_mco" if re.search(r"\bMCO\b", text) else ("_projet" if re.search(r"projet", text, re.I) else "")
        return "domaine" + suffix, lambda x: (refs.domaine(x) or _unknown(doc, refs, "domaine", x),) * 2
    axe = next((a for a in refs.axes if a.motif and (a.motif.search(caption) or a.motif.search(first))), None)
    axe = axe or refs.axe("type")
    if axe is None or axe.ouvert:
        return (axe.axe if axe else "type"), lambda x: (clean(x), clean(x))
    return axe.axe, lambda x: refs.concept("activite", axe.axe, x) or (key(x), _unknown(doc, refs, "type d'activité", x))


def _unknown(doc: Document, refs: Referentiels, kind: str, printed: str) -> str:
    refs.unknown.add((doc.document_id, kind, printed))
    return printed


# --- formations, tickets ---------------------------------------------------------

def formations(doc: Document, table: Table, refs: Referentiels) -> list[dict]:
    out = []
    for row in table.body:
        kind = "total" if row.kind in ("total", "subtotal") else _type_formation(doc, refs, row.label)
        for col in range(table.n_label_cols, len(row.cells)):
            cell = row.cells[col]
            if cell.value is None and cell.value2 is None:
                continue
            agents = cell.value if cell.unit in ("agents", None) else None
            jours = cell.value2 if cell.unit2 == "jours" else (cell.value if cell.unit == "jours" else None)
            out.append({**_base(doc, table, cell.line, _year(table, col, doc)), "type": kind,
                        "type_imprime": row.label, "agents": agents, "jours": jours,
                        "concept": kind, "mesure": "agents", "perimetre": ""})
    return out


def _type_formation(doc: Document, refs: Referentiels, label: str) -> str:
    found = refs.concept("formations", "", label)
    if found:
        return found[0]
    k = key(label)
    for pattern, name in ((r"bureau", "bureautique"), (r"metier", "metiers"), (r"reclass", "reclassements")):
        if re.search(pattern, k):
            return name
    return _unknown(doc, refs, "type de formation", label)


def tickets(doc: Document, table: Table, refs: Referentiels) -> list[dict]:
    out = []
    for row in table.body:
        for col, cell in _valued_cells(table, row):
            found = refs.adherent(doc.org, row.label)
            entite = "Total" if row.kind in ("total", "subtotal") else (found.canonique if found else row.label)
            out.append({**_base(doc, table, cell.line, _year(table, col, doc)), "entite": entite,
                        "entite_imprimee": row.label, "tickets": cell.value, "concept": entite,
                        "mesure": "tickets", "perimetre": ""})
    return out


# --- effectifs, applications -------------------------------------------------------

_EFF_COLUMNS = [(r"contractuel", "contractuels"), (r"titulaire", "titulaires"),
                (r"pourvu", "pourvus"), (r"emplois", "emplois")]


def effectifs(doc: Document, table: Table, refs: Referentiels) -> list[dict]:
    roles = {}
    for col, header in enumerate(table.headers):
        h = header.lower()
        if col < table.n_label_cols:
            roles[col] = "filiere" if "fili" in h else ("categorie" if h.startswith("cat") else "grade")
    out, filiere = [], None
    for row in table.body:
        labels = {roles.get(i, "grade"): clean(c.text) for i, c in enumerate(row.cells[: table.n_label_cols])}
        filiere = labels.get("filiere") or filiere
        grade = labels.get("grade") or (row.label if row.kind != "item" else None)
        per_date: dict[str, dict] = {}
        placed: set[str] = set()  # dates whose line is that of one of their figures
        for col in range(table.n_label_cols, min(len(row.cells), len(table.headers))):
            header = table.headers[col]
            name = next((n for p, n in _EFF_COLUMNS if re.search(p, header, re.I)), None)
            ref = year_in_header(header)
            date = ref.date if ref and ref.date else f"{doc.report_year}-12-31"
            if not name:
                continue
            rec = per_date.setdefault(date, {**_base(doc, table, row.line, int(date[:4])), "date": date,
                                             "filiere": filiere, "categorie": labels.get("categorie"),
                                             "grade": grade, "niveau": NIVEAU[row.kind],
                                             "concept": key(grade or "") or "total", "mesure": "emplois",
                                             "perimetre": key(filiere or "")})
            rec[name] = row.cells[col].value
            if rec[name] is not None and date not in placed:
                rec["line"] = row.cells[col].line  # the date's first figure
                placed.add(date)
        out += per_date.values()
    return out


def applications(doc: Document, table: Table, refs: Referentiels) -> list[dict]:
    roles = {}
    for col, header in enumerate(table.headers):
        h = header.lower()
        if "fournisseur" in h:
            roles[col] = "fournisseur"
        elif "logiciel" in h or h.startswith("application"):
            roles[col] = "logiciel"
        elif "fonction" in h or "description" in h:
            roles[col] = "fonctionnalite"
        elif h.startswith("domaine"):
            roles[col] = "domaine"
    out, domaine = [], None
    for row in table.body:
        values = {roles[i]: clean(c.text) for i, c in enumerate(row.cells) if i in roles}
        domaine = values.get("domaine") or domaine
        if not values.get("logiciel"):
            continue
        out.append({**_base(doc, table, row.line, doc.report_year), "domaine": domaine,
                    "fonctionnalite": values.get("fonctionnalite"), "logiciel": values.get("logiciel"),
                    "fournisseur": values.get("fournisseur")})
    return out


# --- indicateurs -----------------------------------------------------------------

def indicateurs(doc: Document, table: Table, refs: Referentiels) -> list[dict]:
    pole = refs.pole(doc.org, [*section_chain(doc, table), table.caption or ""])
    domaine = pole or key(table.caption or "")
    transposed = sum(1 for r in table.body if re.fullmatch(r"(?:19|20)\d{2}", r.label)) * 2 > len(table.body)
    out = []
    for row in table.body:
        for col, cell in _valued_cells(table, row):
            header = table.headers[col] if col < len(table.headers) else ""
            if transposed:
                exercice, indicateur = int(row.label), header
            else:
                ref = year_in_header(header)
                exercice = ref.year if ref else doc.report_year
                indicateur = row.label if ref else f"{row.label} — {header}".strip(" —")
            # a table that names no pôle (a synthesis, staff by service): the label names it, or none
            out.append({**_base(doc, table, cell.line, exercice), "domaine": domaine, "indicateur": indicateur,
                        "pole": pole or refs.pole(doc.org, [indicateur]),
                        "valeur": cell.value, "unite": cell.unit, "source": "tableau",
                        "concept": key(indicateur), "mesure": cell.unit or "", "perimetre": domaine})
    return out


# --- indicateurs du texte -------------------------------------------------------------

# Words a measure or a subject never ends on: what is left is a fragment (« agents contre », « ETP à fin »).
_DANGLING = {"à", "a", "au", "aux", "de", "d", "du", "des", "en", "et", "ou", "fin", "contre", "plus", "moins",
             "le", "la", "les", "l", "par", "pour", "sur", "soit", "dont", "+", "-", "–", "avec", "que", "qui"}
_CODES_FOLLOW = {"compte", "comptes", "chapitre", "article", "page", "annexe"}  # « au compte 20 »: a code was cut
_NEEDS_SUBJECT = {"taux", "montant", "age"}
_NEEDS_WORDS = {"duree", "volume"}


def indicateurs_texte(doc: Document, refs: Referentiels, joined: set[tuple[int, float]] = frozenset()) -> list[dict]:
    """Key figures of the prose that a reader understands -> `indicateurs` rows (source = 'texte').

    A figure is published only with a unit that data/referentiels/unites.csv knows (printed: %, €, ETP,
    jours…; or counted: the head word of its measure or subject, « factures »), a measure that is not a
    fragment, and its own year (the narrative extractor's); a change (« par rapport à »), a forecast (a
    year after the report's or a marker of marqueurs.csv) and an unreadable figure stay in `narratifs`
    only. ``joined`` = (line, value) of the figures already joined to `contributions`."""
    rows = []
    for n in doc.narratifs:
        if (n.line, n.value) in joined:
            continue
        published = key_figure(n, refs, doc.report_year)
        if published is None:
            continue
        indicateur, unite = published
        domaine = (n.section or "texte")[:80]
        rows.append({"org": doc.org, "exercice": n.exercice or doc.report_year, "report_year": doc.report_year,
                     "document_id": doc.document_id, "line": n.line, "domaine": domaine,
                     "indicateur": indicateur, "valeur": n.value, "unite": unite, "source": "texte",
                     "table_id": n.table_id, "concept": key(indicateur), "mesure": unite, "perimetre": domaine})
    return rows


def key_figure(n: Narratif, refs: Referentiels, report_year: int | None = None) -> tuple[str, str] | None:
    """(indicateur, unité) of a figure of the text worth publishing, or None (see `indicateurs_texte`)."""
    if n.value is None or n.status != "ok" or (report_year and n.exercice and n.exercice > report_year):
        return None
    clause = _clause_before(n)
    if refs.projection(clause):
        return None
    if refs.evolution(clause) or refs.generique(n.sujet):
        return None
    if re.search(r"\bdont\s+(?:environ\s+)?$", clause) and not re.search(r"\d", clause):
        return None  # « (*) dont 2 ingénieurs à 80% »: a part of a whole the sentence does not give
    unite, counted = _unite(n, refs)
    if unite is None or _fragment(n.mesure) or _fragment(n.sujet):
        return None
    signed = n.text.startswith(("+", "-", "−"))
    if unite.genre in _NEEDS_SUBJECT and not (n.sujet or counted):
        if not (signed and re.match(r"^(?:de|du|des|d['’]|en)\b\W*\w+\W+\w", n.mesure or "")):
            return None
        # « +48% du nombre d'agents formés », « -500 k€ en charges générales »: a change of what it names
        return _with_unit(f"évolution {_changed(n.mesure)}", unite.unite), unite.unite
    mesure = _noun_phrase(n.mesure, refs)
    if unite.genre in _NEEDS_WORDS | {"effectif"} and not n.sujet and (
            len(mesure.split()) < 2 or re.fullmatch(r"\S+ par (?:jour|semaine|mois|an)", mesure)):
        return None  # « 1256 jours », « (12 agents sur l'effectif de 49) », « 3 jours par semaine »: of what?
    label = (f"{n.sujet} — {mesure}" if n.sujet and mesure else n.sujet or mesure) or None
    if label and not n.sujet and unite.genre == "volume" and not label.startswith(unite.unite):
        label = f"{unite.unite} {label}"  # « 13 To de données sauvegardées par jour »
    if not label or not re.search(r"[A-Za-zÀ-ÿ]{3}", label):
        return None
    return _with_unit(f"évolution {label}" if signed else label, unite.unite), unite.unite


def _changed(mesure: str) -> str:
    """« d'augmentation de l'activité de formation » -> « de l'activité de formation »: the label says « évolution »."""
    rest = re.sub(r"^(?:d['’]|de\s+)(?:augmentation|hausse|croissance|progression|baisse|diminution)\s+", "", mesure)
    return rest if re.match(r"^(?:de|du|des|d['’])\b", rest) else mesure


def _with_unit(label: str, unite: str) -> str:
    """« factures sécurisées (%) », « reports (€) »: a symbol a reader would not guess from the words."""
    return label if not re.fullmatch(r"%|k?€|M€|To|Go", unite) or unite in label.split() else f"{label} ({unite})"


def _noun_phrase(mesure: str | None, refs: Referentiels) -> str:
    """The measure up to a second clause: « agents et couvre les activités » -> « agents », while
    « avis d'échéance et décomptes d'eau » keeps its second counted noun."""
    words = (mesure or "").split()
    for i, w in enumerate(words):
        if w == "et" and (i + 1 == len(words) or refs.unite(words[i + 1]) is None):
            return " ".join(words[:i])
    return " ".join(words)


def _unite(n: Narratif, refs: Referentiels):
    """(unit, counted) : the printed unit, else the head word of the measure, else of the subject;
    counted is True when a counted noun names the figure (« factures sécurisées » for a %)."""
    named = n.mesure or n.sujet or ""  # the measure names the figure; the subject only when it has none
    heads = re.split(r"[\s]+", named.strip())[:2]  # « nouvelles demandes »: the noun may follow its adjective
    found = next((u for u in map(refs.unite, heads) if u), None)  # « 46 ans » : a unit printed as a word
    counted = found is not None and found.genre in ("denombrement", "effectif")
    return (refs.unite(n.unit) if n.unit else found), counted


def _fragment(words: str | None) -> bool:
    """« agents contre », « ans et + », « à fin »: words that end (or start) on a joint."""
    if not words:
        return False
    parts = re.split(r"[\s'’]+", words.lower().strip())
    return (parts[-1] in _DANGLING or parts[-1] in _CODES_FOLLOW
            or parts[0] in {"à", "et", "ou", "contre", "+", "-", "soit"})


def _clause_before(n: Narratif) -> str:
    """The clause of the sentence that leads to the figure (where « sera », « descendra » is read)."""
    pos = n.sentence.find(n.text) if n.text else -1
    head = n.sentence[:pos] if pos >= 0 else n.sentence
    return re.split(r"[.;!?]\s", head)[-1]

