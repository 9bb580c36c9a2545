"""The catalogue (pipelines/catalogue/) is the one place where families, rules, notebooks, pôles
and organismes are declared: the code reads it, the README's rule table is drawn from it, and a
pôle, an organisme or a family added to a copy of it flows through without touching code."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines import catalogue

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "pipelines"


def _modules() -> list[Path]:
    return sorted(p for p in PIPELINES.rglob("*.py") if "catalogue" not in p.parts)


def test_readme_rule_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- regles :[^\n]*-->\n(.*?)\n<!-- fin regles -->", readme, re.S)
    assert block, "le tableau des règles du README a perdu ses marques"
    assert block.group(1) == catalogue.tableau_regles_md(), (
        "README.md : recopier la sortie de `python -c \"from pipelines import catalogue; "
        "print(catalogue.tableau_regles_md())\"`")


def test_every_rule_is_declared_once_and_judged():
    """Each rule id belongs to one expectation of one suite; the suites' JSON keep only parameters."""
    ids = [r.id for r in catalogue.regles()]
    assert len(ids) == len(set(ids)) == 22
    assert "series.break" in catalogue.descriptions()  # authors' reports lacked it once
    types = {a.type for a in catalogue.attentes()}
    for path in sorted((ROOT / "expectations").glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        assert set(spec["meta"]) <= {"version"}, path.name
        for e in spec["expectations"]:
            assert e["type"] in types and "meta" not in e, (path.name, e["type"])
            assert catalogue.attente(e["type"]).suite == path.stem
    suites = {a.suite for a in catalogue.attentes()}
    assert suites == {p.stem for p in (ROOT / "expectations").glob("*.json")} == {s.nom for s in catalogue.suites()}


def test_suite_spec_carries_catalogue_texts():
    from pipelines.validate.suites import load_suites

    totaux = load_suites()["totaux"]
    assert totaux["meta"]["rules"] == ["total.column", "total.row", "total.rounding", "value.missing"]
    assert totaux["expectations"][0]["meta"]["notes"].startswith("Chaque total (colonne « Total »")


def _family_literals(tree: ast.AST, names: set[str]) -> list[int]:
    """Lines of tuple/list/set literals or dict displays naming three curated families or more."""
    found = []
    exports = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)}
    for node in ast.walk(tree):
        if id(node) in exports:  # __all__ names functions (« activite »), not families
            continue
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if not isinstance(node, ast.Dict | ast.Tuple | ast.List | ast.Set) or not items:
            continue
        strings = {k.value for k in items if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        if len(strings & names) >= 3:
            found.append(node.lineno)
    return found


def test_families_are_declared_once():
    """No module lists the curated families: store, views, curation and check read the catalogue."""
    names = set(catalogue.noms_familles())
    assert names == {"finances", "contributions", "activite", "formations", "tickets", "indicateurs",
                     "effectifs", "applications"}
    listed = {str(p.relative_to(ROOT)): lines for p in _modules()
              if (lines := _family_literals(ast.parse(p.read_text(encoding="utf-8")), names))}
    assert listed == {}
    assert not (PIPELINES / "curate" / "familles.toml").exists()
    from pipelines.store import CURATED_FAMILIES, SCHEMA

    assert CURATED_FAMILIES == catalogue.noms_familles()
    assert SCHEMA["contributions"].endswith("niveau VARCHAR, lignee VARCHAR")


def test_one_accent_folding_function():
    """Accents are folded in one place, pipelines/extract/numbers.fold (referentiels.key builds on it)."""
    calls = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("normalize", "combining") \
                    and isinstance(node.value, ast.Name) and node.value.id == "unicodedata":
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert [c.split(":")[0] for c in calls] == ["pipelines/extract/numbers.py"], calls


def test_only_referentiels_reads_the_referential_folder():
    """data/referentiels/ is read by curate/referentiels.py (and metrics.py for metriques.toml, named
    by the catalogue); extraction's total labels are the one exception (extract cannot import curate)."""
    readers = sorted(str(p.relative_to(ROOT)) for p in _modules()
                     if re.search(r"""["']referentiels["']""", p.read_text(encoding="utf-8")))
    assert readers == ["pipelines/curate/referentiels.py", "pipelines/extract/labels.py"]


_PROBE = r"""
import duckdb
from pipelines import catalogue, store
from pipelines.curate.views import create_views
from pipelines.extract import infer_org
from pipelines.manifest import parse_org
from pipelines.publish import analyses
from pipelines.publish.analyses.commun import indicateurs_sql
from pipelines.publish.briefing_data import POLES
from pipelines.publish.runs import _template_filter
con = duckdb.connect()
store.create_schema(con)
create_views(con)
print(sorted(_template_filter("labo")), analyses.TITRES["pole_labo"], analyses.TABLES["pole_labo"],
      POLES["labo"], indicateurs_sql(con, "pole_labo")[1])
print(infer_org(["Rapport du SIVOM 77", "Le SIVOM 77 et le SII"]), parse_org("sivom77"))
cols = [r[0] for r in con.execute("DESCRIBE essais").fetchall()]
print(cols[-4:], con.execute("SELECT count(*) FROM essais_latest").fetchone()[0])
con.execute("INSERT INTO essais (org, exercice, report_year, document_id, line, nombre, concept, mesure)"
            " VALUES ('SII', 2020, 2021, 'd', 7, 12, 'essai', 'nombre')")
print(con.execute("SELECT famille, serie, valeur FROM series").fetchall())
"""


def test_pole_organisme_and_family_added_to_the_catalogue_flow_through(tmp_path):
    """A pôle, an organisme and a family written only in a copy of the catalogue reach `bilans run
    --pole`, the notebooks, the briefing, org inference, --org, the store's schema and the series."""
    copy = tmp_path / "catalogue"
    shutil.copytree(PIPELINES / "catalogue", copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (copy / "carnets.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[carnet.pole_labo]\ntitre = "Pôle Labo"\nlibelle = "le pôle Labo"\n'
                 'tables = ["activite"]\ndomaines = ["%laboratoire%"]\n'
                 'pole = { nom = "labo", titre = "Pôle laboratoire", activite = ["labo", "recherche"] }\n')
    with (copy / "organismes.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[organisme.SIVOM77]\nmotif = '\\bSIVOM\\s?77\\b'\n")
    with (copy / "familles.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[famille.essais]\ncolonnes = "nombre DOUBLE, table_id VARCHAR"\ncles = ["concept"]\n'
                 'mise_en_forme = "essais"\nlibelle = "concept"\n\n'
                 '[[famille.essais.valeurs]]\ncolonne = "nombre"\nmesure = "mesure"\n')
    env = {**os.environ, "BILANS_CATALOGUE": str(copy), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == ("['pole_labo'] Pôle Labo ('activite',) Pôle laboratoire "
                        "['%laboratoire%', 'labo', 'recherche']")
    assert lines[1] == "SIVOM77 SIVOM77"
    assert lines[2] == "['concept', 'mesure', 'perimetre', 'source'] 0"
    assert lines[3] == "[('essais', 'essais | essai | nombre | ', 12.0)]"


def test_unknown_pole_names_the_catalogue_poles():
    import pytest

    from pipelines.errors import BilansError
    from pipelines.publish.runs import _template_filter

    with pytest.raises(BilansError, match=r"ou si, infrastructures, support\)$"):
        _template_filter("rh2")
    assert _template_filter("SUPPORT") == {"pole_support"}
