"""Les consommateurs de la couche de métriques sur les rapports fournis (data/raw/) : page des finances,
carnet d'exploration, briefing d'Arcueil 2022. Chaque chiffre attendu cite la ligne du rapport
(vérifiée à la main)."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from conftest import ROOT

from pipelines.publish import analyses as a
from pipelines.publish.briefing_data import BriefingData
from pipelines.publish.briefing_export import page

NB, EUR = "\u202f", "\u00a0€"


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


# ---------------------------------------------------------------- finances page

def test_finances_investment_spending_named_by_measure_never_summed(seeds_db):
    ctx = a.ouvrir(seeds_db, "SIIM94", 2022, "finances")
    table = {(r["bloc"], r["exercice"]): round(r["realise"], 2) for r in a.historique_budget(ctx)}
    # siim94_2022.txt l. 370 « TOTAL DEPENSES REELLES » : 1 169 503,81 € (2021) and 785 337,41 € (2022),
    # réalisé + reports (the old row added sub-article 1641 to chapter 16 and two reports: 3 743 517 €)
    assert table[("Investissement — dépenses (réalisé + reports)", 2021)] == 1169503.81
    assert table[("Investissement — dépenses (réalisé + reports)", 2022)] == 785337.41
    # siim94_2021.txt l. 1209 « TOTAL DES DEPENSES D’INVESTISSEMENT DE L’EXERCICE » (= l. 1207 « TOTAL DEPENSES
    # REELLES ») : 1 114 874,04 € réalisé in 2021, its own row
    assert table[("Investissement — dépenses (réalisé)", 2021)] == 1114874.04
    # one value per (row, exercice): never two reports added
    rows = a.historique_budget(ctx)
    assert len({(r["bloc"], r["exercice"]) for r in rows}) == len(rows)
    # the headline gives the same figure, the same measure, and the change within it
    headline = plain(a.resume(ctx).texte())
    assert ("Dépenses d'investissement réalisées (réalisé + reports) en 2022 : 785 337 € (-32,8 % par rapport "
            "à 2021 : 1 169 504 €") in headline
    # siim94_2022.txt l. 351 « TOTAL DES RECETTES D'INVESTISSEMENT DE L'EXERCICE » 814 698,88 / 1 251 585,13,
    # one series (not l. 350 « TOTAL DES RECETTES D'ORDRE » 996 616,22, a sub-total: +22,3 %)
    assert ("Recettes d'investissement réalisées en 2022 : 1 251 585 € (+53,6 % par rapport à 2021 : "
            "814 699 €") in headline


def test_finances_page_of_2021_sees_only_its_report(seeds_db):
    ctx = a.ouvrir(seeds_db, "SIIM94", 2021, "finances")
    table = {(r["bloc"], r["exercice"]): round(r["realise"], 2) for r in a.historique_budget(ctx)}
    assert table[("Investissement — dépenses (réalisé)", 2021)] == 1114874.04  # siim94_2021.txt l. 1209
    assert ("Investissement — dépenses (réalisé + reports)", 2021) not in table  # printed in 2022 only
    # the chapters of the year: 16 once, its sub-article 1641 never beside it
    chapitres = [r["chapitre"] for r in a.chapitres(ctx) if r["bloc"] == "Investissement — dépenses"]
    assert "16" in chapitres and "1641" not in chapitres


# ---------------------------------------------------------------- exploration notebook

def _exploration_cells() -> list[str]:
    nb = json.loads((ROOT / "notebooks" / "exploration.ipynb").read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_exploration_days_per_pole_are_the_report_total(seeds_db, capsys):
    cells = _exploration_cells()
    sql_cell = next(c for c in cells if "jours_pole" in c)
    con = duckdb.connect(str(seeds_db), read_only=True)
    env = {"con": con, "org": "SIIM94", "year": 2022}
    *head, last = sql_cell.rstrip().split("\n")
    code = "\n".join(head)
    # the cell's last expression (a multi-line con.sql call) is what the notebook shows
    start = code.rfind("con.sql(")
    exec(code[:start], env)  # noqa: S102 - the notebook's own code
    result = eval(code[start:] + "\n" + last, env)  # noqa: S307
    rows = {(p, ex): (v, src) for p, ex, v, _, src in result.fetchall()}
    # siim94_2022.txt l. 539 « TOTAL : 3191 2873 2361 » : 2 361 jours for the pôle SI in 2022
    # (the old cell summed every row of the pôle: 4 722)
    assert rows[("si", 2022)] == (2361.0, "siim94_2022:539")
    # 2020: the printed 3 191 does not foot (1169 + 1103 + 354 + 81 = 2 707, l. 535-538): the items
    assert rows[("si", 2020)][0] == 2707.0
    assert "bilan 2022 du SIIM94" in capsys.readouterr().out
    con.close()


def test_exploration_headings_print_no_literal_parameter():
    nb = json.loads((ROOT / "notebooks" / "exploration.ipynb").read_text(encoding="utf-8"))
    headings = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert not [h for h in headings if re.search(r"`(year|org)`", h.split("\n")[0])]


def test_exploration_chart_stacks_members_only(seeds_db):
    cell = next(c for c in _exploration_cells() if "metrique_contribution_totale" in c)
    sql = re.search(r'con\.sql\("""(.*?)"""', cell, re.S).group(1)
    con = duckdb.connect(str(seeds_db), read_only=True)
    rows = con.execute(sql.replace("$org", "'SIIM94'").replace("$year", "2021")).fetchall()
    con.close()
    assert rows and all(r[0] not in (None, "Total") for r in rows)
    arcueil = {ex: v for adh, ex, _, v, _ in rows if adh == "Arcueil"}
    assert arcueil[2017] == 388105.0  # siim94_2017.txt l. 280


# ---------------------------------------------------------------- briefing, Arcueil 2022

@pytest.fixture(scope="module")
def briefing(seeds_db):
    return BriefingData(seeds_db)


def test_arcueil_2022_headline_and_history_agree_in_one_measure(briefing):
    kf = briefing.key_figures("SIIM94", "Arcueil", 2022)
    # siim94_2022.txt l. 257 « Arcueil 354 847€ 379 159 € 379 159 € 306 170,85 € » : cotisations
    assert kf.contribution.label == "Cotisation versée"
    assert kf.contribution.text == f"306{NB}171{EUR}"
    assert plain(kf.contribution.note) == "-19,3 % par rapport à 2021 : 379 159 €, chiffre du bilan 2022"
    history = {p.year: p for p in briefing.history("SIIM94", "Arcueil")}
    # the history's cotisation of 2021 is the headline's 379 159 €; the contribution totale of 2021
    # (siim94_2021.txt l. 1035, 500 070,21 €) is another measure, in its own column
    assert history[2021].par_mesure["cotisation"] == 379159.0
    assert round(history[2021].par_mesure["contribution_totale"], 2) == 500070.21
    assert history[2022].mesure == "cotisation" and history[2017].mesure == "contribution_totale"
    assert round(history[2017].par_mesure["contribution_totale"]) == 388105  # siim94_2017.txt l. 280


def test_arcueil_2022_page_labels_each_measure_and_names_the_share(briefing):
    html = page(briefing, "SIIM94", "Arcueil", 2022)
    head = re.search(r'<table class="bf-history"><thead>(.*?)</thead>', html).group(1)
    assert "<th>Contribution totale</th>" in head and "<th>Cotisation</th>" in head
    row_2021 = re.search(r'<tr class="" data-year="2021">(.*?)</tr>', html).group(1)
    assert f'data-mesure="cotisation">379{NB}159{EUR}' in row_2021
    assert f'data-mesure="contribution_totale">500{NB}070{EUR}' in row_2021
    # the chart draws one series per measure, with a legend
    svg = html[html.index('aria-label="Contribution par exercice et par mesure"'):]
    assert "Contribution totale</text>" in svg and "Cotisation</text>" in svg
    # the share is a share of the members' cotisations (4 612 590 €), and says so
    assert "Part des recettes du syndicat" not in html
    part = briefing.key_figures("SIIM94", "Arcueil", 2022).part
    assert part.label == "Part du total versé par les adhérents"
    assert plain(part.note).startswith("cotisation : 306 171 € sur 4 612 590 € versés par")
