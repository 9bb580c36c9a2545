"""Shared notebook logic on the fixture store: computed figures, flags, absence, escaping."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from pipelines.errors import InvalidParameters
from pipelines.publish import analyses as a
from pipelines.publish.runs import Fingerprints, Run, plan


def plain(text: str) -> str:
    """French typographic spaces (thin and no-break) as plain spaces, to write expectations readably."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_latest_vintage_is_frozen_at_the_year(fixture_store):
    as_of_2018 = a.activite(a.ouvrir(fixture_store, "SIIM94", 2018, "pole_si"))
    as_of_2017 = a.activite(a.ouvrir(fixture_store, "SIIM94", 2017, "pole_si"))

    def finances(data, ex):
        return [r["jours"] for r in data if r["axe"] == "domaine" and r["categorie_norm"] == "Finances"
                and r["exercice"] == ex]

    assert finances(as_of_2018, 2017) == [325.0]  # restated by the 2018 report
    assert finances(as_of_2017, 2017) == [320.0]  # the 2017 analysis does not see the later report
    assert not [r for r in as_of_2017 if r["exercice"] == 2018]


def test_pole_si_summary_figures_and_flags(fixture_store):
    res = a.resume(a.ouvrir(fixture_store, "SIIM94", 2018, "pole_si"))
    text = plain(res.texte())
    # domain axis: 340 + 160 = 500 days in 2018; the 2018 report gives 2017 for Finances only (325):
    # Santé publique 2017 (150) is in the 2017 report only, so 500 vs 475 would mix two vintages.
    assert ("réalisé 500 jours ⚠ d'activité (non comparable à 2017 (325 jours) : les deux chiffres ne couvrent "
            "pas les mêmes catégories (« Santé publique » absent en 2017) ; à périmètre constant, 340 jours "
            "contre 325 jours en 2017 (+4,6 %))") in text
    # Finances 340 carries the total.column finding on (siim94_2018, line 600): marked, not a fact
    assert ("Premier domaine : Finances, 340 jours ⚠ (+4,6 % par rapport à 2017 : 325 jours, "
            "chiffre du bilan 2018)") in text
    assert "Premier adhérent : Ivry-sur-Seine, 420 jours (+5,0 % par rapport à 2017 : 400 jours)" in text
    assert [(f["rule"], f["line"]) for f in res.constats] == [("total.column", 600)]


def test_finding_of_another_exercice_on_the_same_line_does_not_flag(fixture_store):
    ctx = a.ouvrir(fixture_store, "SIIM94", 2018, "pole_si")
    finances_2017 = [r for r in a.activite(ctx) if r["line"] == 600 and r["exercice"] == 2017]
    assert finances_2017 and not finances_2017[0]["signale"]
    res = a.resume(a.ouvrir(fixture_store, "SIIM94", 2017, "pole_si"))
    assert "⚠" not in res.texte() and not res.constats


def test_support_summary_tickets_and_flagged_trainings(fixture_store):
    text = plain(a.resume(a.ouvrir(fixture_store, "SIIM94", 2018, "pole_support")).texte())
    # Arcueil's tickets are counted in 2018 only: 4 550 vs 3 100 is not a +46,8 % rise
    assert ("Tickets traités en 2018 : 4 550 (non comparable à 2017 (3 100) : les deux chiffres ne couvrent pas "
            "les mêmes catégories (« Arcueil » absent en 2017) ; à périmètre constant, 3 350 contre 3 100 en 2017 "
            "(+8,1 %))") in text
    # the text.table finding is about the prose: the printed total stays the figure, marked ⚠
    assert "Formations 2018 : 1 467 ⚠ agents formés (+12,8 % par rapport à 2017 : 1 300)" in text


def test_finances_summary(fixture_store):
    text = plain(a.resume(a.ouvrir(fixture_store, "SIIM94", 2018, "finances")).texte())
    assert ("Dépenses de fonctionnement réalisées en 2018 : 3 264 576 € (+1,7 % par rapport à 2017 : "
            "3 210 000 €), taux de réalisation 95,5 %") in text
    assert ("Recettes de fonctionnement réalisées en 2018 : 5 381 870 € (pas de chiffre antérieur dans la "
            "même série)") in text
    # 1 011 559 + 411 423 + 189 155 (printed 'total' category, not the cotisation detail); OPALY's line
    # continues as VALDEVY (referential succession), so the two years cover the same members
    assert ("Contributions des adhérents en 2018 (contribution totale, 3 adhérents) : 1 612 137 € (+3,3 % par "
            "rapport à 2017 : 1 560 000 €) ; premier contributeur : Ivry-sur-Seine (1 011 559 €, 62,7 % du "
            "total)") in text


def test_rh_summary(fixture_store):
    text = plain(a.resume(a.ouvrir(fixture_store, "SIIM94", 2018, "ressources_humaines")).texte())
    assert "Au 31/12/2018 : 19 emplois budgétaires (+5,6 % par rapport à 2017 : 18), 17 pourvus" in text
    assert "Jours de formation des agents du syndicat : 110 jours (+15,8 % par rapport à 2017 : 95)" in text


def test_qualite_summary_counts_and_worst_tables(fixture_store):
    ctx = a.ouvrir(fixture_store, "SIIM94", 2018, "qualite")
    text = plain(a.resume(ctx).texte())
    assert "compte 2 constats : 2 erreurs, 0 avertissement, 0 information (bilan 2017 : 0 constat)" in text
    assert "Règles en défaut : text.table (1), total.column (1)." in text
    worst = a.pires_tableaux(a.constats_document(ctx))
    assert {w["tableau"] for w in worst} == {"Formations", "Répartition par domaine"}


