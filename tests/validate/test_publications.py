"""The workbench checks its own publications: the register, the suite `publications`, the exit code."""

from __future__ import annotations

import json

import duckdb
import nbformat
import pandas as pd
import pytest

from pipelines.publish import analyses as a
from pipelines.publish.registre import Registre, annees_du_titre, lire, sidecar_of
from pipelines.publish.runs import run_notebooks
from pipelines.validate.publications import controler, publication_frame


@pytest.fixture
def store(fixture_store):
    """The fixture store: trainings 2018, bureautique 400 (l. 798) + métiers 1 067 (l. 799) = 1 467 (l. 800)."""
    return fixture_store


def register(*figures: dict, page: str = "analyses/SIIM94/2018/pole_support") -> pd.DataFrame:
    reg = Registre(page)
    for f in figures:
        f = dict(f)
        reg.noter(f.pop("element"), f.pop("role", "cellule"), f.pop("valeur"), **{"org": "SIIM94", **f})
    return reg.frame()


def findings(db, frame, prefix="analyses/") -> tuple[int, list[dict]]:
    errors = controler(db, frame, prefix, echo=lambda _: None)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT rule, severity, message, found, expected, \"table\", org, report_year "
                       "FROM findings WHERE family = 'publications' ORDER BY rule, message").df()
    con.close()
    return errors, rows.to_dict("records")


def test_a_figure_equal_to_its_metric_passes_and_is_stored(store):
    # fixture: formations 2018, printed total 1 467 agents (siim94_2018 l. 800)
    frame = register({"element": "Agents formés", "role": "titre", "valeur": 1467.0, "metrique": "agents_formes",
                      "exercice": 2018, "sources": "siim94_2018:800"})
    assert findings(store, frame) == (0, [])
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT page, element, metrique, exercice, valeur, unite, sources FROM publications"
                       ).fetchall() == [("analyses/SIIM94/2018/pole_support", "Agents formés", "agents_formes",
                                         2018, 1467.0, None, "siim94_2018:800")]
    con.close()


def test_a_page_adding_a_total_to_its_items_is_an_error(store):
    # the planted fault: 1 467 (total) + 400 (bureautique, one of its items) = 1 867
    frame = register({"element": "Agents formés", "role": "titre", "valeur": 1867.0, "metrique": "agents_formes",
                      "exercice": 2018})
    errors, found = findings(store, frame)
    assert errors == 1
    assert [(f["rule"], f["severity"], f["found"], f["expected"], f["table"], f["org"], f["report_year"])
            for f in found] == [("publication.metric", "error", "1 867", "1 467", "Agents formés", "SIIM94", 2018)]
    assert "la métrique vaut 1 467 (bilan 2018 : siim94_2018:800)" in found[0]["message"]


def test_one_value_per_figure_across_pages_of_the_same_reports(store):
    frame = pd.concat([
        register({"element": "Tableau A", "valeur": 210.0, "metrique": "indicateurs.valeur", "exercice": 2018,
                  "detail": "x"}),
        register({"element": "Tableau B", "valeur": 215.0, "metrique": "indicateurs.valeur", "exercice": 2018,
                  "detail": "x"}, page="analyses/SIIM94/2018/pole_si"),
        # the 2017 page reads the reports up to 2017 only: another vintage, not a contradiction
        register({"element": "Tableau C", "valeur": 200.0, "metrique": "indicateurs.valeur", "exercice": 2017,
                  "detail": "y"}, page="analyses/SIIM94/2017/pole_si"),
        register({"element": "Tableau D", "valeur": 205.0, "metrique": "indicateurs.valeur", "exercice": 2017,
                  "detail": "y"}),
    ])
    errors, found = findings(store, frame)
    assert errors == 1
    assert [(f["rule"], f["found"]) for f in found] == [
        ("publication.unique", "210 (analyses/SIIM94/2018/pole_support, « Tableau A ») ; "
                               "215 (analyses/SIIM94/2018/pole_si, « Tableau B »)")]


def test_a_total_is_the_sum_of_its_shown_parts_unless_the_page_says_why(store):
    parts = [{"element": "Répartition (tableau)", "valeur": v, "metrique": "indicateurs.valeur", "exercice": 2018,
              "detail": d, "partie_de": "Répartition — total"} for v, d in ((30.0, "a"), (12.0, "b"))]
    wrong = {"element": "Répartition — total", "valeur": 45.0, "metrique": "indicateurs.valeur", "exercice": 2018}
    errors, found = findings(store, register(*parts, wrong))
    assert errors == 1
    assert [(f["rule"], f["found"], f["expected"]) for f in found] == [
        ("publication.total", "45", "42 (somme de 2 parties)")]
    said = dict(wrong, motif="total imprimé signalé par total.column : le rapport ne tombe pas juste")
    assert findings(store, register(*parts, said)) == (0, [])


