"""Les résultats Great Expectations rangés à côté du magasin, lus sans Great Expectations.

`bilans build` writes, beside the store `data/curated/bilans.duckdb`, the folder
`data/curated/bilans.gx/` (suites.refresh, from the store's result parts, see PARTS; a check run given
a results folder, suites.run_suites, writes its own results there too):

- `validations/<suite>.json`: GE's validation result of each suite (`to_json_dict()`), as GE
  writes it in a validations store;
- `parts.sha256`: the digest of the parts and checks the folder was written from;
- `suites.sha256`: the same, suite by suite (a build renders the pages of the suites that changed);
- `data_docs/`: the Data Docs site (index.html, validations/<suite>.html, expectations/<suite>.html),
  in French and readable offline.

`bilans report` copies the site to `reports/data_docs/`; it runs no validation.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import duckdb

from pipelines.publish.fmt import pluriel
from pipelines.store import SCHEMA

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
    checked, findings, success and run time (ISO 8601, None when unknown; from GE's JSON result)."""
    meta = spec.get("meta") or {}
    rules = meta.get("rules") or []
    checked = sum((r.get("result") or {}).get("element_count") or 0 for r in result["results"])
    unexpected = sum((r.get("result") or {}).get("unexpected_count") or 0 for r in result["results"])
    description = meta.get("description") or name
    run_time = ((result.get("meta") or {}).get("run_id") or {}).get("run_time")
    return {"name": name, "description": f"{description} ({', '.join(rules)})" if rules else description,
            "success": bool(result["success"]), "checked": checked, "unexpected": unexpected,
            "run_time": run_time if isinstance(run_time, str) else None}


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


# ---------------------------------------------------------------- result parts kept in the store
# GE's result of a suite is kept in the store as parts, one per (suite, document, scope): an
# incremental build copies the parts of what it keeps (as it copies findings) and makes the
# others, and the stored result of each suite is always the sum of the store's parts, so that it
# describes the whole corpus whatever the build redid (pipelines/flow.py).
PARTS = "gx_parts"
PARTS_COLUMNS = SCHEMA[PARTS]
# Suites whose results another command writes beside the store's (validate/publications.py, in `bilans
# run` and `bilans briefing --export`): a build keeps them, as it keeps the register they judged.
WRITTEN_ELSEWHERE = frozenset({"publications"})
STAMP = "parts.sha256"  # digest of what the stored results and Data Docs were written from
# suite -> digest of its result and checks, one « suite digest » a line: the suites whose stored
# result and pages a build leaves as they are (but for their run time), written with STAMP
SUITE_STAMPS = "suites.sha256"
# Parts in the order of a full build's batches: the organismes by their first document_id, each with
# its reports' own checks then its cross-report checks (document by document), then every
# organisme's series (pipelines/validate.findings_in_batches).
_ORDERED_PARTS = """
    SELECT p.suite, p.document_id, p.scope, p.n_rows, {payload}
    FROM {parts} p LEFT JOIN (SELECT document_id, min(document_id) OVER (PARTITION BY org) AS first_of_org
                              FROM documents) d USING (document_id)
    {where}
    ORDER BY p.scope = 'organisme', d.first_of_org NULLS LAST, p.scope <> 'rapport', p.document_id NULLS LAST"""
# Parts read at a time (suite_parts): the parts of 1 600 reports hold 40 MB of JSON
FETCHED = 256


def part_rows(name: str, frame, result) -> list[dict]:
    """GE's result of the suite `name` on a check frame (ExpectationSuiteValidationResult), cut into the
    rows of PARTS: one per (document_id, scope) of the frame, with n_rows (its check rows), and
    part (JSON: expectation type -> {"element_count": its rows the expectation judges,
    "unexpected_rows": those it flags, check_id counted from the part's first row}). The element
    count of a workbench expectation is the number of rows of its rules (expectations/base.py,
    rules from pipelines/catalogue); `frame` is the check frame given to suites.run_suites, check_id the
    row's position once the suites ordered it (row_order.ROW_ORDER): the same order here, else a flagged row
    would go to the part of another document."""
    from pipelines.catalogue import regles_de
    from pipelines.validate.row_order import in_order

    frame = in_order(frame)
    keys = list(zip(frame["document_id"].astype(object).where(frame["document_id"].notna(), None),
                    frame["scope"], strict=True))
    order: dict[tuple, int] = {}  # (document_id, scope) -> rows seen so far: the check_id in the part
    local = []
    for key in keys:
        local.append(order.get(key, 0))
        order[key] = local[-1] + 1
    parts = {key: {} for key in order}
    rules = frame["rule"].tolist()
    for kind, judged, flagged in _results(result):
        mine = set(regles_de(kind))
        for key in parts:
            parts[key][kind] = {"element_count": 0, "unexpected_rows": []}
        for key, rule in zip(keys, rules, strict=True):
            if rule in mine:
                parts[key][kind]["element_count"] += 1
        if sum(p[kind]["element_count"] for p in parts.values()) != judged:  # not a rule expectation
            raise ValueError(f"{name} : {kind} ne compte pas les lignes de ses règles ({judged} jugées)")
        for u in flagged:
            at = u["check_id"]
            parts[keys[at]][kind]["unexpected_rows"].append({**u, "check_id": local[at]})
    return [{"suite": name, "document_id": key[0], "scope": key[1], "n_rows": order[key],
             "part": json.dumps(part, ensure_ascii=False)} for key, part in parts.items()]


