"""Registre des publications : chaque chiffre qu'une page d'analyse ou le briefing montre (titre, cellule,
point de graphique, tuile), avec la métrique dont il est la valeur et ses sources.

The notebooks run in parallel kernels that open the store read-only: each run appends its figures to
a sidecar file (JSON lines) named by the environment variable BILANS_REGISTRE (set by `bilans run`
for the kernel it starts); `bilans run` and `bilans briefing --export` then gather the sidecars into
the store table `publications` (replaced, in one transaction). Without the variable (a notebook run
by hand, a test), figures are kept in memory only.

A figure key is ``metrique|org|adherent|exercice|pole|detail`` (empty for none): a derived figure
(a change, a share, a rank, a group « autres ») lists in `derive_de` the keys it comes from; a part
shown under a total names the total's element in `partie_de`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

ENV = "BILANS_REGISTRE"
SUFFIX = ".publications.jsonl"
ROLES = ("titre", "cellule", "point", "tuile")
# Units of a curated measure (family, column): what a reader needs beside the number.
UNITES = {("finances", None): "€", ("contributions", None): "€", ("activite", "jours"): "jours",
          ("formations", "agents"): "agents", ("formations", "jours"): "jours", ("tickets", "tickets"): "tickets",
          ("effectifs", None): "agents"}
COLUMNS = ("page", "element", "role", "metrique", "org", "adherent", "exercice", "pole", "detail", "valeur",
           "unite", "sources", "derive_de", "partie_de", "annees_titre", "motif", "cle")
SCHEMA = ("page VARCHAR, element VARCHAR, role VARCHAR, metrique VARCHAR, org VARCHAR, adherent VARCHAR, "
          "exercice INTEGER, pole VARCHAR, detail VARCHAR, valeur DOUBLE, unite VARCHAR, sources VARCHAR, "
          "derive_de VARCHAR, partie_de VARCHAR, annees_titre VARCHAR, motif VARCHAR, cle VARCHAR")


def unite(famille: str, mesure: str | None) -> str | None:
    return UNITES.get((famille, mesure)) or UNITES.get((famille, None))


def metrique(famille: str, mesure: str) -> str:
    """The metric a page figure is a value of: ``<family>.<measure column>`` of the curated store."""
    return f"{famille}.{mesure}"


def cle(metrique_: str | None, org: str | None, adherent: str | None, exercice: int | None,
        pole: str | None = None, detail: str | None = None) -> str:
    return "|".join("" if v is None else str(v) for v in (metrique_, org, adherent, exercice, pole, detail))


def sources(lignes: Iterable[tuple[str | None, int | None]]) -> str:
    """`document_id:line` of the printed figures, in order, each once (the contract of `metriques`)."""
    seen: list[str] = []
    for doc, line in lignes:
        if doc is not None and line is not None:
            s = f"{doc}:{int(line)}"
            if s not in seen:
                seen.append(s)
    return ", ".join(seen)


@dataclass
class Publication:
    page: str
    element: str
    role: str
    metrique: str | None
    org: str | None
    exercice: int | None
    valeur: float | None
    adherent: str | None = None
    pole: str | None = None
    detail: str | None = None
    unite: str | None = None
    sources: str = ""
    derive_de: list[str] = field(default_factory=list)
    partie_de: str | None = None
    annees_titre: list[int] | None = None
    motif: str | None = None

    @property
    def cle(self) -> str:
        return cle(self.metrique, self.org, self.adherent, self.exercice, self.pole, self.detail)

    def ligne(self) -> dict:
        d = asdict(self)
        d["valeur"] = None if self.valeur is None else float(self.valeur)
        d["derive_de"] = json.dumps(self.derive_de, ensure_ascii=False) if self.derive_de else None
        d["annees_titre"] = json.dumps(self.annees_titre) if self.annees_titre is not None else None
        d["cle"] = self.cle
        return d


class Registre:
    """The figures of one page; appended to the sidecar as they are shown (a kernel may die mid-page)."""

    def __init__(self, page: str, sidecar: str | os.PathLike | None = None):
        self.page = page
        self.publications: list[Publication] = []
        self.sidecar = Path(sidecar) if sidecar else None
        if self.sidecar:
            self.sidecar.parent.mkdir(parents=True, exist_ok=True)
            self.sidecar.write_text("", encoding="utf-8")

    @classmethod
    def du_noyau(cls, page: str) -> Registre:
        """The register of a notebook run: sidecar from BILANS_REGISTRE when `bilans run` started the kernel."""
        return cls(page, os.environ.get(ENV) or None)

    def noter(self, element: str, role: str, valeur: float | None, **kw) -> Publication:
        if role not in ROLES:
            raise ValueError(f"rôle inconnu : {role}")
        pub = Publication(page=self.page, element=element, role=role, valeur=valeur, **{
            "metrique": None, "org": None, "exercice": None, **kw})
        self.publications.append(pub)
        if self.sidecar:
            with self.sidecar.open("a", encoding="utf-8") as f:
                f.write(json.dumps(pub.ligne(), ensure_ascii=False) + "\n")
        return pub

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([p.ligne() for p in self.publications], columns=list(COLUMNS))


def lire(paths: Iterable[Path]) -> pd.DataFrame:
    """The sidecars of the runs, as one frame (columns of COLUMNS); a truncated last line is left out."""
    rows = []
    for path in paths:
        if not path.exists():
            continue
        for text in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(text))
            except json.JSONDecodeError:
                continue
    return pd.DataFrame(rows, columns=list(COLUMNS))


def sidecar_of(page_path: Path) -> Path:
    """The sidecar beside an executed notebook or an exported page (hidden, like the run's log)."""
    return page_path.with_name(f".{page_path.stem}{SUFFIX}")


def annees_du_titre(titre: str) -> list[int]:
    """The years a title claims (« …, 2015–2018 » -> [2015, 2018]), in order."""
    import re

    return [int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", titre or "")]
