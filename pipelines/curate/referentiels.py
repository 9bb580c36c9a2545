"""Référentiels (data/referentiels/) : adhérents et leurs alias, pôles, chapitres, domaines,
concepts des lignes (types d'activité…), axes d'analyse et mesures des colonnes.

An unknown label is never merged silently: it keeps its printed form and is
listed in `Referentiels.unknown` (with its document) so the build can report it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipelines.extract.numbers import fold

REF_DIR = Path(__file__).resolve().parents[2] / "data" / "referentiels"
_DROP = {"mairie", "ville", "de", "d", "du", "des", "la", "le", "l", "sur", "s", "en"}


@lru_cache(maxsize=1 << 14)
def key(text: str) -> str:
    """« MAIRIE D'IVRY » / « Ivry/Seine » / « Ivry-sur-Seine » -> comparable keys (memoized)."""
    text = re.sub(r"[’‘`´]", " ", text)  # « MAIRIE D’IVRY » as « MAIRIE D'IVRY »
    text = fold(text)
    words = re.split(r"[^a-z0-9]+", text.replace("**", ""))
    return " ".join(w for w in words if w and w not in _DROP)


@dataclass(frozen=True)
class Adherent:
    org: str
    canonique: str
    type: str
    successeur: str | None
    date_succession: str | None


@dataclass(frozen=True)
class Axe:
    axe: str
    libelle: str
    colonne: str
    motif: re.Pattern | None
    ouvert: bool


@dataclass(frozen=True)
class Mesure:
    famille: str
    mesure: str
    colonne: str
    libelle: str
    motif: re.Pattern


@dataclass(frozen=True)
class Unite:
    unite: str
    genre: str  # taux | montant | effectif | duree | volume | denombrement (see unites.csv)
    motif: re.Pattern


@dataclass
class Referentiels:
    adherents: dict[tuple[str, str], Adherent]
    domaines: dict[str, str]
    chapitres: dict[str, dict]
    poles: list[tuple[str, re.Pattern, str]]
    concepts: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)
    axes: list[Axe] = field(default_factory=list)
    mesures: list[Mesure] = field(default_factory=list)
    unites: list[Unite] = field(default_factory=list)
    projections: list[re.Pattern] = field(default_factory=list)
    evolutions: list[re.Pattern] = field(default_factory=list)
    generiques: list[re.Pattern] = field(default_factory=list)
    # (document_id, kind, printed) met by the last curation and absent from the files
    unknown: set[tuple[str, str, str]] = field(default_factory=set)

    def concept(self, famille: str, axe: str | None, printed: str) -> tuple[str, str] | None:
        """(concept id, canonical label) of a printed row label, for that family and axis."""
        k = key(printed)
        return self.concepts.get((famille, axe or "", k)) or self.concepts.get((famille, "", k))

    def mesure(self, famille: str, header: str) -> Mesure | None:
        """The measure of a numeric column header (« Mandats émis + reports 2022 » -> réalisé + reports)."""
        return next((m for m in self.mesures if m.famille == famille and m.motif.search(header)), None)

    def unite(self, word: str | None) -> Unite | None:
        """The unit of a figure of the text from its printed unit or the head word of its measure
        (« factures » -> factures, dénombrement; « % » -> taux); None when unites.csv does not know it."""
        word = (word or "").strip(" ,;:.()")
        return next((u for u in self.unites if u.motif.fullmatch(word)), None) if word else None

    def projection(self, text: str) -> bool:
        """A clause that announces a forecast (« sera », « descendra »: marqueurs.csv)."""
        return any(p.search(text) for p in self.projections)

    def evolution(self, clause: str) -> bool:
        """A clause that ends on a change (« une baisse de 15 », marqueurs.csv): the figure is no level."""
        return any(p.search(clause) for p in self.evolutions)

    def generique(self, subject: str | None) -> bool:
        """A subject of one or two words that names no quantity by itself (« montant », « moyenne »: marqueurs.csv)."""
        words = (subject or "").lower().split()
        return 0 < len(words) <= 2 and any(p.fullmatch(words[0]) for p in self.generiques)  # « montant global »

    def axe(self, name: str) -> Axe | None:
        return next((a for a in self.axes if a.axe == name), None)

    def adherent(self, org: str | None, printed: str) -> Adherent | None:
        k = key(printed)
        for candidate in (k, re.sub(r"\bseine\b", "", k).strip()):
            if (org or "", candidate) in self.adherents:
                return self.adherents[(org or "", candidate)]
            if ("*", candidate) in self.adherents:
                return self.adherents[("*", candidate)]
        return None

    def lignee(self, org: str | None, name: str) -> str:
        """The last successor: OPALY -> VALDEVY; the history is shown as one line."""
        seen = set()
        current = self.adherent(org, name)
        while current and current.successeur and current.canonique not in seen:
            seen.add(current.canonique)
            nxt = self.adherent(org, current.successeur)
            if not nxt:
                return current.successeur
            current = nxt
        return current.canonique if current else name

    def domaine(self, printed: str) -> str | None:
        return self.domaines.get(key(printed))

    def pole(self, org: str | None, texts: list[str]) -> str | None:
        for text in texts:
            for pole_org, pattern, pole in self.poles:
                if pole_org in ("*", org) and pattern.search(text or ""):
                    return pole
        return None


