"""PDF and DOCX reports, generated here (tests/docgen.py), read into the same model as text:
same cells, same findings, with the page and the place of each line."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docgen import from_text, to_docx, to_pdf, to_text  # noqa: E402

from pipelines.cli import main  # noqa: E402
from pipelines.extract import cache, extract_document  # noqa: E402
from pipelines.extract.numbers import clean  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SEED_2017 = ROOT / "data" / "raw" / "siim94_2017.txt"
FORMATS = ["pdf-ruled", "pdf-unruled", "docx"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path):
    cache.use(tmp_path / "cache")
    yield
    cache.use(None)


def seed_rows(first: int, last: int) -> list[list[str]]:
    lines = SEED_2017.read_text(encoding="utf-8").splitlines()[first - 1: last]
    return [line.split("\t") for line in lines]


def report(*body: tuple) -> list[tuple]:
    return [("p", "Bilan d'activité 2017 du SIIM94"), ("h", 1, "1 Pôle SI"), *body, ("p", "Fin du rapport.")]


def write(tmp_path: Path, blocks: list[tuple], fmt: str, name: str = "rapport") -> Path:
    if fmt == "texte":
        path = tmp_path / f"{name}.txt"
        path.write_text(to_text(blocks), encoding="utf-8")
    elif fmt == "docx":
        path = tmp_path / f"{name}.docx"
        to_docx(blocks, path)
    else:
        path = tmp_path / f"{name}.pdf"
        ruled = fmt != "pdf-unruled"
        to_pdf([(b[0], b[1], {**(b[2] if len(b) > 2 else {}), "ruled": ruled}) if b[0] == "table" else b
                for b in blocks], path)
    return path


def cells(doc) -> list[tuple]:
    return [(t.caption, t.section, tuple(t.headers), r.kind, r.label, c.row, c.col, clean(c.text), c.value,
             c.unit, c.role) for t in doc.tables for r in t.rows for c in r.cells]


def store_findings(doc):
    from pipelines.build import write_store
    from pipelines.store import create_schema
    from pipelines.validate import findings

    con = duckdb.connect(":memory:")
    create_schema(con)
    write_store(con, [doc], {})
    return con, findings(con, document_ids=[doc.document_id])


def key(df, *rules) -> list[tuple]:
    return sorted((r["rule"], r["severity"], r["found"], r["expected"]) for r in df.to_dict("records")
                  if not rules or r["rule"] in rules)


SEED_TABLE = report(("p", "Répartition générale"), ("table", seed_rows(741, 746)),
                    ("p", "Mandats émis : 76070"), ("p", "+48% du nombre d'agents formés (1407 agents)"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_seed_table_gives_the_same_cells_figures_and_findings_as_text(tmp_path, fmt):
    text_doc = extract_document(write(tmp_path, SEED_TABLE, "texte"), "SIIM94", 2017, "doc")
    doc = extract_document(write(tmp_path, SEED_TABLE, fmt), "SIIM94", 2017, "doc")
    assert doc.format == fmt.split("-")[0] and text_doc.format == "texte"
    assert cells(doc) == cells(text_doc) and len(doc.tables) == 1
    figures = [(n.label, n.value, n.unit, n.exercice) for n in doc.narratifs]
    assert figures == [(n.label, n.value, n.unit, n.exercice) for n in text_doc.narratifs] and figures
    _, expected = store_findings(text_doc)
    con, found = store_findings(doc)
    # « Total général 1 164 jours » under rows summing to 2 570 (2017 report, pôle SI)
    assert key(found, "total.column") == key(expected, "total.column") == [
        ("total.column", "error", "1 133 jours", "2 575 jours"),
        ("total.column", "error", "1 157 jours", "2 582 jours"),
        ("total.column", "error", "1 164 jours", "2 570 jours"),
    ]
    assert key(found) == key(expected)
    total = doc.tables[0].rows[-1]
    wanted = "tableau 1, rangée 6" if fmt == "docx" else "page 1, ligne 9"
    assert {(f["line"], f["place"]) for f in found.to_dict("records") if f["rule"] == "total.column"} == {
        (total.line, wanted)}
    stored = con.execute("SELECT DISTINCT page, place FROM cells WHERE line = ?", [total.line]).fetchall()
    assert stored == [(None if fmt == "docx" else 1, wanted)]
    assert con.execute("SELECT text FROM lignes WHERE line = ?", [total.line]).fetchone()[0].startswith(
        "Total général\t1 164 jours")


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_a_whole_seed_report_as_pdf_or_docx_gives_the_same_tables(tmp_path, fmt):
    """The 2018 report, its tables laid out as Word or ruled PDF tables: same tables, same figures.
    (Captions may differ: a PDF wraps long paragraphs, and the last fragment above a table can be
    taken for its caption; a table cut by a page break has its header once more, as a header.)"""
    seed = ROOT / "data" / "raw" / "siim94_2018.txt"
    path = tmp_path / f"rapport.{fmt}"
    (to_pdf if fmt == "pdf" else to_docx)(from_text(seed.read_text(encoding="utf-8")), path)
    doc, text_doc = extract_document(path, "SIIM94", 2018), extract_document(seed, "SIIM94", 2018)

    def figures(d):
        return [(n, r.kind, r.label, c.col, c.value, c.unit, c.role)
                for n, t in enumerate(d.tables) for r in t.body for c in r.cells if c.value is not None]
    assert len(doc.tables) == len(text_doc.tables) > 10
    assert figures(doc) == figures(text_doc)


MULTI_HEADER = [[{"text": "SERVICES", "rowspan": 2}, {"text": "REPARTITION PAR SEXE", "colspan": 2},
                 {"text": "TOTAL EFFECTIF", "rowspan": 2}],
                ["Hommes", "Femmes"], ["Direction", "1", "1", "2"], ["Etudes", "11", "", "11"],
                [{"text": "TOTAL GLOBAL", "bold": True}, "12", "1", "14"]]
WRAPPED = [["Domaine", "2020", "2021"],
           ["Maintenance en condition opérationnelle des applications métiers", "1 169", "1 256"],
           ["Gestion des domaines métiers", "81", "153"], ["TOTAL", "1 250", "1 409"]]


@pytest.mark.parametrize("fmt", ["pdf-ruled", "docx"])
def test_multi_row_header_with_merged_cells(tmp_path, fmt):
    blocks = report(("p", "Effectifs par service"), ("table", MULTI_HEADER, {"header_rows": 2}))
    doc = extract_document(write(tmp_path, blocks, fmt), "SII", 2018, "doc")
    [t] = doc.tables
    assert t.n_header_rows == 2
    assert t.headers == ["SERVICES", "REPARTITION PAR SEXE — Hommes", "REPARTITION PAR SEXE — Femmes", "TOTAL EFFECTIF"]
    text_doc = extract_document(write(tmp_path, blocks, "texte"), "SII", 2018, "doc")
    assert cells(doc) == cells(text_doc)
    _, found = store_findings(doc)
    _, expected = store_findings(text_doc)
    assert key(found) == key(expected) and ("total.column", "error", "14", "13") in key(found)


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrapped_labels_join_their_row(tmp_path, fmt):
    doc = extract_document(write(tmp_path, report(("table", WRAPPED)), fmt), "SIIM94", 2021, "doc")
    [t] = doc.tables
    assert [(r.label, [c.value for c in r.cells[1:]]) for r in t.body] == [
        ("Maintenance en condition opérationnelle des applications métiers", [1169.0, 1256.0]),
        ("Gestion des domaines métiers", [81.0, 153.0]), ("TOTAL", [1250.0, 1409.0])]


@pytest.mark.parametrize("fmt", ["pdf-ruled", "pdf-unruled"])
def test_table_split_over_two_pages_with_its_header_repeated(tmp_path, fmt):
    rows = [["Entité", "2016", "2017"]] + [[f"Commune numéro {i}", str(10 + i), str(10 + i)] for i in range(70)]
    total = sum(10 + i for i in range(70))
    rows.append(["Total", str(total), str(total + 5)])  # 5 too many in 2017
    blocks = report(("p", "Tickets par entité"), ("table", rows))
    doc = extract_document(write(tmp_path, blocks, fmt), "SIIM94", 2017, "doc")
    assert doc.n_pages >= 2
    [t] = doc.tables
    assert [r.kind for r in t.rows].count("header") >= 2  # the repeated header is a header, not a row
    assert [r.label for r in t.body if r.kind != "header"] == [r[0] for r in rows[1:]]
    _, found = store_findings(doc)
    _, expected = store_findings(extract_document(write(tmp_path, blocks, "texte"), "SIIM94", 2017, "doc"))
    assert key(found, "total.column") == key(expected, "total.column") == [
        ("total.column", "error", "3 120", "3 115")]
    # the header printed again on the next page is the same header, not years given twice
    assert key(found, "header.year") == key(expected, "header.year") == []
    [page] = {f["page"] for f in found.to_dict("records") if f["rule"] == "total.column"}
    assert page == doc.n_pages and page >= 2


def test_unruled_table_with_an_empty_cell_keeps_its_columns(tmp_path):
    rows = [["Domaine", "2016", "2017"], ["Finances", "327", "340"], ["Santé", "", "134"],
            ["Total", "327", "474"]]
    doc = extract_document(write(tmp_path, report(("table", rows)), "pdf-unruled"), "SIIM94", 2017, "doc")
    [t] = doc.tables
    assert [[clean(c.text) for c in r.cells] for r in t.rows] == rows


def test_docx_headings_keep_their_level_and_number(tmp_path):
    blocks = [("p", "Rapport d'activité 2018 du SII"), ("h", 1, "1 Synthèse"), ("h", 2, "1.1 Études"),
              ("p", "Texte."), ("h", 2, "Sans numéro")]
    doc = extract_document(write(tmp_path, blocks, "docx"))
    assert [(s.number, s.title, s.level) for s in doc.sections] == [
        ("1", "Synthèse", 1), ("1.1", "Études", 2), ("", "Sans numéro", 2)]
    assert (doc.org, doc.report_year) == ("SII", 2018)


# --- cache ----------------------------------------------------------------------------------------

def test_text_layer_is_cached_by_sha256(tmp_path, monkeypatch):
    from pipelines.extract import pdf

    path = write(tmp_path, SEED_TABLE, "pdf-ruled")
    first = extract_document(path)
    [entry] = list((tmp_path / "cache").glob("*.json"))
    assert entry.name.startswith(first.sha256)
    # the reading runs in a child process (budget.run_limited), which sends back a picklable exception
    monkeypatch.setattr(pdf, "read_pdf", _parsed_again)
    assert cells(extract_document(path)) == cells(first)
    write(tmp_path, report(("table", WRAPPED)), "pdf-ruled")  # same name, new content: parsed again
    with pytest.raises(AssertionError, match="parsed again"):
        extract_document(path)


def _parsed_again(*_args):
    raise AssertionError("an unchanged PDF is parsed again")


# --- bad input ------------------------------------------------------------------------------------

def _scanned() -> bytes:
    from fpdf import FPDF
    from PIL import Image

    image = io.BytesIO()
    Image.new("L", (200, 100), 180).save(image, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=180)
    return bytes(pdf.output())


def _encrypted() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 5, "Bilan d'activite 2017")
    pdf.set_encryption(owner_password="proprietaire", user_password="lecteur")
    return bytes(pdf.output())


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _renamed_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("photos/readme.txt", "pas un document Word")
    return buffer.getvalue()


BAD = {
    "scanne.pdf": (_scanned, "sans couche texte"),
    "chiffre.pdf": (_encrypted, "mot de passe"),
    "tronque.pdf": (lambda: _half(to_pdf(SEED_TABLE)), "tronqué"),
    "abime.pdf": (lambda: b"%PDF-1.7\n" + b"\x8f garbage " * 300 + b"\n%%EOF\n", "illisible"),
    "ancien.doc": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000), ".doc"),
    "archive.docx": (_renamed_zip, "pas un document Word"),
    "tronque.docx": (lambda: _half(to_docx(SEED_TABLE)), "DOCX illisible"),
    "faux.pdf": (lambda: b"<html>pas un pdf</html>", "ni PDF ni DOCX"),
}


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("command", ["check", "extract"])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, name, command):
    make, reason = BAD[name]
    path = tmp_path / name
    path.write_bytes(make())
    db = tmp_path / "store" / "bilans.duckdb"
    assert main(["--db", str(db), command, str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"bilans : {name} : ") and "\n" not in err and "Traceback" not in err
    assert reason in err
    assert not db.parent.exists()  # no store, and no cache entry for a file that could not be read


def test_pdf_beyond_the_page_limit_is_refused(tmp_path, capsys, monkeypatch):
    from pipelines.extract import pdf

    monkeypatch.setattr(pdf, "MAX_PAGES", 2)
    path = write(tmp_path, report(("page",), ("p", "deux"), ("page",), ("p", "trois")), "pdf-ruled")
    assert main(["--db", str(tmp_path / "absent.duckdb"), "check", str(path)]) == 2
    assert "PDF trop long (3 pages, au plus 2)" in capsys.readouterr().err


def test_unusable_pdf_in_the_manifest_is_recorded_and_the_build_goes_on(tmp_path, capsys):
    """DESIGN « Budgets » (issue 18): a refused document is recorded, the others are stored."""
    import duckdb

    raw = tmp_path / "raw"
    raw.mkdir()
    write(raw, SEED_TABLE, "docx", "siim94_2017")
    (raw / "manifest.csv").write_text("file,org,report_year,title,original_file\n"
                                      "siim94_2017.docx,SIIM94,2017,Bilan 2017,b.docx\n", encoding="utf-8")
    db = tmp_path / "curated" / "bilans.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    before = db.read_bytes()
    (raw / "scanne.pdf").write_bytes(_scanned())
    with (raw / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write("scanne.pdf,SIIM94,2018,Bilan 2018,scanne.pdf\n")
    capsys.readouterr()
    assert main(["--db", str(db), "build", "--raw", str(raw), "--no-validate"]) == 0
    assert "scanne.pdf : PDF sans couche texte" in capsys.readouterr().out
    assert db.read_bytes() != before
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT document_id FROM documents").fetchall() == [("siim94_2017",)]
    [(doc, year, message)] = con.execute("SELECT document_id, report_year, message FROM documents_refuses").fetchall()
    con.close()
    assert (doc, year) == ("scanne", 2018) and "sans couche texte" in message


# --- everywhere a text report goes --------------------------------------------------------------

def test_check_and_extract_cite_page_and_line(tmp_path, capsys):
    path = write(tmp_path, SEED_TABLE, "pdf-ruled")
    db = tmp_path / "absent.duckdb"
    assert main(["--db", str(db), "check", str(path), "--org", "SIIM94", "--year", "2017", "--json"]) == 1
    out = [f for f in json.loads(capsys.readouterr().out) if f["rule"] == "total.column"]
    assert {(f["page"], f["place"], f["document"]) for f in out} == {(1, "page 1, ligne 9", str(path))}
    assert main(["--db", str(db), "check", str(path)]) == 1
    assert f"{path}:{out[0]['line']} (page 1, ligne 9)  ERREUR  [total.column]" in capsys.readouterr().out
    assert main(["--db", str(db), "extract", str(path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["format"], shown["n_pages"]) == ("pdf", 1)
    assert shown["tables"][0]["rows"][-1]["place"] == "page 1, ligne 9"


def test_build_and_author_report_from_pdf_and_docx(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    write(raw, SEED_TABLE, "pdf-ruled", "siim94_2017")
    write(raw, [("p", "Rapport d'activité 2018 du SII"), *report(("table", MULTI_HEADER, {"header_rows": 2}))[1:]],
          "docx", "sii_2018")
    (raw / "manifest.csv").write_text("file,org,report_year,title,original_file\n"
                                      "siim94_2017.pdf,SIIM94,2017,Bilan 2017,a.pdf\n"
                                      "sii_2018.docx,SII,2018,Rapport 2018,b.docx\n", encoding="utf-8")
    db = tmp_path / "curated" / "bilans.duckdb"
    assert main(["--db", str(db), "build", "--raw", str(raw)]) == 0
    assert len(list((tmp_path / "curated" / "cache").glob("*.json"))) == 2
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT document_id, format, n_pages FROM documents ORDER BY 1").fetchall() == [
        ("sii_2018", "docx", None), ("siim94_2017", "pdf", 1)]
    assert con.execute("SELECT count(*) FROM findings WHERE page = 1 AND place LIKE 'page 1, ligne %'").fetchone()[0]
    con.close()
    assert main(["--db", str(db), "report", "--out", str(tmp_path / "reports")]) == 0
    md = (tmp_path / "reports" / "validation" / "siim94_2017.md").read_text(encoding="utf-8")
    assert "— page 1, ligne 9, tableau « Répartition générale » — `total.column`" in md
    docx_md = (tmp_path / "reports" / "validation" / "sii_2018.md").read_text(encoding="utf-8")
    assert "— tableau 1, rangée 5" in docx_md
