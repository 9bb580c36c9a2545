"""Analyses annuelles par pôle : la logique partagée des carnets paramétrés.

The notebooks in ``notebooks/`` only call this module, so that everything they
show is computed here and unit-testable without papermill. Reading rules:

- the store is opened read-only and never re-parsed;
- "multi-year context up to `year`" = rows of the base tables with
  ``report_year <= year`` and ``exercice <= year``, keeping for each key the
  value of the most recent report (the `*_latest` semantics, frozen at `year`,
  so that a later report does not change an earlier analysis);
- a curated row carries a finding when they share (document_id, line) and the
  finding is about the same exercice (or about no exercice in particular).

Heavy imports (altair, IPython) happen inside the display functions: runs.py
imports this module to plan runs and must stay fast.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipelines.publish import fmt
from pipelines.publish.comparaison import MESURES, Chiffre, Evolution, compare, evolution

ROOT = Path(__file__).resolve().parents[2]

POLE_TEMPLATES = ("pole_si", "pole_infrastructures", "pole_support")
TEMPLATES = (*POLE_TEMPLATES, "finances", "ressources_humaines", "qualite", "exploration")

# activite.pole values covered by each pôle notebook
POLES = {"pole_si": ("si",), "pole_infrastructures": ("infrastructures",),
         "pole_support": ("support", "assistance", "assistance_technique")}
# indicateurs.domaine patterns (lower-case LIKE) shown by each notebook: curation may
# store a domain code ('rh') or the section title the figure was read in.
DOMAINES = {"pole_si": ("si", "%pôle si%", "%pole si%", "%systèmes d'information%"),
            "pole_infrastructures": ("%infrastructure%",),
            "pole_support": ("%support%", "%assistance%"),
            "ressources_humaines": ("rh", "ressources_humaines", "%ressources humaines%")}


def _domaine_sql(template: str) -> tuple[str, list[str]]:
    pats = list(DOMAINES.get(template, ()))
    return "(" + " OR ".join("lower(domaine) LIKE ?" for _ in pats) + ")", pats

TITRES = {
    "pole_si": "Pôle SI", "pole_infrastructures": "Pôle Infrastructures", "pole_support": "Pôle Support",
    "finances": "Finances", "ressources_humaines": "Ressources humaines", "qualite": "Qualité des données",
    "exploration": "Exploration",
}
LIBELLES = {
    "pole_si": "le pôle SI", "pole_infrastructures": "le pôle Infrastructures",
    "pole_support": "le pôle Support", "finances": "les finances",
    "ressources_humaines": "les ressources humaines", "qualite": "la qualité des données",
    "exploration": "l'exploration",
}

# Curated tables each template reads (besides documents and findings): the
# run fingerprint in runs.py hashes exactly these rows.
TABLES: dict[str, tuple[str, ...]] = {
    "pole_si": ("activite", "indicateurs"),
    "pole_infrastructures": ("activite", "indicateurs"),
    "pole_support": ("activite", "tickets", "formations", "indicateurs"),
    "finances": ("finances", "contributions"),
    "ressources_humaines": ("effectifs", "indicateurs"),
    "qualite": (),
    "exploration": ("activite", "contributions"),
}

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
_TOTAL = re.compile(r"^\s*(sous[- ]?)?total", re.IGNORECASE)


# ---------------------------------------------------------------- store access

def resolve_db(db_path: str | os.PathLike | None) -> Path:
    """Relative paths work from the project root too (JupyterLab starts in notebooks/)."""
    path = Path(db_path or os.environ.get("BILANS_DB", "data/curated/bilans.duckdb"))
    if not path.is_absolute() and not path.exists() and (ROOT / path).exists():
        return ROOT / path
    return path


def connecter(db_path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """Read-only connection to the curated store, for analysts: ``con = connecter()``."""
    from pipelines.store import connect

    return connect(resolve_db(db_path))


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
    """Rows up to `year`, one vintage per key: the most recent report that gives it.

    rank() rather than row_number(): a report may legitimately print the same
    key twice (two tables); both rows are kept and the caller decides.
    """
    part = ", ".join(["exercice", *keys])
    sql = f"""
        SELECT * FROM (SELECT * REPLACE (coalesce(exercice, report_year) AS exercice) FROM "{table}")
        WHERE org = ? AND report_year <= ? AND exercice <= ? {where}
        QUALIFY rank() OVER (PARTITION BY {part} ORDER BY report_year DESC) = 1
        ORDER BY exercice, line"""
    return rows(con, sql, [org, year, year, *(params or [])])


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
        return template == "pole_support" and (exists("tickets") or exists("formations"))
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

    @property
    def titre(self) -> str:
        return f"{TITRES[self.template]} — {self.org}, bilan {self.year}"

    def source(self, document_id: str | None, line: int | None) -> str:
        doc = self.documents.get(document_id or "", {})
        name = Path(doc.get("path") or document_id or "?").name
        return f"{name}, l. {line}" if line is not None else name

    def signalements(self, row: dict) -> list[dict]:
        found = self.constats.get((row.get("document_id"), row.get("line")), [])
        return [f for f in found if f.get("exercice") is None or f["exercice"] == row.get("exercice")]

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


def ouvrir(db_path: str | os.PathLike, org: str, year: int, template: str) -> Contexte:
    """Open the store for one (org, year, template); sets `absence` when there is nothing to show."""
    year = int(year)
    ctx = Contexte(org=org, year=year, template=template, db_path=resolve_db(db_path))
    if not ctx.db_path.exists():
        ctx.absence = f"Le magasin {ctx.db_path} est introuvable : lancez d'abord « bilans build »."
        return ctx
    ctx.con = duckdb.connect(str(ctx.db_path), read_only=True)
    ctx.documents = {r["document_id"]: r for r in rows(
        ctx.con, "SELECT document_id, org, report_year, path FROM documents WHERE org = ? ORDER BY report_year",
        [org])}
    if not any(d["report_year"] == year for d in ctx.documents.values()):
        ctx.absence = f"Le magasin ne contient pas de bilan {year} pour le {org} : rien à analyser."
        return ctx
    if not has_data(ctx.con, org, year, template):
        ctx.absence = (f"Le bilan {year} du {org} ne contient pas de données exploitables pour "
                       f"{LIBELLES[template]} (tableaux absents du rapport ou non reconnus). "
                       "L'analyse s'arrête ici.")
        return ctx
    for f in rows(ctx.con, """
            SELECT f.* FROM findings f JOIN documents d USING (document_id)
            WHERE d.org = ? AND d.report_year <= ? ORDER BY f.document_id, f.line""", [org, year]):
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

    def texte(self) -> str:
        return "\n".join(self.phrases)


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


def _noter(res: Resume, ev: Evolution | None) -> None:
    if ev is not None:
        res.evolutions.append(ev)
        res.constats += ev.courant.constats


# ---------------------------------------------------------------- activity pôles

def _poles_sql(ctx: Contexte) -> tuple[str, list[str]]:
    poles = list(POLES[ctx.template])
    return f"AND pole IN ({', '.join('?' * len(poles))})", poles


def activite(ctx: Contexte) -> list[dict]:
    where, poles = _poles_sql(ctx)
    data = latest(ctx.con, "activite", ctx.org, ctx.year, ("pole", "axe", "concept"), where, poles)
    for r in data:
        r["categorie_norm"] = r.get("categorie_norm") or r.get("categorie")
    return ctx.marquer(data)


def _axe_reference(items: list[dict], year: int) -> str | None:
    axes = {r["axe"] for r in items if r["exercice"] == year}
    ordered = [a for a in AXES if a in axes] + sorted(a for a in axes if a not in AXES and a)
    return ordered[0] if ordered else None


def _totaux_signales(rows: list[dict], year: int, report_year: int | None) -> list[dict]:
    return [r for r in rows if r["exercice"] == year and r.get("report_year") == report_year
            and r.get("niveau") == "total" and r["signale"]]


def resume_activite(ctx: Contexte) -> Resume:
    data = activite(ctx)
    res = Resume()
    items = [r for r in data if r.get("niveau") not in ("total", "sous_total")]
    ref = _axe_reference(items, ctx.year)
    if ref is None:
        res.phrases.append(f"Le bilan {ctx.year} ne donne pas de jours d'activité pour {LIBELLES[ctx.template]}.")
    else:
        where, poles = _poles_sql(ctx)
        every = vintages(ctx, "activite", where, poles)
        on_axis = [r for r in every if r["axe"] == ref]
        ev = evolution(on_axis, ctx.year, "jours", formatter=fmt.jours)
        res.phrases.append(
            f"En {ctx.year}, {LIBELLES[ctx.template]} du {ctx.org} a réalisé {ev.courant.texte(fmt.jours)} "
            f"d'activité ({ev.texte()}).")
        _noter(res, ev)
        for t in _totaux_signales(on_axis, ctx.year, ev.courant.report_year):
            res.phrases.append(
                f"Le total imprimé « {t['categorie']} » ({fmt.jours(t['jours'])} {ALERTE}, {t['source']}) "
                f"est signalé par les contrôles ; le chiffre ci-dessus est la somme des lignes.")
            res.constats += t["_constats"]
        for axe in [a for a in AXES if any(r["axe"] == a and r["exercice"] == ctx.year for r in items)]:
            now = [r for r in items if r["axe"] == axe and r["exercice"] == ctx.year]
            top = max(now, key=lambda r: r["jours"] or 0)
            serie = [r for r in every if r["axe"] == axe and r.get("concept") == top.get("concept")]
            ev = evolution(serie, ctx.year, "jours", formatter=fmt.jours)
            if ev is None:
                continue
            premier = "Première" if axe in AXES_FEMININS else "Premier"
            res.phrases.append(f"{premier} {AXE_LIBELLES.get(axe, axe)} : {top['categorie_norm']}, "
                               f"{ev.courant.texte(fmt.jours)} ({ev.texte()}).")
            _noter(res, ev)
    if ctx.template == "pole_support":
        _resume_support(ctx, res)
    res.constats = _dedupe(res.constats)
    return res


def tickets(ctx: Contexte) -> list[dict]:
    return ctx.marquer(latest(ctx.con, "tickets", ctx.org, ctx.year, ("concept",)))


def formations(ctx: Contexte) -> list[dict]:
    return ctx.marquer(latest(ctx.con, "formations", ctx.org, ctx.year, ("concept",)))


def _resume_support(ctx: Contexte, res: Resume) -> None:
    ev = evolution(vintages(ctx, "tickets"), ctx.year, "tickets")
    if ev is not None:
        res.phrases.append(f"Tickets traités en {ctx.year} : {ev.courant.texte()} ({ev.texte()}).")
        _noter(res, ev)
    every = vintages(ctx, "formations")
    agents = evolution(every, ctx.year, "agents")
    days = evolution(every, ctx.year, "jours", formatter=fmt.jours)
    if agents is not None:
        tail = (f", {days.courant.texte(fmt.jours)} de formation ({days.texte()})" if days is not None else "")
        res.phrases.append(f"Formations {ctx.year} : {agents.courant.texte()} agents formés ({agents.texte()}){tail}.")
        _noter(res, agents)
        _noter(res, days)


# ---------------------------------------------------------------- finances

def finances(ctx: Contexte) -> list[dict]:
    data = latest(ctx.con, "finances", ctx.org, ctx.year, ("perimetre", "concept", "mesure", "niveau"))
    for r in data:
        r["bloc"] = f"{(r.get('section') or '').capitalize()} — {SENS.get(r.get('sens'), r.get('sens'))}"
        r["chapitre_libelle"] = " ".join(x for x in (r.get("chapitre"), r.get("libelle")) if x)
    return ctx.marquer([r for r in data if not est_total(r.get("libelle")) and r.get("chapitre")])


def contributions(ctx: Contexte) -> list[dict]:
    """One figure per adhérent and exercice: the printed 'total' category, else the cotisation, else
    the sum of the categories; projections (« vote 2023 ») are left out."""
    data = ctx.marquer(latest(ctx.con, "contributions", ctx.org, ctx.year, ("concept", "mesure", "perimetre")))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in data:
        if r.get("niveau") == "detail" and r.get("mesure") != "cotisation_votee":
            groups[(r["exercice"], r["adherent"])].append(r)
    out = []
    for (ex, adh), rs in sorted(groups.items()):
        base = [r for r in rs if r.get("mesure") == "total"] or [r for r in rs if r.get("mesure") == "cotisation"] or rs
        fig = somme(base, "montant")
        out.append({"exercice": ex, "adherent": adh, "montant": fig.valeur, "_constats": fig.constats,
                    "signale": bool(fig.constats), "mesure": base[0].get("mesure"),
                    "signalement": " ; ".join(f"{f['rule']} : {f['message']}" for f in fig.constats),
                    "source": " ; ".join(r["source"] for r in base) + (
                        " (cité dans le texte)" if any(r.get("origine") == "texte" for r in base) else ""),
                    "document_id": base[0]["document_id"], "line": base[0]["line"]})
    return out


def resume_finances(ctx: Contexte) -> Resume:
    res = Resume()
    every = [r for r in vintages(ctx, "finances") if r.get("niveau") == "detail" and r.get("chapitre")]
    blocs = sorted({(r["section"], r["sens"]) for r in every if r["exercice"] == ctx.year and r.get("realise") is not None},
                   key=lambda b: (b[0] != "fonctionnement", b[1] != "depenses", str(b)))
    for section, sens in blocs:
        bloc = [r for r in every if r["section"] == section and r["sens"] == sens]
        ev = evolution(bloc, ctx.year, "realise", formatter=fmt.euros, nomenclature=False,
                       mesures=("realise", "realise_reports"))
        if ev is None:
            continue
        mesure = ev.courant.cle[0] if ev.courant.cle else "realise"
        cur_rows = [r for r in bloc if r["exercice"] == ctx.year and r.get("report_year") == ev.courant.report_year
                    and r.get("mesure") == mesure]
        prevu = somme(cur_rows, "prevu")
        taux = fmt.variation(ev.courant.valeur, prevu.valeur) if mesure == "realise" else None
        taux_txt = f", taux de réalisation {fmt.pourcent(taux + 100)}" if taux is not None else ""
        quoi = "réalisées" if mesure == "realise" else f"réalisées ({MESURES.get(mesure, mesure)})"
        res.phrases.append(
            f"{SENS.get(sens, sens).capitalize()} {SECTIONS.get(section, f'de {section}')} {quoi} en {ctx.year} : "
            f"{ev.courant.texte(fmt.euros)} ({ev.texte()}){taux_txt}.")
        _noter(res, ev)
        res.constats += prevu.constats
    _resume_contributions(ctx, res)
    if not res.phrases:
        res.phrases.append(f"Le bilan {ctx.year} ne donne ni budget ni contributions pour l'exercice {ctx.year}.")
    res.constats = _dedupe(res.constats)
    return res


def _resume_contributions(ctx: Contexte, res: Resume) -> None:
    every = [r for r in vintages(ctx, "contributions")
             if r.get("mesure") != "cotisation_votee" and r.get("niveau") in ("detail", "total")]
    for r in every:  # a successor's line (OPALY -> VALDEVY) is the same member across a renaming
        r["concept"] = r.get("lignee") or r.get("adherent")
        r["libelle"] = r["concept"]
    ev = evolution(every, ctx.year, "montant", formatter=fmt.euros, mesures=("total", "cotisation"))
    if ev is None:
        return
    cur = ev.courant
    mesure = MESURES.get(cur.cle[0], cur.cle[0]) if cur.cle else "contributions"
    n = len(cur.composition)
    texte = [r for r in every if r["exercice"] == ctx.year and r.get("origine") == "texte"
             and r.get("report_year") == cur.report_year]
    cite = f", dont {len(texte)} cités dans le texte" if texte else ""
    phrase = (f"Contributions des adhérents en {ctx.year} ({mesure}, {n} adhérents{cite}) : "
              f"{cur.texte(fmt.euros)} ({ev.texte()})")
    if cur.composition and cur.valeur:
        top = max(sorted(cur.composition), key=lambda c: cur.composition[c])
        share = cur.composition[top] / cur.valeur * 100
        phrase += (f" ; premier contributeur : {top} ({fmt.euros(cur.composition[top])}, "
                   f"{fmt.pourcent(share)} du total)")
    res.phrases.append(phrase + ".")
    _noter(res, ev)


# ---------------------------------------------------------------- ressources humaines

def effectifs(ctx: Contexte) -> list[dict]:
    data = latest(ctx.con, "effectifs", ctx.org, ctx.year, ("date", "filiere", "categorie", "grade"))
    return ctx.marquer([r for r in data if not est_total(r.get("grade")) and not est_total(r.get("filiere"))])


def indicateurs(ctx: Contexte) -> list[dict]:
    if ctx.template not in DOMAINES:
        return []
    cond, pats = _domaine_sql(ctx.template)
    return ctx.marquer(latest(ctx.con, "indicateurs", ctx.org, ctx.year, ("domaine", "indicateur"),
                              f"AND {cond}", pats))


def _date_fr(iso: str | None) -> str:
    return dt.date.fromisoformat(iso[:10]).strftime("%d/%m/%Y") if iso else "date non précisée"


def _effectif(rows: list[dict], column: str) -> Chiffre | None:
    """Staff at the last date of an exercice: the sum over grades (a nomenclature of posts)."""
    last = max((r["date"] or "" for r in rows), default="") or None
    at = [r for r in rows if (r["date"] or None) == last and r.get(column) is not None]
    if not at:
        return None
    return Chiffre(sum(r[column] for r in at), [f for r in at for f in r.get("_constats", [])],
                   exercice=at[0]["exercice"], report_year=at[0].get("report_year"), cle=(column, ""),
                   composition={str(r.get("concept")): r[column] for r in at}, imprime=False,
                   lignes=[(r.get("document_id"), r.get("line")) for r in at])


def resume_rh(ctx: Contexte) -> Resume:
    res = Resume()
    eff = effectifs(ctx)
    if any(r["exercice"] == ctx.year for r in eff):
        by = _by_exercice(eff)
        prev_year = _previous(sorted(by), ctx.year)
        date = max((r["date"] or "" for r in by[ctx.year]), default="") or None
        parts = []
        for column, what in (("emplois", "emplois budgétaires"), ("pourvus", "pourvus")):
            cur = _effectif(by[ctx.year], column)
            if cur is None:
                continue
            ev = compare(cur, _effectif(by[prev_year], column) if prev_year else None)
            parts.append(f"{cur.texte()} {what} ({ev.texte()})")
            _noter(res, ev)
        if parts:
            res.phrases.append(f"Au {_date_fr(date)} : {', '.join(parts)}.")
    cond, pats = _domaine_sql(ctx.template)
    every = vintages(ctx, "indicateurs", f"AND {cond}", pats)
    # key figures of tables only: prose figures stay in the table below the summary
    for r in [r for r in indicateurs(ctx) if r["exercice"] == ctx.year and r.get("origine") != "texte"][
            :MAX_INDICATEURS_RESUME]:
        serie = [x for x in every if x.get("concept") == r.get("concept") and x.get("perimetre") == r.get("perimetre")
                 and x.get("origine") != "texte"]
        ev = evolution(serie, ctx.year, "valeur")
        if ev is None:
            continue
        unit = f" {r['unite']}" if r.get("unite") else ""
        res.phrases.append(f"{r['indicateur']} : {ev.courant.texte()}{unit} ({ev.texte()}).")
        _noter(res, ev)
    if not res.phrases:
        res.phrases.append(f"Le bilan {ctx.year} ne donne pas d'effectifs pour l'exercice {ctx.year}.")
    res.constats = _dedupe(res.constats)
    return res


# ---------------------------------------------------------------- qualité

def constats_document(ctx: Contexte, year: int | None = None) -> list[dict]:
    year = ctx.year if year is None else year
    return rows(ctx.con, """
        SELECT f.* FROM findings f JOIN documents d USING (document_id)
        WHERE d.org = ? AND d.report_year = ?
        ORDER BY CASE f.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, f.line""",
                [ctx.org, year])


def _compte(n: int, singulier: str, pluriel: str) -> str:
    return f"{fmt.nombre(n)} {singulier if n <= 1 else pluriel}"


def resume_qualite(ctx: Contexte) -> Resume:
    res = Resume()
    found = constats_document(ctx)
    counts = {s: sum(1 for f in found if f["severity"] == s) for s in GRAVITES}
    prev_years = [d["report_year"] for d in ctx.documents.values() if d["report_year"] < ctx.year]
    prev_txt = ""
    if prev_years:
        py = max(prev_years)
        prev_txt = f" (bilan {py} : {_compte(len(constats_document(ctx, py)), 'constat', 'constats')})"
    res.phrases.append(
        f"Le bilan {ctx.year} du {ctx.org} compte {_compte(len(found), 'constat', 'constats')} : "
        f"{_compte(counts['error'], 'erreur', 'erreurs')}, "
        f"{_compte(counts['warning'], 'avertissement', 'avertissements')}, "
        f"{_compte(counts['info'], 'information', 'informations')}{prev_txt}.")
    if not found:
        res.phrases.append("Les contrôles n'ont rien relevé sur ce bilan.")
        return res
    by_rule = defaultdict(int)
    for f in found:
        by_rule[f["rule"]] += 1
    ranked = sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    res.phrases.append("Règles en défaut : " + ", ".join(f"{r} ({fmt.nombre(n)})" for r, n in ranked) + ".")
    worst = pires_tableaux(found)[:1]
    if worst:
        res.phrases.append(f"Tableau le plus touché : « {worst[0]['tableau']} » "
                           f"({_compte(worst[0]['constats'], 'constat', 'constats')}, "
                           f"dont {_compte(worst[0]['erreurs'], 'erreur', 'erreurs')}).")
    return res


def pires_tableaux(found: list[dict]) -> list[dict]:
    agg: dict[str, dict] = {}
    for f in found:
        name = f.get("table") or "(hors tableau)"
        a = agg.setdefault(name, {"tableau": name, "constats": 0, "erreurs": 0, "premiere_ligne": f["line"]})
        a["constats"] += 1
        a["erreurs"] += f["severity"] == "error"
        a["premiere_ligne"] = min(a["premiere_ligne"] or 0, f["line"] or 0)
    return sorted(agg.values(), key=lambda a: (-a["erreurs"], -a["constats"], a["tableau"]))


# ---------------------------------------------------------------- summary dispatch

def resume(ctx: Contexte) -> Resume:
    if ctx.absence:
        return Resume([ctx.absence])
    if ctx.template in POLES:
        return resume_activite(ctx)
    if ctx.template == "finances":
        return resume_finances(ctx)
    if ctx.template == "ressources_humaines":
        return resume_rh(ctx)
    if ctx.template == "qualite":
        return resume_qualite(ctx)
    return Resume([f"Bilan {ctx.year} du {ctx.org}."])


# ---------------------------------------------------------------- rendering

def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _display(html_body: str, plain: str) -> None:
    from IPython.display import display

    display({"text/html": html_body, "text/plain": plain}, raw=True)


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


def entete(ctx: Contexte) -> None:
    """Title, then the computed summary of the year (or the plain absence message)."""
    res = resume(ctx)
    body = f"<h1>{_e(ctx.titre)}</h1>"
    if ctx.absence:
        body += f'<p class="absence"><b>{_e(ctx.absence)}</b></p>'
    else:
        body += "<h2>L'essentiel</h2><ul>" + "".join(f"<li>{_e(p)}</li>" for p in res.phrases) + "</ul>"
        body += _constats_html(res.constats, ctx)
    plain = "\n".join([ctx.titre, *res.phrases, _constats_plain(res.constats, ctx)]).strip()
    _display(body, plain)


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
        if r.get("document_id") is not None and r.get("line") is not None:
            by_doc[r["document_id"]].add(int(r["line"]))
    order = sorted(by_doc, key=lambda d: (ctx.documents.get(d, {}).get("report_year") or 0, d))
    parts = [f"{ctx.source(d, None)} (l. {', '.join(str(n) for n in sorted(by_doc[d]))})" for d in order]
    return "Sources : " + (" ; ".join(parts) if parts else "—")


FR_TIME = {
    "dateTime": "%A %e %B %Y à %X", "date": "%d/%m/%Y", "time": "%H:%M:%S", "periods": ["AM", "PM"],
    "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
    "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
    "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
               "octobre", "novembre", "décembre"],
    "shortMonths": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                    "nov.", "déc."],
}

_EMBED = """<div id="{id}"></div>
<script type="text/javascript">
(function(spec) {{
  var el = document.getElementById("{id}");
  function load(src) {{ return new Promise(function(ok, ko) {{
    var s = document.createElement("script"); s.src = src; s.onload = ok; s.onerror = ko;
    document.head.appendChild(s); }}); }}
  function draw() {{ vegaEmbed(el, spec, {{actions: false}}); }}
  if (typeof vegaEmbed !== "undefined") {{ draw(); return; }}
  load("https://cdn.jsdelivr.net/npm/vega@{vega}").then(function() {{
    return load("https://cdn.jsdelivr.net/npm/vega-lite@{vegalite}"); }}).then(function() {{
    return load("https://cdn.jsdelivr.net/npm/vega-embed@{embed}"); }}).then(draw).catch(function() {{
    el.innerHTML = "<p><i>Graphique non affiché (bibliothèque Vega inaccessible hors ligne) : voir le tableau ci-dessous.</i></p>";
  }});
}})({spec});
</script>"""


def chart_bundle(chart) -> dict:
    """Mime bundle: Vega-Lite spec for JupyterLab, a vega-embed snippet for the HTML export.

    The spec is embedded with <, > and & escaped as JSON unicode escapes, so a
    label such as '</script>' from a report cannot break out of the script.
    """
    import altair as alt

    spec = chart.configure(locale={"number": fmt.VEGA_FORMAT_LOCALE, "time": FR_TIME}).to_dict()
    safe = json.dumps(spec, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    major = alt.SCHEMA_VERSION.lstrip("v").split(".")[0]
    snippet = _EMBED.format(id=f"vis-{uuid.uuid4().hex}", spec=safe, vega=alt.VEGA_VERSION.split(".")[0],
                            vegalite=alt.VEGALITE_VERSION, embed=alt.VEGAEMBED_VERSION.split(".")[0])
    title = spec.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    return {f"application/vnd.vegalite.v{major}+json": spec, "text/html": snippet,
            "text/plain": f"Graphique : {title or ''}"}


def montrer(chart) -> None:
    """Display an Altair chart with French number formats (also for analysts' own charts)."""
    from IPython.display import display

    display(chart_bundle(chart), raw=True)


def _signal_encoding(alt):
    return dict(stroke=alt.condition("datum.signale", alt.value("#d62728"), alt.value(None)),
                strokeWidth=alt.condition("datum.signale", alt.value(3), alt.value(0)))


def _chart_data(data: list[dict], keep: tuple[str, ...]) -> list[dict]:
    return [{k: r.get(k) for k in (*keep, "source", "signale", "signalement")} for r in data]


def _pivot(data: list[dict], label: str, value: str, formatter) -> tuple[list[int], list[list[str]]]:
    years = sorted({r["exercice"] for r in data})
    cells: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in data:
        cells[r[label]][r["exercice"]].append(r)
    last = years[-1] if years else None
    order = sorted(cells, key=lambda k: (-(somme(cells[k].get(last, []), value).valeur or 0), str(k)))
    body = [[k, *[somme(cells[k][y], value).texte(formatter) if cells[k].get(y) else "—" for y in years]]
            for k in order]
    return years, body


def _figure(ctx: Contexte, chart, data: list[dict], headers: list[str], body: list[list[Any]]) -> None:
    montrer(chart)
    tableau(headers, body)
    flags = _dedupe([f for r in data for f in r.get("_constats", [])])
    note = sources_texte(data, ctx)
    _display(f"<p><small>{_e(note)}</small></p>" + _constats_html(flags, ctx),
             "\n".join([note, _constats_plain(flags, ctx)]).strip())


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


def _barres(ctx: Contexte, data: list[dict], cle: str, mesure: str, *, titre: str, cle_titre: str,
            mesure_titre: str, formatter, entete: str | None = None, euros: bool = False,
            ligne: bool = False) -> None:
    """One measure per exercice, stacked by `cle` (or one line per `cle`), with the figures
    as a table below: the shape of most charts of the analyses."""
    import altair as alt

    axe_format = "$,.0f" if euros else ",.0f"
    if ligne:  # a line joins the points of one key: tooltips must aggregate, not split by source
        tooltip = [alt.Tooltip(f"{cle}:N", title=cle_titre), alt.Tooltip("exercice:O", title="Exercice"),
                   alt.Tooltip(f"sum({mesure}):Q", title=mesure_titre, format=axe_format)]
        extra = {}
    else:
        tooltip = [alt.Tooltip(f"{cle}:N", title=cle_titre), alt.Tooltip("exercice:O", title="Exercice"),
                   alt.Tooltip(f"{mesure}:Q", title=mesure_titre, format=axe_format),
                   alt.Tooltip("source:N", title="Source"), alt.Tooltip("signalement:N", title="Contrôle")]
        extra = _signal_encoding(alt)
    chart = alt.Chart(alt.Data(values=_chart_data(data, ("exercice", cle, mesure))))
    chart = (chart.mark_line(point=True) if ligne else chart.mark_bar()).encode(
        x=alt.X("exercice:O", title="Exercice"),
        y=alt.Y(f"sum({mesure}):Q", title=mesure_titre, axis=alt.Axis(format=axe_format)),
        color=alt.Color(f"{cle}:N", title=cle_titre, sort="-y"),
        tooltip=tooltip, **extra,
    ).properties(title=titre, width=420, height=280)
    years, body = _pivot(data, cle, mesure, formatter)
    _figure(ctx, chart, data, [entete or cle_titre, *map(str, years)], body)


def graphique_activite(ctx: Contexte, axe: str | tuple[str, ...]) -> None:
    """Stacked days per exercice for one axis (or several, e.g. adhérents = collectivités + OPH)."""
    if ctx.absence:
        return
    axes = (axe,) if isinstance(axe, str) else axe
    label = AXE_LIBELLES.get(axes[0], axes[0])
    _section(f"Jours d'activité par {label}")
    data = [r for r in activite(ctx) if r["axe"] in axes and not est_total(r["categorie_norm"])]
    if not data:
        message(f"Pas de répartition des jours par {label} pour {LIBELLES[ctx.template]} "
                f"dans les bilans du {ctx.org} jusqu'en {ctx.year}.")
        return
    first = min(r["exercice"] for r in data)
    _barres(ctx, data, "categorie_norm", "jours", titre=f"Jours d'activité par {label}, {first}–{ctx.year}",
            cle_titre=AXE_COLONNES.get(axes[0], label[:1].upper() + label[1:]), mesure_titre="Jours",
            formatter=fmt.jours)


def graphique_indicateurs(ctx: Contexte) -> None:
    if ctx.absence:
        return
    ind = indicateurs(ctx)
    if not ind:
        return
    _section("Indicateurs clés")
    years, body = _pivot(ind, "indicateur", "valeur", fmt.nombre)
    tableau(["Indicateur", *map(str, years)], body)
    _display(f"<p><small>{_e(sources_texte(ind, ctx))}</small></p>", sources_texte(ind, ctx))


def graphique_tickets(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Tickets par entité", lambda c: [r for r in tickets(c) if not est_total(r.get("entite"))],
                     "décompte de tickets")
    if not data:
        return
    _barres(ctx, data, "entite", "tickets", titre=f"Tickets traités par entité, jusqu'en {ctx.year}",
            cle_titre="Entité", mesure_titre="Tickets", formatter=fmt.nombre)


def graphique_formations(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Formations", formations, "tableau des formations")
    if not data:
        return
    import altair as alt

    for r in data:
        r["type_libelle"] = "Total" if (r.get("type") or "").lower() == "total" else (r.get("type") or "?")
    chart = alt.Chart(alt.Data(values=_chart_data(data, ("exercice", "type_libelle", "agents", "jours")))) \
        .mark_bar().encode(
            x=alt.X("exercice:O", title="Exercice"),
            xOffset=alt.XOffset("type_libelle:N"),
            y=alt.Y("agents:Q", title="Agents formés", axis=alt.Axis(format=",.0f")),
            color=alt.Color("type_libelle:N", title="Type de formation"),
            tooltip=[alt.Tooltip("type_libelle:N", title="Type"), alt.Tooltip("agents:Q", title="Agents", format=",.0f"),
                     alt.Tooltip("jours:Q", title="Jours", format=",.0f"), alt.Tooltip("source:N", title="Source"),
                     alt.Tooltip("signalement:N", title="Contrôle")],
            **_signal_encoding(alt),
        ).properties(title=f"Agents formés par type de formation, jusqu'en {ctx.year}", width=420, height=280)
    body = [[r["type_libelle"], r["exercice"], somme([r], "agents").texte(), somme([r], "jours").texte(fmt.jours)]
            for r in sorted(data, key=lambda r: (r["exercice"], r["type_libelle"]))]
    _figure(ctx, chart, data, ["Type", "Exercice", "Agents", "Jours"], body)


def graphique_budget(ctx: Contexte) -> None:
    """Chapters prévu vs réalisé for the year, by section and sens."""
    if ctx.absence:
        return
    import altair as alt

    _section(f"Budget {ctx.year} : prévu et réalisé par chapitre")
    data = [r for r in finances(ctx) if r["exercice"] == ctx.year]
    if not data:
        message(f"Pas de tableau budgétaire pour l'exercice {ctx.year} dans les bilans du {ctx.org}.")
        return
    long = []
    for r in data:
        for mesure, col in (("Prévu", "prevu"), ("Réalisé", "realise")):
            if r.get(col) is not None:
                long.append({**{k: r[k] for k in ("bloc", "chapitre_libelle", "source", "signale", "signalement")},
                             "mesure": mesure, "montant": r[col]})
    chart = alt.Chart(alt.Data(values=long)).mark_bar().encode(
        y=alt.Y("chapitre_libelle:N", title="Chapitre"),
        yOffset=alt.YOffset("mesure:N"),
        x=alt.X("montant:Q", title="Montant", axis=alt.Axis(format="$,.0f")),
        color=alt.Color("mesure:N", title=""),
        row=alt.Row("bloc:N", title=None),
        tooltip=[alt.Tooltip("chapitre_libelle:N", title="Chapitre"), alt.Tooltip("mesure:N", title="Mesure"),
                 alt.Tooltip("montant:Q", title="Montant", format="$,.0f"), alt.Tooltip("source:N", title="Source"),
                 alt.Tooltip("signalement:N", title="Contrôle")],
        **_signal_encoding(alt),
    ).properties(title=f"Chapitres budgétaires {ctx.year}, prévu et réalisé", width=380) \
        .resolve_scale(y="independent")
    body = []
    for r in sorted(data, key=lambda r: (r["bloc"], r["chapitre"] or "")):
        taux = fmt.variation(r.get("realise"), r.get("prevu"))
        body.append([r["bloc"], r["chapitre_libelle"], somme([r], "prevu").texte(fmt.euros),
                     somme([r], "realise").texte(fmt.euros), fmt.pourcent(taux + 100 if taux is not None else None)])
    _figure(ctx, chart, data, ["Bloc", "Chapitre", "Prévu", "Réalisé", "Taux de réalisation"], body)


def graphique_budget_historique(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Réalisé par exercice", finances, "tableau budgétaire")
    if not data:
        return
    _barres(ctx, data, "bloc", "realise", titre=f"Réalisé par section et sens, jusqu'en {ctx.year}",
            cle_titre="Section et sens", entete="Bloc", mesure_titre="Réalisé", formatter=fmt.euros,
            euros=True, ligne=True)


def graphique_contributions(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Contributions par adhérent", contributions, "tableau des contributions des adhérents")
    if not data:
        return
    _barres(ctx, data, "adherent", "montant", titre=f"Contributions des adhérents, jusqu'en {ctx.year}",
            cle_titre="Adhérent", mesure_titre="Contributions", formatter=fmt.euros, euros=True)


def graphique_effectifs(ctx: Contexte) -> None:
    data = _rubrique(ctx, "Effectifs", effectifs, "tableau des effectifs")
    if not data:
        return
    for r in data:
        r["filiere"] = r.get("filiere") or "non précisée"
    _barres(ctx, data, "filiere", "pourvus", titre=f"Postes pourvus par filière, jusqu'en {ctx.year}",
            cle_titre="Filière", entete="Filière (postes pourvus)", mesure_titre="Postes pourvus",
            formatter=fmt.nombre)


def graphique_qualite(ctx: Contexte) -> None:
    if ctx.absence:
        return
    import altair as alt

    found = constats_document(ctx)
    if not found:
        return
    _section("Constats par règle")
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for f in found:
        counts[(f["rule"], GRAVITES.get(f["severity"], f["severity"]))] += 1
    values = [{"regle": r, "gravite": g, "constats": n} for (r, g), n in counts.items()]
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        y=alt.Y("regle:N", title="Règle", sort="-x"),
        x=alt.X("sum(constats):Q", title="Constats", axis=alt.Axis(format=",.0f", tickMinStep=1)),
        color=alt.Color("gravite:N", title="Gravité",
                        scale=alt.Scale(domain=["erreur", "avertissement", "information"],
                                        range=["#d62728", "#ff7f0e", "#1f77b4"])),
        tooltip=[alt.Tooltip("regle:N", title="Règle"), alt.Tooltip("gravite:N", title="Gravité"),
                 alt.Tooltip("constats:Q", title="Constats")],
    ).properties(title=f"Constats du bilan {ctx.year} par règle", width=420)
    montrer(chart)
    tableau(["Règle", "Gravité", "Constats"], [[v["regle"], v["gravite"], v["constats"]] for v in
                                                sorted(values, key=lambda v: -v["constats"])])
    _section("Tableaux les plus touchés")
    tableau(["Tableau", "Constats", "Erreurs", "Première ligne"],
            [[t["tableau"], t["constats"], t["erreurs"], t["premiere_ligne"]] for t in pires_tableaux(found)[:10]])


def liste_constats(ctx: Contexte) -> None:
    if ctx.absence:
        return
    found = constats_document(ctx)
    if not found:
        return
    _section("Liste des constats")
    tableau(["Ligne", "Gravité", "Règle", "Section", "Tableau", "Constat", "Trouvé", "Attendu", "Suggestion",
             "Ligne source"],
            [[f["line"], GRAVITES.get(f["severity"], f["severity"]), f["rule"], f.get("section"), f.get("table"),
              f["message"], f.get("found"), f.get("expected"), f.get("suggestion"), f.get("source_line")]
             for f in found])


def graphique_autres_axes(ctx: Contexte) -> None:
    """Breakdowns beyond the usual axes (e.g. MCO vs projects) that this org's reports give."""
    if ctx.absence:
        return
    shown = {"type", "domaine", "collectivite", "oph", "application"}
    for axe in sorted({r["axe"] for r in activite(ctx)} - shown, key=str):
        if axe:
            graphique_activite(ctx, axe)