@lru_cache(maxsize=4)
def load(ref_dir: Path = REF_DIR) -> Referentiels:
    adherents: dict[tuple[str, str], Adherent] = {}
    for row in adherent_rows(ref_dir / "adherents.csv"):
        a = Adherent(row["org"], row["canonique"], row["type"], row["successeur"] or None,
                     row["date_succession"] or None)
        for alias in [row["canonique"], *row["alias"].split("|")]:
            adherents[(row["org"], key(alias))] = a
    domaines = {}
    for row in _rows(ref_dir / "domaines.csv"):
        for alias in [row["domaine"], *row["alias"].split("|")]:
            domaines[key(alias)] = row["domaine"]
    chapitres = {row["code"]: row for row in _rows(ref_dir / "chapitres.csv")}
    poles = [(row["org"], re.compile(row["motif"], re.IGNORECASE), row["pole"])
             for row in _rows(ref_dir / "poles.csv")]
    concepts = {}
    for row in _rows(ref_dir / "concepts.csv"):
        for alias in [row["libelle"], *row["alias"].split("|")]:
            concepts[(row["famille"], row["axe"] or "", key(alias))] = (row["concept"], row["libelle"])
    axes = [Axe(r["axe"], r["libelle"], r["colonne"], re.compile(r["motif"], re.IGNORECASE) if r["motif"] else None,
                r["ouvert"] == "ouvert") for r in _rows(ref_dir / "axes.csv")]
    mesures = [Mesure(r["famille"], r["mesure"], r["colonne"], r["libelle"], re.compile(r["motif"], re.IGNORECASE))
               for r in _rows(ref_dir / "mesures.csv")]
    unites = [Unite(r["unite"], r["genre"], re.compile(r["motif"], re.IGNORECASE))
              for r in _rows(ref_dir / "unites.csv")]
    marqueurs = _rows(ref_dir / "marqueurs.csv")
    projections, evolutions, generiques = ([re.compile(r["motif"], re.IGNORECASE) for r in marqueurs if r["role"] == role]
                                           for role in ("projection", "evolution", "generique"))
    return Referentiels(adherents, domaines, chapitres, poles, concepts, axes, mesures, unites, projections,
                        evolutions, generiques)


def adherent_rows(path: Path | None = None) -> list[dict]:
    """The rows of adherents.csv (org, canonique, type, alias « a|b », successeur, date_succession);
    [] when the file is absent: a reader such as the briefing then assumes no alias nor succession."""
    path = Path(path) if path else REF_DIR / "adherents.csv"
    return _rows(path) if path.is_file() else []


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))
