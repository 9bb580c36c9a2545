"""A `bilans build` keeps what `bilans run` and `bilans briefing --export` wrote beside the reports' data:
the register `publications`, its `publication.*` findings and the suite's GE result and Data Docs page
(`validations/publications.json`): the pages in reports/ still show those figures after a build."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_build import make_corpus  # noqa: E402

from pipelines.build import build  # noqa: E402
from pipelines.publish.registre import Registre  # noqa: E402
from pipelines.validate.publications import controler  # noqa: E402
from pipelines.validate.stored_results import gx_dir  # noqa: E402


def _two_values_of_one_figure() -> pd.DataFrame:
    """Two pages of the same reports printing one figure with two values: one publication.unique error."""
    frames = []
    for page, value in (("analyses/SIIM94/2023/pole_si", 450.0), ("analyses/SIIM94/2023/finances", 455.0)):
        reg = Registre(page)
        reg.noter("Finances (jours)", "cellule", value, org="SIIM94", metrique="indicateurs.valeur", exercice=2023,
                  detail="finances")
        frames.append(reg.frame())
    return pd.concat(frames, ignore_index=True)


def _state(db: Path) -> tuple[list, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        register = con.execute("SELECT page, element, valeur FROM publications ORDER BY page").fetchall()
        found = con.execute("SELECT rule, severity FROM findings WHERE family = 'publications'").fetchall()
    finally:
        con.close()
    return register, found


def test_a_build_keeps_the_register_its_findings_and_their_ge_result(tmp_path):
    raw, db = make_corpus(tmp_path), tmp_path / "bilans.duckdb"
    build(raw, db)
    assert controler(db, _two_values_of_one_figure(), "analyses/", echo=lambda _: None) == 1
    before = _state(db)
    assert before == ([("analyses/SIIM94/2023/finances", "Finances (jours)", 455.0),
                       ("analyses/SIIM94/2023/pole_si", "Finances (jours)", 450.0)],
                      [("publication.unique", "error")])
    result = gx_dir(db) / "validations" / "publications.json"
    written = result.read_bytes()
    assert json.loads(written)["success"] is False

    (raw / "siim94_2023.txt").write_text((raw / "siim94_2023.txt").read_text(encoding="utf-8") + "\nFin.\n",
                                         encoding="utf-8")  # a report changed: the store is rebuilt
    build(raw, db)
    assert _state(db) == before
    assert result.read_bytes() == written
    site = gx_dir(db) / "data_docs"
    assert (site / "validations" / "publications.html").is_file()
    assert 'href="validations/publications.html"' in (site / "index.html").read_text(encoding="utf-8")
