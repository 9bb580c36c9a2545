"""Ce que partagent les carnets : paramètres, accès au magasin, contexte d'une analyse, résumés, tableaux et sources.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipelines import catalogue
from pipelines.errors import InvalidParameters
from pipelines.publish.comparaison import Chiffre, Evolution
from pipelines.publish.registre import Registre, annees_du_titre, cle, sources, unite
from pipelines.publish.registre import metrique as non_declaree

ROOT = Path(__file__).resolve().parents[3]

# The notebook templates, their pôles, titles and tables: pipelines/catalogue/carnets.toml.
TEMPLATES = tuple(c.nom for c in catalogue.carnets())
POLE_TEMPLATES = tuple(p.carnet for p in catalogue.poles())
# activite.pole values covered by each pôle notebook
POLES = {p.carnet: p.activite for p in catalogue.poles()}
# indicateurs.domaine patterns (lower-case LIKE) shown by each notebook: curation may
# store a domain code ('rh') or the section title the figure was read in.
DOMAINES = {c.nom: c.domaines for c in catalogue.carnets() if c.domaines}
TITRES = {c.nom: c.titre for c in catalogue.carnets()}
LIBELLES = {c.nom: c.libelle for c in catalogue.carnets()}
# Curated tables each template reads (besides documents and findings): the
# run fingerprint in runs.py hashes exactly these rows.
TABLES: dict[str, tuple[str, ...]] = {c.nom: c.tables for c in catalogue.carnets()}


def _domaine_sql(template: str) -> tuple[str, list[str]]:
    pats = list(DOMAINES.get(template, ()))
    return "(" + " OR ".join("lower(domaine) LIKE ?" for _ in pats) + ")", pats


def colonnes(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                      [table]).fetchall()}


def indicateurs_sql(con: duckdb.DuckDBPyConnection, template: str) -> tuple[str, list[str]]:
    """The indicateurs a notebook shows: its domain (section) patterns, and for a pôle notebook the
    figures the pôle referential attached to that pôle by their label (a store without the
    column, built before, has only the first)."""
    cond, pats = _domaine_sql(template)
    if template in POLES and "pole" in colonnes(con, "indicateurs"):
        poles = list(POLES[template])
        return f"({cond} OR pole IN ({', '.join('?' * len(poles))}))", [*pats, *poles]
    return cond, pats


AXES = ("type", "domaine", "collectivite", "oph", "application")
AXE_LIBELLES = {"type": "type d'activité", "domaine": "domaine", "collectivite": "adhérent",
                "oph": "office HLM", "application": "application",
                "type_mco": "type d'activité de maintien en condition opérationnelle",
                "domaine_mco": "domaine (maintien en condition opérationnelle)",
                "type_projet": "type d'activité projet", "domaine_projet": "domaine (projets)",
                "projet_dematerialisation": "projet de dématérialisation"}
AXES_FEMININS = {"application"}
AXE_COLONNES = {"type": "Type d'activité", "domaine": "Domaine", "collectivite": "Adhérent",
                "oph": "Office HLM", "application": "Application"}
SENS = {"depenses": "dépenses", "recettes": "recettes"}
SECTIONS = {"fonctionnement": "de fonctionnement", "investissement": "d'investissement"}
MAX_INDICATEURS_RESUME = 5
GRAVITES = {"error": "erreur", "warning": "avertissement", "info": "information"}
ALERTE = "⚠"
# Charts: ten distinct colours (Tableau 10), so at most nine categories and « autres ».
PALETTE = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d",
           "#bab0ac")
MAX_CATEGORIES = len(PALETTE) - 1
AUTRES = "autres"
NIVEAUX_FEUILLES = (None, "detail", "poste")  # items (curated, or of the metrics layer): never a total, sub-total or « dont »
_TOTAL = re.compile(r"^\s*(sous[- ]?)?total", re.IGNORECASE)


# ---------------------------------------------------------------- store access

def resolve_db(db_path: str | os.PathLike | None) -> Path:
    """The store read: `db_path`, else $BILANS_DB, else data/curated/bilans.duckdb; a relative
    path is also tried from the project root (JupyterLab starts in notebooks/): store.resolve_store."""
    from pipelines.store import resolve_store

    return resolve_store(db_path)


def connecter(db_path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """Read-only connection to the curated store, for analysts: ``con = connecter()``."""
    from pipelines.store import connect

    return connect(db_path)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [{n: _plain(v) for n, v in zip(names, r, strict=True)} for r in cur.fetchall()]


def tables_presentes(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def latest(con: duckdb.DuckDBPyConnection, table: str, org: str, year: int, keys: tuple[str, ...],
           where: str = "", params: list | None = None) -> list[dict]:
    """Rows up to `year`, one vintage per key: the most recent report that gives it (the project's
    one vintage rule, `metrics.dernier_millesime`; published figures go through `metrique`).

    rank() rather than row_number(): a report may legitimately print the same
    key twice (two tables); both rows are kept and the caller decides.
    """
    from pipelines.metrics import dernier_millesime

    part = ", ".join(["exercice", *keys])
    sql = f"""
        SELECT * FROM (SELECT * REPLACE (coalesce(exercice, report_year) AS exercice) FROM "{table}")
        WHERE org = ? AND report_year <= ? AND exercice <= ? {where}
        {dernier_millesime(part)}
        ORDER BY exercice, line"""
    return rows(con, sql, [org, year, year, *(params or [])])


def metrique(ctx: Contexte, nom: str, **filtres) -> list[dict]:
    """The values of one declared metric (pipelines/metrics.py) as of the report of `ctx.year`,
    each marked like a curated row: `source` (first line), `_lignes` (every line it is traced to),
    `signale`, `signalement`, `_constats` (findings on any of those lines, for that exercice).

    filtres: those of `metrics.valeurs` (exercice, adherent, pole, detail)."""
    from pipelines.metrics import valeurs

    out = []
    for r in valeurs(ctx.con, nom, org=ctx.org, jusqu_a=ctx.year, **filtres).to_dict("records"):
        r = {k: (None if _nan(v) else _plain(v)) for k, v in r.items()}
        lignes = [(d, int(n)) for d, _, n in (x.rpartition(":") for x in (r["sources"] or "").split(", ")) if d]
        r["_lignes"] = lignes
        r["document_id"], r["line"] = lignes[0] if lignes else (None, None)
        r["exercice"] = int(r["exercice"])
        # a sum of several lines: a finding on one of them quotes that line's figure, not the sum
        single = r if len(lignes) == 1 else {**r, "valeur": None}
        flags = [f for d, n in lignes for f in ctx.signalements({**single, "document_id": d, "line": n})]
        r["source"] = ctx.source(r["document_id"], r["line"]) + (" et suiv." if len(lignes) > 1 else "")
        r["signale"] = bool(flags)
        r["signalement"] = " ; ".join(f"{f['rule']} : {f['message']}" for f in flags)
        r["_constats"] = _dedupe(flags)
        out.append(r)
    return out


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def est_total(libelle: str | None) -> bool:
    return bool(libelle) and bool(_TOTAL.match(libelle))


def has_data(con: duckdb.DuckDBPyConnection, org: str, year: int, template: str,
             present: set[str] | None = None) -> bool:
    """Whether the report of (org, year) gives anything for this template."""
    present = present if present is not None else tables_presentes(con)

    def exists(table: str, where: str = "", params: list | None = None) -> bool:
        if table not in present:
            return False
        sql = f'SELECT 1 FROM "{table}" WHERE org = ? AND report_year = ? {where} LIMIT 1'
        return con.execute(sql, [org, year, *(params or [])]).fetchone() is not None

    if template in POLES:
        poles = list(POLES[template])
        ph = ", ".join("?" * len(poles))
        if exists("activite", f"AND pole IN ({ph})", poles):
            return True
        if template == "pole_support" and (exists("tickets") or exists("formations")):
            return True
        cond, params = indicateurs_sql(con, template) if "indicateurs" in present else ("", [])
        return exists("indicateurs", f"AND {cond} AND source = 'tableau'", params)
    if template == "finances":
        return exists("finances") or exists("contributions")
    if template == "ressources_humaines":
        cond, pats = _domaine_sql(template)
        return exists("effectifs") or exists("indicateurs", f"AND {cond}", pats)
    if template in ("qualite", "exploration"):
        return con.execute("SELECT 1 FROM documents WHERE org = ? AND report_year = ? LIMIT 1",
                           [org, year]).fetchone() is not None
    raise ValueError(f"carnet inconnu : {template}")


# ---------------------------------------------------------------- context

@dataclass
class Contexte:
    """What a notebook needs: parameters, connection, provenance, findings by location."""

    org: str
    year: int
    template: str
    db_path: Path
    con: duckdb.DuckDBPyConnection | None = None
    absence: str | None = None
    documents: dict[str, dict] = field(default_factory=dict)
    constats: dict[tuple[str, int], list[dict]] = field(default_factory=dict)
    registre: Registre | None = None

    @property
    def page(self) -> str:
        """The page's name in the publications register: its path under reports/, without suffix."""
        return f"analyses/{self.org}/{self.year}/{self.template}"

    @property
    def titre(self) -> str:
        return f"{TITRES[self.template]} — {self.org}, bilan {self.year}"

    def source(self, document_id: str | None, line: int | None) -> str:
        doc = self.documents.get(document_id or "", {})
        name = Path(doc.get("path") or document_id or "?").name
        return f"{name}, l. {line}" if line is not None else name

    def signalements(self, row: dict) -> list[dict]:
        found = self.constats.get((row.get("document_id"), row.get("line")), [])
        return [f for f in found if (f.get("exercice") is None or f["exercice"] == row.get("exercice"))
                and not _autre_chiffre(f, row)]

    def marquer(self, data: list[dict]) -> list[dict]:
        """Attach source and findings to each row (the fields charts and tables show)."""
        for r in data:
            flags = self.signalements(r)
            if r.get("source") in ("tableau", "texte"):  # the store's column, before it becomes provenance
                r["origine"] = r["source"]
            r["source"] = self.source(r.get("document_id"), r.get("line"))
            r["signale"] = bool(flags)
            r["signalement"] = " ; ".join(f"{f['rule']} : {f['message']}" for f in flags)
            r["_constats"] = flags
        return data


