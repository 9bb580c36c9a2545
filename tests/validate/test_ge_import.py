"""L'import de Great Expectations ne charge pas scipy.stats, qu'aucune suite n'emploie ; il se charge à
son premier usage (pipelines/validate/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_scipy_stats_is_imported_at_its_first_use_only():
    code = """
import sys
import pipelines.validate.suites
assert "great_expectations" in sys.modules
assert "scipy.stats._stats_py" not in sys.modules, "scipy.stats importé avec GE"
from scipy import stats
assert stats.norm.cdf(0) == 0.5 and "scipy.stats._stats_py" in sys.modules
import scipy.stats
assert scipy.stats.kstest is stats.kstest
"""
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
