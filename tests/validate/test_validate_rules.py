"""Each rule of the catalogue on a small hand-written report: one that triggers it, one that must not."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import run, store_of, summary  # noqa: E402

T = "\t"


def tsv(*rows: str) -> str:
    return "\n".join(T.join(c.strip() for c in r.split("|")) for r in rows)


def doc(body: str, title: str = "Bilan d'activité 2018 du SIIM94") -> str:
    return f"{title}\n\n1 Activité\n\nRépartition de l'activité\n\n{body}\n\nFin du rapport.\n"


# Lines: 1 title, 3 heading, 5 caption, 7 header row, 8… body.
ACTIVITE_FAUSSE = tsv(
    "Activité (en jours) | 2016 | 2017",
    "MCO | 1 035 jours | 1 046 jours",
    "Projet | 993 jours | 965 jours",
    "Total général | 1 164 jours | 2 011 jours",
)


def test_total_column_error_and_rounding(tmp_path):
    df = run(tmp_path, doc(ACTIVITE_FAUSSE))
    # 2016 is wrong; 2017 (1 046 + 965 = 2 011) is exact and gives nothing
    assert summary(df, "total.column", "total.rounding") == [
        ("total.column", 10, "error", "1 164 jours", "2 028 jours")]


def test_rounding_only_is_never_an_error(tmp_path):
    body = tsv("Domaine | nb jours", "A | 10,4", "B | 20,4", "C | 30,4", "Total | 61")
    df = run(tmp_path, doc(body))
    assert summary(df, "total.column", "total.rounding") == [("total.rounding", 11, "info", "61", "61,2")]
    assert not (df["severity"] == "error").any()


def test_exact_totals_give_no_finding(tmp_path):
    body = tsv("Domaine | 2017 | 2018", "A | 10 | 12", "B | 20 | 22", "Total | 30 | 34")
    assert summary(run(tmp_path, doc(body))) == []


def test_subtotals_and_subitems(tmp_path):
    body = tsv(
        "Chapitre | Libellé | Réalisations",
        "011 | frais | 100,00",
        "012 | personnel | 200,00",
        "Total des dépenses de gestion | · | 300,00",
        "042 | ordre | 50,00",
        "· | dt dot amort | 60,00",
        "Total des dépenses d'ordre | · | 50,00",
        "TOTAL | · | 350,00",
    )
    df = run(tmp_path, doc(body.replace("·", "")))
    # the « dont » line exceeds its parent: the only inconsistency
    assert summary(df, "total.column") == [("total.column", 11, "error", "50", "60")]


def test_value_missing_total(tmp_path):
    body = tsv("Chapitre | Libellé | 2021 | 2022", "011 | frais | 10,00 € | 12,00 €",
               "012 | personnel | 20,00 € | 22,00 €", "Total | | 30,00 € | ")
    df = run(tmp_path, doc(body))
    assert summary(df, "value.missing") == [("value.missing", 10, "error", None, "34 €")]


def test_total_row(tmp_path):
    body = tsv("Adhérent | cotisation | infogérance | Total", "Arcueil | 100 € | 20 € | 120 €",
               "Gentilly | 200 € | 30 € | 230 €", "Ivry | 300 € | 40 € | 345 €", "Vitry | 40 € | 10 € | 50 €",
               "Total | 640 € | 100 € | 745 €")
    df = run(tmp_path, doc(body))
    # one wrong cell (345 for 340): its row, and the grand total that added it, disagree with their columns
    assert summary(df, "total.row") == [("total.row", 10, "error", "345 €", "340 €"),
                                        ("total.row", 12, "error", "745 €", "740 €")]
    assert summary(df, "total.column") == []


def test_percent_ratio(tmp_path):
    body = tsv("Chapitre | Libellé | Prévisions | Réalisations | %", "70 | services | 1 000,00 | 500,00 | 50,00%",
               "74 | dotations | 2 000,00 | 1 500,00 | 57,00%", "75 | autres | 400,00 | 100,00 | 25,00%")
    df = run(tmp_path, doc(body))
    assert summary(df, "percent.ratio") == [("percent.ratio", 9, "error", "57,00 %", "75,00 %")]


def test_header_year_and_label(tmp_path):
    body = tsv("Cotisations | 2016 | 2 017 | 2018 | Colonne1", "Arcueil | 1 | 2 | 3 | 4", "Gentilly | 5 | 6 | 7 | 8")
    df = run(tmp_path, doc(body))
    assert summary(df, "header.year", "header.label") == [
        ("header.label", 7, "warning", "Colonne1", None),
        ("header.year", 7, "warning", "2 017", "2017"),
    ]
    later = tsv("Domaine | 2017 | 2019", "A | 1 | 2", "B | 3 | 4")
    assert summary(run(tmp_path, doc(later)), "header.year") == [("header.year", 7, "error", "2019", "≤ 2018")]
    projection = tsv("Projection des départs | 2019 | 2020", "A | 1 | 2", "B | 3 | 4")
    assert summary(run(tmp_path, doc(projection)), "header.year") == []


def test_text_year(tmp_path):
    text = doc(ACTIVITE_FAUSSE.replace("1 164", "2 028").replace("2 011", "2 011")) + \
        "L'activité est stable par rapport à 2018.\nElle baisse par rapport à 2017.\n"
    df = run(tmp_path, text)
    assert summary(df, "text.year") == [("text.year", 13, "error", "par rapport à 2018", "par rapport à 2017")]


def test_text_table_and_percent(tmp_path):
    body = tsv("formation | 2017 | 2018", "bureautiques | 577 agents 101 jours | 582 agents 91 jours",
               "métiers | 367 agents 81,5 jours | 865 agents 149 jours",
               "TOTAL | 944 agents 182,5 jours | 1447 agents 240 jours")
    text = doc(body) + ("\nLa formation a concerné 1477 agents en formation.\n"
                        "- +53% du nombre d'agents formés (1447 agents)\n"
                        "- +235% d'augmentation de l'activité de formation sur les logiciels métiers (865 agents).\n")
    df = run(tmp_path, text)
    assert summary(df, "text.table", "text.percent") == [
        ("text.percent", 16, "error", "+235 %", "+135,7 %"),
        ("text.table", 14, "error", "1 477 agents", "1 447 agents"),
    ]


def test_value_malformed(tmp_path):
    text = doc(tsv("Domaine | 2018", "A | 1251 585.13 €", "B | 2 €")) + "\nLe montant est de 7 697 07, 80 € cette année.\n"
    df = run(tmp_path, text)
    assert summary(df, "value.malformed") == [
        ("value.malformed", 8, "info", "1251 585.13 €", "1 251 585,13 €"),
        ("value.malformed", 13, "error", "7 697 07, 80 €", None),
    ]


def test_vintages(tmp_path):
    series = "Domaines | 2016 | 2017\nAction sociale | 81 | 118\nFinances | 327 | 340\nSanté | 191 | 134\nTotal | 599 | 592\n"
    later = "Domaines | 2017 | 2018\nAction sociale | 118 | 114\nFinances | 340 | 437\nSanté | 150 | 147\nTotal | 608 | 698\n"
    repere = ("\nQuelques points de repère {y}\n\n- Mandats émis : 76070\n- Titres émis : 19207\n"
              "- Factures : 324 000 factures\n")
    old = doc(tsv(*series.strip().split("\n")), "Bilan d'activité 2017 du SIIM94") + repere.format(y=2017)
    new = doc(tsv(*later.strip().split("\n"))) + repere.format(y=2018)
    df = run(tmp_path, new, extra={"old": (old, "SIIM94", 2017)})
    assert summary(df, "vintage.restated") == [
        ("vintage.restated", 10, "warning", "150", "134"),
        ("vintage.restated", 11, "warning", "608", "592"),
    ]
    stale = summary(df, "vintage.stale")
    assert [s[1] for s in stale] == [17, 18, 19] and {s[2] for s in stale} == {"warning"}
    # a new year with new figures: nothing
    fresh = new.replace("76070", "80111").replace("19207", "20001").replace("324 000", "330 500")
    assert summary(run(tmp_path, fresh, extra={"old": (old, "SIIM94", 2017)}), "vintage.stale") == []


def _stale_in_batches(tmp_path, texts: dict) -> list[tuple]:
    """vintage.stale of the report « doc » checked as a build checks it: with every report of its
    organisme (validate.findings_in_batches)."""
    from pipelines.validate import findings_in_batches

    found = findings_in_batches(store_of(tmp_path, texts))
    return summary(found[found["document_id"] == "doc"], "vintage.stale")


def test_stale_prose_is_a_block_of_one_report(tmp_path):
    """vintage.stale wants three copied figures in one block of one report: two reports of a year that
    each repeat two of the year before's figures, under headings of the same name, copied no block."""
    repere = "\nQuelques points de repère {y}\n\n- Mandats émis : 76070\n- Titres émis : 19207\n"
    old = doc(tsv("Domaine | 2017", "A | 1"), "Bilan d'activité 2017 du SIIM94") + repere.format(y=2017)
    new = doc(tsv("Domaine | 2018", "A | 2")) + repere.format(y=2018)
    texts = {"doc": (new, "SIIM94", 2018), "old": (old, "SIIM94", 2017), "other": (new, "SIIM94", 2018)}
    assert _stale_in_batches(tmp_path, texts) == []
    # the third figure copied in the report itself makes its block a copy
    third = "- Factures : 324 000 factures\n"
    texts = {**texts, "doc": (new + third, "SIIM94", 2018), "old": (old + third, "SIIM94", 2017)}
    assert [s[1] for s in _stale_in_batches(tmp_path, texts)] == [14, 15, 16]