def test_chart_title_years_are_the_years_drawn_and_no_point_is_empty(store):
    points = [{"element": "Jours d'activité par domaine, 2015–2022", "role": "point", "valeur": v,
               "metrique": "indicateurs.valeur", "exercice": y, "detail": "Finances",
               "annees_titre": annees_du_titre("Jours d'activité par domaine, 2015–2022")}
              for y, v in ((2015, 10.0), (2016, 11.0), (2018, None))]
    errors, found = findings(store, register(*points))
    assert errors == 2
    assert [(f["rule"], f["found"], f["expected"]) for f in found] == [
        ("publication.null", "vide", "une valeur"), ("publication.title", "2015–2022", "2015–2016")]


def test_register_sidecar_survives_a_truncated_line(tmp_path):
    sidecar = sidecar_of(tmp_path / "SIIM94" / "2018" / "pole_si.ipynb")
    assert sidecar.name == ".pole_si.publications.jsonl"
    reg = Registre("analyses/SIIM94/2018/pole_si", sidecar)
    reg.noter("Jours", "titre", 2361.0, metrique="jours_pole", org="SIIM94", exercice=2022, pole="si")
    with sidecar.open("a") as f:
        f.write('{"page": "analyses/SIIM94/2018/pole_si", "element"')  # a kernel killed mid-line
    got = lire([sidecar])
    assert got[["metrique", "valeur", "cle"]].values.tolist() == [["jours_pole", 2361.0, "jours_pole|SIIM94||2022|si|"]]


def test_pages_record_their_figures_with_metrics_and_sources(store):
    ctx = a.ouvrir(store, "SIIM94", 2018, "pole_support")
    a.publier_resume(ctx, a.resume(ctx))
    a.graphique_formations(ctx)
    pubs = ctx.registre.frame()
    headline = pubs[(pubs["role"] == "titre") & (pubs["metrique"] == "agents_formes")]
    assert headline[["exercice", "valeur", "sources"]].values.tolist() == [
        [2018, 1467.0, "siim94_2018:800"], [2017, 1300.0, "siim94_2017:800"]]
    change = pubs[pubs["metrique"] == "agents_formes.variation"].iloc[0]
    assert json.loads(change["derive_de"]) == ["agents_formes|SIIM94||2018||", "agents_formes|SIIM94||2017||"]
    # the chart stacks the items (bureautique), never the printed total beside them
    points = pubs[(pubs["role"] == "point") & (pubs["metrique"] == "agents_formes")]
    assert sorted(points[["element", "exercice", "detail", "valeur"]].values.tolist()) == [
        ["Agents formés par type de formation, 2018", 2018, "bureautique", 400.0],
        ["Agents formés par type de formation, 2018", 2018, "metiers", 1067.0]]
    assert publication_frame(duckdb.connect(str(store), read_only=True), pubs).query(
        "rule == 'publication.title' and statut != 'ok'").empty


def _one_page_template(tmp_path, notebook: str, folder: str, code: str):
    """A templates folder holding one notebook `notebook` (its kernel metadata) whose page runs `code`."""
    nb = nbformat.v4.new_notebook(metadata=nbformat.read(a.ROOT / "notebooks" / f"{notebook}.ipynb", 4).metadata)
    nb.cells = [
        nbformat.v4.new_code_cell('org = "SIIM94"\nyear = 2018\ndb_path = "x"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(f"from pipelines.publish import analyses as a\nctx = a.ouvrir(db_path, org, year, '{notebook}')\n"
                                  + code + "a.entete(ctx)")]
    templates = tmp_path / folder
    templates.mkdir()
    nbformat.write(nb, templates / f"{notebook}.ipynb")
    return templates


def _planting_template(tmp_path):
    """A « finances » notebook that adds the printed total of the trainings to their items."""
    return _one_page_template(tmp_path, "finances", "templates", (
        "n = ctx.con.execute(\"SELECT sum(agents) FROM formations WHERE exercice = 2018\").fetchone()[0]\n"
        "ctx.registre.noter('Agents formés', 'titre', n, metrique='agents_formes', org=org, exercice=2018)\n"))


def test_bilans_run_exits_1_on_a_planted_contradiction(store, tmp_path):
    lines: list[str] = []
    out = tmp_path / "analyses"
    rc = run_notebooks(store, org="SIIM94", year=2018, out_dir=out, templates=("finances",),
                       templates_dir=_planting_template(tmp_path), echo=lines.append)
    assert rc == 1
    # 1 467 (printed total, l. 800) + 400 + 1 067 (its items, l. 798-799) = 2 934
    assert any("publication.metric" in line and "montre 2 934 pour agents_formes 2018 ; la métrique vaut 1 467"
               in line for line in lines), lines
    # a second run with nothing changed is skipped, yet the publications are checked again: still 1
    assert run_notebooks(store, org="SIIM94", year=2018, out_dir=out, templates=("finances",),
                         templates_dir=tmp_path / "templates", echo=lines.append) == 1
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM findings WHERE rule = 'publication.metric'").fetchone()[0] == 1
    con.close()
    # the qualité page lists it
    ctx = a.ouvrir(store, "SIIM94", 2018, "qualite")
    assert [f["rule"] for f in a.constats_document(ctx) if f["rule"].startswith("publication.")] == [
        "publication.metric"]


