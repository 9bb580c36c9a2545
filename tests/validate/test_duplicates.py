"""vintage.duplicate: two documents of one organisme and one report year, on tiny text reports. The
metrics and the cross-report checks use the last by document_id; the finding says so, on each of them,
with `bilans check` and with `bilans build` (full and incremental)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import TOC  # noqa: E402

from pipelines.build import build  # noqa: E402
from pipelines.cli import main  # noqa: E402
from pipelines.validate import duplicates  # noqa: E402


def _report(year: int, days: tuple[int, int]) -> str:
    a, b = days
    return (f"Bilan d'activité {year} du SIIM94\n\n1 Pôle SI\n\nRépartition\n\n"
            f"Activité\tJours\nMCO\t{a}\nProjet\t{b}\nTotal\t{a + b}\n" + TOC)


def _duplicates(rows) -> list[tuple]:
    return sorted((r["document_id"], r["line"], r["severity"], r["found"], r["expected"]) for r in rows
                  if r["rule"] == "vintage.duplicate")


def test_drafts_of_one_year_checked_together_are_not_duplicates(tmp_path, capsys):
    # two versions of a draft (or a DOCX and its PDF) checked at once are never compared with each
    # other nor stored together: nothing to say about which one a store would use
    first, reissue = tmp_path / "siim94_2018.txt", tmp_path / "siim94_2018_v2.txt"
    first.write_text(_report(2018, (10, 20)), encoding="utf-8")
    reissue.write_text(_report(2018, (10, 21)), encoding="utf-8")
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", str(first), str(reissue), "--json"])
    found = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [f for f in found if f["rule"] == "vintage.duplicate"] == []


def test_check_of_reports_of_two_years_has_no_duplicate(tmp_path, capsys):
    a, b = tmp_path / "siim94_2017.txt", tmp_path / "siim94_2018.txt"
    a.write_text(_report(2017, (10, 20)), encoding="utf-8")
    b.write_text(_report(2018, (10, 20)), encoding="utf-8")
    main(["--db", str(tmp_path / "absent.duckdb"), "check", str(a), str(b), "--json"])
    assert [f for f in json.loads(capsys.readouterr().out) if f["rule"] == "vintage.duplicate"] == []


def _corpus(raw: Path, reports: dict[str, tuple[int, tuple[int, int]]]) -> None:
    raw.mkdir(exist_ok=True)
    lines = ["file,org,report_year,title,original_file"]
    for name, (year, days) in reports.items():
        (raw / f"{name}.txt").write_text(_report(year, days), encoding="utf-8")
        lines.append(f"{name}.txt,SIIM94,{year},Bilan {year},{name}.txt")
    (raw / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _stored_rows(db: Path) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM findings")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _stored(db: Path) -> list[tuple]:
    return _duplicates(_stored_rows(db))


def _said(capsys) -> list[str]:
    """The lines of the build's summary about reports covered twice."""
    out = capsys.readouterr().out.splitlines()
    start = next((i for i, line in enumerate(out) if "par plusieurs documents" in line), None)
    return [] if start is None else out[start:start + 2]


