"""Great Expectations dans un processus à part pendant `bilans build` (pipelines/sidecar.py) : mêmes
réponses, mêmes erreurs d'une ligne, et aucun processus ne survit à la construction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_flow import _findings, _gx, _same_gx, _tables  # noqa: E402
from test_manifest_guard import corpus  # noqa: E402

from pipelines import sidecar  # noqa: E402
from pipelines.errors import BilansError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _refused(text: str) -> None:
    raise BilansError(text)


def _unpicklable() -> None:
    raise ValueError(lambda: None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_calls_answer_in_order_and_errors_come_back_as_raised(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent))  # this module, for the process
    aside = sidecar.Sidecar(warm="json")  # a light module: the mechanism, not GE's import
    try:
        answers = [aside.submit(divmod, n, 3) for n in range(5)]
        refused = aside.submit(_refused, "suite « totaux » : validation en échec")
        odd = aside.submit(_unpicklable)
        assert [a() for a in reversed(answers)] == [divmod(n, 3) for n in reversed(range(5))]
        with pytest.raises(BilansError) as caught:
            refused()
        assert str(caught.value) == "suite « totaux » : validation en échec"
        assert not getattr(caught.value, "__notes__", None)  # one line for the user, no trace
        with pytest.raises(RuntimeError, match="ValueError"):
            odd()
    finally:
        aside.close()
    assert aside._process.poll() is not None


def test_a_call_the_process_cannot_read_is_answered_by_its_error(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "")  # this test module is not on the process's path
    aside = sidecar.Sidecar(warm="json")
    try:
        with pytest.raises(ModuleNotFoundError, match="test_sidecar"):
            aside.submit(_refused, "jamais lu")()
        assert aside.submit(divmod, 7, 2)() == (3, 1)
    finally:
        aside.close()


def test_a_process_that_died_is_said_in_one_french_line():
    aside = sidecar.Sidecar(warm="json")
    try:
        aside._process.kill()
        with pytest.raises(BilansError, match=r"^le processus des contrôles Great Expectations s'est arrêté \(code -9\)"):
            aside.submit(divmod, 1, 1)()
    finally:
        aside.close()


def test_a_build_in_a_fresh_process_checks_aside_as_a_build_in_process(tmp_path, monkeypatch):
    """`bilans build` run as a user runs it (GE not imported: the process aside judges the frames and
    writes the Data Docs) gives the findings, result parts and GE results of a build that runs GE in
    its own process."""
    from pipelines.build import build

    raw = corpus(tmp_path)
    aside, here = tmp_path / "a" / "bilans.duckdb", tmp_path / "b" / "bilans.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "import sys; from pipelines.cli import main; "
           "code = main(sys.argv[1:]); assert 'great_expectations' not in sys.modules; sys.exit(code)",
           "--db", str(aside), "build", "--raw", str(raw)]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    monkeypatch.chdir(tmp_path)
    import pipelines.validate.suites  # noqa: F401 — GE here: the build runs it in process
    assert build(raw, here) == 0
    assert _tables(aside) == _tables(here) and _findings(aside)
    assert _gx(aside) and _same_gx(aside, here) is None


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_sigterm_ends_the_process_aside_too(tmp_path):
    raw = corpus(tmp_path)
    db = tmp_path / "curated" / "bilans.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "--db", str(db), "build", "--raw", str(raw)],
                            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (children := _children(proc.pid)):
        assert proc.poll() is None and time.monotonic() < deadline, "no process aside"
        time.sleep(0.01)
    time.sleep(0.5)  # the build is under way
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    err = proc.stderr.read()
    assert (code, err.strip().splitlines()[-1]) == (143, "bilans : arrêté (SIGTERM)"), err
    assert "Traceback" not in err
    assert not [pid for pid in children if _alive(pid)]