@pytest.mark.parametrize("org, year, template, expected", [
    ("SII", 2018, "pole_infrastructures", "ne contient pas de données exploitables pour le pôle Infrastructures"),
    ("SII", 2018, "ressources_humaines", "ne contient pas de données exploitables pour les ressources humaines"),
])
def test_absence_is_stated(fixture_store, org, year, template, expected):
    ctx = a.ouvrir(fixture_store, org, year, template)
    assert expected in ctx.absence
    assert a.resume(ctx).phrases == [ctx.absence]


def test_absence_on_empty_and_missing_store(empty_store, tmp_path):
    assert "pôle SI" in a.ouvrir(empty_store, "SIIM94", 2018, "pole_si").absence
    assert a.ouvrir(empty_store, "SIIM94", 2018, "qualite").absence is None
    assert "0 constat" in a.resume(a.ouvrir(empty_store, "SIIM94", 2018, "qualite")).texte()


@pytest.mark.parametrize("org, year, expected", [
    ("SIIM95", 2018, "Organisme inconnu : « SIIM95 ». Organismes du magasin : SII, SIIM94."),
    ("SIIM94", 2021, "Le magasin ne contient pas de bilan 2021 pour le SIIM94. Bilans du SIIM94 : 2017, 2018."),
    ("SIIM94", "deux mille", "Année invalide : « deux mille »"),
])
def test_wrong_parameters_raise_a_french_error_listing_valid_values(fixture_store, org, year, expected):
    # a notebook run by hand must fail (papermill exits non-zero), not print an absence and exit 0
    with pytest.raises(InvalidParameters) as err:
        a.ouvrir(fixture_store, org, year, "pole_si")
    assert expected in str(err.value)


def test_missing_store_raises(tmp_path):
    with pytest.raises(InvalidParameters, match="introuvable : lancez d'abord « bilans build »"):
        a.ouvrir(tmp_path / "nope.duckdb", "SIIM94", 2018, "pole_si")


def test_plan_lists_only_runs_with_data(fixture_store, empty_store):
    con = duckdb.connect(str(fixture_store), read_only=True)
    keys = {r.key for r in plan(con)}
    assert {"SIIM94/2018/pole_si", "SIIM94/2018/pole_infrastructures", "SIIM94/2018/pole_support",
            "SIIM94/2017/ressources_humaines", "SII/2018/finances", "SII/2018/qualite"} <= keys
    assert "SII/2018/pole_infrastructures" not in keys and "SIIM94/2017/pole_infrastructures" not in keys
    # exploration once per organisme, on its latest report
    assert {k for k in keys if k.endswith("exploration")} == {"SIIM94/2018/exploration", "SII/2018/exploration"}
    assert {r.key for r in plan(con, org="SII", pole="si")} == {"SII/2018/pole_si"}
    con.close()
    con = duckdb.connect(str(empty_store), read_only=True)
    assert {r.template for r in plan(con)} == {"qualite", "exploration"}
    con.close()


def test_fingerprint_changes_only_for_the_runs_whose_data_changed(fixture_store, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(fixture_store, copy)
    runs = [Run("SIIM94", 2018, "pole_si"), Run("SII", 2018, "pole_si"), Run("SII", 2018, "finances")]

    def prints(path):
        con = duckdb.connect(str(path), read_only=True)
        fps = Fingerprints(con, fixture_store, a.ROOT / "notebooks")  # same db_path parameter for both
        out = {r.key: fps.of(r) for r in runs}
        con.close()
        return out

    before = prints(copy)
    con = duckdb.connect(str(copy))
    con.execute("INSERT INTO activite (org, exercice, report_year, document_id, line, pole, axe, categorie, jours) "
                "VALUES ('SII', 2018, 2018, 'sii_2018', 301, 'si', 'type', 'Maintenance', 80)")
    con.close()
    after = prints(copy)
    assert before["SIIM94/2018/pole_si"] == after["SIIM94/2018/pole_si"]
    assert before["SII/2018/finances"] == after["SII/2018/finances"]  # finances does not read activite
    assert before["SII/2018/pole_si"] != after["SII/2018/pole_si"]


def test_chart_bundle_has_spec_french_locale_and_escapes_source_text():
    import altair as alt

    evil = "</script><script>alert(1)</script>"
    chart = alt.Chart(alt.Data(values=[{"c": evil, "jours": 1083}])).mark_bar().encode(x="c:N", y="jours:Q")
    bundle = a.chart_bundle(chart)
    spec_key = next(k for k in bundle if k.startswith("application/vnd.vegalite"))
    assert bundle[spec_key]["config"]["locale"]["number"]["decimal"] == ","
    assert spec_key == "application/vnd.vegalite.v5+json"  # what JupyterLab 4 draws, interactive
    assert evil in str(bundle[spec_key]["data"])  # the spec keeps the value as printed
    svg = bundle["image/svg+xml"]  # the same chart drawn for the HTML export, no script
    assert svg.startswith("<svg") and "<script" not in svg and "&lt;/script&gt;&lt;script&gt;alert(1)" in svg
    assert "text/html" not in bundle  # JupyterLab would prefer it to the spec
    assert "&lt;script&gt;" in a.tableau_html(["Libellé"], [[evil]])


def test_store_of_an_older_version_is_said_not_crashed(tmp_path):
    import duckdb

    db = tmp_path / "ancien.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE documents (document_id VARCHAR, org VARCHAR, report_year INTEGER, path VARCHAR)")
    con.execute("CREATE TABLE activite (org VARCHAR, exercice INTEGER, pole VARCHAR, jours DOUBLE)")
    con.close()
    ctx = a.ouvrir(db, "SIIM94", 2018, "pole_si")
    assert "version antérieure" in ctx.absence and "bilans build" in ctx.absence
    assert a.resume(ctx).phrases == [ctx.absence]