def _results(result) -> list[tuple[str, int, list[dict]]]:
    """(expectation type, element_count, unexpected rows) of each expectation of a suite result."""
    return [(r.expectation_config.type, (r.result or {}).get("element_count", 0),
             list((r.result or {}).get("unexpected_rows") or [])) for r in result.results]


def combined(con, parts: str = PARTS) -> dict[str, dict[str, dict]]:
    """Suite -> expectation type -> its result over every part of the relation `parts` of `con`
    (the store's table by default), in the order of a full build's batches (_ORDERED_PARTS):
    element_count and unexpected_count added, unexpected rows joined with their check_id counted
    from the suite's first row, unexpected_index_list, unexpected_percent, observed_value and
    success recounted. A suite with no check row has no result (as a suite GE never ran).
    Every result in memory: a build writes them suite by suite from `suite_parts` (data_docs)."""
    out = {}
    for (name,) in con.execute(f"SELECT DISTINCT suite FROM {parts} ORDER BY suite").fetchall():
        totals: dict[str, dict] = {}
        for part in suite_parts(con, parts, name):
            for kind, counted in part.items():
                total = totals.setdefault(kind, {"element_count": 0, "unexpected_rows": []})
                total["element_count"] += counted["element_count"]
                total["unexpected_rows"] += counted["unexpected_rows"]
        if _has_rows(con, parts, name):
            out[name] = {kind: expectation_result(total) for kind, total in totals.items()}
    return out


def _has_rows(con, parts: str, suite: str) -> bool:
    return bool(con.execute(f"SELECT sum(n_rows) FROM {parts} WHERE suite = ?", [suite]).fetchone()[0])


def suite_parts(con, parts: str, suite: str) -> Iterator[dict]:
    """The parts of the suite `suite` in the relation `parts` of `con`, in _ORDERED_PARTS' order, each
    as its JSON says (expectation type -> {"element_count", "unexpected_rows"}) with the check_id of its
    rows counted from the suite's first row. Only the parts' keys are sorted, by DuckDB; their JSON is
    read FETCHED parts at a time, by rowid (sorting it too held the JSON of the whole suite: 19 MB for
    the largest suite of 1 600 reports); each chunk read whole, `con` free between two parts."""
    keys = con.execute(_ORDERED_PARTS.format(parts=parts, where="WHERE p.suite = ?", payload="p.rowid"),
                       [suite]).fetchall()
    offset = 0
    for start in range(0, len(keys), FETCHED):
        chunk = keys[start:start + FETCHED]
        texts = dict(con.execute(f"SELECT rowid, part FROM {parts} WHERE rowid IN (SELECT unnest(?::BIGINT[]))",
                                 [[k[4] for k in chunk]]).fetchall())
        for _suite, _document_id, _scope, n_rows, rowid in chunk:
            part = json.loads(texts.pop(rowid))
            for counted in part.values():
                for u in counted["unexpected_rows"]:
                    u["check_id"] += offset
            yield part
            offset += n_rows


class PerSuite(Mapping):
    """Suite name -> a value made when it is read (`make(name)`), not kept: the results of the suites
    written one after the other, one suite at a time."""

    def __init__(self, names: Iterable[str], make: Callable[[str], object]) -> None:
        self._names, self._make = list(names), make

    def __getitem__(self, name: str):
        if name not in self._names:
            raise KeyError(name)
        return self._make(name)

    def __contains__(self, name: object) -> bool:  # Mapping's would make the value
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def expectation_result(total: dict, count: int | None = None) -> dict:
    """The `result` of an expectation as expectations/base.py gives it, over the rows added up.
    `count`: the rows it flagged, when `total` holds the first of them only (data_docs.Spilled)."""
    n, rows = total["element_count"], total["unexpected_rows"]
    count = len(rows) if count is None else count
    return {"observed_value": f"{pluriel(count, 'constat', 'constats')} sur {pluriel(n, 'contrôle', 'contrôles')}", "element_count": n,
            "unexpected_count": count, "unexpected_percent": 100.0 * count / n if n else 0.0,
            "unexpected_rows": rows, "unexpected_index_list": [{"check_id": u["check_id"]} for u in rows]}


