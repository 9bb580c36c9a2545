"""`bilans build` on a small made-up corpus: curation without code changes, atomicity, Parquet."""

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.build import build
from pipelines.errors import BilansError

FIX = Path(__file__).parent / "fixtures" / "layouts"

NEW_REPORT = """Bilan d'activité 2023 du SIIM94

1 Bilan financier

1.1 Dépenses de fonctionnement 2023

| Chapitre | Libellé | Prévisions | Réalisations |
|---|---|---|---|
| 011 | Charges à caractère général | 1 800 000,00 | 1 650 000,00 |
| 012 | Charges de personnel | 3 300 000,00 | 3 250 000,00 |
| Total | | 5 100 000,00 | 4 900 000,00 |

Répartition des recettes par adhérents

| Adhérent | cotisation | Total |
|---|---|---|
| MAIRIE D'IVRY | 850 000 € | 850 000 € |
| OPH d'Ivry | 150 000 € | 150 000 € |
| Total | 1 000 000 € | 1 000 000 € |

2 Pôle Systèmes d'Information

Répartition de la charge par domaine

Domaines (en jours)   2022   2023
Finances               437    450
Sante publique         147    160
Total Général          584    610
"""


def make_corpus(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "siim94_2023.txt").write_text(NEW_REPORT, encoding="utf-8")
    shutil.copy(FIX / "tsv_2019.txt", raw / "siim94_2019.txt")
    (raw / "manifest.csv").write_text(
        "file,org,report_year,title,original_file\n"
        "siim94_2019.txt,SIIM94,2019,Bilan 2019,a.txt\n"
        "siim94_2023.txt,SIIM94,2023,Bilan 2023,b.txt\n", encoding="utf-8")
    return raw


def test_new_report_in_another_layout_is_curated(tmp_path, capsys):
    raw = make_corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    assert build(raw, db, validate=False) == 0
    con = duckdb.connect(str(db), read_only=True)
    fin = con.execute("SELECT chapitre, sens, realise, line FROM finances WHERE report_year = 2023 "
                      "AND niveau = 'detail' ORDER BY chapitre").fetchall()
    assert [(c, s, float(r), line) for c, s, r, line in fin] == [
        ("011", "depenses", 1650000.0, 9), ("012", "depenses", 3250000.0, 10)]
    contrib = con.execute("SELECT adherent, adherent_imprime, lignee, montant FROM contributions "
                          "WHERE categorie = 'cotisation' AND niveau = 'detail' ORDER BY 1").fetchall()
    assert [(a, p, li, float(m)) for a, p, li, m in contrib] == [
        ("Ivry-sur-Seine", "MAIRIE D'IVRY", "Ivry-sur-Seine", 850000.0),
        ("OPH d'Ivry-sur-Seine", "OPH d'Ivry", "COOP'IVRY", 150000.0)]
    days = con.execute("SELECT exercice, pole, axe, categorie, categorie_norm, jours, line FROM activite "
                       "WHERE report_year = 2023 AND niveau = 'detail' ORDER BY 1, 4").fetchall()
    assert days == [(2022, "si", "domaine", "Finances", "Finances", 437.0, 26),
                    (2022, "si", "domaine", "Sante publique", "Santé publique", 147.0, 27),
                    (2023, "si", "domaine", "Finances", "Finances", 450.0, 26),
                    (2023, "si", "domaine", "Sante publique", "Santé publique", 160.0, 27)]
    assert (db.parent / "parquet" / "activite" / "org=SIIM94" / "exercice=2023").is_dir()
    assert "2 documents" in capsys.readouterr().out


def test_unreadable_document_is_recorded_and_the_build_goes_on(tmp_path, capsys):
    """DESIGN « Budgets » (issue 18): a refused document no longer fails the whole build."""
    raw = make_corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    (raw / "siim94_2023.txt").write_bytes(b"\x00\x01binary\x00")
    assert build(raw, db, validate=False) == 0
    assert "siim94_2023.txt : fichier binaire (octets nuls)" in capsys.readouterr().out
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT document_id FROM documents").fetchall() == [("siim94_2019",)]
    assert con.execute("SELECT document_id FROM documents_refuses").fetchall() == [("siim94_2023",)]
    con.close()


def test_failed_build_leaves_previous_store_untouched(tmp_path):
    raw = make_corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    build(raw, db, validate=False)
    before = db.read_bytes()
    for name in ("siim94_2023.txt", "siim94_2019.txt"):  # no document left to store
        (raw / name).write_bytes(b"\x00\x01binary\x00")
    with pytest.raises(BilansError, match="aucun document lisible.*binaire"):
        build(raw, db, validate=False)
    assert db.read_bytes() == before
    assert [p.name for p in db.parent.iterdir() if p.name.startswith(".bilans-")] == []


def test_manifest_path_tricks_are_refused(tmp_path, capsys):
    raw = make_corpus(tmp_path)
    (raw / "manifest.csv").write_text("file,org,report_year,title,original_file\n"
                                      "../../etc/passwd,SIIM94,2019,x,y\n", encoding="utf-8")
    with pytest.raises(BilansError, match="aucun document"):  # the row is refused, so nothing is left
        build(raw, tmp_path / "db.duckdb", validate=False)
    assert "manifest.csv:2 : ligne refusée — chemin hors de" in capsys.readouterr().err
    assert not (tmp_path / "db.duckdb").exists()