def _autre_chiffre(finding: dict, row: dict) -> bool:
    """A key figure on a line of several (a synthesis row) is not flagged by a finding that
    quotes another of the line's figures (« 77 mises en production » leaves « 3 974 boîtes » alone)."""
    if row.get("valeur") is None:
        return False
    quoted = []
    for key in ("found", "expected"):  # a text.table finding quotes the prose (found) and the table (expected)
        text = re.sub(r"[\s\u202f\u00a0]", "", str(finding.get(key) or "")).replace(",", ".")
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            quoted.append(float(text))
    return bool(quoted) and all(abs(q - float(row["valeur"])) > 1e-6 for q in quoted)


def _annee(year: Any) -> int:
    try:
        return int(year)
    except (TypeError, ValueError):
        raise InvalidParameters(f"Année invalide : « {year} » (attendu : l'année d'un bilan, par exemple 2022)."
                                ) from None


def _verifier_bilan(con: duckdb.DuckDBPyConnection, org: str, year: int) -> None:
    """The store must hold the report (org, year): otherwise say which org and years it holds."""
    reports: dict[str, list[int]] = defaultdict(list)
    for o, y in con.execute("SELECT DISTINCT org, report_year FROM documents WHERE report_year IS NOT NULL "
                            "ORDER BY org, report_year").fetchall():
        reports[o].append(y)
    if org not in reports:
        known = ", ".join(sorted(reports)) or "aucun (magasin vide)"
        raise InvalidParameters(f"Organisme inconnu : « {org} ». Organismes du magasin : {known}.")
    if year not in reports[org]:
        raise InvalidParameters(f"Le magasin ne contient pas de bilan {year} pour le {org}. "
                                f"Bilans du {org} : {', '.join(map(str, reports[org]))}.")


