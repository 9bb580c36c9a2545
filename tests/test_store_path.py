"""Which store an analysis reads: one rule (store.resolve_store) for connect, the notebooks and the briefing."""

import json
from pathlib import Path

from pipelines.publish.analyses import resolve_db
from pipelines.store import DEFAULT_DB, PACKAGE_ROOT, resolve_store

ROOT = Path(__file__).resolve().parents[1]


def test_given_path_then_bilans_db_then_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BILANS_DB", str(tmp_path / "env.duckdb"))
    assert resolve_store(tmp_path / "given.duckdb") == tmp_path / "given.duckdb"
    assert resolve_store(None) == tmp_path / "env.duckdb"
    assert resolve_db(None) == resolve_store(None)  # the notebooks' name for the same rule
    monkeypatch.delenv("BILANS_DB")
    assert resolve_store(None) in (DEFAULT_DB, PACKAGE_ROOT / DEFAULT_DB)


def test_relative_path_found_from_the_project_root(tmp_path, monkeypatch):
    """JupyterLab and Voilà start in notebooks/: a relative path that exists from the root is taken there."""
    monkeypatch.chdir(tmp_path)
    assert resolve_store("pyproject.toml") == PACKAGE_ROOT / "pyproject.toml"
    assert resolve_store("absent.duckdb") == Path("absent.duckdb")  # absent everywhere: the caller says so


def test_notebooks_leave_the_store_to_bilans_db():
    """Opened in JupyterLab, every notebook reads $BILANS_DB when set: its parameter is None, and
    `bilans run` / papermill inject the store they run on."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, path.name
        lines = [ln for ln in "".join(params[0]["source"]).splitlines() if ln.startswith("db_path")]
        assert lines and lines[0].split("#")[0].strip() == "db_path = None", path.name


def test_a_store_that_is_a_folder_is_one_french_line_everywhere(tmp_path, monkeypatch, capsys):
    """connect(), the notebooks' connecter() and the command line: one French line, no DuckDB error."""
    import pytest

    from pipelines.cli import main
    from pipelines.errors import BilansError
    from pipelines.publish.analyses import connecter
    from pipelines.store import connect

    folder = tmp_path / "magasin"
    folder.mkdir()
    hint = "n'est pas un fichier (un dossier ?) : donnez le chemin du magasin, par exemple data/curated/bilans.duckdb"
    with pytest.raises(BilansError) as given:
        connect(folder)
    assert str(given.value) == f"connect() {folder} {hint}"
    monkeypatch.setenv("BILANS_DB", str(folder))
    for opened in (connect, connecter):
        with pytest.raises(BilansError) as from_env:
            opened()
        assert str(from_env.value) == f"BILANS_DB={folder} {hint}"
    assert main(["briefing", "--export", str(tmp_path / "pages")]) == 2
    assert capsys.readouterr().err == f"bilans : BILANS_DB={folder} {hint}\n"


def test_a_file_duckdb_cannot_open_is_one_french_line(tmp_path):
    import pytest

    from pipelines.errors import BilansError
    from pipelines.store import connect

    other = tmp_path / "notes.duckdb"
    other.write_text("pas un magasin\n", encoding="utf-8")
    with pytest.raises(BilansError) as exc:
        connect(other)
    assert str(exc.value) == f"magasin illisible : {other} n'est pas un magasin DuckDB (fichier d'un autre format)"


def test_check_with_a_text_file_as_store_says_so_in_french(tmp_path, capsys, monkeypatch):
    """BILANS_DB naming a text file: the warning and the `check.magasin` row said DuckDB's English
    (« IO Error: … is not a valid DuckDB database file! »); now the French sentence of connect()."""
    from pipelines.cli import main

    other = tmp_path / "notes.txt"
    other.write_text("pas un magasin\n", encoding="utf-8")
    draft = Path(__file__).resolve().parent / "fixtures" / "versions" / "brouillon_v1.txt"
    monkeypatch.setenv("BILANS_DB", str(other))
    assert main(["check", str(draft), "--json", "--org", "SIIM94", "--year", "2023"]) == 1
    out, err = capsys.readouterr()
    said = f"magasin illisible : {other} n'est pas un magasin DuckDB (fichier d'un autre format)"
    [row] = [r for r in json.loads(out) if r["rule"] == "check.magasin"]
    assert said in row["message"] and said in err and "Error" not in err + row["message"]