def test_budget_balance_and_crosstable(tmp_path):
    rec = tsv("Chapitre | Libellé | Prévisions | Réalisations", "74 | dotations | 1 000,00 | 900,00",
              "Total | | 1 000,00 | 900,00")
    dep = tsv("Chapitre | Libellé | Prévisions | Réalisations", "011 | frais | 800,00 | 700,00",
              "Total | | 800,00 | 700,00")
    text = ("Bilan d'activité 2018 du SIIM94\n\n1 Finances\n\nRecettes de fonctionnement\n\n" + rec +
            "\n\nDépenses de fonctionnement\n\n" + dep + "\n")
    df = run(tmp_path, text)
    assert summary(df, "budget.balance") == [("budget.balance", 15, "error", "800,00 €", "1 000,00 €")]
    summary_t = tsv("Activité (en jours) | 2016 | 2017", "MCO | 1 035 jours | 1 046 jours",
                    "Projet | 993 jours | 965 jours", "Total général | 2 028 jours | 2 011 jours")
    detail = tsv("MCO (en jours) | 2016 | 2017", "Suivi d'application | 907 jours | 948 jours",
                 "Formation | 92 jours | 98 jours", "Total général | 999 jours | 1 046 jours")
    text = doc(summary_t) + "\nDétail du MCO\n\n" + detail + "\n\nFin.\n"
    df = run(tmp_path, text)
    # the detail adds up (907 + 92 = 999) but disagrees with the MCO row of the summary (1 035)
    assert summary(df, "crosstable", "total.column") == [("crosstable", 19, "error", "999 jours", "1 035 jours")]
    # a detail whose own total is wrong while its items agree with the summary: total.column only
    wrong_total = detail.replace("1 046 jours", "1 064 jours")
    df = run(tmp_path, doc(summary_t) + "\nDétail du MCO\n\n" + wrong_total + "\n\nFin.\n")
    assert summary(df, "crosstable", "total.column") == [
        ("crosstable", 19, "error", "999 jours", "1 035 jours"),
        ("total.column", 19, "error", "1 064 jours", "1 046 jours")]


