"""`bilans check DRAFT --annotate OUT` : le brouillon de l'auteur annoté (issue 21, point 1).

The draft is generated (tests/docgen.py): a table whose printed total (1 999 jours) is not the sum
of its rows (2 018 jours) and a sentence citing 953 jours where the table prints 935 jours.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docgen import to_docx, to_pdf, to_text  # noqa: E402

from pipelines.cli import main  # noqa: E402

BLOCKS = [
    ("p", "Bilan d'activité 2018 du SIIM94"),
    ("h", 1, "1 Pôle SI"),
    ("p", "Le pôle a consacré 953 jours aux projets en 2018, contre 968 jours en 2017."),
    ("page",),
    ("p", "Répartition générale de l'activité"),
    ("table", [["Activité (en jours)", "2017", "2018"], ["MCO", "1 136 jours", "1 083 jours"],
               ["Projet", "968 jours", "935 jours"], ["Total général", "2 104 jours", "1 999 jours"]]),
    ("p", "Les équipes ont poursuivi l'accompagnement des adhérents."),
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(tmp_path: Path, draft: Path, *extra: str) -> int:
    return main(["--db", str(tmp_path / "absent.duckdb"), "check", str(draft), *extra])


def anchored(path: Path) -> dict[int, tuple[str, str]]:
    """comment id -> (the text of its range, the tag of the innermost block holding the range: p or tc)."""
    import docx
    from docx.oxml.ns import qn

    body = docx.Document(str(path)).element.body
    open_: dict[int, list[str]] = {}
    out: dict[int, tuple[str, str]] = {}
    holder: dict[int, str] = {}
    for el in body.iter():
        if el.tag == qn("w:commentRangeStart"):
            cid = int(el.get(qn("w:id")))
            open_[cid] = []
            tc = next((a for a in el.iterancestors() if a.tag == qn("w:tc")), None)
            holder[cid] = "tc" if tc is not None else "p"
        elif el.tag == qn("w:commentRangeEnd"):
            cid = int(el.get(qn("w:id")))
            out[cid] = ("".join(open_.pop(cid)), holder[cid])
        elif el.tag == qn("w:t"):
            for texts in open_.values():
                texts.append(el.text or "")
    return out


def test_docx_draft_gets_two_comments_on_the_offending_figures(tmp_path, capsys):
    import docx

    draft = tmp_path / "brouillon.docx"
    to_docx(BLOCKS, draft)
    before = _sha(draft)
    out = tmp_path / "annote.docx"
    assert _check(tmp_path, draft, "--annotate", str(out)) == 1
    assert "copie annotée" in capsys.readouterr().err
    assert _sha(draft) == before  # the draft itself is never written to

    document = docx.Document(str(out))  # reopens without repair
    comments = {c.comment_id: c for c in document.comments}
    assert len(comments) == 2
    assert {c.author for c in comments.values()} == {"Atelier bilans"}
    by_rule = {("total.column" if "[total.column]" in c.text else "text.table"): cid for cid, c in comments.items()}
    ranges = anchored(out)
    assert ranges[by_rule["total.column"]] == ("1 999 jours", "tc")  # the cell's run, not the row
    assert ranges[by_rule["text.table"]] == ("953", "p")  # the run split around the figure
    total = comments[by_rule["total.column"]].text
    assert "Trouvé : 1 999 jours ; attendu : 2 018 jours" in total
    assert "Correction suggérée : Corriger le total en 2 018 jours" in total
    # the text of the copy is the draft's: only comment marks were added
    assert [p.text for p in document.paragraphs] == [p.text for p in docx.Document(str(draft)).paragraphs]

    # a second check reads the text layer from the cache, the origins from their own file; a third
    # finds no origins there and reads the draft again: same comments each time
    origins = list((tmp_path / "cache").glob("*.origines"))
    assert len(origins) == 1
    again = tmp_path / "encore.docx"
    assert _check(tmp_path, draft, "--annotate", str(again)) == 1
    assert sorted(anchored(again).values()) == sorted(ranges.values())
    origins[0].unlink()
    third = tmp_path / "relu.docx"
    assert _check(tmp_path, draft, "--annotate", str(third)) == 1
    assert sorted(anchored(third).values()) == sorted(ranges.values())


def _word_boxes(pdf_path: Path, page: int, texts: list[str]) -> list[tuple[float, float, float, float]]:
    """PDF-space boxes (x0, y0, x1, y1) of the consecutive words ``texts`` on ``page`` (1-based)."""
    import pdfplumber

    with pdfplumber.open(str(pdf_path)) as pdf:
        p = pdf.pages[page - 1]
        words = p.extract_words()
        for i in range(len(words) - len(texts) + 1):
            if [w["text"] for w in words[i:i + len(texts)]] == texts:
                return [(w["x0"], p.height - w["bottom"], w["x1"], p.height - w["top"]) for w in words[i:i + len(texts)]]
    raise AssertionError(texts)


def _contains(rect, box, tol=0.5) -> bool:
    return rect[0] - tol <= box[0] and rect[1] - tol <= box[1] and box[2] <= rect[2] + tol and box[3] <= rect[3] + tol


def test_pdf_draft_gets_highlights_over_the_words_on_their_page(tmp_path):
    from pypdf import PdfReader

    draft = tmp_path / "brouillon.pdf"
    to_pdf(BLOCKS, draft)
    before = _sha(draft)
    out = tmp_path / "annote.pdf"
    assert _check(tmp_path, draft, "--annotate", str(out)) == 1
    assert _sha(draft) == before

    reader = PdfReader(str(out))
    assert len(reader.pages) == 2
    notes = {}
    for n, page in enumerate(reader.pages, 1):
        for ref in page.get("/Annots") or []:
            a = ref.get_object()
            assert a["/Subtype"] == "/Highlight" and a["/T"] == "Atelier bilans"
            rule = "total.column" if "[total.column]" in a["/Contents"] else "text.table"
            notes[rule] = (n, [float(v) for v in a["/Rect"]], a["/Contents"])
    assert set(notes) == {"total.column", "text.table"}

    page, rect, text = notes["text.table"]
    assert page == 1 and "Trouvé : 953 jours ; attendu : 935 jours" in text
    assert all(_contains(rect, b) for b in _word_boxes(draft, 1, ["953"]))
    assert not any(_contains(rect, b) for b in _word_boxes(draft, 1, ["968"]))  # the next figure is not covered

    page, rect, text = notes["total.column"]
    assert page == 2 and "Correction suggérée : Corriger le total en 2 018 jours" in text
    assert all(_contains(rect, b) for b in _word_boxes(draft, 2, ["1", "999", "jours"]))
    assert not any(_contains(rect, b) for b in _word_boxes(draft, 2, ["2", "104", "jours"]))


def test_findings_without_a_place_go_to_one_summary_comment(tmp_path):
    """A series finding (no line in the draft) and one whose figure is not in its line: the first
    goes to the summary at the start, the second onto its paragraph."""
    import docx
    import pandas as pd

    from pipelines.extract import extract_document
    from pipelines.publish.annotate import annotate

    draft = tmp_path / "brouillon.docx"
    to_docx(BLOCKS, draft)
    doc = extract_document(draft)
    line = next(n for n, text in enumerate(doc.lines, 1) if text.startswith("Le pôle"))
    rows = [
        dict(document_id=doc.document_id, line=None, rule="series.break", severity="warning",
             message="La série « Projets » change de périmètre.", found="Projets", expected="Projet",
             suggestion="Donner l'évolution à périmètre constant.", highlight=None, source_line=None),
        dict(document_id=doc.document_id, line=line, rule="text.year", severity="error",
             message="Comparaison avec une année inattendue.", found="par rapport à 2016", expected=None,
             suggestion=None, highlight="par rapport à 2016", source_line=doc.lines[line - 1]),
        dict(document_id=doc.document_id, line=line, rule="value.malformed", severity="info",
             message="Nombre mal écrit.", found="953", expected=None, suggestion=None, highlight="953",
             source_line=doc.lines[line - 1]),
    ]
    done = annotate(doc, pd.DataFrame(rows), tmp_path / "annote.docx")
    assert (done.placed, done.summary) == (1, 1)  # the info is left out without include_info
    comments = list(docx.Document(str(done.path)).comments)
    summary = next(c for c in comments if "sans place" in c.text)
    assert "[series.break]" in summary.text
    ranges = anchored(done.path)
    assert ranges[summary.comment_id] == ("Bilan d'activité 2018 du SIIM94", "p")  # the first paragraph
    other = next(c for c in comments if c is not summary)
    assert ranges[other.comment_id][0] == BLOCKS[2][1]  # not found in the line: the whole paragraph
    assert annotate(doc, pd.DataFrame(rows), tmp_path / "tout.docx", include_info=True).placed == 2


def test_a_text_draft_keeps_its_report_and_says_it_is_not_annotated(tmp_path, capsys):
    draft = tmp_path / "brouillon.txt"
    draft.write_text(to_text(BLOCKS), encoding="utf-8")
    out = tmp_path / "annote.docx"
    assert _check(tmp_path, draft, "--annotate", str(out)) == 1
    captured = capsys.readouterr()
    assert "[total.column]" in captured.out and "[text.table]" in captured.out  # today's report
    said = [ln for ln in captured.err.splitlines() if "--annotate" in ln]
    assert len(said) == 1 and "seulement les brouillons DOCX ou PDF" in said[0]
    assert not out.exists()


_PROC = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="pas de /proc")


@pytest.mark.parametrize("target, reason", [
    ("absent/annote.docx", "impossible d'écrire la copie annotée (dossier introuvable : "),
    ("annote.pdf", "doit finir par .docx"),
    ("brouillon.docx", "ne peut pas remplacer le brouillon"),
    ("brouillon.docx/annote.docx", "impossible d'écrire la copie annotée (",),  # a file, not a folder
    # /proc exists (not « dossier introuvable ») but takes no file; its name says nothing of the suffix
    pytest.param("/proc/annote.docx", "impossible d'écrire la copie annotée (le système refuse d'y créer un fichier : "
                 f"{os.strerror(errno.ENOENT)})", marks=_PROC),
    pytest.param("/proc/x", "impossible d'écrire la copie annotée (le système refuse d'y créer un fichier : "
                 f"{os.strerror(errno.ENOENT)})", marks=_PROC),
])
def test_an_impossible_copy_is_one_french_line_and_the_draft_is_untouched(tmp_path, capsys, target, reason):
    draft = tmp_path / "brouillon.docx"
    to_docx(BLOCKS, draft)
    before = _sha(draft)
    assert _check(tmp_path, draft, "--annotate", str(tmp_path / target)) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("bilans : avertissement")]
    assert len(err) == 1 and err[0].startswith("bilans : ") and reason in err[0], err
    assert "Traceback" not in err[0]
    if target.startswith("brouillon.docx/"):
        assert err[0].endswith(f"({draft} n'est pas un dossier)")
    assert _sha(draft) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".docx", ".pdf")) == ["brouillon.docx"]


def test_a_corrupt_docx_is_refused_in_one_line_without_a_copy(tmp_path, capsys):
    good = to_docx(BLOCKS)
    draft = tmp_path / "abime.docx"
    draft.write_bytes(good[: len(good) // 2])
    out = tmp_path / "annote.docx"
    assert _check(tmp_path, draft, "--annotate", str(out)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bilans : ") and "\n" not in err and "DOCX" in err
    assert not out.exists()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice absent")
def test_libreoffice_converts_the_annotated_copy(tmp_path):
    draft = tmp_path / "brouillon.docx"
    to_docx(BLOCKS, draft)
    out = tmp_path / "annote.docx"
    _check(tmp_path, draft, "--annotate", str(out))
    subprocess.run(["soffice", "--headless", "--convert-to", "odt", "--outdir", str(tmp_path / "lo"), str(out)],
                   check=True, timeout=180, capture_output=True)
    # LibreOffice read the copy and kept its Word comments, as annotations by « Atelier bilans »
    with zipfile.ZipFile(tmp_path / "lo" / "annote.odt") as odt:
        content = odt.read("content.xml").decode("utf-8")
    assert content.count("<office:annotation>") + content.count("<office:annotation ") == 2
    assert content.count("<dc:creator>Atelier bilans</dc:creator>") == 2


def test_several_drafts_are_annotated_into_a_folder(tmp_path):
    (tmp_path / "copies").mkdir()
    drafts = [tmp_path / "rapport.docx", tmp_path / "note.docx", tmp_path / "imprime.pdf"]
    to_docx(BLOCKS, drafts[0])
    to_docx(BLOCKS[:3], drafts[1])  # the sentence without its table: nothing to say
    to_pdf(BLOCKS, drafts[2])
    rc = main(["--db", str(tmp_path / "absent.duckdb"), "check", *map(str, drafts), "--annotate", str(tmp_path / "copies")])
    assert rc == 1
    assert sorted(p.name for p in (tmp_path / "copies").iterdir()) == [
        "imprime.annote.pdf", "note.annote.docx", "rapport.annote.docx"]
    assert len(anchored(tmp_path / "copies" / "rapport.annote.docx")) == 2
    assert anchored(tmp_path / "copies" / "note.annote.docx") == {}


def test_two_drafts_of_one_name_get_two_copies_numbered_as_their_ids(tmp_path, capsys):
    import json

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "copies").mkdir()
    to_docx(BLOCKS, tmp_path / "a" / "brouillon.docx")
    to_docx(BLOCKS[:3], tmp_path / "b" / "brouillon.docx")  # the sentence without its table: nothing to say
    to_pdf(BLOCKS, tmp_path / "b" / "brouillon.pdf")
    drafts = [str(tmp_path / d / f) for d, f in (("a", "brouillon.docx"), ("b", "brouillon.docx"),
                                                  ("b", "brouillon.pdf"))]
    _check(tmp_path, drafts[0], *drafts[1:], "--annotate", str(tmp_path / "copies"), "--json")
    captured = capsys.readouterr()
    ids = {f["document"]: f["document_id"] for f in json.loads(captured.out)}
    assert ids == {drafts[0]: "brouillon", drafts[1]: "brouillon~1", drafts[2]: "brouillon~2"}
    copies = tmp_path / "copies"
    assert sorted(p.name for p in copies.iterdir()) == [
        "brouillon.annote.docx", "brouillon~1.annote.docx", "brouillon~2.annote.pdf"]
    assert len(anchored(copies / "brouillon.annote.docx")) == 2  # a/: the two findings
    assert anchored(copies / "brouillon~1.annote.docx") == {}  # b/: nothing to say
    assert f"copie annotée : {copies / 'brouillon~1.annote.docx'} (0 commentaire" in captured.err


def test_copies_named_apart_when_the_ids_do_not_say_the_repeat(tmp_path):
    from types import SimpleNamespace

    from pipelines.publish.annotate import targets

    docs = [SimpleNamespace(document_id=i, path=str(tmp_path / d / "brouillon.docx"), format="docx")
            for i, d in (("x", "a"), ("y", "b"))]
    assert targets(docs, tmp_path) == {"x": tmp_path / "brouillon.annote.docx", "y": tmp_path / "brouillon~1.annote.docx"}


def test_a_date_header_is_anchored_on_the_whole_date_in_its_own_cell(tmp_path):
    """header.label: one 2022 column dated 31/12/2022 among columns at 07/11/2022. The comment covers
    the printed date, in its cell; not the « 31 » of the 31/12/2021 printed in the cell before."""
    from pipelines.publish.annotate import figure_span

    rows = [["Grade", "Emplois 31/12/2021", "Emplois 31/12/2022", "Pourvus 31/12/2021", "Pourvus 07/11/2022",
             "Contractuels 07/11/2022"], ["Attaché", "1", "1", "1", "1", "0"], ["Adjoint", "2", "2", "2", "1", "1"]]
    draft = tmp_path / "effectifs.docx"
    to_docx([("p", "Bilan d'activité 2022 du SIIM94"), ("table", rows)], draft)
    out = tmp_path / "annote.docx"
    assert _check(tmp_path, draft, "--annotate", str(out)) == 0  # a warning
    assert anchored(out) == {0: ("31/12/2022", "tc")}
    import docx

    cell = docx.Document(str(out)).tables[0].rows[0].cells[2]
    assert [r.text for r in cell.paragraphs[0].runs if r.text] == ["Emplois ", "31/12/2022"]  # split before the date
    date = {"highlight": "31/12/2022", "found": "31/12/2022"}
    assert figure_span("Emplois 31/12/2021", date) is None  # its digits « 31 » are not this date
    assert figure_span("Emplois 31/12/2022", date) == (8, 18)
