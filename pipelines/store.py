"""Le magasin DuckDB : schéma du dictionnaire de données, connexion, écriture atomique.

Every stage reads the previous one through this module; the DDL here, with that of the
curated families (pipelines/catalogue/familles.toml), is the contract of ARCHITECTURE.md
(column names must not change, columns may be added).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipelines import catalogue

DEFAULT_DB = Path("data/curated/bilans.duckdb")
PROJECT_NAME = "atelier-bilans"  # the `name` of pyproject.toml: what marks a project folder
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the project this package is installed from
# Temp stores (and their .wal) are written beside the store under this prefix, then swapped in.
TEMP_PREFIX = ".bilans-"

_COMMON = "org VARCHAR, exercice INTEGER, report_year INTEGER, document_id VARCHAR, line INTEGER"

SCHEMA: dict[str, str] = {
    "documents": "document_id VARCHAR PRIMARY KEY, org VARCHAR, report_year INTEGER, path VARCHAR, "
    "sha256 VARCHAR, n_lines INTEGER, title VARCHAR, encoding VARCHAR, format VARCHAR, n_pages INTEGER, "
    # digests of the code and referentiels that gave the document's rows and findings (pipelines/flow.py):
    # an incremental build reuses what they still describe
    "reader_version VARCHAR, checks_version VARCHAR",
    "documents_refuses": "document_id VARCHAR, org VARCHAR, report_year INTEGER, path VARCHAR, message VARCHAR",
    "sections": "document_id VARCHAR, number VARCHAR, title VARCHAR, level INTEGER, line INTEGER",
    "lignes": "document_id VARCHAR, line INTEGER, text VARCHAR, page INTEGER, place VARCHAR",
    "tables": "table_id VARCHAR PRIMARY KEY, document_id VARCHAR, caption VARCHAR, section VARCHAR, "
    "line_start INTEGER, line_end INTEGER, layout VARCHAR, family VARCHAR, n_rows INTEGER, n_cols INTEGER, "
    "n_header_rows INTEGER, n_label_cols INTEGER, headers VARCHAR[], ragged_lines INTEGER[], "
    "notation VARCHAR",
    "cells": "table_id VARCHAR, row INTEGER, col INTEGER, line INTEGER, text VARCHAR, value DOUBLE, "
    "unit VARCHAR, role VARCHAR, parse_status VARCHAR, value2 DOUBLE, unit2 VARCHAR, row_kind VARCHAR, "
    "row_label VARCHAR, header VARCHAR, decimals INTEGER, page INTEGER, place VARCHAR",
    "narratifs": "document_id VARCHAR, line INTEGER, section VARCHAR, label VARCHAR, value DOUBLE, "
    "unit VARCHAR, exercice INTEGER, text VARCHAR, sentence VARCHAR, table_id VARCHAR, parse_status VARCHAR, "
    "page INTEGER, place VARCHAR, sujet VARCHAR, mesure VARCHAR, sentence_start INTEGER, sentence_end INTEGER",
    "findings": "document VARCHAR, line INTEGER, rule VARCHAR, severity VARCHAR, message VARCHAR, "
    "found VARCHAR, expected VARCHAR, \"table\" VARCHAR, document_id VARCHAR, section VARCHAR, "
    "source_line VARCHAR, suggestion VARCHAR, org VARCHAR, report_year INTEGER, family VARCHAR, "
    "exercice INTEGER, key VARCHAR, highlight VARCHAR, page INTEGER, place VARCHAR, label_line INTEGER, label_source VARCHAR, "
    "scope VARCHAR",  # rapport | entre_rapports: what decides the finding (pipelines/validate SCOPE_*)
    # GE's result of each suite cut by document and scope (pipelines/validate/stored_results.py): the
    # results and Data Docs beside the store are the sum of these parts, kept like the findings.
    "gx_parts": "suite VARCHAR, document_id VARCHAR, scope VARCHAR, n_rows INTEGER, part VARCHAR",
    # Every figure the workbench publishes (pipelines/publish/registre.py), gathered by `bilans run` and
    # `bilans briefing --export`, checked by the suite `publications`.
    "publications": "page VARCHAR, element VARCHAR, role VARCHAR, metrique VARCHAR, org VARCHAR, adherent VARCHAR, "
    "exercice INTEGER, pole VARCHAR, detail VARCHAR, valeur DOUBLE, unite VARCHAR, sources VARCHAR, "
    "derive_de VARCHAR, partie_de VARCHAR, annees_titre VARCHAR, motif VARCHAR, cle VARCHAR",
}

# The series key of every curated row (see curate/views.py): canonical concept, measure and
# perimeter beside the printed label, and whether the figure was read in a table or in the prose.
SERIES_COLUMNS = "concept VARCHAR, mesure VARCHAR, perimetre VARCHAR, source VARCHAR"

# The curated families, one table each, are declared once: pipelines/catalogue/familles.toml.
CURATED_FAMILIES = catalogue.noms_familles()
SCHEMA.update({f.nom: f"{_COMMON}, {f.colonnes}" for f in catalogue.familles()})


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for name in SCHEMA:
        con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({_columns_ddl(name)})')


def _columns_ddl(name: str) -> str:
    """The column definitions of the table `name` (with the series key of a family that has series)."""
    columns = SCHEMA[name]
    if name in CURATED_FAMILIES and catalogue.famille(name).a_des_series:
        columns += ", " + SERIES_COLUMNS
    return columns


def column_names(name: str) -> list[str]:
    """The columns of the table `name`, in order, as create_schema creates them."""
    return list(column_types(name))


def column_types(name: str) -> dict[str, str]:
    """column -> its DuckDB type (« INTEGER », « VARCHAR[] », « DECIMAL(18,2) »…) of the table `name`,
    in order, as create_schema creates them."""
    return {c.split()[0].strip('"'): c.split()[1] for c in re.split(r",(?![^(]*\))", _columns_ddl(name).strip())}


def resolve_store(db_path: str | os.PathLike | None = None) -> Path:
    """The store an analysis reads (notebooks, briefing, ``connect``): `db_path` when given, else
    $BILANS_DB, else DEFAULT_DB. A relative path absent from the current folder is taken from the
    project root when it exists there (JupyterLab and Voilà start in notebooks/). The path may not
    exist: the caller says so. (`bilans check` looks further: find_store.)"""
    path = Path(db_path or os.environ.get("BILANS_DB") or DEFAULT_DB)
    if not path.is_absolute() and not path.exists() and (PACKAGE_ROOT / path).exists():
        return PACKAGE_ROOT / path
    return path


def refuse_folder(db: str | os.PathLike | None, how: str = "--db") -> None:
    """A store path that names a folder is refused in one French line (BilansError, exit 2 in the
    command line), wherever it was given: `how` says where (« --db », « BILANS_DB », « connect() »)."""
    from pipelines.errors import BilansError

    if db is not None and Path(db).is_dir():
        given = f"{how}={db}" if how == "BILANS_DB" else f"{how} {db}"
        raise BilansError(f"{given} n'est pas un fichier (un dossier ?) : donnez le chemin du magasin, "
                          "par exemple data/curated/bilans.duckdb")


# DuckDB's English reasons for not opening a store, in French (matched on its stable wording)
_UNOPENABLE_FR = (
    ("not a valid DuckDB database file", "n'est pas un magasin DuckDB (fichier d'un autre format)"),
    ("Could not set lock", "est verrouillé par un autre processus (une construction en cours ?)"),
    ("Conflicting lock", "est verrouillé par un autre processus (une construction en cours ?)"),
    ("storage version", "a été écrit par une autre version de DuckDB (reconstruire : « bilans build »)"),
    ("Permission denied", "ne peut être lu : droits insuffisants"),
)


def unreadable_store(path: str | os.PathLike, exc: Exception) -> str:
    """« magasin illisible : PATH n'est pas un magasin DuckDB (…) » : why DuckDB could not open or
    attach the store at `path`, in one French line; DuckDB's own first line only for a cause not
    listed in _UNOPENABLE_FR. Used by connect, `bilans check` (check.copy_vintages) and the CLI."""
    text = str(exc)
    for english, french in _UNOPENABLE_FR:
        if english in text:
            return f"magasin illisible : {path} {french}"
    return f"magasin illisible : {path} (DuckDB : {text.splitlines()[0][:200] if text else type(exc).__name__})"


def connect(db_path: str | os.PathLike | None = None, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """One-line access for analysts: ``con = connect()`` (the store of `resolve_store`).

    Errors, each one French line: FileNotFoundError (no store there yet), BilansError (the path is a
    folder, or a file DuckDB cannot open: another format, a newer DuckDB, locked by a writer)."""
    from pipelines.errors import BilansError

    path = resolve_store(db_path)
    refuse_folder(path, "connect()" if db_path else "BILANS_DB" if os.environ.get("BILANS_DB") else "magasin")
    if read_only and not path.exists():
        raise FileNotFoundError(f"Magasin introuvable : {path} (lancez d'abord « bilans build »)")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise BilansError(unreadable_store(path, exc)) from None


def find_store(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> tuple[Path | None, str]:
    """The store a command reads, and how it was found (« --db », « BILANS_DB », « projet », « paquet »).

    In order: `explicit` (--db, returned even when absent: the caller says it is missing), then
    $BILANS_DB, then the store of the project holding `cwd` (the nearest parent with a
    pyproject.toml named PROJECT_NAME and a DEFAULT_DB), then that of the project this package is
    installed from. (None, "") when none holds a store.
    """
    if explicit:
        return Path(explicit), "--db"
    if os.environ.get("BILANS_DB"):
        return Path(os.environ["BILANS_DB"]), "BILANS_DB"
    for folder, how in _projects(cwd):
        if (folder / DEFAULT_DB).is_file():
            return folder / DEFAULT_DB, how
    return None, ""


def _projects(cwd: Path | None) -> Iterator[tuple[Path, str]]:
    """(folder, how) of the projects a command may read the store of, nearest first: those holding
    `cwd` (« projet »), then the one this package is installed from (« paquet »)."""
    here = Path(cwd or Path.cwd()).resolve()
    for folder, how in [*((p, "projet") for p in (here, *here.parents)), (PACKAGE_ROOT, "paquet")]:
        if _is_project(folder):
            yield folder, how


def no_store_reason(cwd: Path | None = None) -> str:
    """One French phrase: why `find_store` found no store. In a project (or installed from one) whose
    store is not built yet, it names that project and says to build it; elsewhere, where it looked."""
    nearest = next(_projects(cwd), None)
    if nearest is not None:
        return (f"magasin du projet {nearest[0]} pas encore construit ({DEFAULT_DB} absent) : "
                "le construire par « bilans build »")
    return "aucun magasin trouvé (ni --db, ni BILANS_DB, ni projet atelier-bilans autour du dossier courant)"


def _is_project(folder: Path) -> bool:
    import tomllib

    try:
        with open(folder / "pyproject.toml", "rb") as f:
            return tomllib.load(f).get("project", {}).get("name") == PROJECT_NAME
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def atomic_store(db_path: str | os.PathLike,
                 seed: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Build a new store beside the old one and swap it in only on success. `seed`: a store the new one
    starts as a byte copy of, with its write-ahead log when one is left beside it (an incremental build
    then prunes it: pipelines/flow.py `seed_plan`); else the new store starts empty."""
    target = Path(db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # named before it exists, so that the cleanup below knows it from the first instant: a signal
    # (Ctrl-C, SIGTERM) that lands as the file is created removes it too (tempfile.mkstemp returns
    # the name only once the file exists). Builds of a folder run one at a time (build.build_lock).
    tmp = str(target.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}.duckdb")
    con = None
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        if seed is not None:
            # read-only, DuckDB holds a shared lock on the file: no writer changes it while it is copied
            with contextlib.closing(duckdb.connect(str(seed), read_only=True)):
                shutil.copyfile(seed, tmp)
                if os.path.exists(f"{seed}.wal"):  # changes not yet written into the file: DuckDB replays them
                    shutil.copyfile(f"{seed}.wal", f"{tmp}.wal")
        else:
            os.unlink(tmp)  # duckdb refuses to open an empty non-database file
        con = duckdb.connect(tmp)
        create_schema(con)
        yield con
        con.execute("CHECKPOINT")
        con.close()
        os.chmod(tmp, _mode_of(target))
        try:
            os.replace(tmp, target)
        except OSError as exc:  # said of the store (the temp file is removed below), not of the temp file
            raise type(exc)(exc.errno, exc.strerror, str(target)) from None
        # the log of the store replaced, whose changes the new one holds (read through it): DuckDB refuses
        # a log left beside another file
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{target}.wal")
    except BaseException:
        if con is not None:
            con.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp + ".wal")
        raise


