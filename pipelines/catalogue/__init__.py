"""Le catalogue de l'atelier : ce que le code lit au lieu de l'écrire (fichiers TOML de ce dossier).

- familles.toml : les familles de chiffres curés (table, colonnes, clé, séries, mise en forme) et les
  règles qui rattachent un tableau extrait à une famille ;
- regles.toml : les suites Great Expectations, leurs attentes et les règles (textes en français) ;
- carnets.toml : les carnets d'analyse (tables lues, titres) et les pôles ;
- organismes.toml : les syndicats et le motif qui les nomme dans un rapport ;
- les métriques publiées restent déclarées dans data/referentiels/metriques.toml (`METRIQUES`).

Every accessor returns frozen dataclasses or tuples, in the files' order. `CATALOGUE_DIR` (or the
`BILANS_CATALOGUE` environment variable, read at first use) names the folder, so a test can point
the whole workbench at a copy; `recharger()` forgets what was read. A missing or malformed file is
a BilansError naming it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from pipelines.errors import BilansError

CATALOGUE_DIR = Path(__file__).resolve().parent
METRIQUES = Path(__file__).resolve().parents[2] / "data" / "referentiels" / "metriques.toml"


@cache
def _load(name: str) -> dict:
    path = Path(os.environ.get("BILANS_CATALOGUE") or CATALOGUE_DIR) / name
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BilansError(f"catalogue illisible : {path} ({exc})") from None


def recharger() -> None:
    """Forget the files read (a test that edits a copy of the catalogue)."""
    _load.cache_clear()
    for accessor in (familles, rattachements, suites, attentes, regles, carnets, organismes):
        accessor.cache_clear()


# ---------------------------------------------------------------- familles


@dataclass(frozen=True)
class Valeur:
    """A value column of a family and the measure of its series (a SQL expression over the row)."""

    colonne: str
    mesure: str
    condition: str | None = None


@dataclass(frozen=True)
class Famille:
    nom: str
    colonnes: str  # DDL of the family's own columns (the common ones and the series key are added)
    cles: tuple[str, ...]  # row key besides org and exercice (views <famille>_latest)
    mise_en_forme: str  # function of pipelines/curate/shapers.py
    libelle: str | None  # printed label column of the series
    valeurs: tuple[Valeur, ...]  # empty: no series
    nomenclature: bool = False  # rows are categories: one entering or leaving changes a total's perimeter

    @property
    def a_des_series(self) -> bool:
        return bool(self.valeurs)

    @property
    def noms_colonnes(self) -> tuple[str, ...]:
        return tuple(c.strip().split()[0] for c in self.colonnes.split(","))


@cache
def familles() -> tuple[Famille, ...]:
    return tuple(
        Famille(nom, spec["colonnes"], tuple(spec["cles"]), spec["mise_en_forme"], spec.get("libelle"),
                tuple(Valeur(v["colonne"], v["mesure"], v.get("condition")) for v in spec.get("valeurs", ())),
                spec.get("nomenclature", False))
        for nom, spec in _load("familles.toml")["famille"].items())


def _one(entries, name: str, what: str):
    """The entry called `name` (its first field), or a BilansError naming the unknown `what`."""
    found = next((e for e in entries if getattr(e, fields(e)[0].name) == name), None)
    if found is None:
        raise BilansError(f"{what} inconnue du catalogue : {name}")
    return found


def famille(nom: str) -> Famille:
    return _one(familles(), nom, "famille")


def noms_familles(series_seulement: bool = False) -> tuple[str, ...]:
    return tuple(f.nom for f in familles() if f.a_des_series or not series_seulement)


@cache
def rattachements() -> tuple[dict, ...]:
    """The [[rattachement]] blocks of familles.toml, in order (see pipelines/curate/matching.py)."""
    return tuple(_load("familles.toml").get("rattachement", ()))


# ---------------------------------------------------------------- règles


@dataclass(frozen=True)
class Suite:
    nom: str
    description: str


@dataclass(frozen=True)
class Attente:
    """A rule family: one expectation class, its suite, its template (with the suite's kwargs) and notes."""

    type: str
    suite: str
    modele: str
    notes: str
    repere: str  # what it finds, for the README's rule table
    regles: tuple[str, ...]


@dataclass(frozen=True)
class Regle:
    id: str
    attente: str
    description: str
    suggestion: str


@cache
def suites() -> tuple[Suite, ...]:
    return tuple(Suite(n, s["description"]) for n, s in _load("regles.toml")["suite"].items())


@cache
def regles() -> tuple[Regle, ...]:
    return tuple(Regle(i, r["attente"], r["description"], r["suggestion"])
                 for i, r in _load("regles.toml")["regle"].items())


@cache
def attentes() -> tuple[Attente, ...]:
    return tuple(Attente(t, a["suite"], a["modele"], a["notes"], a["repere"],
                         tuple(r.id for r in regles() if r.attente == t))
                 for t, a in _load("regles.toml")["attente"].items())


def attente(type_: str) -> Attente:
    return _one(attentes(), type_, "attente")


def regles_de(type_: str) -> tuple[str, ...]:
    """The rule ids an expectation class reports (rules.py: `rules = catalogue.regles_de(...)`)."""
    return attente(type_).regles


def descriptions() -> dict[str, str]:
    """rule id -> its French description (the authors' reports)."""
    return {r.id: r.description for r in regles()}


def regles_de_suite(suite: str) -> tuple[str, ...]:
    return tuple(r for a in attentes() if a.suite == suite for r in a.regles)


def completer_suite(nom: str, spec: dict) -> dict:
    """A suite of expectations/*.json with what the catalogue holds: its description, its rules and
    each expectation's notes (the JSON keeps only the parameters)."""
    meta = {**spec.get("meta", {}), "rules": list(regles_de_suite(nom)),
            "description": next(s.description for s in suites() if s.nom == nom)}
    expectations = [{**e, "meta": {**e.get("meta", {}), "notes": attente(e["type"]).notes}}
                    for e in spec["expectations"]]
    return {**spec, "meta": meta, "expectations": expectations}


def tableau_regles_md() -> str:
    """The README's rule table (one row per rule family), written from the catalogue."""
    lines = ["| règles | ce qu'elles repèrent | que faire |", "|---|---|---|"]
    for a in attentes():
        ids = ", ".join(f"`{r}`" for r in a.regles)
        mine = [r for r in regles() if r.attente == a.type]
        todo = mine[0].suggestion if len(mine) == 1 else " ; ".join(f"`{r.id}` : {r.suggestion}" for r in mine)
        lines.append(f"| {ids} | {_md_cell(a.repere)} | {_md_cell(todo)} |")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


# ---------------------------------------------------------------- carnets et pôles


@dataclass(frozen=True)
class Pole:
    nom: str  # what `bilans run --pole` accepts (« si »)
    titre: str  # the pôle in the briefing (« Pôle SI »)
    activite: tuple[str, ...]  # activite.pole / indicateurs.pole values it covers
    carnet: str


@dataclass(frozen=True)
class Carnet:
    nom: str
    titre: str
    libelle: str
    tables: tuple[str, ...]
    domaines: tuple[str, ...]
    pole: Pole | None


@cache
def carnets() -> tuple[Carnet, ...]:
    out = []
    for nom, c in _load("carnets.toml")["carnet"].items():
        p = c.get("pole")
        pole = Pole(p["nom"], p["titre"], tuple(p["activite"]), nom) if p else None
        out.append(Carnet(nom, c["titre"], c["libelle"], tuple(c["tables"]), tuple(c.get("domaines", ())), pole))
    return tuple(out)


def poles() -> tuple[Pole, ...]:
    return tuple(c.pole for c in carnets() if c.pole)


# ---------------------------------------------------------------- organismes


@dataclass(frozen=True)
class Organisme:
    code: str
    motif: re.Pattern


@cache
def organismes() -> tuple[Organisme, ...]:
    return tuple(Organisme(code, re.compile(o["motif"])) for code, o in _load("organismes.toml")["organisme"].items())


def codes_organismes() -> tuple[str, ...]:
    return tuple(o.code for o in organismes())
