"""Un seul flux (pipelines/flow.py) : les étapes ne remontent pas, `bilans check` trouve son magasin,
une construction incrémentale donne le magasin d'une construction complète."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_validate_helpers import TOC  # noqa: E402

from pipelines import flow, store  # noqa: E402
from pipelines.build import build  # noqa: E402
from pipelines.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VALIDATE = ROOT / "pipelines" / "validate"
UPSTREAM = ("pipelines.build", "pipelines.curate", "pipelines.flow", "pipelines.check")


def _imports(path: Path) -> set[str]:
    """Every module an import statement of the file names (module level or in a function)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_validate_imports_no_stage_before_it():
    offending = {
        str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.startswith(UPSTREAM))
        for p in VALIDATE.rglob("*.py")
    }
    assert {p: names for p, names in offending.items() if names} == {}


def test_the_ast_walk_sees_a_lazy_upstream_import(tmp_path):
    """The check above would see an import hidden in a function (what used to keep check.py quiet)."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from pipelines.build import extract_files\n    import pipelines.curate\n")
    assert {"pipelines.build", "pipelines.build.extract_files", "pipelines.curate"} <= _imports(sample)


def _modules() -> list[str]:
    pkgs = [ROOT / "pipelines" / "validate", ROOT / "pipelines"]
    names = [f"pipelines.validate.{p.stem}" for p in sorted(pkgs[0].glob("*.py")) if p.stem != "__init__"]
    return ["pipelines.validate", *names, "pipelines.flow", "pipelines.check", "pipelines.build", "pipelines.store"]


def test_each_module_imports_alone_in_a_fresh_interpreter():
    """No module-level import cycle: each module is imported first, in a fresh module table for the
    project (third-party modules stay loaded, to keep the test short)."""
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {_modules()!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'pipelines' or m.startswith('pipelines.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""


# ---------------------------------------------------------------- bilans check finds its store

OLD = ("Bilan d'activité 2017 du SIIM94\n\n1 Pôle SI\n\nCharge\n\n"
       "Domaines\t2016\t2017\nAction sociale\t81\t118\nFinances\t327\t340\nSanté\t191\t134\nTotal\t599\t592\n" + TOC)
NEW = ("Bilan d'activité 2018 du SIIM94\n\n1 Pôle SI\n\nCharge\n\n"
       "Domaines\t2017\t2018\nAction sociale\t118\t114\nFinances\t340\t437\nSanté\t150\t147\nTotal\t608\t698\n" + TOC)
RESTATED = [("vintage.restated", 10, "150", "134"), ("vintage.restated", 11, "608", "592")]


def _project(tmp_path: Path) -> Path:
    """A project folder (pyproject named atelier-bilans) whose store holds the 2017 report."""
    project = tmp_path / "projet"
    raw = project / "data" / "raw"
    raw.mkdir(parents=True)
    (project / "pyproject.toml").write_text(f'[project]\nname = "{store.PROJECT_NAME}"\n', encoding="utf-8")
    (raw / "siim94_2017.txt").write_text(OLD, encoding="utf-8")
    (raw / "manifest.csv").write_text("file,org,report_year\nsiim94_2017.txt,SIIM94,2017\n", encoding="utf-8")
    build(raw, project / store.DEFAULT_DB)
    return project


def _check_json(draft: Path, capsys) -> tuple[list[dict], str]:
    main(["check", str(draft), "--json", "--org", "SIIM94", "--year", "2018"])
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def _key(findings: list[dict]) -> list[tuple]:
    return sorted((f["rule"], f["line"], f["found"], f["expected"]) for f in findings)


def test_check_gives_the_same_findings_from_any_folder(tmp_path, monkeypatch, capsys):
    project = _project(tmp_path)
    capsys.readouterr()
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    draft = elsewhere / "b2018.txt"
    draft.write_text(NEW, encoding="utf-8")
    monkeypatch.delenv("BILANS_DB", raising=False)
    monkeypatch.setattr(store, "PACKAGE_ROOT", tmp_path / "paquet-sans-magasin")

    monkeypatch.chdir(project)
    at_root, err = _check_json(draft, capsys)
    assert [k for k in _key(at_root) if k[0].startswith("vintage")] == RESTATED and err == ""

    monkeypatch.chdir(project / "data" / "raw")  # a sub-folder of the project
    assert _key(_check_json(draft, capsys)[0]) == _key(at_root)

    monkeypatch.chdir(elsewhere)  # outside any project: BILANS_DB, then the installed package's project
    monkeypatch.setenv("BILANS_DB", str(project / store.DEFAULT_DB))
    assert _key(_check_json(draft, capsys)[0]) == _key(at_root)
    monkeypatch.delenv("BILANS_DB")
    monkeypatch.setattr(store, "PACKAGE_ROOT", project)
    assert _key(_check_json(draft, capsys)[0]) == _key(at_root)


def test_find_store_order(tmp_path, monkeypatch):
    project = tmp_path / "p"
    (project / "data" / "curated").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "atelier-bilans"\n', encoding="utf-8")
    (project / store.DEFAULT_DB).write_bytes(b"")
    other = tmp_path / "autre"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "autre-chose"\n', encoding="utf-8")
    monkeypatch.setattr(store, "PACKAGE_ROOT", tmp_path / "nulle-part")
    monkeypatch.setenv("BILANS_DB", "/x/env.duckdb")
    assert store.find_store("/x/option.duckdb", cwd=project) == (Path("/x/option.duckdb"), "--db")
    assert store.find_store(None, cwd=project) == (Path("/x/env.duckdb"), "BILANS_DB")
    monkeypatch.delenv("BILANS_DB")
    assert store.find_store(None, cwd=project / "data") == (project / store.DEFAULT_DB, "projet")
    assert store.find_store(None, cwd=other) == (None, "")  # another project's pyproject is not ours
    monkeypatch.setattr(store, "PACKAGE_ROOT", project)
    assert store.find_store(None, cwd=other) == (project / store.DEFAULT_DB, "paquet")


def test_no_store_is_said_in_one_line_and_in_the_json(tmp_path, monkeypatch, capsys):
    draft = tmp_path / "b2018.txt"
    draft.write_text(NEW, encoding="utf-8")
    monkeypatch.delenv("BILANS_DB", raising=False)
    monkeypatch.setattr(store, "PACKAGE_ROOT", tmp_path / "paquet")
    monkeypatch.chdir(tmp_path)
    found, err = _check_json(draft, capsys)
    assert err.count("\n") == 1 and "aucun magasin trouvé" in err
    assert "vintage.restated" in err and "series.break" in err
    info = [f for f in found if f["rule"] == "check.magasin"]
    assert len(info) == 1 and info[0]["severity"] == "info" and info[0]["document"] == str(draft)
    assert info[0]["message"] in err and info[0]["line"] is None
    assert not [f for f in found if f["rule"].startswith("vintage")]


def test_a_project_without_its_store_says_to_build_it(tmp_path, monkeypatch, capsys):
    project = tmp_path / "projet"
    (project / "rapports").mkdir(parents=True)
    (project / "pyproject.toml").write_text(f'[project]\nname = "{store.PROJECT_NAME}"\n', encoding="utf-8")
    draft = project / "rapports" / "b2018.txt"
    draft.write_text(NEW, encoding="utf-8")
    monkeypatch.delenv("BILANS_DB", raising=False)
    monkeypatch.setattr(store, "PACKAGE_ROOT", tmp_path / "paquet")
    monkeypatch.chdir(project / "rapports")
    found, err = _check_json(draft, capsys)
    assert err.count("\n") == 1
    assert f"magasin du projet {project} pas encore construit ({store.DEFAULT_DB} absent)" in err
    assert "« bilans build »" in err


# ---------------------------------------------------------------- incremental builds

def _report(org: str, year: int, figures: tuple[int, int, int]) -> str:
    a, b, c = figures
    return (f"Bilan d'activité {year} du {org}\n\n1 Pôle SI\n\nCharge\n\n"
            f"Domaines\t{year - 1}\t{year}\nAction sociale\t{a}\t{a + 3}\nFinances\t{b}\t{b + 7}\n"
            f"Santé\t{c}\t{c + 1}\nTotal\t{a + b + c}\t{a + b + c + 11}\n\n"
            f"Le pôle a réalisé {a + b + c + 11} jours en {year}.\n" + TOC)


REPORTS = {  # file -> (org, year, figures of year - 1); 2018 restates a 2017 figure of 2017
    "siim94_2017.txt": ("SIIM94", 2017, (81, 327, 191)),
    "siim94_2018.txt": ("SIIM94", 2018, (84, 334, 150)),
    "sii_2018.txt": ("SII", 2018, (40, 50, 60)),
    "sii_2019.txt": ("SII", 2019, (43, 57, 61)),
}


def _corpus(raw: Path, files: list[str]) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for name in files:
        if not (raw / name).exists():
            org, year, figures = REPORTS[name]
            (raw / name).write_text(_report(org, year, figures), encoding="utf-8")
    lines = ["file,org,report_year,title"] + [f"{n},{REPORTS[n][0]},{REPORTS[n][1]},bilan {n}" for n in files]
    (raw / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


# tables computed at build from the others (metrics.create_metric_views, points.STORED_FIGURES)
DERIVED = ("metriques_millesimes", "chiffres_comparables")


def _tables(db: Path) -> dict[str, list]:
    """Every table of a store, the derived ones included, rows sorted (order-insensitive)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        present = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        # a derived table absent (a store built without its checks has no figures to compare) is a key less
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall()))
                for t in (*store.SCHEMA, *DERIVED) if t in store.SCHEMA or t in present}
    finally:
        con.close()


