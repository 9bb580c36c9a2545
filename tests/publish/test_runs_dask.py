"""`bilans run --scheduler`: the runs sent to an existing Dask cluster (a LocalCluster on 127.0.0.1)."""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from distributed import LocalCluster

from pipelines import cli
from pipelines.errors import BilansError
from pipelines.publish import analyses as a
from pipelines.publish import runs
from pipelines.publish.runs import STATE_FILE, run_notebooks


@pytest.fixture(scope="module")
def scheduler():
    # one worker thread in this process: quick to start; execute() takes its per-process lock
    with LocalCluster(n_workers=1, **{**runs.LOCAL_CLUSTER, "processes": False}, protocol="tcp") as cluster:
        yield cluster.scheduler_address


def test_runs_on_existing_cluster_write_outputs_and_skip_unchanged(fixture_store, tmp_path, scheduler):
    templates = tmp_path / "templates"
    shutil.copytree(a.ROOT / "notebooks", templates)
    broken = nbformat.read(templates / "exploration.ipynb", as_version=4)
    broken.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("carnet cassé exprès")'))
    nbformat.write(broken, templates / "exploration.ipynb")
    out = tmp_path / "reports" / "analyses"
    lines: list[str] = []

    code = run_notebooks(fixture_store, org="SII", out_dir=out, templates_dir=templates, echo=lines.append,
                         templates=("pole_si", "exploration"), scheduler=scheduler)
    assert code == 1  # one run failed on the cluster: the exit code says so, as with the process pool
    state = json.loads((out / STATE_FILE).read_text())["runs"]
    assert state["SII/2018/pole_si"]["status"] == "ok"
    assert state["SII/2018/exploration"]["status"] == "échec"
    assert "carnet cassé exprès" in state["SII/2018/exploration"]["error"]
    # the worker wrote the outputs into the shared folder itself
    assert (out / "SII/2018/pole_si.ipynb").exists() and (out / "SII/2018/pole_si.html").exists()
    assert "Études" in (out / "SII/2018/pole_si.html").read_text()
    assert 'href="SII/2018/pole_si.html"' in (out / "index.html").read_text()
    assert any(line.startswith("  échec : SII 2018 exploration") for line in lines)
    progress = sorted(line for line in lines if line.startswith("["))
    assert len(progress) == 2 and all(line.endswith(" s)") or " s) — " in line for line in progress)

    # second run: the successful run is up to date and skipped, the failed one retried
    lines.clear()
    code = run_notebooks(fixture_store, org="SII", out_dir=out, templates_dir=templates, echo=lines.append,
                         templates=("pole_si", "exploration"), scheduler=scheduler)
    assert code == 1
    assert lines[0] == "2 exécutions prévues : 1 à faire, 1 à jour (ignorée)."
    assert [line.split("] ")[1].split(" :")[0] for line in lines if line.startswith("[")] == ["SII 2018 exploration"]


def test_unreachable_scheduler_is_one_french_line(fixture_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runs, "CONNECT_TIMEOUT_S", 1)
    monkeypatch.chdir(tmp_path)  # reports/ of the command line, if anything were written
    with pytest.raises(BilansError, match=r"^ordonnanceur Dask injoignable : tcp://127\.0\.0\.1:9 "):
        run_notebooks(fixture_store, org="SII", pole="si", out_dir=tmp_path / "a", scheduler="tcp://127.0.0.1:9")
    # through the command line: exit 2 and the message, no traceback
    code = cli.main(["--db", str(fixture_store), "run", "--org", "SII", "--pole", "si",
                     "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("bilans : ordonnanceur Dask injoignable : tcp://127.0.0.1:9 (")
    assert "Traceback" not in err


def test_scheduler_excludes_local_options(fixture_store, tmp_path):
    with pytest.raises(BilansError, match="--workers et --pool ne s'y appliquent pas"):
        run_notebooks(fixture_store, out_dir=tmp_path / "a", scheduler="tcp://127.0.0.1:9", workers=2)