def test_total_gap_hints_name_the_missing_line_or_the_extra_column(tmp_path):
    omitted = tsv("formation | 2019", "bureautiques | 588 agents", "métiers | 694 agents", "reclassements | 15 agents",
                  "TOTAL | 1282 agents")
    df = run(tmp_path, doc(omitted, "Bilan d'activité 2019 du SIIM94"), year=2019)
    assert summary(df) == [("total.column", 11, "error", "1 282 agents", "1 297 agents")]
    assert "exactement la ligne « reclassements » (15)" in df["message"][0]
    assert df["exercice"][0] == 2019  # the year of the column, so that analyses flag that year only
    included = tsv("chapitre | libellé | reports 2016 | Prévisions | Réalisations",
                   "16 | emprunts | 500 000,00 € | 500 000,00 € | 500 000,00 €",
                   "10 | dotations | | 81 000,00 € | 87 560,00 €",
                   "Total | | 500 000,00 € | 1 081 000,00 € | 587 560,00 €")
    df = run(tmp_path, doc(included))
    assert summary(df) == [("total.column", 10, "error", "1 081 000 €", "581 000 €")]
    assert "le total de la colonne « reports 2016 » (500 000)" in df["message"][0]


def test_chapter_smaller_than_its_articles_is_one_finding(tmp_path):
    body = tsv("Chapitre | Libellé | Titres émis en 2021 | Titres émis en 2022",
               "10 | Dotations, fonds divers et réserves | 170 155,48 € | 0,00 €",
               "10222 | FCTVA | 90 266,00 € | 0,00 €",
               "1068 | Excédents de fonctionnement capitalisés | 79 889,48 € | 254 968,91 €",
               "024 | Produits des cessions | 5,00 € | 1,00 €",
               "Total des recettes financières | | 170 160,48 € | 254 969,91 €")
    df = run(tmp_path, doc(body, "Bilan d'activité 2022 du SIIM94"), year=2022)
    # the chapter line is wrong; the total that counts its articles is right
    assert summary(df) == [("total.column", 8, "error", "0 €", "254 968,91 €")]


