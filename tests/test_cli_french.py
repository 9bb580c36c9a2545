"""The command line speaks French: durations « 8,2 s », argparse's own messages, option names."""

from __future__ import annotations

import pytest

from pipelines import cli
from pipelines.terminal import duree, nombre


@pytest.mark.parametrize("seconds, text", [(8.24, "8,2 s"), (0.04, "0,0 s"), (162.25, "162,2 s"),
                                           (1234.56, "1\u202f234,6 s")])
def test_duree_french_decimal_comma(seconds, text):
    assert duree(seconds) == text


def test_counts_with_thin_space():
    assert nombre(1600) == "1\u202f600" and nombre(12) == "12"


def test_run_help_and_errors_in_french(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    assert stop.value.code == 0 and out.startswith("utilisation : bilans run [-h] [--org ORGANISME] [--year ANNÉE]")
    assert "afficher cette aide et quitter" in out and "--scheduler tcp://HÔTE:PORT" in out

    with pytest.raises(SystemExit) as stop:
        cli.main(["run", "--workers", "0"])
    err = capsys.readouterr().err.splitlines()
    assert stop.value.code == 2 and err[0].startswith("utilisation : bilans run")
    assert err[-1] == "bilans run : erreur : argument --workers : entier positif attendu : « 0 »"

    with pytest.raises(SystemExit):
        cli.main(["briefing", "--port", "abc"])
    assert capsys.readouterr().err.splitlines()[-1] == "bilans briefing : erreur : argument --port : nombre entier attendu : « abc »"

    with pytest.raises(SystemExit):
        cli.main(["check"])
    assert capsys.readouterr().err.splitlines()[-1] == ("bilans check : erreur : arguments obligatoires manquants : "
                                                        "FICHIER")


def _written(encoding: str, json_out: bool, write) -> bytes:
    """The bytes a console of `encoding` receives from `write()` inside terminal.filtered_output."""
    import io
    import sys

    from pipelines.terminal import filtered_output

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", write_through=True)
    saved = sys.stdout
    sys.stdout = stream
    try:
        with filtered_output(stdout=not json_out):
            write()
    finally:
        sys.stdout = saved
    assert stream.errors == "strict"  # given back as it was
    return raw.getvalue()


def test_a_latin1_console_gets_the_line_not_a_traceback():
    """PYTHONIOENCODING=latin-1: « 1 280/6 400 » (narrow no-break spaces) ended bilans build with
    UnicodeEncodeError; the console gets the no-break space it has, « ? » for a character it lacks."""
    line = "  lecture : 1\u202f280/6\u202f400 documents (20 %) — « 5 € » ✓"
    assert _written("latin-1", False, lambda: print(line)).decode("latin-1") == \
        "  lecture : 1\xa0280/6\xa0400 documents (20 %) - « 5 EUR » ?\n"
    assert _written("cp1252", False, lambda: print(line)).decode("cp1252") == \
        "  lecture : 1\xa0280/6\xa0400 documents (20 %) — « 5 € » ?\n"
    assert _written("ascii", False, lambda: print(line)).decode("ascii") == \
        '  lecture : 1 280/6 400 documents (20 %) - " 5 EUR " ?\n'


def test_json_on_an_ascii_console_stays_the_same_json():
    import json

    from pipelines.terminal import ascii_json

    records = [{"libellé": "Coût 1\u202f280 € — ✓ 😀"}]
    for encoding in ("ascii", "latin-1"):
        out = _written(encoding, True, lambda: json.dump(records, __import__("sys").stdout, ensure_ascii=ascii_json()))
        assert json.loads(out.decode("ascii")) == records


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_help_on_a_console_without_utf8(encoding, monkeypatch):
    """argparse writes the help before filtered_output: « cœur » ended `bilans run --help` on
    UnicodeEncodeError under PYTHONIOENCODING=latin-1, every help under ascii."""
    import io
    import sys

    from pipelines.cli import main

    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding=encoding, write_through=True))
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    said = raw.getvalue().decode(encoding)
    assert said.startswith("utilisation : ") and "--workers" in said


def test_json_is_utf8_or_ascii_escaped(monkeypatch):
    """RFC 8259: JSON travels in UTF-8; on another console every character beyond ASCII is escaped."""
    import io

    from pipelines.terminal import ascii_json

    assert not ascii_json(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert ascii_json(io.TextIOWrapper(io.BytesIO(), encoding="latin-1"))
    assert ascii_json(io.TextIOWrapper(io.BytesIO(), encoding="cp1252"))
