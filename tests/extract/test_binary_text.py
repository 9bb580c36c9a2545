"""Binary content without NUL bytes is refused as « fichier binaire » (reader.decode), and real
reports in UTF-8, cp1252 or latin-1, with accents, are still read as text."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.errors import UnusableInput
from pipelines.extract.reader import binary_format, decode

ROOT = Path(__file__).resolve().parents[2]
REPORT = ("Bilan d'activité 2023 du syndicat\n\n1 Pôle Infrastructures\n\nInterventions sur site\n\n"
          "Interventions par site\t2022\t2023\nMairie\t120\t135\nÉcoles\t80\t95\nMédiathèque\t40\t42\n"
          "Total\t240\t272\n\nLes demandes traitées progressent (+ 5 %) ; coût : 1 200 € HT.\n")


def _random_bytes(alphabet: range, n: int = 5000) -> bytes:
    rng = random.Random(94)
    return bytes(rng.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize("data", [
    _random_bytes(range(1, 256)),  # every byte but NUL
    _random_bytes(range(0x80, 0x100)),  # high bytes only: read as latin-1 before, without one C0 control
    _random_bytes(range(0x21, 0x7f)),  # printable ASCII, never a space: no word
    b"D" * 5000,
])
def test_binary_without_nul_bytes_is_refused(data):
    assert b"\x00" not in data
    with pytest.raises(UnusableInput, match=r"^x\.txt : fichier binaire \("):
        decode(data, "x.txt")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
def test_a_report_with_accents_in_each_encoding_is_text(encoding):
    text, _ = decode(REPORT.replace("€", "EUR" if encoding == "latin-1" else "€").encode(encoding), "r.txt")
    assert "Médiathèque\t40\t42" in text and "Écoles" in text


def _text_files() -> list[Path]:
    roots = [ROOT / "tests" / "fixtures", ROOT / "data" / "raw", Path("/work/shared/field")]
    return sorted(p for r in roots if r.is_dir() for p in r.rglob("*.txt") if p.stat().st_size)


def test_every_text_report_of_the_fixtures_seeds_and_field_is_still_text():
    files = _text_files()
    assert files
    for p in files:
        data = p.read_bytes()
        if not binary_format(data, p.name):
            decode(data, p.name)  # raises UnusableInput if refused


def test_check_of_random_bytes_says_binary_and_exits_2(tmp_path, capsys):
    """Before: « organisme ? année ? — 0 erreur », exit 0."""
    junk = tmp_path / "brouillon.txt"
    junk.write_bytes(_random_bytes(range(0x80, 0x100)))
    assert main(["--db", str(tmp_path / "absent.duckdb"), "check", str(junk)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "bilans : brouillon.txt : fichier binaire (caractères de contrôle), pas un rapport texte\n"


@pytest.mark.parametrize("bom, encoding", [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")])
def test_a_report_saved_as_utf16_with_its_bom_is_read(bom, encoding):
    """Word's and Notepad's « texte Unicode »: NUL bytes in every other place, announced by the BOM; it
    was refused as « fichier binaire (octets nuls) » while the manifest in UTF-16 was read."""
    text, used = decode(bom + REPORT.encode(encoding), "rapport.txt")
    assert (text, used) == (REPORT, "utf-16")


def test_a_cut_or_empty_utf16_report_is_refused_in_one_line():
    data = b"\xff\xfe" + REPORT.encode("utf-16-le")
    with pytest.raises(UnusableInput, match=r"^coupe.txt : texte UTF-16 illisible \(annoncé par sa marque d'ordre"):
        decode(data[:-1], "coupe.txt")
    with pytest.raises(UnusableInput, match=r"^vide.txt : fichier vide$"):
        decode(b"\xff\xfe" + "\n \n".encode("utf-16-le"), "vide.txt")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_report_saved_as_utf16_without_its_bom_is_read(encoding):
    """Before: « fichier binaire (octets nuls) ». One byte of each pair is NUL, always the same one."""
    assert decode(REPORT.encode(encoding), "rapport.txt") == (REPORT, encoding)
    with pytest.raises(UnusableInput, match=r"^coupe.txt : texte UTF-16 illisible \(sans marque d'ordre, mais coupé"):
        decode(REPORT.encode(encoding)[:-1], "coupe.txt")


def test_nul_bytes_on_both_sides_of_the_pairs_are_still_binary():
    data = REPORT.encode("utf-16-le") + b"\x00\x00" * 50 + b"\x00\x41" * 2000
    with pytest.raises(UnusableInput, match=r"^x.txt : fichier binaire \(octets nuls\)"):
        decode(data, "x.txt")