def _series_keys_present(con: duckdb.DuckDBPyConnection) -> bool:
    """Every comparison needs the series key (concept, mesure, perimetre) of the curated rows."""
    found = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'activite' "
                        "AND column_name IN ('concept', 'mesure', 'perimetre')").fetchone()[0]
    return found == 3


def ouvrir(db_path: str | os.PathLike, org: str, year: int, template: str) -> Contexte:
    """Open the store for one (org, year, template); sets `absence` when the report has nothing for it.

    Raises InvalidParameters (one French sentence listing the valid values) for a missing store, an
    unknown org or template, or a year without a report: a notebook run by hand with papermill then
    exits non-zero. A valid org and year with nothing for this template is not an error (`absence`).
    """
    year = _annee(year)
    if template not in TEMPLATES:
        raise InvalidParameters(f"Carnet inconnu : « {template} ». Carnets : {', '.join(TEMPLATES)}.")
    ctx = Contexte(org=org, year=year, template=template, db_path=resolve_db(db_path))
    ctx.registre = Registre.du_noyau(ctx.page)
    if not ctx.db_path.exists():
        raise InvalidParameters(f"Le magasin {ctx.db_path} est introuvable : lancez d'abord « bilans build » "
                                "(ou donnez son chemin dans le paramètre db_path).")
    ctx.con = duckdb.connect(str(ctx.db_path), read_only=True)
    if not _series_keys_present(ctx.con):
        ctx.absence = (f"Le magasin {ctx.db_path} a été construit par une version antérieure de l'atelier "
                       "(sans clé de série) : relancez « bilans build » avant les analyses.")
        return ctx
    _verifier_bilan(ctx.con, org, year)
    ctx.documents = {r["document_id"]: r for r in rows(
        ctx.con, "SELECT document_id, org, report_year, path FROM documents WHERE org = ? ORDER BY report_year",
        [org])}
    if not has_data(ctx.con, org, year, template):
        ctx.absence = (f"Le bilan {year} du {org} ne contient pas de données exploitables pour "
                       f"{LIBELLES[template]} (tableaux absents du rapport ou non reconnus). "
                       "L'analyse s'arrête ici.")
        return ctx
    for f in rows(ctx.con, """
            SELECT f.* FROM findings f JOIN documents d USING (document_id)
            WHERE d.org = ? AND d.report_year <= ? ORDER BY f.document_id, f.line, f.rule, f.message""", [org, year]):
        ctx.constats.setdefault((f["document_id"], f["line"]), []).append(f)
    return ctx