def test_unknown_adherent_is_kept_as_printed_and_listed(tmp_path, capsys):
    raw = make_corpus(tmp_path)
    report = raw / "siim94_2023.txt"
    report.write_text(report.read_text(encoding="utf-8").replace("MAIRIE D'IVRY", "MAIRIE DE NULLE-PART"),
                      encoding="utf-8")
    db = tmp_path / "bilans.duckdb"
    build(raw, db, validate=False)
    out = capsys.readouterr().out
    assert "adhérent « MAIRIE DE NULLE-PART »" in out
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT adherent, lignee FROM contributions WHERE adherent_imprime = 'MAIRIE DE NULLE-PART' "
                       "AND categorie = 'cotisation'").fetchall() == [("MAIRIE DE NULLE-PART", "MAIRIE DE NULLE-PART")]
    (tmp_path / "again").mkdir()
    build(make_corpus(tmp_path / "again"), db, validate=False)  # a later build does not repeat it
    assert "NULLE-PART" not in capsys.readouterr().out


def test_a_build_past_duckdbs_memory_bound_is_made_again_without_it(tmp_path, capsys, monkeypatch):
    """DuckDB's memory bound (build.MEMORY_LIMIT_MB) is a target, not a reason to fail: a corpus
    that needs more is built again without it, said in one line, and the store is complete."""
    from pipelines import build as stage

    monkeypatch.setattr(stage, "MEMORY_LIMIT_MB", 1)  # 1 Mo: the first write of cells does not fit
    raw, db = make_corpus(tmp_path), tmp_path / "db.duckdb"
    assert build(raw, db, validate=False) == 0
    err = capsys.readouterr().err
    assert "bilans : la construction dépasse la mémoire bornée de DuckDB (1 Mo) ; reprise sans cette borne" in err
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 2


def test_the_json_of_a_suite_result_is_ges_own_text():
    """data_docs._json sets the flagged rows aside while GE serializes a result: the text says what GE's
    `to_json_dict()` says all the same (NaN as null, keys as text, a result two expectations share), one
    flagged row per line, and the result is left as it was."""
    import copy
    import json
    import math

    from pipelines.validate.data_docs import _json, suite_result
    from pipelines.validate.suites import suite

    rows = [{"check_id": 0, "rule": "total.sum", "found": "12", "expected": math.nan, "extra": {1: [1, 2.5]}},
            {"check_id": 3, "rule": "total.sum", "found": None, "ok": True}]
    kinds = {suite("totaux").expectations[0].configuration.type: {"element_count": 7, "unexpected_count": 2, "unexpected_percent": 2 / 7 * 100,
                                         "unexpected_rows": rows, "unexpected_index_list": [{"check_id": 0},
                                                                                            {"check_id": 3}],
                                         "observed_value": "2 constat(s) sur 7 contrôle(s)"}}
    result = suite_result(suite("totaux"), kinds)
    before = copy.deepcopy(result.to_json_dict())
    text = _json(result)
    assert json.loads(text) == json.loads(json.dumps(before))
    assert json.loads(text)["results"][0]["result"]["unexpected_rows"][0] == {
        "check_id": 0, "rule": "total.sum", "found": "12", "expected": None, "extra": {"1": [1, 2.5]}}
    assert '\n  {"check_id": 3, "rule": "total.sum", "found": null, "ok": true}]' in text
    assert result.to_json_dict() == before
    shared = suite_result(suite("totaux"), kinds)
    shared.results.append(copy.copy(shared.results[0]))  # two results, one `result` dict
    assert json.loads(_json(shared)) == json.loads(json.dumps(shared.to_json_dict()))


@pytest.mark.parametrize("rows", [
    [{"a": 1, "b": [1, 2], "c": {"x": "},{", "y": None}}, {"a": 2, "b": [], "c": {}}, {"d": "\u001f é"}],
    [{"a": [{"x": 1}, {"x": 2}]}, {"a": [{"x": 3}]}],  # dicts one after another inside a row
    [[{"x": 1}, {"x": 2}], {"y": 3}],  # a row that is not a dict
    [{"a": 1}],
])
def test_flagged_rows_encoded_at_once_read_as_row_by_row(rows):
    """data_docs._rows_text encodes the rows in one call and cuts them apart: the text of each row
    by itself, one a line, whatever the rows hold."""
    from pipelines.validate.data_docs import _row_text, _rows_text

    assert _rows_text(rows) == "[" + ",\n  ".join(map(_row_text, rows)) + "]"


def test_a_flagged_row_of_numpy_values_is_written_as_ge_writes_it():
    import json

    import numpy as np

    from pipelines.validate.data_docs import _row_text

    row = {"check_id": np.int64(4), "found": np.float64("nan"), "ok": np.bool_(True), "text": "NaN ici"}
    assert json.loads(_row_text(row)) == {"check_id": 4, "found": None, "ok": True, "text": "NaN ici"}
    assert _row_text({"text": "NaN ici"}) == '{"text": "NaN ici"}'