def test_header_year_duplicated_and_out_of_sequence(tmp_path):
    dup = tsv("Domaine | 2015 | 2016 | 2016", "A | 1 | 2 | 3", "B | 4 | 5 | 6")
    assert summary(run(tmp_path, doc(dup)), "header.year") == [("header.year", 7, "error", "2016", None)]
    seq = tsv("Domaine | 2014 | 2016 | 2015 | 2017", "A | 1 | 2 | 3 | 4", "B | 4 | 5 | 6 | 7")
    assert summary(run(tmp_path, doc(seq)), "header.year") == [("header.year", 7, "error", "2015", "après 2016")]
    dates = tsv("Grade | Emplois 31/12/2021 | Emplois 31/12/2022 | Pourvus 31/12/2021 | Pourvus 07/11/2022 "
                "| Contractuels 07/11/2022", "Attaché | 1 | 1 | 1 | 1 | 0", "Adjoint | 2 | 2 | 2 | 1 | 1")
    df = run(tmp_path, doc(dates, "Bilan d'activité 2022 du SIIM94"), year=2022)
    assert summary(df, "header.label", "header.year") == [
        ("header.label", 7, "warning", "31/12/2022", "07/11/2022")]


def test_budget_balance_explains_the_virement(tmp_path):
    def budget(rf: str, ri: str) -> str:
        def section(title, chapitre, prevu, realise):
            return f"{title}\n\n" + tsv("Chapitre | Libellé | Prévisions | Réalisations",
                                        f"{chapitre} | {prevu} | {realise}", f"Total | | {prevu} | {realise}") + "\n\n"

        return ("Bilan d'activité 2018 du SIIM94\n\n1 Finances\n\n"
                + section("Recettes de fonctionnement", "74 | dotations", rf, "900,00")
                + section("Dépenses de fonctionnement", "011 | frais", "800,00", "700,00")
                + section("Recettes d'investissement", "16 | emprunts", ri, "300,00")
                + section("Dépenses d'investissement", "21 | matériel", "500,00", "450,00"))

    # 200 € more recettes in fonctionnement, 200 € fewer in investissement: the virement 023 -> 021
    df = run(tmp_path, budget("1 000,00", "300,00"))
    assert summary(df, "budget.balance") == [("budget.balance", 15, "warning", "800,00 €", "1 000,00 €"),
                                             ("budget.balance", 27, "warning", "500,00 €", "300,00 €")]
    assert all("virement" in m for m in df[df["rule"] == "budget.balance"]["message"])
    assert summary(run(tmp_path, budget("800,00", "500,00")), "budget.balance") == []