# ---------------------------------------------------------------- figures

def somme(data: list[dict], column: str) -> Chiffre:
    """A plain sum for tables and charts (headlines go through comparaison.evolution)."""
    vals = [r[column] for r in data if r.get(column) is not None]
    flags = [f for r in data for f in r.get("_constats", [])]
    return Chiffre(sum(vals) if vals else None, flags)


@dataclass
class Resume:
    """Summary sentences (plain text, ⚠ on flagged figures) and the findings behind the marks."""

    phrases: list[str] = field(default_factory=list)
    constats: list[dict] = field(default_factory=list)
    evolutions: list[Evolution] = field(default_factory=list)
    publies: list[tuple[int, Evolution, Publie]] = field(default_factory=list)  # (phrase, change, metric)
    titre: str | None = None  # the first sentence whose figure went through comparaison.evolution

    def texte(self) -> str:
        return "\n".join(self.phrases)

    @property
    def a_la_une(self) -> str:
        """The headline of the run for the analyses index."""
        return self.titre or (self.phrases[0] if self.phrases else "")


def _dedupe(flags: list[dict]) -> list[dict]:
    seen, out = set(), []
    for f in flags:
        k = (f.get("document_id"), f.get("line"), f.get("rule"), f.get("message"))
        if k not in seen:
            seen.add(k)
            out.append(f)
    return out


