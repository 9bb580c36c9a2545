"""Le manifeste de data/raw : un rapport par ligne (fichier, organisme, année, titre, fichier d'origine).

Adding a report = adding its file and one line here; nothing else changes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import BilansError

ORGS = ("SIIM94", "SII")


@dataclass(frozen=True)
class Entry:
    path: Path
    org: str
    report_year: int
    title: str
    original_file: str

    @property
    def document_id(self) -> str:
        return self.path.stem


def read_manifest(raw_dir: Path) -> list[Entry]:
    manifest = raw_dir / "manifest.csv"
    if not manifest.exists():
        raise BilansError(f"manifeste introuvable : {manifest}")
    entries, seen = [], set()
    with manifest.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            name = (row.get("file") or "").strip()
            if not name or name.startswith("#"):
                continue
            path = (raw_dir / name).resolve()
            if raw_dir.resolve() not in path.parents:  # « ../../etc/passwd » stays out
                raise BilansError(f"{manifest}:{n} : chemin hors de {raw_dir} refusé ({name})")
            org = (row.get("org") or "").strip().upper()
            if org not in ORGS:
                raise BilansError(f"{manifest}:{n} : organisme inconnu « {org} » (attendu : {', '.join(ORGS)})")
            try:
                year = int(row.get("report_year") or "")
            except ValueError:
                raise BilansError(f"{manifest}:{n} : année de rapport illisible « {row.get('report_year')} »") from None
            if path.stem in seen:
                raise BilansError(f"{manifest}:{n} : document en double ({name})")
            seen.add(path.stem)
            entries.append(Entry(path, org, year, (row.get("title") or "").strip(),
                                 (row.get("original_file") or "").strip()))
    return entries
