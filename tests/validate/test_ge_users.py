"""Great Expectations as a GE user expects it: the README's plain GE 1.x code gives the pipeline's
result, a batch without the columns a suite reads fails loudly, GE runs once (the check run writes the
results and Data Docs, `bilans report` only copies them), and the Data Docs are French and offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[2]
# A table whose 2016 total is wrong (10 + 20 + 0 = 30, printed 35) and whose 2017 total is off by
# rounding only (4 + 5 + 3 = 12, printed 13: below 3·1/2).
REPORT = ("Bilan d'activité 2017 du SIIM94\n\n1 Pôle SI\n\nRépartition\n\n"
          "Activité\t2016\t2017\nMCO\t10\t4\nProjet\t20\t5\nSupport\t0\t3\nTotal\t35\t13\n")
EXPECTED_TOTAUX = {("d", 11, "total.column", "35", "30"), ("d", 11, "total.rounding", "13", "12")}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A small project: data/curated/bilans.duckdb built and checked (findings, GE results and Data
    Docs in data/curated/bilans.gx), expectations/ the repository's suites."""
    from test_validate_helpers import store_of

    from pipelines.validate import validate_store
    from pipelines.validate.stored_results import gx_dir

    root = tmp_path_factory.mktemp("projet")
    db = root / "data" / "curated" / "bilans.duckdb"
    db.parent.mkdir(parents=True)
    (root / "expectations").symlink_to(ROOT / "expectations")
    con = store_of(root, {"d": (REPORT, "SIIM94", 2017)})
    validate_store(con, gx_dir=gx_dir(db))
    con.execute(f"ATTACH '{db}' AS disk")
    for t in [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_catalog = current_database()").fetchall()]:
        con.execute(f'CREATE TABLE disk."{t}" AS SELECT * FROM main."{t}"')
    con.execute("DETACH disk")
    con.close()
    return root


def _readme_ge_block() -> str:
    """The python block of the README's « La voie Great Expectations » section, as written."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### La voie Great Expectations", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL)[1]


def test_readme_ge_way_gives_the_pipeline_result(project, monkeypatch, capsys):
    import duckdb

    monkeypatch.chdir(project)
    namespace: dict = {"__name__": "readme"}
    exec(compile(_readme_ge_block(), "README.md", "exec"), namespace)
    resultat = namespace["resultat"]
    plain = {(u["document_id"], u["line"], u["rule"], u["found"], u["expected"])
             for r in resultat.results for u in r.result["unexpected_rows"]}
    assert plain == EXPECTED_TOTAUX and resultat.success is False
    # the pipeline's findings of the same suite, from the store
    from pipelines.validate.suite_specs import load_suites

    rules = load_suites()["totaux"]["meta"]["rules"]
    with duckdb.connect(str(project / "data" / "curated" / "bilans.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT document_id, line, rule, found, expected FROM findings WHERE rule IN ("
                             + ", ".join("?" * len(rules)) + ")", rules).fetchall()
    assert set(stored) == plain
    out = capsys.readouterr().out
    assert "expect_totals_to_foot : 2 constats sur 2 contrôles" in out
    assert "d 11 total.column 35 30" in out


def _totaux_frame():
    from pipelines.validate.frames import check_row, frame

    return frame([check_row(rule="total.column", document_id="d", line=3, table_id="d@1", valeur=35.0,
                            reference=30.0, unites=[1.0, 1.0], unite=1.0, denombrement=False, relation="=",
                            found="35", expected="30")])


def test_suite_on_a_batch_without_its_columns_fails():
    """Today's silent « success, 0 constat(s) sur 0 contrôle(s) » is a failed validation."""
    import great_expectations as gx
    import pandas as pd

    from pipelines.errors import BilansError
    from pipelines.validate.suites import ge_context, run_suites, suite

    rows = _totaux_frame()
    assert len(run_suites({"totaux": rows})) == 1  # the same rows with their columns: one finding
    bare = rows.drop(columns=["valeur", "reference"])
    with pytest.raises(BilansError) as err:
        run_suites({"totaux": bare})
    assert str(err.value) == ("suite « totaux » : le lot n'a pas les colonnes valeur, reference que lit "
                              "expect_totals_to_foot ; validation en échec, aucun constat n'a pu être établi")
    # the plain GE way: the expectation fails and says why
    context, _ = ge_context()
    lot = (context.data_sources.add_pandas("test_colonnes").add_dataframe_asset("lot")
           .add_batch_definition_whole_dataframe("tout"))
    result = lot.get_batch(batch_parameters={"dataframe": bare}).validate(suite("totaux"))
    assert result.success is False
    assert result.results[0].result["observed_value"] == "colonnes absentes du lot : valeur, reference"
    # a frame of other rows (no `rule`, no `statut`) is not « 0 constat sur 0 contrôle » either
    texte = gx.ExpectationSuite(**json.loads((ROOT / "expectations" / "texte.json").read_text(encoding="utf-8")))
    other = lot.get_batch(batch_parameters={"dataframe": pd.DataFrame({"commune": ["Ivry"], "montant": [3]})})
    result = other.validate(texte)
    assert result.success is False and all(not r.success for r in result.results)
    assert result.results[0].result["observed_value"] == (
        "colonnes absentes du lot : rule, severity, document_id, line, statut")


def test_report_reads_the_results_and_runs_no_validation(project, tmp_path):
    """`bilans report` copies the Data Docs of the check run; it does not even import GE."""
    code = ("import sys\nfrom pathlib import Path\nfrom pipelines.publish.authors import write_reports\n"
            f"write_reports(Path({str(project / 'data/curated/bilans.duckdb')!r}), Path({str(tmp_path)!r}))\n"
            "print('great_expectations' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False"
    site = project / "data" / "curated" / "bilans.gx" / "data_docs"
    copied = {p.relative_to(tmp_path / "data_docs") for p in (tmp_path / "data_docs").rglob("*.html")}
    assert copied == {p.relative_to(site) for p in site.rglob("*.html")}
    assert Path("validations/totaux.html") in copied and Path("expectations/totaux.html") in copied
    stored = json.loads((project / "data/curated/bilans.gx/validations/totaux.json").read_text(encoding="utf-8"))
    assert stored["success"] is False and stored["statistics"]["evaluated_expectations"] == 1


def test_a_suite_run_on_no_rows_drops_its_stored_result(project, tmp_path):
    import shutil

    import pandas as pd

    from pipelines.validate.suites import run_suites

    gx = tmp_path / "copie.gx"
    shutil.copytree(project / "data" / "curated" / "bilans.gx", gx)
    before = sorted(p.stem for p in (gx / "validations").glob("*.json"))
    assert "totaux" in before and "entetes" in before
    run_suites({"totaux": pd.DataFrame()}, gx_dir=gx)
    assert sorted(p.stem for p in (gx / "validations").glob("*.json")) == [s for s in before if s != "totaux"]
    index = (gx / "data_docs" / "index.html").read_text(encoding="utf-8")
    assert "validations/totaux.html" not in index and "validations/entetes.html" in index
    assert not (gx / "data_docs" / "validations" / "totaux.html").exists()


# GE 1.x's interface strings, written here independently of the translation table.
ENGLISH = {"Overview", "Status", "Status:", "Failed", "Succeeded", "Show more info...", "Statistics",
           "Evaluated Expectations", "Successful Expectations", "Unsuccessful Expectations", "Success Percent",
           "Table of Contents", "Home", "Expectation Validation Result", "Table-Level Expectations",
           "Observed Value", "Expectation", "Validation Filter:", "Show All", "Failed Only", "Info",
           "Run Name", "Run Time", "Batch Markers", "Batch Spec", "Batch Parameters", "Expectation Suite:",
           "Expectation Suite", "Expectation Suite Name", "Data documentation compiled by Great Expectations",
           "Subscribe", "Evaluates whether a batch of data matches expectations.",
           "A collection of Expectations defined for batches of data.", "Great Expectations Version"}
ENGLISH_STARTS = ("This Expectation suite currently contains", "Data asset:", "Stay current on everything GX",
                  "Expectations / ")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[tuple[str, dict]] = []
        self._skip = 0
        self.lang = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag in ("style", "script"):
            self._skip += 1
        self.links += [(tag, attrs)] if ("href" in attrs or "src" in attrs) else []

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_data_docs_are_french_and_offline(project):
    site = project / "data" / "curated" / "bilans.gx" / "data_docs"
    pages = sorted(site.rglob("*.html"))
    assert {p.relative_to(site).as_posix() for p in pages} >= {
        "index.html", "validations/totaux.html", "expectations/totaux.html"}
    english, broken, external = [], [], []
    for path in pages:
        page = _parse(path)
        assert page.lang == "fr", path
        english += [(path.name, t) for t in page.texts if t in ENGLISH or t.startswith(ENGLISH_STARTS)]
        for tag, attrs in page.links:
            url = attrs.get("href") or attrs.get("src")
            if re.match(r"(?i)(?:https?:)?//", url) and not re.match(r"(?i)(?:https?:)?//(?:127\.0\.0\.1|localhost)", url):
                external.append((path.name, url))
            elif not url.startswith(("#", "data:")) and not (path.parent / url.split("#")[0]).is_file():
                broken.append((path.name, tag, url))  # the favicon GE links one folder off, or a dead page
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""url\(\s*["']?(?:https?:)?//""", text), path
        assert not re.search(r"<script\b", text, re.IGNORECASE), path
    assert english == [] and broken == [] and external == []
    validation = _parse(site / "validations" / "totaux.html").texts
    for french in ("Vue d'ensemble", "Statut :", "En échec", "Plus de détails…", "Attentes évaluées"):
        assert french in validation
    # the findings themselves are untouched
    assert "Les totaux doivent être la somme de leurs lignes, à l'arrondi près (n·u/2)" in " ".join(validation)


def test_counts_and_percentages_of_ge_pages_are_written_the_french_way():
    """GE's « 1 total Expectations across 0 columns » and « 66.66666666666666% »: agreed counts, no
    « (s) », a decimal comma and a space before « % »; a finding's own text is left alone (None)."""
    from pipelines.validate.data_docs import translate

    assert translate("This Expectation suite currently contains 1 total Expectations across 0 columns.") \
        == "Cette suite contient 1 attente."
    assert translate("This Expectation suite currently contains 12 total Expectations across 0 columns.") \
        == "Cette suite contient 12 attentes."
    assert translate("0%") == "0\u00a0%"
    assert translate("66.66666666666666%") == "66,7\u00a0%"
    assert translate("Total 31 au lieu de 30") is None


def test_english_strings_of_the_table_are_the_ones_ge_writes():
    """Every entry of the table is a string GE writes: a wrong key would translate nothing."""
    import great_expectations

    from pipelines.validate.data_docs import strings_fr

    ge = Path(great_expectations.__file__).parent
    sources = "".join(p.read_text(encoding="utf-8") for p in [*ge.rglob("*.py"), *ge.rglob("*.j2")])
    strings, _ = strings_fr()
    assert [k for k in strings if k not in sources] == []


@pytest.mark.browser
@pytest.mark.parametrize("width", [1024, 1280])
def test_data_docs_findings_fit_the_page(project, width):
    """A validation page in Chromium: nothing sticks out of the page, the last column of the
    expectations (« Valeur observée ») is on screen or in a box that scrolls (it was cut), and no
    control that needs GE's scripts is offered (they did nothing offline)."""
    from chromium import CHROMIUM, CHROMIUM_ARGS

    if CHROMIUM is None:
        pytest.skip("chromium absent (installé par « make browser »)")
    from playwright.sync_api import sync_playwright

    page_path = project / "data" / "curated" / "bilans.gx" / "data_docs" / "validations" / "totaux.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(page_path.as_uri(), wait_until="load")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        # on screen, or in a box the reader scrolls (a narrow screen): never cut
        observed = page.evaluate("""Array.from(document.querySelectorAll('th'))
            .filter(th => th.innerText.trim() === 'Valeur observée')
            .map(th => { const box = th.closest('.table-responsive');
                         const scrolls = box && getComputedStyle(box).overflowX === 'auto'
                                         && box.scrollWidth > box.clientWidth;
                         return scrolls ? 0 : th.getBoundingClientRect().right; })""")
        # controls that need GE's scripts (absent offline) are not offered; no cell scrolls on its own
        dead = page.evaluate("""Array.from(document.querySelectorAll('label, a'))
            .filter(e => /Échecs seulement|Plus de détails/.test(e.innerText) && e.offsetParent !== null)
            .map(e => e.innerText.trim())""")
        boxed = page.evaluate("""Array.from(document.querySelectorAll('td .show-scrollbars'))
            .filter(e => e.scrollHeight > e.clientHeight + 1).length""")
        # the index: each suite's run time on one line (the date was cut in two at 1 300 px)
        page.goto((page_path.parents[1] / "index.html").as_uri(), wait_until="load")
        lines = page.evaluate("""Array.from(document.querySelectorAll('td.quand')).map(td => {
            const range = document.createRange(); range.selectNodeContents(td);
            return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size; })""")
        browser.close()
    assert lines and set(lines) == {1}
    assert overflow <= 0
    assert observed and all(right <= width for right in observed)
    assert dead == [] and boxed == 0
