"""Les suites de `expectations/*.json` lues comme données, sans Great Expectations.

A suite file is the rule catalogue of one rule family: its `meta.rules`, and its expectations
with their kwargs (the rules' parameters). The rule builders (totals.py, series.py) read those
parameters here, without paying for GE's import; suites.py hands the same files to GE.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path

from pipelines.catalogue import completer_suite

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"


@lru_cache(maxsize=1)
def load_suites(directory: str | None = None) -> dict[str, dict]:
    """Suite name (file stem) -> the suite file's JSON: {"name", "meta": {"rules", "description"…},
    "expectations": [{"type", "kwargs", "meta"}]}; the rules, description and notes come from the
    catalogue (pipelines/catalogue/regles.toml), the file keeps the parameters."""
    base = Path(directory) if directory else EXPECTATIONS_DIR
    return {p.stem: completer_suite(p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(base.glob("*.json"))}


def suite_for_rule(rule: str) -> str:
    """The suite that announces `rule` in its `meta.rules`; KeyError when none does."""
    for name, suite in load_suites().items():
        if rule in suite["meta"]["rules"]:
            return name
    raise KeyError(rule)


@cache
def suite_kwargs(suite: str, expectation_type: str) -> dict:
    """The kwargs an expectation has in its suite JSON (the rule's parameters); {} when the suite
    does not hold that expectation."""
    for e in load_suites()[suite]["expectations"]:
        if e["type"] == expectation_type:
            return dict(e["kwargs"])
    return {}
