"""Les requêtes d'analyste du README, exécutées telles qu'écrites sur le magasin des rapports fournis :
leurs résultats sont les chiffres des rapports (ligne citée pour chacun, vérifiée à la main)."""

from __future__ import annotations

import re

import duckdb
import pytest
from conftest import ROOT

SECTION = "### Trois requêtes d'analyste"


def readme_queries() -> list[str]:
    """The SQL strings of the section's first Python block, in order (``con.sql(\"\"\"...\"\"\")``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return [m.group(2) for m in re.finditer(r'con\.sql\((\"\"\"|")(.*?)\1', block, re.S)]


@pytest.fixture(scope="module")
def results(seeds_db):
    con = duckdb.connect(str(seeds_db), read_only=True)
    out = [con.sql(sql).fetchall() for sql in readme_queries()]
    con.close()
    return out


def test_readme_has_its_three_queries_on_the_metrics_views():
    queries = readme_queries()
    assert len(queries) == 4  # three questions, the third with the restatements beside it
    assert all("FROM metrique_" in q for q in queries[:3])


def test_query_1_personnel_costs(results):
    by_year = {ex: (round(v, 2), src) for ex, _, v, _, src in results[0]}
    # siim94_2017.txt l. 306 « 012 charges de perso … 3 055 002,26 » (réalisé 2017)
    assert by_year[2017] == (3055002.26, "siim94_2017:306")
    # siim94_2022.txt l. 304 « 012 Charges de personnel … 3 544 981,77 € 3 422 763,24 € » (2021, 2022)
    assert by_year[2021] == (3544981.77, "siim94_2022:304")
    assert by_year[2022] == (3422763.24, "siim94_2022:304")


def test_query_2_arcueil_contribution_totale(results):
    arcueil = {ex: round(v, 2) for adherent, ex, v, _ in results[1] if adherent == "Arcueil"}
    # siim94_2017.txt l. 280 « MAIRIE D'ARCUEIL … Total général 388 105 € » ;
    # siim94_2021.txt l. 1035 « MAIRIE D'ARCUEIL 500 070,21 € » (contribution totale, rapport 2021).
    # The old query added the total to its own cotisation: 677 605 € and 879 229 €.
    assert arcueil[2017] == 388105.0
    assert arcueil[2021] == 500070.21
    # no year of cotisations (2019, 2020, 2022) mixed into the contribution totale
    assert set(arcueil) == {2017, 2018, 2021}


def test_query_3_days_of_the_si_pole_by_domain(results):
    rows = {(ex, domaine): (jours, niveau) for ex, domaine, jours, niveau, _ in results[2]}
    # siim94_2018.txt l. 470 « Total Général … 2 713 jour » (2018): the printed total, its items add
    # up to 2 715, within the rounding of 12 figures printed to the day
    assert rows[(2018, "Total")] == (2713.0, "total_imprime")
    assert rows[(2018, "Finances")] == (437.0, "poste")  # l. 465