@pytest.mark.parametrize("titre, years", [("Postes pourvus par filière, 2017–2022", [2017, 2022]),
                                          ("Budget 2022", [2022]), ("Sans année", [])])
def test_years_of_a_title(titre, years):
    assert annees_du_titre(titre) == years


def _faithful_template(tmp_path):
    """A « pole_support » notebook that publishes the trainings' total as the store gives it when it runs
    (the metric as of the page's report): right when written, stale once the store changes."""
    return _one_page_template(tmp_path, "pole_support", "fideles", (
        "for n, in ctx.con.execute(\"SELECT arg_max(valeur, report_year) FROM metriques_millesimes WHERE \"\n"
        "        \"metrique = 'agents_formes' AND detail IS NULL AND org = ? AND exercice = ? AND report_year <= ? \"\n"
        "        \"HAVING count(*) > 0\", [org, year, year]).fetchall():\n"
        "    ctx.registre.noter('Agents formés', 'titre', n, metrique='agents_formes', org=org, exercice=year)\n"))


def _restate_trainings(db) -> None:
    """The store rebuilt with other 2018 trainings (a reader fixed, a report replaced): bureautique
    433 (l. 798) + métiers 1 067 (l. 799) = 1 500 (l. 800)."""
    from pipelines.curate.views import create_views

    con = duckdb.connect(str(db))
    for line, agents in ((798, 433.0), (800, 1500.0)):
        con.execute("UPDATE formations SET agents = ? WHERE document_id = 'siim94_2018' AND line = ?", [agents, line])
    create_views(con)
    con.close()


def test_a_filtered_run_does_not_fail_on_pages_left_stale_outside_its_filter(store, tmp_path):
    out, lines = tmp_path / "analyses", []
    templates = _faithful_template(tmp_path)

    def run(**filtre) -> int:
        lines.clear()
        return run_notebooks(store, out_dir=out, templates=("pole_support",), templates_dir=templates,
                             pool=True, workers=1, echo=lines.append, **filtre)

    assert run(org="SIIM94", year=2018) == 0  # the page shows 1 467, the metric (l. 800)
    _restate_trainings(store)  # the page SIIM94/2018 now shows a figure of the old store
    # a run of another bilan does not answer for that page: it is said stale, not checked, not a failure
    assert run(org="SIIM94", year=2017) == 0, lines
    said = [ln for ln in lines if "plus à jour" in ln]
    assert said == ["1 page hors du filtre n’est plus à jour du magasin, ses chiffres ne sont pas contrôlés : "
                    "SIIM94/2018/pole_support (« bilans run » sans filtre les refait)."], lines
    assert not any("publication.metric" in ln for ln in lines)
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT DISTINCT page FROM publications ORDER BY 1").fetchall() == [
        ("analyses/SIIM94/2017/pole_support",)]
    con.close()
    # the run of the whole store redoes the stale page, and its new figure is right
    assert run() == 0, lines
    assert not any("plus à jour" in ln for ln in lines)
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT page, valeur FROM publications WHERE element = 'Agents formés' ORDER BY 1").fetchall() == [
        ("analyses/SIIM94/2017/pole_support", 1300.0), ("analyses/SIIM94/2018/pole_support", 1500.0)]
    con.close()


def test_a_filtered_run_counts_only_the_errors_of_its_pages(store, tmp_path):
    out, lines = tmp_path / "analyses", []
    # an exported briefing page that contradicts the store: the briefing's error, not SIIM94 2017's
    briefing = register({"element": "Agents formés", "role": "tuile", "valeur": 1867.0, "metrique": "agents_formes",
                         "exercice": 2018}, page="briefing/siim94/siim94_2018")
    assert controler(store, briefing, "briefing/", echo=lambda _: None) == 1
    rc = run_notebooks(store, org="SIIM94", year=2017, out_dir=out, templates=("pole_support",),
                       templates_dir=_faithful_template(tmp_path), pool=True, workers=1, echo=lines.append)
    assert rc == 0, lines
    assert ("  1 erreur publication.* sur des pages hors du filtre, non comptée dans le code de sortie : "
            "briefing/siim94/siim94_2018.") in lines, lines
    # the finding stays in the store: the qualité page and a run of the whole store see it, with its fix
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT suggestion FROM findings WHERE rule = 'publication.metric'").fetchall() == [(
        "Si le magasin a changé depuis que la page a été faite, la refaire (« bilans run », « bilans briefing "
        "--export ») ; sinon, lui faire lire sa métrique dans la couche de métriques.",)]
    con.close()


def test_a_long_list_of_pages_stays_one_line():
    from pipelines.validate.publications import abrege

    pages = [f"SIIM94/{y}/finances" for y in range(2010, 2024)]
    assert abrege(pages, 3) == "SIIM94/2010/finances, SIIM94/2011/finances, SIIM94/2012/finances et 11 autres"
    assert abrege(pages[:2], 3) == "SIIM94/2010/finances, SIIM94/2011/finances"
