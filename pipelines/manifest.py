"""Le manifeste de data/raw : un rapport par ligne (fichier, organisme, année, titre, fichier d'origine).

Adding a report = adding its file and one line here; nothing else changes.

The manifest is often re-saved by a spreadsheet, so it is read as such a tool writes it:
UTF-8 with or without BOM, UTF-16 with BOM (Excel's « texte Unicode »), or cp1252; separated
by `,`, `;` or a tab — the separator is the one of these three that the header line holds most
often (header names never contain one). The header must name the required columns; every row
that cannot be used is refused with one French line, never skipped silently (only blank lines
and lines starting with `#` are ignored).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import catalogue
from pipelines.errors import BilansError
from pipelines.extract.reader import BOMS, bomless_utf16
from pipelines.terminal import pluriel, safe

# Bounds of a plausible report year or exercice (manifest, --year): a typo such as 20222 or -5
# is refused instead of flowing into queries and file names.
YEAR_MIN, YEAR_MAX = 1900, 2100
REQUIRED = ("file", "org", "report_year")
OPTIONAL = ("title", "original_file")
SEPARATORS = (",", ";", "\t")


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


@dataclass
class Manifest:
    """entries: the usable rows, in file order; refused: one French line per refused row."""

    path: Path
    entries: list[Entry] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def parse_org(text: str) -> str:
    """« siim94 » -> « SIIM94 »; BilansError naming the valid values (pipelines/catalogue/organismes.toml)
    otherwise."""
    org, known = (text or "").strip().upper(), catalogue.codes_organismes()
    if org not in known:
        raise BilansError(f"organisme inconnu « {safe(text)} » (attendu : {', '.join(known)})")
    return org


def parse_year(text: str | int) -> int:
    """An integer year within YEAR_MIN..YEAR_MAX; BilansError otherwise."""
    try:
        year = int(str(text).strip())
    except ValueError:
        raise BilansError(f"année illisible « {safe(str(text))} » (attendu : un nombre entier)") from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise BilansError(f"année hors bornes : {year} (attendu : de {YEAR_MIN} à {YEAR_MAX})")
    return year


def decode(data: bytes, source: Path) -> str:
    """Text of a manifest as a spreadsheet saves it (see the module docstring)."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise BilansError(f"{source} : encodage illisible (annoncé {encoding} par sa marque d'ordre)") from None
    if (encoding := bomless_utf16(data[:65536])) is not None:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            raise BilansError(f"{source} : encodage illisible (UTF-16 sans marque d'ordre, coupé ?)") from None
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BilansError(f"{source} : encodage illisible (ni UTF-8 ni cp1252)")


def separator(header_line: str) -> str:
    return max(SEPARATORS, key=header_line.count)


def _check_header(columns: list[str], source: Path) -> None:
    missing = [c for c in REQUIRED if c not in columns]
    if not missing:
        return
    unknown = [c for c in columns if c and c not in REQUIRED + OPTIONAL]
    read = ", ".join(f"« {safe(c)} »" for c in columns) or "rien"
    hint = f" — renommée en « {safe(unknown[0])} » ?" if len(missing) == len(unknown) == 1 else ""
    names = ", ".join(f"« {c} »" for c in missing)
    raise BilansError(f"{source} : en-tête invalide, "
                      f"{pluriel(len(missing), 'colonne obligatoire', 'colonnes obligatoires', False)} {names} "
                      f"{pluriel(len(missing), 'absente', 'absentes', False)} "
                      f"(colonnes lues : {read}){hint} ; magasin inchangé")


def _entry(row: dict, raw_dir: Path) -> Entry:
    """One row -> Entry; BilansError (without the location) when the row cannot be used."""
    name = (row.get("file") or "").strip()
    if not name:
        raise BilansError("colonne « file » vide")
    path = (raw_dir / name).resolve()
    if raw_dir.resolve() not in path.parents:  # « ../../etc/passwd » stays out
        raise BilansError(f"chemin hors de {raw_dir} refusé ({safe(name)})")
    org = parse_org(row.get("org") or "")
    year = parse_year(row.get("report_year") or "")
    if not path.exists():  # a FIFO or a folder exists: the reading budget refuses it and the build records it
        raise BilansError(f"fichier introuvable : {safe(name)}")
    return Entry(path, org, year, (row.get("title") or "").strip(), (row.get("original_file") or "").strip())


def load_manifest(raw_dir: Path) -> Manifest:
    """Read raw_dir/manifest.csv. BilansError (one line) when the file or its header is unusable;
    a refused row is listed in `Manifest.refused` (« manifest.csv:N : raison »), not raised."""
    source = raw_dir / "manifest.csv"
    if not source.is_file():
        raise BilansError(f"manifeste introuvable : {source}")
    text = decode(source.read_bytes(), source)
    header_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator(header_line))
    header = next(reader, [])
    columns = [c.strip().lower() for c in header]
    _check_header(columns, source)
    manifest, seen = Manifest(source), set()
    for row in reader:
        n = reader.line_num
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        try:
            if len(row) > len(columns):
                raise BilansError(f"{len(row)} champs pour {len(columns)} colonnes (séparateur dans une valeur ?)")
            entry = _entry(dict(zip(columns, row, strict=False)), raw_dir)
            if entry.document_id in seen:
                raise BilansError(f"document en double ({safe(entry.path.name)})")
        except BilansError as exc:
            manifest.refused.append(f"{source.name}:{n} : ligne refusée — {exc}")
            continue
        seen.add(entry.document_id)
        manifest.entries.append(entry)
    return manifest


def read_manifest(raw_dir: Path) -> list[Entry]:
    """The usable entries only (benchmarks, scripts); `bilans build` uses `load_manifest`."""
    return load_manifest(raw_dir).entries