def test_crosstable_synthesis_and_chapter_74(tmp_path):
    syn = tsv("Années | Mises en Production | Tickets", "2017 | 88 | 4183", "2018 | 77 | 4490")
    det = tsv("Logiciel | nombre", "LOGEMENT | 3", "MAIDIS | 70", "TOTAL | 73")
    text = doc(syn) + "\n\nLes Mises en Production en 2018\n\n" + det + "\n"
    assert summary(run(tmp_path, text, org="SII"), "crosstable") == [("crosstable", 9, "error", "77", "73")]
    assert summary(run(tmp_path, text.replace("77\t", "73\t"), org="SII"), "crosstable") == []
    adh = tsv("Adhérent | cotisation | Total", "Arcueil | 100 € | 100 €", "Ivry | 200 € | 200 €", "Total | 300 € | 300 €")
    rec = tsv("Chapitre | Libellé | Prévisions | Réalisations", "74 | dotations | 320,00 | 320,00",
              "Total | | 320,00 | 320,00")
    text = ("Bilan d'activité 2018 du SIIM94\n\n1 Finances\n\nRecettes de fonctionnement\n\n" + rec
            + "\n\nRecettes par adhérent\n\n" + adh + "\n")
    assert summary(run(tmp_path, text), "crosstable") == [("crosstable", 16, "error", "300 €", "320,00 €")]
    assert summary(run(tmp_path, text.replace("320,00", "300,00")), "crosstable") == []


def test_side_by_side_blocks_are_summed_together(tmp_path):
    body = tsv("Application | jours 2017 | jours 2018 | Application | jours 2017 | jours 2018",
               "Polyfac | 10 | 12 | Excel | 1 | 2", "Sedit | 5 | 6 | Word | 0 | 1", " | | | Total | 16 | 24")
    df = run(tmp_path, doc(body))
    # 10 + 5 + 1 + 0 = 16 is right; 12 + 6 + 2 + 1 = 21, not 24
    assert summary(df, "total.column", "total.rounding") == [("total.column", 10, "error", "24", "21")]


def test_total_column_that_is_realise_plus_reports(tmp_path):
    body = tsv("chapitre | libellé | reports 2016 | Prévisions | Réalisations | Reports 2017 | Total",
               "16 | emprunts | 500,00 € | 500,00 € | 500,00 € | 500,00 € | 1 000,00 €",
               "10 | dotations | | 81,00 € | 87,00 € | | 87,00 €",
               "13 | subventions | | 61,00 € | 61,00 € | 10,00 € | 71,00 €",
               "040 | ordre | | 495,00 € | 492,00 € | | 429,00 €",
               "Total | | 500,00 € | 1 137,00 € | 1 140,00 € | 510,00 € | 1 587,00 €")
    df = run(tmp_path, doc(body))
    # Total = Réalisations + Reports 2017 on every row but « 040 » (429 for 492) and the grand total
    assert summary(df, "total.row") == [("total.row", 11, "error", "429 €", "492 €"),
                                        ("total.row", 12, "error", "1 587 €", "1 650 €")]
    assert summary(df, "total.column") == []  # the « Total » column adds up its own (wrong) cells


def test_year_header_shifted_against_the_previous_report(tmp_path):
    series = "Domaines | 2016 | 2017\nAction sociale | 81 | 118\nFinances | 327 | 340\nSanté | 191 | 134\nUrbanisme | 55 | 61\n"
    old = doc(tsv(*series.strip().split("\n")), "Bilan d'activité 2017 du SIIM94")
    # the 2018 report prints 2017 and 2018 figures under « 2016 | 2017 »
    shifted = "Domaines | 2016 | 2017\nAction sociale | 118 | 114\nFinances | 340 | 437\nSanté | 134 | 147\nUrbanisme | 61 | 70\n"
    df = run(tmp_path, doc(tsv(*shifted.strip().split("\n"))), extra={"old": (old, "SIIM94", 2017)})
    assert summary(df, "header.year", "vintage.restated") == [("header.year", 7, "warning", "2016", "2017")]
    assert "ceux de 2017 dans le rapport 2017 (old, ligne 8)" in df["message"][0]
    right = shifted.replace("| 2016 | 2017", "| 2017 | 2018")
    df = run(tmp_path, doc(tsv(*right.strip().split("\n"))), extra={"old": (old, "SIIM94", 2017)})
    assert summary(df, "header.year", "vintage.restated") == []


