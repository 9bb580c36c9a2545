"""L'import de Great Expectations ne charge ni scipy.stats ni altair, qu'aucune suite n'emploie : ils se
chargent à leur premier usage (pipelines/validate/__init__.py), un sous-module compris."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", "import sys\nimport pipelines.validate.suites\n" + code],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_ge_is_imported_without_scipy_stats_nor_altair():
    _run('assert "great_expectations" in sys.modules\n'
         'assert "scipy.stats._stats_py" not in sys.modules and "altair.vegalite" not in sys.modules')


@pytest.mark.parametrize("code", [
    "from scipy import stats\nassert stats.norm.cdf(0) == 0.5\nimport scipy.stats\nassert scipy.stats.kstest is stats.kstest",
    "import scipy.stats.distributions\nfrom scipy.stats import norm\nassert norm is scipy.stats.distributions.norm",
    "from scipy.stats import *\nassert kstest",
    "import altair as alt\nassert alt.Chart and 'altair.vegalite' in sys.modules",
    "from altair.vegalite import v6\nimport altair\nassert altair.Chart is v6.Chart",
])
def test_they_are_imported_at_their_first_use(code):
    _run(code)
