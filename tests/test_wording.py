"""What the workbench prints reads as French written by hand: counts agreed (« 1 cellule illisible »),
the OS's refusals in French, a help text for every option, decimal commas in the rules' texts,
tables named by what a reader sees, and Data Docs pages whose bytes depend on their results only."""

from __future__ import annotations

import argparse
import re
from types import SimpleNamespace

import pytest

from pipelines.cli import main, parser
from pipelines.publish.fmt import pluriel


@pytest.mark.parametrize(("n", "said"), [(0, "0 cellule illisible"), (1, "1 cellule illisible"),
                                         (2, "2 cellules illisibles"), (1500, "1\u202f500 cellules illisibles")])
def test_pluriel_agrees_as_french_does(n, said):
    assert pluriel(n, "cellule illisible", "cellules illisibles") == said


def test_extract_agrees_its_counts(tmp_path, capsys):
    draft = tmp_path / "un.txt"
    draft.write_text("Bilan 2023 du SIIM94\n\nInterventions\n\nSite\t2023\nMairie\t12 3 4\nÉcoles\t95\n"
                     "Total\t107\n", encoding="utf-8")
    assert main(["extract", str(draft)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{draft} : SIIM94 2023, 8 lignes, 0 section, 1 tableau, 0 chiffre dans le texte, 1 cellule illisible")


def test_no_count_is_printed_with_a_parenthesised_plural():
    """« 1 erreur(s) » is how a program writes; every count goes through pluriel()."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "pipelines"
    counted = re.compile(r"\}\s+[\wéèàùç' ]*\((?:s|x)\)")  # « {n} constat(s) », « {n} page(s) de … »
    found = [f"{p.relative_to(root)}:{i}" for p in sorted(root.rglob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if counted.search(line)]
    assert found == []


def test_an_output_folder_that_is_a_file_is_one_french_line(fixture_store, tmp_path, capsys):
    """`bilans report --out FILE`, `bilans briefing --export FILE`: the OS's refusal in French."""
    from pipelines.terminal import os_error_fr

    taken = tmp_path / "pris"
    taken.write_text("", encoding="utf-8")
    with pytest.raises(OSError) as exc:
        (taken / "validation").mkdir(parents=True, exist_ok=True)  # what `report --out` does first
    assert os_error_fr(exc.value) == f"{taken / 'validation'} : un élément du chemin est un fichier, pas un dossier"
    assert main(["--db", str(fixture_store), "briefing", "--export", str(taken)]) == 2
    assert capsys.readouterr().err == f"bilans : {taken} : existe déjà, et ce n'est pas un dossier\n"


def test_every_option_and_argument_has_a_help_text():
    def empty(p: argparse.ArgumentParser, name: str):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub, sp in a.choices.items():
                    yield from empty(sp, sub)
            elif not a.help:
                yield name, a.option_strings or a.dest

    assert list(empty(parser(), "bilans")) == []
    assert "dossier des rapports pour les auteurs" in parser()._subparsers._group_actions[0].choices["report"].format_help()


def test_rules_texts_write_numbers_the_french_way():
    """« à 0.02 près » read as « à 2 % près »; « 1e-06 » as « 0,000001 »."""
    import inspect

    import pipelines.validate.expectations.rules as rules

    texts = {n: c.description_fr() for n, c in inspect.getmembers(rules, inspect.isclass)
             if c.__module__ == rules.__name__ and getattr(c, "template_fr", "")}
    assert texts and all(not re.search(r"\d\.\d|\de-\d", t) for t in texts.values()), texts
    assert "renommage : chiffres à 2\u00a0% près, 10\u00a0% pour une année reprise" in texts["ExpectSeriesToStayComparable"]
    assert "(marge 0,000001)" in texts["ExpectStatedChangesToMatchFigures"]


def test_a_table_without_caption_is_named_by_its_line_not_its_id():
    from pipelines.validate import _captions

    store = SimpleNamespace(tables=[{"table_id": "siim94_2017@752", "caption": None, "line_start": 752},
                                    {"table_id": "siim94_2017@800", "caption": "Effectifs", "line_start": 800}])
    assert _captions(store) == {"siim94_2017@752": "tableau sans titre, ligne 752", "siim94_2017@800": "Effectifs"}


def test_data_docs_pages_of_the_same_result_are_the_same_bytes():
    from pipelines.validate.data_docs import suite_result, validation_page
    from pipelines.validate.suites import suite

    result = suite_result(suite("series"), {})
    result.meta["run_id"] = {"run_name": "bilans", "run_time": "2026-01-01T00:00:00Z"}
    first, second = validation_page(result), validation_page(result)
    assert "-collapse-body-1" in first
    assert first == second
