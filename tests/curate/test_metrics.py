"""Couche de métriques : règle de niveau, mesure unique, millésime, sur un petit magasin écrit à la main
et sur les rapports de data/raw/ (chiffres vérifiés à la main, ligne du rapport citée)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.curate.views import create_views
from pipelines.errors import BilansError
from pipelines.metrics import COLUMNS, declarations, valeurs
from pipelines.store import create_schema

FIN = ("org, exercice, report_year, document_id, line, table_id, section, sens, chapitre, libelle, niveau, "
       "mesure, realise, total, concept, perimetre")


def _store(finances=(), activite=(), contributions=(), path=":memory:"):
    con = duckdb.connect(str(path))
    create_schema(con)
    for sql, rows in ((f"INSERT INTO finances ({FIN}) VALUES ({', '.join('?' * 16)})", finances),
                      ("INSERT INTO activite (org, exercice, report_year, document_id, line, table_id, pole, axe, "
                    "categorie, categorie_norm, jours, niveau, mesure) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'jours')",
                       activite),
                      ("INSERT INTO contributions (org, exercice, report_year, document_id, line, table_id, "
                       "adherent, montant, niveau, mesure, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)", contributions)):
        if rows:
            con.executemany(sql, rows)
    create_views(con)
    return con


def _fin(year, report, line, chapitre, libelle, niveau, realise, mesure="realise", total=None, table="t"):
    return ("S", year, report, f"s_{report}", line, f"{table}{report}", "investissement", "depenses", chapitre,
            libelle, niveau, mesure, realise, total, chapitre or libelle, "investissement/depenses")


# a budget table: chapter 16 and its sub-article 1641 (same money), and printed totals
BUDGET_2021 = [
    _fin(2021, 2021, 10, "20", "Immobilisations incorporelles", "detail", 600.0, total=650.0),
    _fin(2021, 2021, 11, "16", "Emprunts", "detail", 300.0, total=300.0),
    _fin(2021, 2021, 12, "1641", "Emprunts en euros", "sous_detail", 300.0, total=300.0),
    _fin(2021, 2021, 13, None, "Total des dépenses financières", "sous_total", 300.0, total=300.0),
    _fin(2021, 2021, 14, None, "TOTAL DEPENSES REELLES", "sous_total", 900.0, total=950.0),
]
# the next report restates 2021 as réalisé + reports, and gives 2022
BUDGET_2022 = [
    _fin(y, 2022, line, ch, lib, niv, val, mesure="realise_reports")
    for y, vals in ((2021, (650.0, 300.0, 950.0)), (2022, (400.0, 355.0, 755.0)))
    for line, ch, lib, niv, val in ((20, "20", "Immobilisations", "detail", vals[0]),
                                    (21, "16", "Emprunts", "detail", vals[1]),
                                    (22, "1641", "Emprunts en euros", "sous_detail", vals[1]),
                                    (23, None, "TOTAL DEPENSES REELLES", "sous_total", vals[2]))
]


def test_printed_total_that_foots_is_the_metric_and_sub_items_are_not_added():
    con = _store(BUDGET_2021)
    got = valeurs(con, "depenses_investissement_realise", detail=None)
    assert list(got.columns) == list(COLUMNS)
    row = got.iloc[0]
    # 600 + 300 = 900: the printed « TOTAL DEPENSES REELLES » foots; 1641 (a sub-article of 16) is not added
    assert (row.exercice, row.valeur, row.niveau, row.sources) == (2021, 900.0, "total_imprime", "s_2021:14")
    postes = valeurs(con, "depenses_investissement_realise", exercice=2021).query("niveau == 'poste'")
    assert sorted(postes.detail) == ["16 Emprunts", "20 Immobilisations incorporelles"]


def test_total_that_does_not_foot_gives_the_sum_of_the_items():
    wrong = [r if r[10] != "sous_total" else r[:12] + (999.0,) + r[13:] for r in BUDGET_2021]
    con = _store(wrong)
    row = valeurs(con, "depenses_investissement_realise", detail=None).iloc[0]
    assert (row.valeur, row.niveau, row.sources) == (900.0, "somme_des_postes", "s_2021:10, s_2021:11")


def test_two_measures_are_two_metrics_and_the_latest_report_wins():
    con = _store(BUDGET_2021 + BUDGET_2022)
    realise = valeurs(con, "depenses_investissement_realise", detail=None)
    reports = valeurs(con, "depenses_investissement_realise_reports", detail=None)
    assert realise[["exercice", "valeur", "report_year"]].values.tolist() == [[2021, 900.0, 2021]]
    # the 2021 report's « total » column (réalisé + reports) and the 2022 report's restatement: one
    # series, the 2022 report wins; never 900 + 950
    assert reports[["exercice", "valeur", "report_year"]].values.tolist() == [[2021, 950.0, 2022],
                                                                           [2022, 755.0, 2022]]
    # as of the 2021 report, the 2021 figure is that report's own
    asof = valeurs(con, "depenses_investissement_realise_reports", detail=None, jusqu_a=2021)
    assert asof[["exercice", "valeur", "report_year"]].values.tolist() == [[2021, 950.0, 2021]]
    assert valeurs(con, "depenses_investissement_realise_reports", detail=None, jusqu_a=2020).empty



def _reissue(rows, document_id, **changed):
    """The rows of one report as a corrected re-issue prints them: another document, same organisme
    and year; `changed`: line -> the new realise."""
    return [r[:3] + (document_id, r[4], f"{document_id}@10") + r[6:12] + (changed.get(f"l{r[4]}", r[12]),) + r[13:]
            for r in rows]


# the 2021 report corrected: chapter 20 reads 700, the total 1 000 (it foots)
CORRIGE_2021 = _reissue(BUDGET_2021, "s_2021_corrige", l10=700.0, l14=1000.0)


def _millesimes(con) -> list[tuple]:
    return con.execute("SELECT * FROM metriques_millesimes ORDER BY ALL").fetchall()


def test_two_reports_of_one_year_the_last_by_document_id_never_their_sum():
    """A re-issue of the 2021 report: the metric is its figure (1 000, its l. 14), not 900 + 1 000,
    and its sources name it only; in whichever order the store holds the two, the same rows."""
    con = _store(BUDGET_2021 + CORRIGE_2021)
    row = valeurs(con, "depenses_investissement_realise", detail=None).iloc[0]
    assert (row.exercice, row.valeur, row.niveau, row.sources) == (2021, 1000.0, "total_imprime", "s_2021_corrige:14")
    postes = valeurs(con, "depenses_investissement_realise", exercice=2021).query("niveau == 'poste'")
    assert sorted(postes[["detail", "valeur", "sources"]].itertuples(index=False, name=None)) == [
        ("16 Emprunts", 300.0, "s_2021_corrige:11"), ("20 Immobilisations incorporelles", 700.0, "s_2021_corrige:10")]
    every = con.execute("SELECT DISTINCT split_part(unnest(string_split(sources, ', ')), ':', 1) "
                        "FROM metriques_millesimes").fetchall()
    assert every == [("s_2021_corrige",)]
    assert _millesimes(_store(CORRIGE_2021[::-1] + BUDGET_2021[::-1])) == _millesimes(con)


def test_contributions_of_two_reports_of_one_year_are_not_added():
    """Contributions are one block per report (not a table): two reports of 2021 were summed
    (Arcueil 500 + 520); the last by document_id gives 520 and the total 820 it prints."""
    rows = [("S", 2021, 2021, doc, line, f"{doc}@4", who, value, niveau, "total", "tableau")
            for doc, arcueil in (("s_2021", 500.0), ("s_2021_bis", 520.0))
            for line, who, value, niveau in ((5, "Arcueil", arcueil, "detail"), (6, "Gentilly", 300.0, "detail"),
                                             (7, "Total", arcueil + 300.0, "total"))]
    con = _store(contributions=rows)
    arcueil = valeurs(con, "contribution_totale", adherent="Arcueil")
    assert arcueil[["valeur", "sources"]].values.tolist() == [[520.0, "s_2021_bis:5"]]
    total = valeurs(con, "contribution_totale", detail=None).query("adherent.isna()")
    assert total[["valeur", "niveau", "sources"]].values.tolist() == [[820.0, "total_imprime", "s_2021_bis:7"]]


def test_sums_and_sources_are_the_same_at_every_computation():
    """Items printed twice in one report (same line: two cells) and sums of DOUBLE: the same bits and
    the same sources whichever order the rows come in."""
    rows = [_fin(2021, 2021, line, "20", "Immobilisations", "detail", value)
            for line, value in ((10, 0.1), (10, 0.2), (11, 0.3), (12, 0.7), (13, 1.1), (14, 2.3))]
    first = _millesimes(_store(rows))
    assert [_millesimes(_store(rows[::-1])), _millesimes(_store(rows[2:] + rows[:2]))] == [first, first]
    poste = [r for r in first if r[6] is not None]
    assert len(poste) == 1 and poste[0][11] == "s_2021:10, s_2021:10, s_2021:11, s_2021:12, s_2021:13, s_2021:14"


@pytest.mark.parametrize("before,after,changed", [
    # the re-issue added: its (organisme, année) computed again, the 2022 report's rows copied
    (BUDGET_2021 + BUDGET_2022, BUDGET_2021 + CORRIGE_2021 + BUDGET_2022, (2021,)),
    # the 2022 report added: the 2021 rows copied are those of the re-issue only
    (BUDGET_2021 + CORRIGE_2021, BUDGET_2021 + CORRIGE_2021 + BUDGET_2022, (2022,)),
])
def test_incremental_metrics_equal_full_ones_with_two_reports_of_one_year(tmp_path, before, after, changed):
    from pipelines.metrics import create_metric_views

    _store(before, path=tmp_path / "prev.duckdb").close()
    full = _millesimes(_store(after))
    con = _store(after, path=tmp_path / "inc.duckdb")
    con.execute(f"ATTACH '{tmp_path / 'prev.duckdb'}' AS prev (READ_ONLY)")
    con.execute("CREATE TABLE changed AS SELECT 'S' AS org, unnest(?) AS report_year", [list(changed)])
    copied = con.execute("SELECT count(*) FROM prev.metriques_millesimes WHERE report_year NOT IN "
                         "(SELECT report_year FROM changed)").fetchone()[0]
    create_metric_views(con, previous=("prev", "changed"))
    assert copied > 0 and _millesimes(con) == full
    assert 1000.0 in [r[7] for r in full if r[2:4] == ("S", 2021) and r[6] is None and r[0].endswith("_realise")]


def test_days_of_a_pole_come_from_one_axis_never_added_across_axes():
    rows = []
    for axe, items in (("type", (("MCO", 60.0), ("Projets", 40.0))), ("domaine", (("RH", 70.0), ("Finances", 30.0)))):
        for i, (label, days) in enumerate(items):
            rows.append(("S", 2022, 2022, "s_2022", 100 + i, f"t_{axe}", "si", axe, label, label, days, "detail"))
        rows.append(("S", 2022, 2022, "s_2022", 110, f"t_{axe}", "si", axe, "Total", "Total", 100.0, "total"))
    con = _store(activite=rows)
    total = valeurs(con, "jours_pole", pole="si", detail=None)
    assert total[["valeur", "niveau"]].values.tolist() == [[100.0, "total_imprime"]]
    assert sorted(valeurs(con, "jours_pole", pole="si").query("niveau == 'poste'").detail) == ["MCO", "Projets"]
    assert valeurs(con, "jours_par_domaine", pole="si", detail="RH").valeur.tolist() == [70.0]


def test_contribution_per_member_and_the_printed_total_row():
    rows = [("S", 2021, 2021, "s", 5, "c", "Arcueil", 500.0, "detail", "total", "tableau"),
            ("S", 2021, 2021, "s", 6, "c", "Gentilly", 300.0, "detail", "total", "tableau"),
            ("S", 2021, 2021, "s", 7, "c", "Total", 800.0, "total", "total", "tableau"),
            ("S", 2021, 2021, "s", 5, "c", "Arcueil", 380.0, "detail", "cotisation", "tableau")]
    con = _store(contributions=rows)
    assert valeurs(con, "contribution_totale", adherent="Arcueil").valeur.tolist() == [500.0]
    assert valeurs(con, "cotisation", adherent="Arcueil").valeur.tolist() == [380.0]
    total = valeurs(con, "contribution_totale", detail=None).query("adherent.isna()")
    assert total[["valeur", "niveau"]].values.tolist() == [[800.0, "total_imprime"]]


def test_every_metric_has_a_view_and_unknown_metric_is_a_french_error():
    con = _store()
    for m in declarations().values():
        assert con.execute(f"SELECT count(*) FROM {m.vue}").fetchone() == (0,)
        assert m.libelle and m.unite
    assert declarations()["jours_pole"].dimensions == ("pole", "detail")
    assert declarations()["contribution_totale"].dimensions == ("adherent",)
    with pytest.raises(BilansError, match="métrique inconnue"):
        valeurs(con, "chiffre_d_affaires")


# ---------------------------------------------------------------- the seed reports

@pytest.fixture(scope="module")
def seeds(seeds_db):
    con = duckdb.connect(str(seeds_db), read_only=True)
    yield con
    con.close()


def test_seeds_investment_spending_each_measure_once(seeds):
    def one(metrique, exercice, **kw):
        got = valeurs(seeds, metrique, org="SIIM94", exercice=exercice, detail=None, **kw)
        assert len(got) == 1
        return round(got.valeur.iloc[0], 2), got.sources.iloc[0]

    # siim94_2022.txt l. 370 « TOTAL DEPENSES REELLES » : 1 169 503,81 € (2021), 785 337,41 € (2022),
    # réalisé + reports
    assert one("depenses_investissement_realise_reports", 2021) == (1169503.81, "siim94_2022:370")
    assert one("depenses_investissement_realise_reports", 2022) == (785337.41, "siim94_2022:370")
    # siim94_2021.txt l. 1209 « TOTAL DES DEPENSES D'INVESTISSEMENT DE L'EXERCICE » : 1 114 874,04 € réalisé
    # in 2021, the outermost total (l. 1207 « TOTAL DEPENSES REELLES », a sub-total, prints the same figure)
    assert one("depenses_investissement_realise", 2021) == (1114874.04, "siim94_2021:1209")


def test_seeds_investment_receipts_the_grand_total_not_the_order_sub_total(seeds):
    got = valeurs(seeds, "recettes_investissement_realise", org="SIIM94", detail=None).set_index("exercice")
    # siim94_2022.txt l. 351 « TOTAL DES RECETTES D'INVESTISSEMENT DE L'EXERCICE … 814 698,88 € 1251 585.13 € »
    # = l. 345 « TOTAL DES RECETTES REELLES » 254 968,91 + l. 350 « TOTAL DES RECETTES D'ORDRE » 996 616,22
    # (2022; chapter 10, l. 340, printed 0,00 above its article 1068, l. 342, 254 968,91); 2021 :
    # 170 155,48 + 644 543,40. siim94_2017.txt l. 356 « Total » 1 234 778,35 € ; siim94_2018.txt l. 270
    # « Total » 1 377 730,88
    assert {y: (round(r.valeur, 2), r.sources, r.niveau) for y, r in got.iterrows()} == {
        2017: (1234778.35, "siim94_2017:356", "total_imprime"),
        2018: (1377730.88, "siim94_2018:270", "total_imprime"),
        2021: (814698.88, "siim94_2022:351", "total_imprime"),
        2022: (1251585.13, "siim94_2022:351", "total_imprime")}


def test_seeds_contributions_and_days(seeds):
    arcueil = valeurs(seeds, "contribution_totale", org="SIIM94", adherent="Arcueil")
    # siim94_2017.txt l. 280 « Total général » 388 105 € ; siim94_2021.txt l. 1035 : 500 070,21 €
    assert arcueil.set_index("exercice").valeur.round(2).to_dict() == {2017: 388105.0, 2018: 411423.0,
                                                                       2021: 500070.21}
    # siim94_2022.txt l. 539 « TOTAL : » 2 361 jours for the pôle SI in 2022
    si = valeurs(seeds, "jours_pole", org="SIIM94", pole="si", exercice=2022, detail=None)
    assert si[["valeur", "sources"]].values.tolist() == [[2361.0, "siim94_2022:539"]]


# ---------------------------------------------------------------- a made-up report, end to end

BUDGET_REPORT = """Bilan d'activité 2021 du SIIM94