def test_rounding_tolerance_says_when_a_gap_is_improbable(tmp_path):
    rows = [f"Application {chr(65 + i)} | {10 + i}" for i in range(24)]  # 10 + … + 33 = 516
    body = tsv("Application | jours", *rows, "Total | 526")
    df = run(tmp_path, doc(body))
    # |526 - 516| = 10 <= 24 × 0,5 + 0,5: rounding by the contract (info), but flagged as improbable
    assert summary(df) == [("total.rounding", 32, "info", "526", "516")]
    assert "peu probable" in df["message"][0]
    near = run(tmp_path, doc(tsv("Application | jours", *rows, "Total | 517")))
    assert summary(near) == [("total.rounding", 32, "info", "517", "516")]
    assert "peu probable" not in near["message"][0]


def test_counts_are_exact_so_no_rounding_tolerance(tmp_path):
    mep = tsv("Applications | MEP", "LOGEMENT | 3", "MAIDIS | 3", "MANTIS | 4", "PREM | 9", "TOTAL | 20")
    assert summary(run(tmp_path, doc(mep)), "total.column", "total.rounding") == [
        ("total.column", 12, "error", "20", "19")]
    agents = tsv("formation | 2019", "bureautiques | 588 agents", "métiers | 694 agents", "TOTAL | 1283 agents")
    df = run(tmp_path, doc(agents, "Bilan d'activité 2019 du SIIM94"), year=2019)
    assert summary(df, "total.column", "total.rounding") == [("total.column", 10, "error", "1 283 agents", "1 282 agents")]
    days = tsv("Applications | jours", "LOGEMENT | 3", "MAIDIS | 3", "MANTIS | 4", "PREM | 9", "TOTAL | 20")
    assert summary(run(tmp_path, doc(days)), "total.column", "total.rounding") == [
        ("total.rounding", 12, "info", "20", "19")]


def test_text_table_with_cents_unitless_cells_and_approximations(tmp_path):
    body = tsv("chapitre | libellé | Prévisions | Réalisations", "20 | frais d'études | 1 095 781,00 | 624 671,14",
               "21 | matériels | 347 250,00 | 315 616,67", "Total | | 1 443 031,00 | 940 287,81")
    text = doc(body) + ("\n- les réalisations des frais d'études (compte 20) s'élèvent à 654 671.14 €,\n"
                        "- les réalisations des matériels (compte 21) s'élèvent à 315 616.67 €,\n"
                        "Les réalisations atteignent environ 940 297 € ; les prévisions 1 443 000 €.\n")
    df = run(tmp_path, text)
    # the cents typo is found; the exact figure, the « environ » and the rounded figure are not
    assert summary(df, "text.table") == [("text.table", 14, "error", "654 671,14 €", "624 671,14 €")]


def test_text_table_amounts_differing_only_in_cents(tmp_path):
    body = tsv("chapitre | libellé | Prévisions | Réalisation", "011 | frais de gestion | 1 376 400,00 | 1 154 917,66",
               "012 | charges de perso | 3 128 753,95 | 3 055 002,26", "Total | | 4 505 153,95 | 4 209 919,92")
    text = doc(body) + ("\nLes dépenses réalisées s'élevaient à 4 209 919.82 € (prévisions : 4 505 153,95 €).\n"
                        "Les réalisations des frais de gestion atteignent 1 154 918 € et les charges de "
                        "perso environ 3 055 000 €.\n")
    df = run(tmp_path, text)
    # printed with cents on both sides, 10 cents apart: two different numbers; rounded to the euro: agreed
    assert summary(df, "text.table") == [("text.table", 14, "error", "4 209 919,82 €", "4 209 919,92 €")]
