"""The manifest as a spreadsheet saves it, and the guard that keeps a bad one from emptying the store.

Issue 18: a BOM, `;`, a renamed column or a header-only manifest used to give an empty store
(exit 0), and the next `bilans run` deleted every executed notebook.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.manifest import load_manifest
from pipelines.publish.runs import STATE_FILE, run_notebooks

REPORT = """Bilan d'activité {year} du SIIM94

1 Bilan financier

1.1 Dépenses de fonctionnement {year}

| Chapitre | Libellé | Prévisions | Réalisations |
|---|---|---|---|
| 011 | Charges à caractère général | 1 800 000,00 | 1 650 000,00 |
| 012 | Charges de personnel | 3 300 000,00 | 3 250 000,00 |
| Total | | 5 100 000,00 | 4 900 000,00 |
"""

HEADER = ["file", "org", "report_year", "title", "original_file"]
ROWS = [["r2022.txt", "SIIM94", "2022", "Bilan d'activité 2022", "a.txt"],
        ["r2023.txt", "SIIM94", "2023", "Bilan d'activité 2023", "b.txt"]]


def corpus(root: Path) -> Path:
    raw = root / "raw"
    raw.mkdir(parents=True)
    for year in (2022, 2023):
        (raw / f"r{year}.txt").write_text(REPORT.format(year=year), encoding="utf-8")
    write_manifest(raw, HEADER, ROWS)
    return raw


def write_manifest(raw: Path, header: list[str], rows: list[list[str]], sep: str = ",", encoding: str = "utf-8",
                   eol: str = "\n") -> None:
    text = eol.join(sep.join(r) for r in [header, *rows]) + eol
    (raw / "manifest.csv").write_bytes(text.encode(encoding))


def titles(db: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT document_id, title FROM documents ORDER BY 1").fetchall()
    finally:
        con.close()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder (links followed) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def build(raw: Path, db: Path, *extra: str) -> int:
    return main(["--db", str(db), "build", "--raw", str(raw), "--no-validate", *extra])


@pytest.fixture
def built(tmp_path, capsys):
    """A store of two documents built from a plain manifest."""
    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    assert build(raw, db) == 0
    capsys.readouterr()
    return raw, db


@pytest.mark.parametrize("variant", [
    {"encoding": "utf-8-sig"},                      # Excel « CSV UTF-8 »
    {"sep": ";", "encoding": "cp1252", "eol": "\r\n"},  # Excel « CSV (séparateur : point-virgule) », Windows
    {"sep": ";", "encoding": "utf-8-sig"},
    {"sep": "\t", "encoding": "utf-16"},            # Excel « Texte Unicode »
    {"encoding": "utf-16-le"},                       # UTF-16 without its byte order mark
    {"sep": ";", "encoding": "utf-16-be"},
])
def test_spreadsheet_manifests_give_the_same_store(built, variant, capsys):
    raw, db = built
    write_manifest(raw, HEADER, ROWS, **variant)
    assert build(raw, db) == 0
    assert titles(db) == [("r2022", "Bilan d'activité 2022"), ("r2023", "Bilan d'activité 2023")]
    assert capsys.readouterr().err == ""


def test_header_names_are_read_whatever_their_case_and_spaces(tmp_path):
    raw = corpus(tmp_path)
    write_manifest(raw, [" File", "ORG ", "Report_Year", "title", "original_file"], ROWS, sep=";")
    assert [e.document_id for e in load_manifest(raw).entries] == ["r2022", "r2023"]


def assert_refused(capsys, db: Path, before: dict, *fragments: str) -> str:
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("bilans : ") and all(f in last for f in fragments), err
    assert snapshot(db.parent) == before  # store, Parquet export, cache: not one byte changed
    return err


def test_renamed_column_is_named_and_the_store_is_untouched(built, capsys):
    raw, db = built
    before = snapshot(db.parent)
    write_manifest(raw, ["fichier", *HEADER[1:]], ROWS)
    assert build(raw, db) == 2
    err = assert_refused(capsys, db, before, "colonne obligatoire « file » absente",
                         "renommée en « fichier » ?", "magasin inchangé")
    assert len(err.strip().splitlines()) == 1


def test_one_column_manifest_lists_what_it_read(built, capsys):
    raw, db = built
    before = snapshot(db.parent)
    write_manifest(raw, HEADER, ROWS, sep="|")
    assert build(raw, db) == 2
    assert_refused(capsys, db, before, "« file », « org », « report_year » absentes",
                   "colonnes lues : « file|org|report_year|title|original_file »")


def test_header_only_manifest_refuses_unless_forced(built, capsys):
    raw, db = built
    before = snapshot(db.parent)
    write_manifest(raw, HEADER, [])
    assert build(raw, db) == 2
    assert_refused(capsys, db, before, "ne donne aucun document", "magasin inchangé", "bilans build --force")
    assert build(raw, db, "--force") == 0
    assert titles(db) == []


def test_dropped_document_refuses_and_names_it(built, capsys):
    raw, db = built
    before = snapshot(db.parent)
    write_manifest(raw, HEADER, ROWS[1:])
    assert build(raw, db) == 2
    assert_refused(capsys, db, before, "1 document du magasin absent du manifeste (r2022)",
                   "il reste inchangé", "« bilans build --force » pour les retirer")
    assert build(raw, db, "--force") == 0
    assert titles(db) == [("r2023", "Bilan d'activité 2023")]


def test_every_refused_row_gets_one_line(built, capsys):
    raw, db = built
    rows = [*ROWS, ["", "SIIM94", "2024", "x", "y"], ["r2024.txt", "siim94", "2024", "x", "y"],
            ["r2022.txt", "XYZ", "2022", "x", "y"], ["r2023.txt", "SII", "99999999999", "x", "y"],
            ["r2023.txt", "SII", "-5", "x", "y"], ["../../etc/passwd", "SII", "2020", "x", "y"],
            ["r2022.txt", "SIIM94", "2022", "doublon", "y"], ["# commentaire", "", "", "", ""]]
    write_manifest(raw, HEADER, rows)
    assert build(raw, db) == 0  # the two good rows keep the store whole
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "bilans : manifest.csv:4 : ligne refusée — colonne « file » vide",
        "bilans : manifest.csv:5 : ligne refusée — fichier introuvable : r2024.txt",
        "bilans : manifest.csv:6 : ligne refusée — organisme inconnu « XYZ » (attendu : SIIM94, SII)",
        "bilans : manifest.csv:7 : ligne refusée — année hors bornes : 99999999999 (attendu : de 1900 à 2100)",
        "bilans : manifest.csv:8 : ligne refusée — année hors bornes : -5 (attendu : de 1900 à 2100)",
        f"bilans : manifest.csv:9 : ligne refusée — chemin hors de {raw} refusé (../../etc/passwd)",
        "bilans : manifest.csv:10 : ligne refusée — document en double (r2022.txt)",
    ]
    assert titles(db) == [("r2022", "Bilan d'activité 2022"), ("r2023", "Bilan d'activité 2023")]


def test_undecodable_manifest_is_one_line(built, capsys):
    raw, db = built
    before = snapshot(db.parent)
    (raw / "manifest.csv").write_bytes(",".join(HEADER).encode() + b"\nr2022.txt,SIIM94,2022,\x81\x8d\xff\xfe,a\n")
    assert build(raw, db) == 2
    assert_refused(capsys, db, before, "encodage illisible (ni UTF-8 ni cp1252)")


def fake_outputs(out: Path, keys: list[str]) -> None:
    """Outputs of earlier runs as `bilans run` leaves them (notebook, page, state)."""
    for key in keys:
        (out / key).parent.mkdir(parents=True, exist_ok=True)
        (out / f"{key}.ipynb").write_text("{}", encoding="utf-8")
        (out / f"{key}.html").write_text("<p>page</p>", encoding="utf-8")
    runs = {k: {"status": "ok", "fingerprint": "x", "titre": None} for k in keys}
    (out / STATE_FILE).write_text(json.dumps({"version": 1, "runs": runs}), encoding="utf-8")


def test_run_keeps_outputs_of_vanished_runs_unless_pruned(tmp_path, capsys, monkeypatch):
    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    write_manifest(raw, HEADER, [])
    assert build(raw, db, "--force") == 0  # the empty store a bad manifest used to give
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "reports" / "analyses"
    fake_outputs(out, ["SIIM94/2022/finances", "SIIM94/2023/finances"])
    (out / "SII/2018").mkdir(parents=True)
    (out / "SII/2018/pole_si.ipynb").write_text("{}", encoding="utf-8")  # not in the state file
    capsys.readouterr()
    assert main(["--db", str(db), "run"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "3 sorties d’exécutions absentes du magasin, gardées : SII/2018/pole_si, "
        "SIIM94/2022/finances, SIIM94/2023/finances (« bilans run --prune » pour les supprimer).")
    assert {str(p.relative_to(out)) for p in out.rglob("*.ipynb")} == {
        "SII/2018/pole_si.ipynb", "SIIM94/2022/finances.ipynb", "SIIM94/2023/finances.ipynb"}
    assert len(list(out.rglob("*.html"))) == 3  # two pages + the index
    assert "(plus dans le magasin)" in (out / "index.html").read_text(encoding="utf-8")

    assert main(["--db", str(db), "run", "--prune"]) == 0
    assert capsys.readouterr().out.startswith("3 sorties d’exécutions absentes du magasin supprimées : ")
    assert list(out.rglob("*.ipynb")) == [] and [p.name for p in out.rglob("*.html")] == ["index.html"]
    assert json.loads((out / STATE_FILE).read_text(encoding="utf-8"))["runs"] == {}


def test_filtered_run_deletes_nothing(empty_store, tmp_path):
    out = tmp_path / "analyses"
    fake_outputs(out, ["SIIM94/2022/finances"])
    lines: list[str] = []
    assert run_notebooks(empty_store, org="SIIM94", out_dir=out, echo=lines.append, prune=True) == 0
    assert (out / "SIIM94/2022/finances.ipynb").exists() and (out / "SIIM94/2022/finances.html").exists()


def test_filtered_run_with_nothing_to_do_names_the_bilans_of_the_store(fixture_store, tmp_path):
    lines: list[str] = []
    assert run_notebooks(fixture_store, org="SII", year=2030, out_dir=tmp_path / "a", echo=lines.append) == 0
    assert lines[0] == "Aucune exécution pour ce filtre ; bilans du magasin : SII 2018, SIIM94 2017, SIIM94 2018."