3 Finances

3.2 Section d'investissement : recettes

Chapitre\tLibellé\tRéalisé 2021
10\tDotations, fonds divers et réserves\t170 155,48 €
TOTAL DES RECETTES REELLES\t\t170 155,48 €
040\tOpérations d'ordre de transfert entre sections\t644 543,40 €
28031\tFrais d'études\t24 787,00 €
28183\tMatériel de bureau et informatique\t619 756,40 €
TOTAL DES RECETTES D'ORDRE\t\t644 543,40 €
TOTAL DES RECETTES D'INVESTISSEMENT DE L'EXERCICE\t\t814 698,88 €
"""


def _built(tmp_path, text, year):
    """`valeurs` reads the store that `bilans build` makes of one text report."""
    from pipelines.build import build

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / f"b{year}.txt").write_text(text, encoding="utf-8")
    (raw / "manifest.csv").write_text(f"file,org,report_year,title,original_file\nb{year}.txt,SIIM94,{year},Bilan,a\n",
                                      encoding="utf-8")
    db = tmp_path / "bilans.duckdb"
    assert build(raw, db, validate=False) == 0
    return duckdb.connect(str(db), read_only=True)


def test_articles_printed_like_chapters_are_not_added_to_their_chapter(tmp_path):
    con = _built(tmp_path, BUDGET_REPORT, 2021)
    got = valeurs(con, "recettes_investissement_realise", exercice=2021)
    con.close()
    total = got[got.detail.isna()].iloc[0]
    # 170 155,48 + 644 543,40 = the printed 814 698,88 (l. 14): the articles 28031 and 28183 of chapter 040
    # are in it once, not twice (1 459 242,28)
    assert (round(total.valeur, 2), total.niveau, total.sources) == (814698.88, "total_imprime", "b2021:14")
    assert sorted(got.detail.dropna().str.split().str[0]) == ["040", "10"]


# the receipts of a later year: chapter 10 misprinted 0,00 above its articles, and the sub-total of the
# order operations then equal to the sum of the items (0 + 668 046,36 + 328 569,86)
RECEIPTS_REPORT = """Bilan d'activité 2022 du SIIM94