def _by_exercice(data: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = defaultdict(list)
    for r in data:
        out[r["exercice"]].append(r)
    return out


def _previous(years: list[int], year: int) -> int | None:
    earlier = [y for y in years if y < year]
    return max(earlier) if earlier else None


def vintages(ctx: Contexte, table: str, where: str = "", params: list | None = None) -> list[dict]:
    """Every vintage of the rows up to `year` (the comparisons choose the pair themselves)."""
    return ctx.marquer(rows(ctx.con, f"""
        SELECT * REPLACE (coalesce(exercice, report_year) AS exercice) FROM "{table}"
        WHERE org = ? AND report_year <= ? AND coalesce(exercice, report_year) <= ? {where}
        ORDER BY report_year, exercice, line""", [ctx.org, ctx.year, ctx.year, *(params or [])]))


def _noter(res: Resume, ev: Evolution | None, publie: Publie | None = None) -> None:
    """Record the evolution of the sentence just written (the first one is the run's headline) and,
    when `publie` says what it measures, its figures for the publications register."""
    if ev is not None:
        if res.titre is None and res.phrases:
            res.titre = res.phrases[-1]
        res.evolutions.append(ev)
        res.constats += ev.courant.constats
        if publie is not None:
            res.publies.append((len(res.phrases), ev, publie))


# ---------------------------------------------------------------- publications register

@dataclass(frozen=True)
class Publie:
    """What the figures of a chart, table or sentence measure: the declared metric (metriques.toml), or
    the row column naming it when one chart mixes metrics (days by adhérent = collectivités + OPH), and
    the dimensions the figure is about. An undeclared quantity (the report's key figures) is named
    `<family>.<measure>` and is not compared with the metrics layer."""

    famille: str
    mesure: str
    nom: str | None = None  # declared metric
    nom_de: str | None = None  # row column holding the declared metric's name
    pole: str | None = None
    detail: str | None = None
    poste_de: str | None = None  # the row's column naming the item (default: the chart's key)
    partie_de: str | None = None  # element of the total the parts add up to, shown on the same page
    unite: str | None = None

    def metrique(self, row: dict | None = None) -> str:
        """The row's own metric when it comes from the metrics layer (`metrique` column), unless the page
        names it (`nom_de`, `nom`); `<family>.<measure>` for a quantity no metric declares."""
        row = row or {}
        if self.nom_de and row.get(self.nom_de):
            return str(row[self.nom_de])
        return self.nom or row.get("metrique") or non_declaree(self.famille, self.mesure)

    def adherent_item(self, row: dict | None = None) -> bool:
        decl = declaration(self.metrique(row))
        return decl is not None and decl.postes == "adherent"

    def unite_de(self, row: dict | None = None) -> str | None:
        decl = declaration(self.metrique(row))
        return self.unite or (decl.unite if decl is not None else None) or (row or {}).get("unite") \
            or unite(self.famille, self.mesure)


def declaration(nom: str):
    """The declared metric of that name (pipelines.metrics), or None."""
    from pipelines import metrics

    return metrics.declarations().get(nom)


def _pole_de(rows: list[dict], publie: Publie) -> str | None:
    rows = [p for r in rows for p in (r.get("_parties") or [r])]  # « autres »: the pôle of what it groups
    poles = {r.get("pole") for r in rows if r.get("pole")}
    return publie.pole or (poles.pop() if len(poles) == 1 else None)


def _lignes(rows: list[dict]) -> list[tuple[str, int]]:
    out = []
    for r in rows:
        if r.get("_parties"):
            out += _lignes(r["_parties"])
        else:  # a value of the metrics layer is traced to every line it sums
            out += r.get("_lignes") or [(r.get("document_id"), r.get("line"))]
    return out


def _dims(publie: Publie, row: dict, key: str) -> tuple[str | None, str | None]:
    """(adhérent, detail) of a figure: a value of the metrics layer says them itself; a curated row's
    item is the chart's key (or `poste_de`), an adhérent when the metric's items are adhérents."""
    if "_lignes" in row and "metrique" in row:
        return row.get("adherent"), row.get("detail")
    item = str(row.get(publie.poste_de)) if publie.poste_de else str(row[key])
    return (item, None) if publie.adherent_item(row) else (None, item)


def _cle_item(ctx: Contexte, publie: Publie, row: dict, key: str, year: int) -> str:
    adherent, detail = _dims(publie, row, key)
    return cle(publie.metrique(row), ctx.org, adherent, year, _pole_de([row], publie), detail)


def publier_series(ctx: Contexte, publie: Publie, data: list[dict], key: str, mesure: str, titre: str,
                   years: list[int]) -> None:
    """Record a chart's points and its table's cells: one figure per (category, exercice) drawn.
    « autres » is derived from the categories it groups."""
    if ctx.registre is None:
        return
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in data:
        groups[(r[key], r["exercice"])].append(r)  # a point sums its rows (« autres » included)
    title_years = annees_du_titre(titre)
    for (_k, year), rs in groups.items():
        vals = [r[mesure] for r in rs if r.get(mesure) is not None]
        valeur = float(sum(vals)) if vals else None
        pole = _pole_de(rs, publie)
        base = rs[0]["_parties"][0] if rs[0].get("_parties") else rs[0]
        nom = publie.metrique(base)
        adherent, detail = _dims(publie, base, key)
        parts = [p for r in rs for p in r.get("_parties", [])]
        derive = sorted({_cle_item(ctx, publie, p, key, year) for p in parts})
        if parts:
            adherent, detail = (None, AUTRES)
        common = dict(metrique=nom, org=ctx.org, exercice=int(year), adherent=adherent, pole=pole,
                      detail=detail, unite=publie.unite_de(base), sources=sources(_lignes(rs)),
                      derive_de=derive, partie_de=publie.partie_de)
        ctx.registre.noter(titre, "point", valeur, annees_titre=title_years, **common)
        ctx.registre.noter(f"{titre} (tableau)", "cellule", valeur, **common)


def publier_cellules(ctx: Contexte, publie: Publie, data: list[dict], key: str, mesure: str, element: str) -> None:
    """Record the cells of a table of figures (label × exercice), as `_pivot` shows them."""
    if ctx.registre is None:
        return
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in data:
        groups[(publie.metrique(r), r[key], r["exercice"])].append(r)  # two blocs may share a chapter
    for (_m, _k, year), rs in groups.items():
        vals = [r[mesure] for r in rs if r.get(mesure) is not None]
        adherent, detail = _dims(publie, rs[0], key)
        ctx.registre.noter(element, "cellule", float(sum(vals)) if vals else None, metrique=publie.metrique(rs[0]),
                           org=ctx.org, exercice=int(year), pole=_pole_de(rs, publie), adherent=adherent,
                           detail=detail, unite=publie.unite_de(rs[0]), sources=sources(_lignes(rs)))


def publier_repartition(ctx: Contexte, publie: Publie, rows: list[dict], titre: str) -> None:
    """A breakdown of one year with its printed total: the items are parts of the total's element."""
    if ctx.registre is None:
        return
    totals = [r for r in rows if est_total(r.get("indicateur"))]
    total_element = f"{titre} — total"
    for r in rows:
        is_total = r in totals
        ctx.registre.noter(total_element if is_total else f"{titre} (tableau)", "cellule", r.get("valeur"),
                           metrique=publie.metrique(r), org=ctx.org, exercice=r["exercice"],
                           pole=_pole_de([r], publie), detail=str(r.get(publie.poste_de or "indicateur")),
                           unite=publie.unite_de(r), sources=sources(_lignes([r])),
                           partie_de=None if is_total or not totals else total_element)


def publier_resume(ctx: Contexte, res: Resume) -> None:
    """Record the figures of « L'essentiel »: each sentence's current figure, the one it is compared
    with, and the change (derived from both)."""
    if ctx.registre is None:
        return
    for i, ev, publie in res.publies:
        element = f"L'essentiel, phrase {i}"
        keys = []
        for fig in (ev.courant, ev.precedent):
            if fig is None or fig.valeur is None:
                continue
            adherent, detail = (publie.detail, None) if publie.adherent_item() else (None, publie.detail)
            pub = ctx.registre.noter(
                element, "titre", float(fig.valeur), metrique=publie.metrique(), org=ctx.org, exercice=fig.exercice,
                pole=publie.pole, adherent=adherent, detail=detail, unite=publie.unite_de(),
                sources=sources(fig.lignes), partie_de=None)
            keys.append(pub.cle)
        if ev.comparable and len(keys) == 2:
            ctx.registre.noter(element, "titre", float(ev.variation), metrique=f"{publie.metrique()}.variation",
                               org=ctx.org, exercice=ev.courant.exercice, pole=publie.pole, detail=publie.detail,
                               unite="%", derive_de=keys)


def indicateurs(ctx: Contexte) -> list[dict]:
    if ctx.template not in DOMAINES:
        return []
    cond, params = indicateurs_sql(ctx.con, ctx.template)
    return ctx.marquer(latest(ctx.con, "indicateurs", ctx.org, ctx.year, ("domaine", "indicateur"),
                              f"AND {cond}", params))


# ---------------------------------------------------------------- rendering

def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _display(html_body: str, plain: str, metadata: dict | None = None) -> None:
    from IPython.display import display

    display({"text/html": html_body, "text/plain": plain}, raw=True, metadata=metadata)


def _constats_html(flags: list[dict], ctx: Contexte) -> str:
    if not flags:
        return ""
    items = "".join(
        f"<li><b>{ALERTE} {_e(f['rule'])}</b> ({_e(GRAVITES.get(f['severity'], f['severity']))}, "
        f"{_e(ctx.source(f['document_id'], f['line']))}) : {_e(f['message'])}</li>" for f in flags)
    return f"<p>Chiffres marqués {ALERTE} : signalés par les contrôles, à confirmer.</p><ul>{items}</ul>"


def _constats_plain(flags: list[dict], ctx: Contexte) -> str:
    return "\n".join(f"{ALERTE} {f['rule']} ({ctx.source(f['document_id'], f['line'])}) : {f['message']}"
                     for f in flags)


def message(text: str) -> None:
    _display(f"<p><i>{_e(text)}</i></p>", text)


def tableau_html(headers: list[str], body: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    lines = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in body)
    return f'<table class="bilans"><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>'


def tableau(headers: list[str], body: list[list[Any]], titre: str | None = None) -> None:
    plain = "\n".join([titre or "", " | ".join(headers), *(" | ".join(str(c) for c in r) for r in body)])
    _display((f"<h3>{_e(titre)}</h3>" if titre else "") + tableau_html(headers, body), plain.strip())


def sources_texte(data: list[dict], ctx: Contexte) -> str:
    """'Sources : rapport_a.txt (l. 500, 501) ; rapport_b.txt (l. 600)'."""
    by_doc: dict[str, set[int]] = defaultdict(set)
    for r in data:
        for doc, line in r.get("_lignes") or [(r.get("document_id"), r.get("line"))]:
            if doc is not None and line is not None:
                by_doc[doc].add(int(line))
    order = sorted(by_doc, key=lambda d: (ctx.documents.get(d, {}).get("report_year") or 0, d))
    parts = [f"{ctx.source(d, None)} (l. {', '.join(str(n) for n in sorted(by_doc[d]))})" for d in order]
    return "Sources : " + (" ; ".join(parts) if parts else "—")


def _section(titre: str) -> None:
    _display(f"<h2>{_e(titre)}</h2>", titre)


def _rubrique(ctx: Contexte, titre: str, lire, absent: str) -> list[dict]:
    """Open a section of the analysis; its rows, or a message saying that no report has them."""
    if ctx.absence:
        return []
    _section(titre)
    data = lire(ctx)
    if not data:
        message(f"Pas de {absent} dans les bilans du {ctx.org} jusqu'en {ctx.year}.")
    return data


def du_texte(r: dict) -> bool:
    """Whether a curated row was read in the prose (before or after `Contexte.marquer`)."""
    return (r.get("origine") or r.get("source")) == "texte"