def test_build_warns_on_both_documents_and_an_incremental_build_follows(tmp_path, capsys):
    raw, db = tmp_path / "raw", tmp_path / "curated" / "bilans.duckdb"
    _corpus(raw, {"siim94_2017": (2017, (5, 6)), "siim94_2018": (2018, (10, 20))})
    assert build(raw, db) == 0
    assert _stored(db) == []
    assert _said(capsys) == []
    # a re-issue of 2018 added: both 2018 documents warned, the 2017 one not
    _corpus(raw, {"siim94_2017": (2017, (5, 6)), "siim94_2018": (2018, (10, 20)),
                  "siim94_2018_v2": (2018, (10, 21))})
    assert build(raw, db) == 0
    assert _said(capsys) == [
        "  1 année de rapport couverte par plusieurs documents (seul le dernier par identifiant est utilisé ; "
        "voir les constats vintage.duplicate) :",
        "    SIIM94 2018 : « siim94_2018 », « siim94_2018_v2 » → « siim94_2018_v2 » utilisé"]
    assert _stored(db) == [("siim94_2018", 1, "warning", "2 rapports", "1 rapport"),
                           ("siim94_2018_v2", 1, "warning", "2 rapports", "1 rapport")]
    by_doc = {r["document_id"]: r["message"] for r in _stored_rows(db) if r["rule"] == "vintage.duplicate"}
    for message in by_doc.values():
        assert message.startswith("2 documents de SIIM94 portent sur l'année de rapport 2018 : « siim94_2018 » (")
        assert "Les métriques n'en utilisent qu'un, « siim94_2018_v2 », le dernier par identifiant" in message
    assert by_doc["siim94_2018"].endswith("Ce document-ci n'entre pas dans les métriques ; les comparaisons ne "
                                          "lisent de lui que les chiffres que « siim94_2018_v2 » ne donne pas.")
    assert by_doc["siim94_2018_v2"].endswith("Ce document est celui qui est utilisé ; « siim94_2018 » "
                                             "n'est pas repris dans les métriques.")
    # the metrics read the re-issue only (the rule's message says so)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT DISTINCT report_year, split_part(sources, ':', 1) FROM metriques "
                       "WHERE report_year = 2018").fetchall() == [(2018, "siim94_2018_v2")]
    con.close()
    # the re-issue withdrawn: the warning on the first 2018 document goes with it
    _corpus(raw, {"siim94_2017": (2017, (5, 6)), "siim94_2018": (2018, (10, 20))})
    (raw / "siim94_2018_v2.txt").unlink()
    assert build(raw, db, force=True) == 0
    assert _stored(db) == []
    out = capsys.readouterr().out
    assert "(2 documents dont 2 repris du magasin précédent, 1 retiré, " in out  # the removal is said
    assert "par plusieurs documents" not in out


def test_a_year_of_many_copies_names_a_few_of_them():
    """320 copies of a report: each finding names NAMED documents (this one and the one used among
    them) and counts the others, so that the findings do not grow as the square of the copies."""
    ids = [f"sii_2018_copie{i:04d}" for i in range(7)]
    paths = [f"raw/{i}.txt" for i in ids]
    middle = duplicates._row("SII", 2018, ids[3], ids, paths)["message"]
    assert middle.startswith("7 documents de SII portent sur l'année de rapport 2018 : "
                             "« sii_2018_copie0000 » (raw/sii_2018_copie0000.txt), "
                             "« sii_2018_copie0001 » (raw/sii_2018_copie0001.txt), "
                             "« sii_2018_copie0003 » (raw/sii_2018_copie0003.txt), "
                             "« sii_2018_copie0006 » (raw/sii_2018_copie0006.txt) et 3 autres. ")
    used = duplicates._row("SII", 2018, ids[6], ids, paths)["message"]
    assert used.endswith("Ce document est celui qui est utilisé ; « sii_2018_copie0000 », « sii_2018_copie0001 », "
                         "« sii_2018_copie0002 », « sii_2018_copie0003 » et 2 autres ne sont pas repris dans les "
                         "métriques.")
    assert "retirer les autres du corpus" in duplicates._row("SII", 2018, ids[6], ids, paths)["suggestion"]
    five = [f"v{i}" for i in range(5)]
    assert duplicates._row("SII", 2018, "v1", five, five)["message"].startswith(
        "5 documents de SII portent sur l'année de rapport 2018 : « v0 » (v0), « v1 » (v1), « v2 » (v2), « v4 » (v4) "
        "et 1 autre. ")
    assert duplicates._row("SII", 2018, "v4", five, five)["message"].endswith(
        "« v0 », « v1 », « v2 » et « v3 » ne sont pas repris dans les métriques.")
    many = [f"c{i:04d}" for i in range(320)]
    assert len(duplicates._row("SII", 2018, many[100], many, many)["message"]) < 800
    three = duplicates._row("SII", 2018, "b", ["a", "b", "c"], ["a", "b", "c"])["message"]
    assert three.startswith("3 documents de SII portent sur l'année de rapport 2018 : « a » (a), « b » (b) et « c » (c). ")
    con = duckdb.connect()
    con.execute("CREATE TABLE documents AS SELECT 'c' || lpad(i::VARCHAR, 4, '0') AS document_id, 'SII' AS org, "
                "2018 AS report_year, NULL AS path FROM range(320) t(i)")
    assert duplicates.said_in_summary(con)[1] == ("    SII 2018 : 320 documents dont « c0000 », « c0001 », « c0002 », "
                                                  "« c0319 » → « c0319 » utilisé")