3 Finances

3.2 Section d'investissement : recettes

Chapitre\tLibellé\tRéalisé 2022
10\tDotations, fonds divers et réserves\t0,00 €
10222\tFCTVA\t0,00 €
1068\tExcédents de fonctionnement capitalisés\t254 968,91 €
TOTAL DES RECETTES REELLES\t\t254 968,91 €
040\tOpérations d'ordre de transfert entre sections\t668 046,36 €
041\tOpérations patrimoniales\t328 569,86 €
TOTAL DES RECETTES D'ORDRE\t\t996 616,22 €
TOTAL DES RECETTES D'INVESTISSEMENT DE L'EXERCICE\t\t1 251 585,13 €
"""


def test_a_sub_total_equal_to_the_items_is_not_the_grand_total(tmp_path):
    con = _built(tmp_path, RECEIPTS_REPORT, 2022)
    got = valeurs(con, "recettes_investissement_realise", exercice=2022, detail=None)
    con.close()
    # the grand total (l. 15) = 254 968,91 + 996 616,22 foots with the articles of chapter 10; « TOTAL DES
    # RECETTES D'ORDRE » (l. 14), a sub-total, adds the order operations only
    assert [(round(r.valeur, 2), r.niveau, r.sources) for r in got.itertuples()] == [
        (1251585.13, "total_imprime", "b2022:15")]


def test_the_outermost_of_two_footing_totals_is_the_metric():
    # « TOTAL DEPENSES REELLES » and the grand total print the same 900 (no order operation)
    con = _store(BUDGET_2021 + [_fin(2021, 2021, 15, None, "TOTAL DES DEPENSES", "total", 900.0)])
    row = valeurs(con, "depenses_investissement_realise", detail=None).iloc[0]
    assert (row.valeur, row.niveau, row.sources) == (900.0, "total_imprime", "s_2021:15")


def test_seeds_staff_filled_posts_without_the_fte_row(seeds):
    pourvus = valeurs(seeds, "postes_pourvus", org="SIIM94", detail=None).set_index("exercice")
    # siim94_2017.txt l. 424 « Total général … 55 24 21 45 » ; siim94_2022.txt l. 412 « Total général …
    # 45 40 » (31/12/2021, 31/12/2022): the « ETP » row below it (39,6, l. 413) is another measure
    assert pourvus.valeur.to_dict() == {2017: 45.0, 2021: 45.0, 2022: 40.0}
    assert set(pourvus.niveau) == {"total_imprime"}
