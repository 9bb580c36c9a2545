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