def _mode_of(target: Path) -> int:
    """The permissions the new store takes: those of the store it replaces (readable by the group that
    serves the dashboard, or made read-only by its owner), else the default of new files (the umask),
    as DuckDB creates a store; never those of a temp file (0600, readable by its owner only)."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return default_mode()


def default_mode(directory: bool = False) -> int:
    """The permissions of a new file (or folder) under the process's umask: what `open` or `mkdir` give,
    where tempfile gives 0600 (0700), readable by its owner only."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def replace_rows(db_path: str | os.PathLike, table: str, frame, where: str, params: list | None = None) -> None:
    """Replace the rows of `table` matching `where` by `frame` (same columns), in one transaction on the
    existing store: readers see the old rows or the new ones, never half. The table is created from
    SCHEMA when a store built before it lacks it. A store held by another process (a served briefing)
    is a one-line error."""
    from pipelines.errors import BilansError

    try:
        con = duckdb.connect(str(db_path))
    except (duckdb.IOException, duckdb.ConnectionException) as exc:
        raise BilansError(f"magasin {db_path} occupé par un autre processus (tableau de bord ouvert ?) : "
                          f"les publications n'ont pas pu y être écrites ({exc})") from None
    try:
        con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({SCHEMA[table]})')
        con.execute("BEGIN TRANSACTION")
        con.execute(f'DELETE FROM "{table}" WHERE {where}', params or [])
        if len(frame):
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            con.register("_rows", frame)
            con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _rows')
            con.unregister("_rows")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