def suite_digests(rows: Iterable[tuple], checks: list) -> dict[str, str]:
    """Suite -> digest of its parts (rows (suite, document_id, scope, n_rows, sha256 of the part's JSON as
    stored), in _ORDERED_PARTS' order: what `combined` makes its result from) and of the checks that
    made them (checks_version of the documents), for the suites with a check row (a suite of none has
    no result, see `combined`): a suite whose digest is the one its pages were written from needs no
    new page (data_docs.write_combined)."""
    hashes: dict = {}
    counted: dict[str, int] = {}
    for suite, document_id, scope, n_rows, part_sha256 in rows:
        h = hashes.setdefault(suite, hashlib.sha256())
        h.update(json.dumps([document_id, scope, n_rows, part_sha256], ensure_ascii=False).encode())
        counted[suite] = counted.get(suite, 0) + n_rows
    tail = json.dumps(sorted(map(str, checks)), ensure_ascii=False).encode()
    return {suite: hashlib.sha256(h.digest() + tail).hexdigest() for suite, h in hashes.items() if counted[suite]}


def digest(digests: dict[str, str]) -> str:
    """The stamp of a results folder: digest of its suites' (`suite_digests`, of the suites with a
    result); the stored results are rewritten when it changes."""
    return hashlib.sha256(json.dumps(sorted(digests.items())).encode()).hexdigest()


def written_suites(directory: Path) -> dict[str, str]:
    """Suite -> the digest its stored result and pages were written from (SUITE_STAMPS; empty when
    absent or unreadable)."""
    try:
        text = (Path(directory) / SUITE_STAMPS).read_text(encoding="utf-8")
    except OSError:
        return {}
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)


def up_to_date(directory: Path, stamp: str, suites: list[str]) -> bool:
    """Whether the results folder was written from `stamp` (see `digest`) with the suites `suites`
    exactly (the suites WRITTEN_ELSEWHERE are not the store's, and do not count)."""
    path = Path(directory) / STAMP
    try:
        written = path.read_text(encoding="utf-8").strip()
    except OSError:
        return False
    own = [n for n in stored_names(directory) if n not in WRITTEN_ELSEWHERE]
    return written == stamp and sorted(own) == sorted(suites) and \
        (Path(directory) / DATA_DOCS / "index.html").is_file()


def stored_names(directory: Path) -> list[str]:
    """Suite names of the stored results, without reading them."""
    return [p.stem for p in sorted((Path(directory) / VALIDATIONS).glob("*.json"))]


def pending(con, directory: Path, parts: str = PARTS) -> tuple[PerSuite, str, dict[str, str]] | None:
    """(parts of the store `con` (`suite_parts`, read when asked: PerSuite) of the suites whose stored result
    and pages must be written again, their stamp (see `digest`),
    the digest of every suite with a result (`suite_digests`)) to write into the results folder
    `directory`; None when it was written from the same parts and checks already (`up_to_date`: a
    build that changed nothing renders no page). A suite whose result and pages were written from its
    digest (SUITE_STAMPS, `has_pages`) keeps them: its parts are read for its digest only.
    suites.refresh writes them."""
    digests = _store_digests(con, parts)
    stamp = digest(digests)
    if up_to_date(directory, stamp, list(digests)):
        return None
    before = written_suites(directory)
    todo = [s for s, d in digests.items() if before.get(s) != d or not has_pages(directory, s)]
    return PerSuite(todo, lambda name: suite_parts(con, parts, name)), stamp, digests


def _store_digests(con, parts: str = PARTS) -> dict[str, str]:
    """`suite_digests` of the parts of the relation `parts` of `con` and of the checks of its documents.
    DuckDB hashes the parts: their JSON (70 MB for 1 600 reports) is not fetched."""
    checks = [r[0] for r in con.execute("SELECT DISTINCT checks_version FROM documents").fetchall()]
    return suite_digests(con.execute(_ORDERED_PARTS.format(parts=parts, where="", payload="sha256(p.part)")
                                     ).fetchall(), checks)


def written_from(con, directory: Path) -> bool:
    """Whether the results folder `directory` holds the results of the store `con` (its parts and
    checks: `up_to_date`); False after a build stopped once the store was replaced but before its
    results were written, whose folder still holds those of the store before it. A store without
    result parts (written by hand, or before they were kept) cannot say: True."""
    try:
        digests = _store_digests(con)
    except duckdb.CatalogException:
        return True
    return up_to_date(directory, digest(digests), list(digests))


def has_pages(directory: Path, name: str) -> bool:
    """Whether the stored result of the suite `name` and its two pages are in the results folder."""
    site = Path(directory) / DATA_DOCS
    return all(p.is_file() for p in (Path(directory) / VALIDATIONS / f"{name}.json",
                                     site / "validations" / f"{name}.html", site / "expectations" / f"{name}.html"))
