"""Validation : suites Great Expectations -> table `findings`.

Each rule family derives a frame of checks from the store (one row per total,
header, sentence, figure…); the GE suites of `expectations/` decide which rows
fail; failures become findings with their exact source line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.validate.frames import Store, frame, load

FINDING_COLUMNS = [
    "document", "line", "rule", "severity", "message", "found", "expected", "table", "document_id",
    "section", "source_line", "suggestion", "org", "report_year", "family", "exercice", "key", "highlight",
    "page", "place", "label_line", "label_source",
]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def check_frames(con, store: Store | None = None, document_ids: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The check frames of every suite, for the documents asked (all by default)."""
    from pipelines.validate.series import series_break_checks
    from pipelines.validate.text import table_figures
    from pipelines.validate.vintages import dated_figures

    store = store or load(con)
    # the rules that read one report at a time run on the documents asked only (not on the other
    # reports a draft is checked against); the cross-report rules read the whole store
    mine = store if document_ids is None else store.only(document_ids)
    tc = table_figures(store)
    tc_mine = tc if mine is store else [c for c in tc if c["document_id"] in mine.documents]
    frames = _document_frames(mine, _lignes(con, document_ids), tc_mine)
    cross = _cross_frames(store, dated_figures(store, tc), _with_year_before(store, mine), con, document_ids)
    frames = _merged([frames, cross, {"series": frame(series_break_checks(con))}])
    return _finish(frames, _captions(store), document_ids)


def _document_frames(store: Store, lignes: list[dict], tc: list[dict]) -> dict[str, pd.DataFrame]:
    """Checks of one report at a time (totals, headers, values, text, budget): a batch of documents
    gives the frames of its documents."""
    from pipelines.validate.budget import balance_checks, crosstable_checks
    from pipelines.validate.headers import header_checks, malformed_checks
    from pipelines.validate.text import percent_text_checks, table_text_checks, year_checks
    from pipelines.validate.totals import table_checks

    return {
        "totaux": frame(table_checks(store)),
        "entetes": frame(header_checks(store)),
        "valeurs": frame(malformed_checks(store)),
        "texte": frame(year_checks(store, lignes) + table_text_checks(store, tc) + percent_text_checks(store, tc)),
        "budget": frame(balance_checks(store) + crosstable_checks(store)),
    }


