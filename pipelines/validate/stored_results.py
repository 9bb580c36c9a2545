"""Les résultats Great Expectations rangés à côté du magasin, lus sans Great Expectations.

The check run (suites.run_suites with a results folder) writes, beside the store
`data/curated/bilans.duckdb`, the folder `data/curated/bilans.gx/`:

- `validations/<suite>.json`: GE's validation result of each suite (`to_json_dict()`), as GE
  writes it in a validations store;
- `data_docs/`: the Data Docs site (index.html, validations/<suite>.html, expectations/<suite>.html),
  in French and readable offline.

`bilans report` copies the site to `reports/data_docs/`; it runs no validation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

VALIDATIONS = "validations"
DATA_DOCS = "data_docs"


def gx_dir(db_path: str | Path) -> Path:
    """The results folder of a store: `bilans.duckdb` -> `bilans.gx` (one per store, in its folder)."""
    return Path(db_path).with_suffix(".gx")


def stored(directory: Path) -> dict[str, dict]:
    """Suite name -> its stored validation result (GE's JSON), in suite order."""
    folder = Path(directory) / VALIDATIONS
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


def summary(name: str, result: dict, spec: dict) -> dict:
    """What the index says of a suite: its rules and description (from its suite file `spec`), rows
    checked, findings and success (from GE's JSON result)."""
    meta = spec.get("meta") or {}
    rules = meta.get("rules") or []
    checked = sum((r.get("result") or {}).get("element_count") or 0 for r in result["results"])
    unexpected = sum((r.get("result") or {}).get("unexpected_count") or 0 for r in result["results"])
    description = meta.get("description") or name
    return {"name": name, "description": f"{description} ({', '.join(rules)})" if rules else description,
            "success": bool(result["success"]), "checked": checked, "unexpected": unexpected}


def copy_data_docs(db_path: str | Path, out: Path) -> Path | None:
    """Copy the Data Docs of the store's last check run to `out` (replaced); None when the store has
    none (built with --no-validate, or before the results were kept beside it)."""
    site = gx_dir(db_path) / DATA_DOCS
    if not (site / "index.html").is_file():
        return None
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(site, out)
    return out


def forget(db_path: str | Path) -> None:
    """Remove the results and Data Docs of a store (rebuilt without its checks: they would describe
    findings it no longer has)."""
    shutil.rmtree(gx_dir(db_path), ignore_errors=True)