def test_incremental_build_equals_a_full_build(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the store quotes paths relative to the working folder
    files = list(REPORTS)
    _corpus(Path("full"), files)
    build(Path("full"), Path("full.duckdb"), incremental=False)
    full = _tables(Path("full.duckdb"))
    assert any(r for r in full["findings"] if "vintage.restated" in r)  # a cross-report finding to redo

    inc = Path("inc")
    inc.mkdir()
    for name in files:
        (inc / name).write_bytes((Path("full") / name).read_bytes())
    _corpus(inc, files[:3])  # the store before the new SII report
    build(inc, Path("inc.duckdb"))
    _corpus(inc, files)
    capsys.readouterr()
    build(inc, Path("inc.duckdb"))
    said = capsys.readouterr().out
    assert "4 documents dont 3 repris du magasin précédent" in said
    got = _tables(Path("inc.duckdb"))
    full = {t: [r.replace("'full/", "'inc/") for r in rows] for t, rows in full.items()}  # the folder differs
    full = {t: sorted(rows) for t, rows in full.items()}
    assert {t: rows for t, rows in got.items() if rows != full[t]} == {}


def _metrics_computed(monkeypatch) -> tuple[list[str], list[list]]:
    """What each build that follows does of metriques_millesimes: (« all » or « some » per computation
    of metric rows, the (org, report_year) given as changed by each incremental build)."""
    from pipelines import metrics

    computed: list[str] = []
    changed: list[list] = []
    sql, views = metrics._metrics_sql, metrics.create_metric_views

    def spy_sql(declared, only=""):
        computed.append("some" if only else "all")
        return sql(declared, only)

    def spy_views(con, path=metrics.DECLARATIONS, previous=None):
        if previous is not None:
            changed.append(con.execute(f"SELECT * FROM {previous[1]} ORDER BY ALL").fetchall())
        return views(con, path, previous)

    monkeypatch.setattr(metrics, "_metrics_sql", spy_sql)
    monkeypatch.setattr(metrics, "create_metric_views", spy_views)
    return computed, changed


def test_metrics_of_the_unchanged_reports_are_copied(tmp_path, monkeypatch, capsys):
    """metriques_millesimes: an added report has its (org, year)'s rows computed, the others are copied
    from the previous store, and the table is a full build's; under other metrics SQL (its digest,
    the table's comment) every row is computed again."""
    monkeypatch.chdir(tmp_path)
    files = list(REPORTS)
    _corpus(Path("full"), files)
    build(Path("full"), Path("full.duckdb"), incremental=False)
    full = _tables(Path("full.duckdb"))["metriques_millesimes"]
    assert {r.split(", ")[2] for r in full} == {"'SII'", "'SIIM94'"}  # both organismes print metrics
    _corpus(Path("inc"), files[:3])
    build(Path("inc"), Path("inc.duckdb"))
    _corpus(Path("inc"), files)
    computed, changed = _metrics_computed(monkeypatch)
    build(Path("inc"), Path("inc.duckdb"))
    assert changed == [[("SII", 2019)]]
    assert computed == ["all", "some"]  # the digest of the whole SQL, then the rows of SII 2019 only
    assert _tables(Path("inc.duckdb"))["metriques_millesimes"] == full

    con = duckdb.connect(str(Path("inc.duckdb")))
    con.execute("COMMENT ON TABLE metriques_millesimes IS 'autre calcul'")
    con.execute("DELETE FROM metriques_millesimes WHERE org = 'SIIM94'")  # what another SQL would not have made
    con.close()
    computed.clear()
    build(Path("inc"), Path("inc.duckdb"))
    assert computed == ["all"]
    assert _tables(Path("inc.duckdb"))["metriques_millesimes"] == full


def test_a_changed_document_or_reader_is_read_again(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    raw = Path("raw")
    _corpus(raw, list(REPORTS))
    build(raw, Path("s.duckdb"))
    # the 2018 report corrected: its bytes change, the SIIM94 findings are redone (no more restatement)
    text = (raw / "siim94_2018.txt").read_text(encoding="utf-8").replace("Santé\t150", "Santé\t192")
    (raw / "siim94_2018.txt").write_text(text.replace("Total\t568", "Total\t610"), encoding="utf-8")
    capsys.readouterr()
    build(raw, Path("s.duckdb"))
    assert "dont 3 repris" in capsys.readouterr().out
    build(raw, Path("ref.duckdb"), incremental=False)
    assert _tables(Path("s.duckdb")) == _tables(Path("ref.duckdb"))
    assert not [r for r in _tables(Path("s.duckdb"))["findings"] if "vintage.restated" in r and "'warning'" in r]

    monkeypatch.setattr(flow, "reader_version", lambda: "autre-lecteur")
    capsys.readouterr()
    build(raw, Path("s.duckdb"))
    assert "repris" not in capsys.readouterr().out


@pytest.mark.parametrize("total,every", [(1600, 160), (39, 0)])
def test_progress_of_a_long_corpus(total, every):
    said: list[str] = []
    progress = flow.Progress(total, said.append)
    for _ in range(total):
        progress.tick()
    assert len(said) == (total // every if every else 0)
    if said:
        assert said[0].startswith("  lecture : 160/1\u202f600 documents (10 %), ") and said[0].endswith(" s")
        assert said[-1].startswith("  lecture : 1\u202f600/1\u202f600 documents (100 %)")


def test_seconds_in_french():
    """bilans build says its durations and its progress with the command line's one formatter."""
    from pipelines import terminal
    from pipelines.terminal import duree

    assert flow.Progress is terminal.Progress
    assert duree(8.24) == "8,2 s" and duree(1234.56) == "1\u202f234,6 s"


def test_findings_in_batches_equal_findings_of_the_whole_store(tmp_path, monkeypatch):
    """Memory bounded by a batch of reports: batches of one report give the findings of the whole
    store, cross-report ones included (the restated 2017 figure)."""
    from pipelines.validate import findings, findings_in_batches

    monkeypatch.chdir(tmp_path)
    _corpus(Path("raw"), list(REPORTS))
    build(Path("raw"), Path("s.duckdb"), validate=False)
    con = duckdb.connect("s.duckdb", read_only=True)
    try:
        whole = findings(con).to_dict("records")
        for ids in (None, ["siim94_2018", "sii_2019"]):
            batched = findings_in_batches(con, ids, batch=1).to_dict("records")
            expected = [f for f in whole if ids is None or f["document_id"] in ids]
            assert sorted(map(repr, batched)) == sorted(map(repr, expected))
    finally:
        con.close()
    assert any(f["rule"] == "vintage.restated" and f["severity"] == "warning" for f in whole)


# ---------------------------------------------------------------- incremental builds: cross-report findings

MILLESIMES = ROOT / "tests" / "fixtures" / "millesimes"
SII_2021_RESTATED = (("412 350,20 €\t455 020,00 €", "415 350,20 €\t455 020,00 €"),  # chapter 70 of 2020 restated
                     ("3 594 860,55 €\t3 697 000,10 €", "3 597 860,55 €\t3 697 000,10 €"))  # and its total


def _sii(raw: Path, years: list[int]) -> None:
    """The invented SII reports of `years` (tests/fixtures/millesimes/), the 2021 one restating two
    2020 figures, beside the two SIIM94 reports of REPORTS (an organisme that does not change)."""
    raw.mkdir(parents=True, exist_ok=True)
    for year in years:
        text = (MILLESIMES / f"sii_{year}.txt").read_text(encoding="utf-8")
        for old, new in SII_2021_RESTATED if year == 2021 else ():
            assert old in text
            text = text.replace(old, new)
        (raw / f"sii_{year}.txt").write_text(text, encoding="utf-8")
    siim = ["siim94_2017.txt", "siim94_2018.txt"]
    _corpus(raw, siim)
    lines = [f"sii_{y}.txt,SII,{y},Rapport d'activité {y} du SII" for y in years]
    with open(raw / "manifest.csv", "a", encoding="utf-8") as manifest:
        manifest.write("\n".join(lines) + "\n")


def _findings(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT document_id, line, rule, severity, found, expected, scope FROM findings "
                           "ORDER BY ALL").fetchall()
    finally:
        con.close()


def _gx(db: Path) -> dict[str, dict]:
    """GE's stored result of each suite beside the store (bilans.gx/validations/*.json), without the
    time of its run: what a full build and an incremental one must give alike."""
    from pipelines.validate.stored_results import gx_dir, stored

    out = {}
    for name, result in stored(gx_dir(db)).items():
        result["meta"] = {k: v for k, v in result["meta"].items() if k != "run_id"}
        out[name] = result
    return out


def _counts(gx: dict[str, dict]) -> dict[str, list[tuple]]:
    """suite -> (expectation, element_count, unexpected_count, success) of each expectation."""
    return {name: [(r["expectation_config"]["type"], r["result"]["element_count"], r["result"]["unexpected_count"],
                    r["success"]) for r in result["results"]] for name, result in gx.items()}


INDEX_ROW = re.compile(r'<tr><td><a href="expectations/(\w+)\.html">.*?</td><td>.*?</td><td>(\d+)</td>'
                       r'<td><span class="(ok|ko)">([^<]*)</span>')


def _index(db: Path) -> list[tuple]:
    """The rows of the Data Docs index: (suite, rows checked, ok|ko, what it says)."""
    from pipelines.validate.stored_results import DATA_DOCS, gx_dir

    page = (gx_dir(db) / DATA_DOCS / "index.html").read_text(encoding="utf-8")
    return [(m[1], int(m[2]), m[3], m[4]) for m in INDEX_ROW.finditer(page)]


def _same_gx(inc: Path, full: Path) -> None:
    """The stored results and the Data Docs index of `inc` are those of the full build `full`, and
    the index gives the corpus' counts (the sum of the stored results)."""
    got, expected = _gx(inc), _gx(full)
    assert _counts(got) == _counts(expected)
    assert got == expected  # unexpected rows, their check_id and index list included
    index = _index(inc)
    assert index == _index(full)
    assert [(name, checked) for name, checked, _, _ in index] == [
        (name, sum(r["result"]["element_count"] for r in result["results"])) for name, result in expected.items()]


def _checked_alone(monkeypatch) -> list[str]:
    """The reports the single-report rules read during the builds that follow."""
    from pipelines import validate

    seen: list[str] = []
    frames = validate._report_frames

    def spy(con, chunk):
        seen.extend(chunk)
        return frames(con, chunk)

    monkeypatch.setattr(validate, "_report_frames", spy)
    return seen


def test_a_report_added_before_a_reused_one_gives_the_findings_of_a_full_build(tmp_path, monkeypatch, capsys):
    """The 2020 report comes after the 2021 one was built: the reused 2021 report now restates two of
    its figures (cross-report findings of a reused report), its own findings are kept, the SIIM94
    reports keep all of theirs; the store equals a full build's, findings included."""
    monkeypatch.chdir(tmp_path)
    _sii(Path("inc"), [2021])
    build(Path("inc"), Path("inc.duckdb"))
    before = _findings(Path("inc.duckdb"))
    assert not [f for f in before if f[0] == "sii_2021" and f[2] == "vintage.restated" and f[3] == "warning"]

    _sii(Path("inc"), [2020, 2021])
    checked, compared = _checked_alone(monkeypatch), _compared(monkeypatch)
    capsys.readouterr()
    build(Path("inc"), Path("inc.duckdb"))
    said = capsys.readouterr().out
    assert "4 documents dont 3 repris du magasin précédent" in said
    assert checked == ["sii_2020"]  # the reused reports' own findings were copied, not redone
    assert compared == ["sii_2020", "sii_2021"]  # the 2021 report now has an earlier one to compare with
    # the tables of no family of a reused report are still said, in the manifest's order
    assert "2 tableaux non rattachés à une famille :\n    sii_2020@4 « Sommaire »\n    sii_2021@4 « Sommaire »" in said

    _sii(Path("full"), [2020, 2021])
    build(Path("full"), Path("full.duckdb"), incremental=False)
    got = _findings(Path("inc.duckdb"))
    assert got == _findings(Path("full.duckdb"))
    restated = [(f[0], f[4], f[5], f[6]) for f in got
                if f[0].startswith("sii_") and f[2] == "vintage.restated" and f[3] == "warning"]
    assert restated == [("sii_2021", "415 350,20 €", "412 350,20 €", "entre_rapports"),
                        ("sii_2021", "3 597 860,55 €", "3 594 860,55 €", "entre_rapports")]
    assert {f[6] for f in got if f[0] == "sii_2021" and f[2].startswith("total.")} <= {"rapport"}
    full = {t: [r.replace("'full/", "'inc/") for r in rows] for t, rows in _tables(Path("full.duckdb")).items()}
    assert {t: rows for t, rows in _tables(Path("inc.duckdb")).items() if rows != sorted(full[t])} == {}
    # GE's results and Data Docs describe the whole corpus, not the reports checked again
    _same_gx(Path("inc.duckdb"), Path("full.duckdb"))
    millesimes = _gx(Path("inc.duckdb"))["millesimes"]["results"][0]["result"]
    assert [u["document_id"] for u in millesimes["unexpected_rows"]] == ["sii_2021", "sii_2021",
                                                                        "siim94_2018", "siim94_2018"]
    assert ("millesimes", millesimes["element_count"], "ko", "4 constats") in _index(Path("inc.duckdb"))


def _compared(monkeypatch) -> list[str]:
    """The reports the cross-report rules check during the builds that follow."""
    from pipelines import validate

    seen: list[str] = []
    frames = validate._organisme_frames

    def spy(con, ids, targets, *batch):
        seen.extend(targets)
        return frames(con, ids, targets, *batch)

    monkeypatch.setattr(validate, "_organisme_frames", spy)
    return seen


def test_a_report_added_after_the_reused_ones_leaves_their_comparisons(tmp_path, monkeypatch, capsys):
    """The 2021 report comes after the 2020 one: the 2020 report compares its figures with earlier
    reports only, so it keeps its cross-report findings too (only its organisme-wide series are
    redone); the new report restates two of its figures; the store equals a full build's."""
    monkeypatch.chdir(tmp_path)
    _sii(Path("inc"), [2020])
    build(Path("inc"), Path("inc.duckdb"))
    _sii(Path("inc"), [2020, 2021])
    checked, compared = _checked_alone(monkeypatch), _compared(monkeypatch)
    capsys.readouterr()
    build(Path("inc"), Path("inc.duckdb"))
    assert "4 documents dont 3 repris du magasin précédent" in capsys.readouterr().out
    assert (checked, compared) == (["sii_2021"], ["sii_2021"])

    _sii(Path("full"), [2020, 2021])
    build(Path("full"), Path("full.duckdb"), incremental=False)
    got = _findings(Path("inc.duckdb"))
    assert got == _findings(Path("full.duckdb"))
    assert [(f[0], f[4], f[5]) for f in got if f[0].startswith("sii_") and f[2] == "vintage.restated"
            and f[3] == "warning"] == [("sii_2021", "415 350,20 €", "412 350,20 €"),
                                       ("sii_2021", "3 597 860,55 €", "3 594 860,55 €")]
    _same_gx(Path("inc.duckdb"), Path("full.duckdb"))


def test_a_report_removed_takes_its_cross_report_findings_away(tmp_path, monkeypatch, capsys):
    """The 2020 report leaves the manifest (--force): the 2021 one no longer restates anything, and
    no report is read again."""
    monkeypatch.chdir(tmp_path)
    _sii(Path("raw"), [2020, 2021])
    build(Path("raw"), Path("s.duckdb"))
    assert [f for f in _findings(Path("s.duckdb")) if f[0] == "sii_2021" and f[2] == "vintage.restated"]
    _sii(Path("raw"), [2021])
    (Path("raw") / "manifest.csv").write_text(  # _sii appends: keep the SIIM94 lines and the 2021 one
        "\n".join(ln for ln in (Path("raw") / "manifest.csv").read_text(encoding="utf-8").splitlines()
                  if "sii_2020" not in ln) + "\n", encoding="utf-8")
    checked = _checked_alone(monkeypatch)
    build(Path("raw"), Path("s.duckdb"), force=True)
    assert checked == []
    build(Path("raw"), Path("ref.duckdb"), incremental=False)
    assert _findings(Path("s.duckdb")) == _findings(Path("ref.duckdb"))
    assert not [f for f in _findings(Path("s.duckdb")) if f[0] == "sii_2021" and f[2] == "vintage.restated"]
    _same_gx(Path("s.duckdb"), Path("ref.duckdb"))
    assert not [u for u in _gx(Path("s.duckdb"))["totaux"]["results"][0]["result"]["unexpected_rows"]
                if u["document_id"] == "sii_2020"]
    assert "sii_2020" not in {p[0] for p in _parts(Path("s.duckdb"))}


def _sum_of_parts_is_one_validation(db: Path, direct: Path) -> None:
    """The results written from the store's parts count what GE counts when it judges every check
    row of the store in one batch per suite (validate.findings): rows judged, rows flagged (the same
    ones) and success of each expectation; the rows flagged are listed report by report."""
    from pipelines.validate import findings
    from pipelines.validate.stored_results import stored

    con = duckdb.connect(str(db), read_only=True)
    try:
        findings(con, gx_dir=direct)
    finally:
        con.close()
    one, parts = stored(direct), _gx(db)
    assert _counts(parts) == _counts(one) and parts["millesimes"]["results"][0]["result"]["unexpected_count"] == 4

    def flagged(results: dict) -> dict[str, list]:
        return {name: [[{k: v for k, v in u.items() if k != "check_id"} for u in r["result"]["unexpected_rows"]]
                       for r in result["results"]] for name, result in results.items()}

    def by_report(rows: list[dict]) -> list[dict]:
        return sorted(rows, key=lambda u: u["document_id"])  # stable: GE's order within a report

    assert flagged(parts) == {name: [by_report(rows) for rows in kinds] for name, kinds in flagged(one).items()}
    for result in parts.values():  # check_id counts the suite's rows, report after report
        for r in result["results"]:
            ids = [u["check_id"] for u in r["result"]["unexpected_rows"]]
            assert ids == sorted(ids) and r["result"]["unexpected_index_list"] == [{"check_id": i} for i in ids]


def _parts(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT document_id, scope, suite, n_rows FROM gx_parts ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_a_build_that_changes_nothing_leaves_the_results_of_the_whole_corpus(tmp_path, monkeypatch, capsys):
    """After an incremental build, a build that reads nothing again still has the results of a full
    build beside it; it writes them again only when they no longer are those of the store (removed,
    or written by other checks); a change of the checks redoes everything; --no-validate removes them
    and the next build with its checks writes them for the whole corpus."""
    from pipelines.validate.stored_results import STAMP, gx_dir

    monkeypatch.chdir(tmp_path)
    _sii(Path("full"), [2020, 2021])
    build(Path("full"), Path("full.duckdb"), incremental=False)
    _sum_of_parts_is_one_validation(Path("full.duckdb"), tmp_path / "d.gx")
    _sii(Path("inc"), [2021])
    build(Path("inc"), Path("inc.duckdb"))
    _sii(Path("inc"), [2020, 2021])
    build(Path("inc"), Path("inc.duckdb"))
    stamp = (gx_dir("inc.duckdb") / STAMP).read_text(encoding="utf-8")
    capsys.readouterr()
    build(Path("inc"), Path("inc.duckdb"))
    assert "4 documents dont 4 repris" in capsys.readouterr().out
    _same_gx(Path("inc.duckdb"), Path("full.duckdb"))
    assert (gx_dir("inc.duckdb") / STAMP).read_text(encoding="utf-8") == stamp  # not written again

    (gx_dir("inc.duckdb") / "validations" / "totaux.json").unlink()  # a folder that no longer says the store
    build(Path("inc"), Path("inc.duckdb"))
    _same_gx(Path("inc.duckdb"), Path("full.duckdb"))

    checked = _checked_alone(monkeypatch)
    monkeypatch.setattr(flow, "checks_version", lambda: "autres-controles")
    build(Path("inc"), Path("inc.duckdb"))
    assert sorted(checked) == ["sii_2020", "sii_2021", "siim94_2017", "siim94_2018"]
    _same_gx(Path("inc.duckdb"), Path("full.duckdb"))

    build(Path("inc"), Path("inc.duckdb"), validate=False)
    assert not gx_dir("inc.duckdb").exists() and _parts(Path("inc.duckdb")) == []
    build(Path("inc"), Path("inc.duckdb"))
    _same_gx(Path("inc.duckdb"), Path("full.duckdb"))


def _repere(year: int, figures: str) -> str:
    """A report whose section « 1 Activité » repeats prose figures (« - Mandats émis : 76070 »)."""
    return (f"Bilan d'activité {year} du SIIM94\n\n1 Activité\n\nQuelques points de repère {year}\n\n"
            f"{figures}\nFin du rapport.\n" + TOC)


def test_a_report_of_the_same_year_leaves_the_copied_blocks_of_the_others(tmp_path, monkeypatch, capsys):
    """A second 2018 report repeating two 2017 figures under a heading named as the first 2018 report's:
    each report copied two figures, no block of three (vintage.stale), before and after the second
    report comes; the first keeps its cross-report findings (a report of the same year is not compared
    with it) and the store equals a full build's."""
    monkeypatch.chdir(tmp_path)
    copied = "- Mandats émis : 76070\n- Titres émis : 19207\n"
    texts = {"r2017.txt": (2017, copied + "- Factures : 324 000 factures\n"), "a2018.txt": (2018, copied),
             "b2018.txt": (2018, copied)}

    def corpus(raw: Path, names: list[str]) -> None:
        raw.mkdir(exist_ok=True)
        for name in names:
            (raw / name).write_text(_repere(*texts[name]), encoding="utf-8")
        (raw / "manifest.csv").write_text("file,org,report_year,title\n" + "".join(
            f"{n},SIIM94,{texts[n][0]},bilan {n}\n" for n in names), encoding="utf-8")

    corpus(Path("inc"), ["r2017.txt", "a2018.txt"])
    build(Path("inc"), Path("inc.duckdb"))
    corpus(Path("inc"), list(texts))
    compared = _compared(monkeypatch)
    build(Path("inc"), Path("inc.duckdb"))
    assert compared == ["b2018"]
    corpus(Path("full"), list(texts))
    build(Path("full"), Path("full.duckdb"), incremental=False)
    got = _findings(Path("inc.duckdb"))
    assert got == _findings(Path("full.duckdb"))
    assert not [f for f in got if f[2] == "vintage.stale"]


@contextmanager
def sii_store(tmp_path: Path, monkeypatch):
    """(read-only connection, document ids) of a store of SII 2020 and 2021 and the two SIIM94 seeds,
    built without its checks in `tmp_path`."""
    monkeypatch.chdir(tmp_path)
    _sii(Path("raw"), [2020, 2021])
    build(Path("raw"), Path("s.duckdb"), validate=False)
    con = duckdb.connect("s.duckdb", read_only=True)
    try:
        yield con, [r[0] for r in con.execute("SELECT document_id FROM documents ORDER BY document_id").fetchall()]
    finally:
        con.close()


def test_dated_figures_read_from_duckdb_are_those_of_the_loaded_reports(tmp_path, monkeypatch):
    """The cross-report checks read the figures under a year from SQL (no report loaded): the same
    rows, in the same order, as from the reports loaded in Python."""
    from pipelines.validate.frames import load
    from pipelines.validate.text import table_figures
    from pipelines.validate.vintages import dated_figures, stored_dated_figures

    with sii_store(tmp_path, monkeypatch) as (con, ids):
        store = load(con, ids)
        loaded = dated_figures(store, table_figures(store))
        stored = stored_dated_figures(con, ids)
    keys = list(stored[0])
    assert len(loaded) > 50 and {c["year"] for c in loaded} >= {2016, 2017, 2020}
    assert [tuple(c[k] for k in keys) for c in stored] == [tuple(c[k] for k in keys) for c in loaded]


def test_result_parts_number_the_rows_as_the_suites_do():
    """GE numbers a suite's check rows once sorted (row_order.ROW_ORDER): a flagged row goes to the part of
    its own document, whatever the order the rules gave the rows in (at 400 reports, the parts of one
    report held the findings of another, and an incremental build's GE results differed from a full one's)."""
    from types import SimpleNamespace

    import pandas as pd

    from pipelines.validate.row_order import in_order
    from pipelines.validate.stored_results import part_rows

    frame = pd.DataFrame({"document_id": ["b", "a", "b", "a"], "line": [9, 5, 2, 7], "table_id": ["b@1", "a@1", "b@1", "a@1"],
                          "rule": ["total.column"] * 4, "found": ["1", "2", "3", "4"], "expected": ["0"] * 4,
                          "message": ["m"] * 4, "scope": ["rapport"] * 4})
    judged = in_order(frame)  # what GE numbered: a 5, a 7, b 2, b 9
    flagged = [{"check_id": i, "document_id": judged.at[i, "document_id"], "line": int(judged.at[i, "line"])}
               for i in (1, 3)]  # a 7 and b 9
    result = SimpleNamespace(results=[SimpleNamespace(expectation_config=SimpleNamespace(type="expect_totals_to_foot"),
                                                      result={"element_count": 4, "unexpected_rows": flagged})])
    parts = {p["document_id"]: json.loads(p["part"])["expect_totals_to_foot"] for p in part_rows("totaux", frame, result)}
    assert parts["a"]["unexpected_rows"] == [{"check_id": 1, "document_id": "a", "line": 7}]
    assert parts["b"]["unexpected_rows"] == [{"check_id": 1, "document_id": "b", "line": 9}]
    assert parts["a"]["element_count"] == parts["b"]["element_count"] == 2


def test_reports_moved_to_another_folder_quote_their_new_paths(tmp_path, monkeypatch, capsys):
    """vintage.duplicate names the files of the documents of a year. Moved to another folder (same
    bytes), the reports are reused, and the findings of their organisme quote their new paths, as a
    full build does; a build that moves nothing keeps every finding."""
    (tmp_path / "inc").mkdir()
    (tmp_path / "full").mkdir()
    monkeypatch.chdir(tmp_path / "inc")

    def corpus(raw: Path) -> None:
        raw.mkdir()
        files = {"sii_2018.txt": (2018, 60), "sii_2018b.txt": (2018, 61), "sii_2019.txt": (2019, 62)}
        for name, (year, last) in files.items():
            (raw / name).write_text(_report("SII", year, (40, 50, last)), encoding="utf-8")
        lines = ["file,org,report_year,title"] + [f"{n},SII,{y},bilan {n}" for n, (y, _) in files.items()]
        (raw / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    corpus(Path("avant"))
    build(Path("avant"), Path("s.duckdb"))
    checked = _checked_alone(monkeypatch)
    build(Path("avant"), Path("s.duckdb"))
    assert checked == []
    Path("avant").rename("apres")
    capsys.readouterr()
    build(Path("apres"), Path("s.duckdb"))
    assert "3 documents dont 3 repris" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path / "full")
    corpus(Path("apres"))
    build(Path("apres"), Path("s.duckdb"), incremental=False)
    moved, full = _tables(tmp_path / "inc" / "s.duckdb"), _tables(tmp_path / "full" / "s.duckdb")
    assert {t: rows for t, rows in moved.items() if rows != full[t]} == {}
    con = duckdb.connect(str(tmp_path / "inc" / "s.duckdb"), read_only=True)
    try:
        said = [m for (m,) in con.execute("SELECT message FROM findings WHERE rule = 'vintage.duplicate'").fetchall()]
    finally:
        con.close()
    assert len(said) == 2 and all("(apres/sii_2018.txt)" in m and "avant/" not in m for m in said)