def _cross_frames(store: Store, dated: list[dict], stale: Store | None = None, con=None,
                  document_ids: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Checks across the reports of an organisme (vintages, shifted year headers, prose figures):
    `store` holds its reports (header cells are enough), `dated` their figures under a year;
    `stale` the reports vintage.stale compares (by default `store`); `con` the connection whose
    curated series are compared first (pipelines/validate/points.py), for `document_ids`."""
    from pipelines.validate.vintages import cross_report_checks

    cross = cross_report_checks(con, store, dated, document_ids, stale_store=stale)
    return {name: frame(rows) for name, rows in cross.items()}


def _merged(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    out: dict[str, list[pd.DataFrame]] = {}
    for part in parts:
        for name, df in part.items():
            out.setdefault(name, []).append(df)
    return {name: pd.concat(dfs, ignore_index=True) if len(dfs) > 1 else dfs[0] for name, dfs in out.items()}


def _captions(store: Store) -> dict[str, str | None]:
    return {t["table_id"]: t["caption"] for t in store.tables}


def _finish(frames: dict[str, pd.DataFrame], captions: dict, document_ids: list[str] | None) -> dict[str, pd.DataFrame]:
    """percent.ratio apart from the totals, the caption of each table, the documents asked only."""
    totaux = frames["totaux"]
    pct = totaux["rule"] == "percent.ratio"
    frames["pourcentages"] = totaux[pct].reset_index(drop=True)
    frames["totaux"] = totaux[~pct].reset_index(drop=True)
    for df in frames.values():  # Data Docs name the table by its caption
        df["tableau"] = df["table_id"].map(captions)
    if document_ids is not None:
        frames = {k: v[v["document_id"].isin(document_ids)].reset_index(drop=True) for k, v in frames.items()}
    return frames


def _with_year_before(store: Store, mine: Store) -> Store:
    """vintage.stale compares a report with the report of the year before it only: the documents
    asked and those of the year before theirs."""
    if mine is store:
        return store
    years = {(d["org"], d["report_year"] - 1) for d in mine.documents.values() if d["report_year"] is not None}
    before = [i for i, d in store.documents.items() if (d["org"], d["report_year"]) in years]
    return store.only([*mine.documents, *before])


def _lignes(con, document_ids):
    where = ""
    if document_ids is not None:
        where = " WHERE document_id IN (" + ", ".join("'" + d.replace("'", "''") + "'" for d in document_ids) + ")"
    cur = con.execute("SELECT document_id, line, text FROM lignes" + where)
    return [dict(document_id=d, line=n, text=t) for d, n, t in cur.fetchall()]


def findings(con, document_ids: list[str] | None = None, gx_dir: Path | None = None,
             store: Store | None = None, verdicts=None) -> pd.DataFrame:
    """Run every suite and return the findings as a frame (columns of FINDING_COLUMNS). With `gx_dir`
    (stored_results.gx_dir of the store), GE's results and Data Docs are written there, in place of
    every earlier result.
    `store`: the store already read (`frames.load`), when the caller keeps part of it between checks;
    `verdicts`: its suites.Verdicts, GE's last verdicts (see run_suites)."""
    from pipelines.validate.suites import run_suites

    frames = check_frames(con, store=store, document_ids=document_ids)
    found = run_suites(frames, gx_dir=gx_dir, replace_all=True, verdicts=verdicts)
    return _enrich(con, found)


BATCH = 64  # reports loaded at a time by `findings_in_batches`


def findings_in_batches(con, document_ids: list[str] | None = None, batch: int = BATCH,
                        gx_dir: Path | None = None) -> pd.DataFrame:
    """The findings of `findings(con, document_ids)`, with a memory bounded by a batch of reports
    rather than by the store: the checks of one report run `batch` reports at a time, those across
    reports once per organisme over what they compare (figures under a year, prose figures, year
    headers), the series from DuckDB. Frames are judged by the suites batch by batch; with `gx_dir`,
    the results of a suite over every batch are combined into one (suites.combine) and stored with
    their Data Docs, in place of every earlier result."""
    from pipelines.validate.series import series_break_checks
    from pipelines.validate.suites import run_suites as run_batch
    from pipelines.validate.text import table_figures
    from pipelines.validate.vintages import dated_figures

    wanted = None if document_ids is None else set(document_ids)
    found: list[pd.DataFrame] = []
    results: dict[str, list] = {}

    def run_suites(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
        rows, by_suite = run_batch(frames, keep_results=True)
        for name, result in by_suite.items():
            results.setdefault(name, []).append(result)
        return rows

    for ids in _organismes(con, wanted):
        dated: list[dict] = []
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            store = load(con, chunk)
            tc = table_figures(store)
            dated += dated_figures(store, tc)
            targets = [i for i in chunk if wanted is None or i in wanted]
            if targets:
                frames = _document_frames(store, _lignes(con, targets), tc)
                frames = _finish({**_empty_frames(), **frames}, _captions(store), targets)
                found.append(run_suites(frames))
            del store, tc
        light = load(con, ids, cell_roles=("header",))
        targets = [i for i in ids if wanted is None or i in wanted]
        frames = _finish({**_empty_frames(), **_cross_frames(light, dated, None, con, targets)}, _captions(light), targets)
        found.append(run_suites(frames))
    series = _finish({**_empty_frames(), "series": frame(series_break_checks(con))}, {}, document_ids)
    found.append(run_suites(series))
    if gx_dir is not None:
        from pipelines.validate import data_docs
        from pipelines.validate.suites import combine, suite

        combined = {name: combine(parts) for name, parts in results.items()}
        data_docs.write(Path(gx_dir), combined, {n: suite(n) for n in combined}, list(combined), True)
    found = [f for f in found if not f.empty]
    return _enrich(con, pd.concat(found, ignore_index=True) if found else pd.DataFrame())


def _empty_frames() -> dict[str, pd.DataFrame]:
    return {"totaux": frame([])}


def _organismes(con, wanted: set[str] | None) -> list[list[str]]:
    """document_id of every report of each organisme holding a wanted report, in document order."""
    rows = con.execute("SELECT document_id, org FROM documents ORDER BY document_id").fetchall()
    by_org: dict[object, list[str]] = {}
    for document_id, org in rows:
        by_org.setdefault(org, []).append(document_id)
    return [ids for ids in by_org.values() if wanted is None or wanted & set(ids)]


def _enrich(con, found: pd.DataFrame) -> pd.DataFrame:
    if found.empty:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    docs = con.execute("SELECT document_id, path, org, report_year FROM documents").df()
    tables = con.execute("SELECT table_id, caption, section, family AS table_family FROM tables").df()
    sections = con.execute("SELECT document_id, number, title, line FROM sections ORDER BY document_id, line").df()
    out = found.merge(docs, on="document_id", how="left").merge(tables, on="table_id", how="left")
    pairs = out[["document_id", "line"]].drop_duplicates()
    con.register("_wanted", pairs)
    src = con.execute("SELECT l.document_id, l.line, l.text AS source_line, l.page, l.place FROM lignes l "
                      "JOIN _wanted w USING (document_id, line)").df()
    con.unregister("_wanted")
    out = out.merge(src, on=["document_id", "line"], how="left")
    out["page"] = out["page"].astype("Int64")  # a page number, not 12.0
    out = out.merge(_label_lines(con), on=["table_id", "line"], how="left")
    out["label_line"] = out["label_line"].astype("Int64")
    out["section"] = [
        s if isinstance(s, str) and s else _section_at(sections, d, ln)
        for s, d, ln in zip(out["section"], out["document_id"], out["line"], strict=False)]
    out["family"] = out["family"].where(out["family"].notna(), out["table_family"])  # the check's, else the table's
    out["table"] = out["caption"].where(out["caption"].notna(), out["table_id"])
    out["document"] = out["path"]
    for col in FINDING_COLUMNS:
        if col not in out:
            out[col] = None
    out["_order"] = out["severity"].map(SEVERITY_ORDER)
    out = out.sort_values(["document_id", "line", "_order", "rule"]).drop(columns="_order")
    out = out[FINDING_COLUMNS].reset_index(drop=True).astype(object)
    return out.where(out.notna(), None)


def _label_lines(con) -> pd.DataFrame:
    """(table, line of a value) -> line and text of its row label, when the value is printed on
    another line (PDF text: « TOTAL » nine lines above « 1282 agents »): the report quotes both."""
    return con.execute("""
        SELECT v.table_id, v.line, min(l.line) AS label_line, any_value(t.text) AS label_source
        FROM cells v JOIN cells l ON l.table_id = v.table_id AND l.row = v.row AND l.role = 'label'
        JOIN tables d ON d.table_id = v.table_id
        JOIN lignes t ON t.document_id = d.document_id AND t.line = l.line
        WHERE v.role IN ('value', 'subtotal', 'total') AND v.line <> l.line
        GROUP BY v.table_id, v.line HAVING count(DISTINCT l.line) = 1""").df()


def _section_at(sections: pd.DataFrame, document_id: str, line: int) -> str | None:
    s = sections[(sections["document_id"] == document_id) & (sections["line"] <= line)]
    if s.empty:
        return None
    last = s.iloc[-1]
    return f"{last['number']} {last['title']}".strip()


def write_findings(con, df: pd.DataFrame) -> int:
    if df.empty:
        return 0
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'findings'").fetchall()}
    cols = [c for c in FINDING_COLUMNS if c in existing]
    frame_ = df[cols].copy()
    frame_["line"] = frame_["line"].astype("Int64")
    for c in ("report_year", "exercice", "page", "label_line"):
        if c in frame_:
            frame_[c] = pd.to_numeric(frame_[c], errors="coerce").astype("Int64")
    con.register("_findings", frame_)
    con.execute(f'INSERT INTO findings ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM _findings')
    con.unregister("_findings")
    return len(frame_)


def validate_store(con, gx_dir: Path | None = None) -> int:
    """Run all rule families on every document of the store and fill `findings` (and, with `gx_dir`,
    write GE's results and Data Docs there)."""
    con.execute("DELETE FROM findings")
    return write_findings(con, findings_in_batches(con, gx_dir=gx_dir))
