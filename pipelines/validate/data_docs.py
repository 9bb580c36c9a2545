"""Les Data Docs de Great Expectations, écrites au moment des contrôles : en français, lisibles hors ligne.

Each page is rendered by GE's own renderers and Jinja view (ValidationResultsPageRenderer,
ExpectationSuitePageRenderer, DefaultJinjaPageView) from the results in hand, then:

- offline: GE's templates load Bootstrap, jQuery and fonts from CDNs, and link a favicon that its
  site builder puts one folder off; every external link and script, the favicon link and CSS
  `url(//…)` are dropped and a small stylesheet shipped with the package (data_docs.css) is inlined;
- in French: GE's interface strings (« Overview », « Status: », « Show more info… ») are replaced
  by the table of data_docs_fr.toml, text node by text node; only a text node that is, whole, one of
  GE's strings is replaced (a finding's cell is touched only if it reads exactly « Status » or the like);
- every page sits one folder below the index (validations/<suite>.html, expectations/<suite>.html),
  so a page's links to the index and to its suite are `../…`.

The index is written here, in French, from every stored result (stored_results.py).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import great_expectations as gx
from great_expectations.core import (
    ExpectationSuite,
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.render.renderer import ExpectationSuitePageRenderer, ValidationResultsPageRenderer
from great_expectations.render.view import DefaultJinjaPageView

from pipelines.publish.fmt import nombre, pluriel, pourcent
from pipelines.validate.expectations.base import SAMPLE
from pipelines.validate.stored_results import (
    DATA_DOCS,
    STAMP,
    SUITE_STAMPS,
    VALIDATIONS,
    WRITTEN_ELSEWHERE,
    PerSuite,
    expectation_result,
    has_pages,
    stored_names,
    summary,
    written_suites,
)
from pipelines.validate.suite_specs import load_suites

CSS = Path(__file__).with_name("data_docs.css")
STRINGS_FR = Path(__file__).with_name("data_docs_fr.toml")

_EXTERNAL = r"""(?:https?:)?//[^"']*"""
_LINK = re.compile(rf"""<link\b[^>]*\bhref=["']{_EXTERNAL}["'][^>]*>""", re.IGNORECASE)
_FAVICON = re.compile(r"""<link\b[^>]*\brel=["'][^"']*\bicon\b[^"']*["'][^>]*>""", re.IGNORECASE)
_FOOTER = re.compile(r"<footer\b.*?</footer>", re.IGNORECASE | re.DOTALL)  # GE's newsletter, a link out
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)  # all of them need jQuery
_IMG = re.compile(rf"""<img\b[^>]*\bsrc=["']{_EXTERNAL}["'][^>]*>""", re.IGNORECASE)
_ATTR = re.compile(rf"""\s(?:href|src)=["']{_EXTERNAL}["']""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*["']?(?:https?:)?//[^)]*\)""", re.IGNORECASE)  # GE's logo on S3
_UP = re.compile(r"""(\s(?:href|src)=["'])(?:\.\./)+""", re.IGNORECASE)
_TEXT = re.compile(r">([^<]+)<")
# GE's collapse.j2 names each folding block « …-collapse-body-<uuid4> », new at every render
_COLLAPSE_ID = re.compile(r"-collapse-body-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def offline_html(text: str, css: str) -> str:
    """The page without external resources nor favicon link, with the stylesheet inlined."""
    for pattern in (_LINK, _FAVICON, _FOOTER, _SCRIPT, _IMG, _ATTR):
        text = pattern.sub("", text)
    text = _CSS_URL.sub("none", text)
    style = f"<style>\n{css}</style>"
    return text.replace("</head>", style + "\n</head>", 1) if "</head>" in text else style + text


@cache
def strings_fr() -> tuple[dict[str, str], list[tuple[re.Pattern, str]]]:
    """(GE's interface string -> French, [(pattern of a whole text node, replacement)]) of data_docs_fr.toml."""
    with STRINGS_FR.open("rb") as f:
        table = tomllib.load(f)
    return dict(table["interface"]), [(re.compile(k), v) for k, v in table.get("motifs", {}).items()]


def translate(text: str) -> str | None:
    """A text node of GE's interface in French; None when it is not one (the findings' own text)."""
    strings, patterns = strings_fr()
    if text in strings:
        return strings[text]
    for pattern, replacement in patterns:
        if match := pattern.fullmatch(text):
            return match.expand(_AGREED.sub(lambda t: _agreed(match, t), replacement))
    if match := _PERCENT.fullmatch(text):  # GE's « 66.66666666666666% »
        value = float(match[1])
        return pourcent(value, 0 if value.is_integer() else 1)
    return None


# « {1:attente|attentes} » in a replacement of [motifs]: the count of group 1 with its words, agreed
_AGREED = re.compile(r"\{(\d+):([^|}]*)\|([^}]*)\}")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def _agreed(match: re.Match, placeholder: re.Match) -> str:
    return pluriel(int(match[int(placeholder[1])]), placeholder[2], placeholder[3])


def french(text: str) -> str:
    """The page with every text node that is one of GE's interface strings in French, and `lang="fr"`."""

    def swap(m: re.Match) -> str:
        raw = m[1]
        fr = translate(html.unescape(raw).strip())
        if fr is None:
            return m[0]
        start = len(raw) - len(raw.lstrip())
        end = len(raw.rstrip())
        return ">" + raw[:start] + html.escape(fr, quote=False) + raw[end:] + "<"

    text = _TEXT.sub(swap, text)
    return re.sub(r"<html\b[^>]*>", '<html lang="fr">', text, count=1)


@cache
def _view() -> DefaultJinjaPageView:
    """One view per process: its Jinja environment compiles GE's templates once (seconds per page else)."""
    return DefaultJinjaPageView()


def _page(document) -> str:
    """A rendered GE document as a page one folder below the index, offline and in French."""
    text = _view().render(document, show_how_to_buttons=False)
    text = _UP.sub(r"\1../", text)
    return french(offline_html(stable_ids(text), CSS.read_text(encoding="utf-8")))


def stable_ids(text: str) -> str:
    """The page with GE's random collapse ids numbered in order of appearance (a block's link and its
    target keep the same number): two writes of the same results give the same bytes."""
    numbers: dict[str, int] = {}
    return _COLLAPSE_ID.sub(lambda m: f"-collapse-body-{numbers.setdefault(m[1], len(numbers) + 1)}", text)


def with_messages(result: ExpectationSuiteValidationResult, frame) -> None:
    """Give each unexpected row of `result` the message of its check row in `frame` (indexed by
    check_id): the suites judge frames without their texts (suites.NOT_JUDGED), the Data Docs and
    the stored result show them, so that two findings of one line are told apart."""
    messages = frame["message"] if "message" in frame.columns else None
    if messages is None:
        return
    for r in result.results:
        for u in (r.result or {}).get("unexpected_rows") or []:
            if u.get("message") is None and u.get("check_id") in messages.index:
                u["message"] = messages.at[u["check_id"]]


def validation_page(result: ExpectationSuiteValidationResult) -> str:
    """The page of one suite's validation result (HTML text, for validations/<suite>.html)."""
    return _page(ValidationResultsPageRenderer().render(result))


def suite_page(suite: ExpectationSuite) -> str:
    """The page of one suite: its expectations described in French (for expectations/<suite>.html)."""
    return _page(ExpectationSuitePageRenderer().render(suite))


def write(gx_dir: Path, results: Mapping[str, ExpectationSuiteValidationResult], suites: dict[str, ExpectationSuite],
          ran: Iterable[str], replace_all: bool = False, kept: frozenset[str] = frozenset()) -> Path:
    """Store the results of the suites `ran` under gx_dir/validations (a suite ran on an empty frame,
    absent from `results`, loses its old result; `replace_all` drops every other stored result too,
    but those of the suites stored_results.WRITTEN_ELSEWHERE, which a build keeps),
    write their pages and rewrite the index from every stored result. The suites `kept` hold their
    stored result and pages already: only their run time becomes this run's. Returns the site folder."""
    site = gx_dir / DATA_DOCS
    if set(ran) - WRITTEN_ELSEWHERE:  # the folder no longer holds only what the store's parts give
        (gx_dir / STAMP).unlink(missing_ok=True)
        (gx_dir / SUITE_STAMPS).unlink(missing_ok=True)
    for sub in (gx_dir / VALIDATIONS, site / "validations", site / "expectations"):
        sub.mkdir(parents=True, exist_ok=True)
    gone = set(stored_names(gx_dir)) - WRITTEN_ELSEWHERE if replace_all else set()  # those are kept
    gone |= set(ran) - set(results)
    for name in gone - set(results) - kept:
        for path in (gx_dir / VALIDATIONS / f"{name}.json", site / "validations" / f"{name}.html",
                     site / "expectations" / f"{name}.html"):
            path.unlink(missing_ok=True)
    now = datetime.now(UTC).isoformat()
    for name in sorted(kept):
        _restamp_suite(gx_dir, name, now)
    counted = {}  # what the index says of the results written here, from memory
    for name, made in results.items():  # one by one: `results` may make each as it is read (PerSuite)
        with made if isinstance(made, Spilled) else Spilled(made) as held:  # its files removed after
            result = held.result
            _stamp(result, name, now)
            _write(gx_dir / VALIDATIONS / f"{name}.json", _json_pieces(result, held.lists))
            _write(site / "validations" / f"{name}.html", validation_page(result))
            _write(site / "expectations" / f"{name}.html", suite_page(suites[name]))
            counted[name] = _counted(result)
        del made, result, held  # freed before the next is made
    specs = load_suites()
    # the other results read back (the index's counts)
    index = [summary(name, counted[name] if name in counted else
                     json.loads((gx_dir / VALIDATIONS / f"{name}.json").read_text(encoding="utf-8")),
                     specs.get(name, {})) for name in stored_names(gx_dir)]
    _write(site / "index.html", index_page(index, CSS.read_text(encoding="utf-8")))
    return site


def _counted(result: ExpectationSuiteValidationResult) -> dict:
    """What stored_results.summary reads of a result's JSON (success, each expectation's element and
    unexpected counts, the run time), from the result itself."""
    return {"success": result.success, "meta": {"run_id": dict((result.meta or {}).get("run_id") or {})},
            "results": [{"result": {k: (r.result or {}).get(k) for k in ("element_count", "unexpected_count")}}
                        for r in result.results]}


def write_combined(gx_dir: Path, parts: Mapping[str, Iterable[dict]], suites: dict[str, ExpectationSuite],
                   stamp: str, digests: dict[str, str] | None = None) -> Path:
    """Store the results of the store's parts (suite -> its parts in order, stored_results.suite_parts,
    read when asked: stored_results.PerSuite; `suites`: their GE suites), in bounded memory (one suite
    at a time, its flagged rows written to disk as they are read: `spilled`), in place of every stored
    result, with their Data Docs, then
    `stamp` (stored_results.digest) last: a build stopped before it (and any other `write`, which
    removes it) leaves a folder that the next build writes again.
    `digests` (stored_results.suite_digests): every suite with a result. A suite of `digests` absent
    from `parts` (stored_results.pending: its result and pages were written from the same digest;
    an incremental build changes the results of a few suites) is not rendered again, only given this
    run's time, as `restamp` does: its files are those a new rendering would write."""
    digests = digests or {}
    before = written_suites(gx_dir)
    names = list(digests) or list(parts)
    kept = frozenset(n for n in names if n not in parts)
    lost = sorted(n for n in kept if before.get(n) != digests[n] or not has_pages(gx_dir, n))
    if lost:  # pending gives the result of every suite it does not find written
        raise ValueError(f"résultats absents pour les suites {', '.join(lost)}")
    (gx_dir / SUITE_STAMPS).unlink(missing_ok=True)  # the pages change: no stale claim if stopped midway
    for left in gx_dir.glob(f"{ROWS_PREFIX}*"):  # the rows of a writing killed midway (one build at a time)
        shutil.rmtree(left, ignore_errors=True)
    built = PerSuite(parts, lambda name: spilled(suites[name], parts[name], gx_dir))  # one suite at a time
    site = write(gx_dir, built, suites, names, replace_all=True, kept=kept)
    _write(gx_dir / SUITE_STAMPS, "".join(f"{n} {d}\n" for n, d in sorted(digests.items())))
    _write(gx_dir / STAMP, stamp + "\n")
    return site


_NO_EXCEPTION = {"raised_exception": False, "exception_traceback": None, "exception_message": None}


ROWS_PREFIX = ".rows-"  # the temporary folders of `spilled`, in the results folder


@dataclass
class Spilled:
    """A suite's validation result whose lists of flagged rows (`_PER_ROW`) are on disk: `lists` maps
    (expectation's position, list name) to the file of its JSON text, as `_json` writes it; the lists of
    `result` hold their first SAMPLE rows only, what its page draws (expectations/base.py), and its
    counts are those of every row. A context manager: the files are removed on exit. A result all in
    memory is a Spilled without `lists`."""

    result: ExpectationSuiteValidationResult
    lists: dict[tuple[int, str], Path] = field(default_factory=dict)
    folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Spilled:
        return self

    def __exit__(self, *exc) -> None:
        if self.folder is not None:
            self.folder.cleanup()


def spilled(suite: ExpectationSuite, parts: Iterable[dict], gx_dir: Path) -> Spilled:
    """The result of `suite` over its parts (stored_results.suite_parts, in order), its flagged rows
    written to files of a temporary folder of `gx_dir` part by part: the memory it holds is that of a
    part and of SAMPLE rows per expectation, whatever the corpus (the suite « totaux » of 1 600 reports
    flags 38 000 rows). Same JSON, page and counts as `suite_result` over stored_results.combined."""
    folder = tempfile.TemporaryDirectory(prefix=ROWS_PREFIX, dir=gx_dir)
    kinds: dict[str, dict] = {}
    try:
        try:
            for part in parts:
                for kind, counted in part.items():
                    if kind not in kinds:  # its files opened once
                        kinds[kind] = _spill_to(Path(folder.name), len(kinds))
                    kinds[kind]["element_count"] += counted["element_count"]
                    _spill(kinds[kind], counted["unexpected_rows"])
            for total in kinds.values():
                for out in total["files"].values():
                    out.write("]")
        finally:  # written whole, or closed before the folder is removed
            for total in kinds.values():
                for out in total["files"].values():
                    out.close()
        position = {e.configuration.type: i for i, e in enumerate(suite.expectations)}
        result = suite_result(suite, {kind: expectation_result({"element_count": t["element_count"], "unexpected_rows": t["sample"]},
                                                               t["count"]) for kind, t in kinds.items()})
        lists = {(position[kind], key): Path(out.name) for kind, t in kinds.items() if kind in position
                 for key, out in t["files"].items()}
        return Spilled(result, lists, folder)
    except BaseException:
        folder.cleanup()
        raise


def _spill_to(folder: Path, n: int) -> dict:
    """An expectation's running total: its element count, rows flagged, first SAMPLE rows, and the files
    where its two lists are written (each opened with its « [ »)."""
    files = {key: (folder / f"{n}-{key}.json").open("w", encoding="utf-8") for key in _PER_ROW}
    for out in files.values():
        out.write("[")
    return {"element_count": 0, "count": 0, "sample": [], "files": files}


def _spill(total: dict, rows: list[dict]) -> None:
    """Add a part's flagged rows to an expectation's total (`_spill_to`), their text as `_rows_text` writes it."""
    if not rows:
        return
    texts = {"unexpected_rows": _rows_text(rows), "unexpected_index_list": _rows_text([{"check_id": u["check_id"]} for u in rows])}
    for key, out in total["files"].items():
        out.write((_ROW_SEP if total["count"] else "") + texts[key][1:-1])
    total["sample"] += rows[:SAMPLE - len(total["sample"])]
    total["count"] += len(rows)


def suite_result(suite: ExpectationSuite, kinds: dict[str, dict]) -> ExpectationSuiteValidationResult:
    """GE's validation result of `suite` whose expectations gave the results `kinds` (expectation type ->
    `result` dict as expectations/base.py gives it; an expectation absent judged no row): what GE gives
    for one batch of every check row, built from the results of several."""
    results = []
    for expectation in suite.expectations:
        config = expectation.configuration
        result = kinds.get(config.type) or expectation_result({"element_count": 0, "unexpected_rows": []})
        results.append(ExpectationValidationResult(success=not result["unexpected_count"], expectation_config=config,
                                                   result=result, meta={}, exception_info=dict(_NO_EXCEPTION)))
    ok = sum(1 for r in results if r.success)
    total = len(results)
    return ExpectationSuiteValidationResult(
        success=ok == total, results=results, suite_name=suite.name, suite_parameters={},
        statistics={"evaluated_expectations": total, "successful_expectations": ok,
                    "unsuccessful_expectations": total - ok, "success_percent": 100.0 * ok / total if total else None},
        meta={"great_expectations_version": gx.__version__})


def restamp(gx_dir: Path, when: str | None = None) -> None:
    """Give the stored results and their pages the run time `when` (now by default, ISO 8601 in UTC):
    what a run that found the results unchanged (stored_results.up_to_date) says, without rendering
    them again. The pages print the time to the second, « 2026-11-30T06:15:37Z ». The results
    WRITTEN_ELSEWHERE keep the time of the run that wrote them."""
    when = when or datetime.now(UTC).isoformat()
    names = [p.stem for p in sorted((gx_dir / VALIDATIONS).glob("*.json")) if p.stem not in WRITTEN_ELSEWHERE]
    for name in names:
        _restamp_suite(gx_dir, name, when)
    index = gx_dir / DATA_DOCS / "index.html"
    if index.is_file():
        text = index.read_text(encoding="utf-8")
        for name in names:  # the row of each suite: its name is in the row's attribute, escaped as written
            text = re.sub(f'(<td class="quand" data-suite="{re.escape(html.escape(name))}">)[^<]*(</td>)',
                          lambda m: m.group(1) + _shown_time(when) + m.group(2), text)
        _write(index, text)


def _restamp_suite(gx_dir: Path, name: str, when: str) -> None:
    """The stored result of the suite `name` and its validation page with the run time `when`."""
    path = gx_dir / VALIDATIONS / f"{name}.json"
    text = path.read_text(encoding="utf-8")
    old = ((json.loads(text).get("meta") or {}).get("run_id") or {}).get("run_time")
    if not isinstance(old, str) or old == when:
        return
    _write(path, text.replace(json.dumps(old), json.dumps(when)))
    page = gx_dir / DATA_DOCS / "validations" / f"{name}.html"
    if page.is_file():
        _write(page, page.read_text(encoding="utf-8").replace(_shown_time(old), _shown_time(when)))


def _shown_time(iso: str) -> str:
    """A run time as the validation pages print it."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(result: ExpectationSuiteValidationResult, name: str, when: str) -> None:
    """Name the run and the batch in the result: GE 1.x's batch.validate leaves both out, and its page
    renderer would title the page « __none__ » and the data « None »."""
    result.meta["run_id"] = {"run_name": "bilans", "run_time": when}
    result.meta.setdefault("batch_spec", {})["data_asset_name"] = f"controles_{name}"


# The lists of a result that hold one entry per flagged row: GE's to_json_dict deep-copies them twice and
# converts them value by value, and an indented json.dumps is pure Python (25 s for the 18 000 findings
# of 400 reports). They are plain JSON values already (stored_results.combined reads them from the
# parts' JSON): `_json` lets GE serialize the result without them, and writes them one row per line.
_PER_ROW = ("unexpected_rows", "unexpected_index_list")


def _json(result: ExpectationSuiteValidationResult) -> str:
    """GE's JSON of a suite result (what `to_json_dict()` gives), indented by one, each flagged row on
    one line: GE serializes the result with its long lists of rows set aside."""
    return "".join(_json_pieces(result))


_MARKER = re.compile(r'"\\u0000(\d+)"')


def _json_pieces(result: ExpectationSuiteValidationResult, spilled: dict[tuple[int, str], Path] | None = None
                 ) -> Iterator[str]:
    """`_json`'s text, piece by piece; a list that `spilled` has on disk (Spilled.lists) is read from its
    file, in chunks, in place of the one in `result`."""
    spilled = spilled or {}
    held = {id(r.result): r.result for r in result.results if r.result}  # a dict two results share: once
    lists = {i: {k: d[k] for k in _PER_ROW if isinstance(d.get(k), list)} for i, d in held.items()}
    for i, d in held.items():
        d.update(dict.fromkeys(lists[i], []))
    try:
        out = result.to_json_dict()
    finally:
        for i, d in held.items():
            d.update(lists[i])
    rows: list[tuple[int, str, list]] = []  # each list, in the place of a marker its index names
    for j, (r, aside) in enumerate(zip(out["results"], [lists.get(id(r.result), {}) for r in result.results],
                                       strict=True)):
        for k, values in aside.items():
            r["result"][k] = f"\0{len(rows)}"
            rows.append((j, k, values))
    text = json.dumps(out, ensure_ascii=False, indent=1)
    at = 0
    for m in _MARKER.finditer(text):
        yield text[at:m.start()]
        j, k, values = rows[int(m[1])]
        if (j, k) in spilled:
            with spilled[(j, k)].open(encoding="utf-8") as f:
                while chunk := f.read(1 << 20):
                    yield chunk
        else:
            yield _rows_text(values)
        at = m.end()
    yield text[at:]


# Two rows of a list encoded at once are told apart by this item separator: a control character,
# which JSON never leaves raw in a string (\u001f), so that it stands for a separator only.
_BULK = json.JSONEncoder(ensure_ascii=False, separators=(",\x1f", ": "))
_ROW_SEP = ",\n  "  # between two flagged rows of a stored result: one row a line


def _rows_text(values: list) -> str:
    """The JSON of a list of flagged rows, one row per line: « [row,\n  row] », each row as
    `_row_text` writes it. Rows that are dicts (as the checks give them) are encoded in one call, the
    rows then cut at the separators between them (38 000 calls of json.dumps cost a second): there are
    as many as rows but one, unless a row holds dicts one after another in a list, whose separators
    would look the same (then, as for any other list, row by row)."""
    if values and all(isinstance(v, dict) for v in values):
        try:
            text = _BULK.encode(values)
        except TypeError:  # a value JSON cannot write: `_row_text` says what GE would
            text = "NaN"
        if "NaN" not in text and text.count("},\x1f{") == len(values) - 1:
            return text.replace("},\x1f{", "}" + _ROW_SEP + "{").replace(",\x1f", ", ")
    return "[" + _ROW_SEP.join(map(_row_text, values)) + "]"


def _row_text(value) -> str:
    """The JSON of one flagged row as GE would convert it: json.dumps' own, unless it printed a NaN
    (GE's null) or met a value it cannot write (numpy's)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except TypeError:
        text = "NaN"
    return text if "NaN" not in text else json.dumps(_plain(value), ensure_ascii=False)


def _plain(value):
    """great_expectations.util.convert_to_json_serializable for values read from JSON (dicts, lists,
    str, numbers, bool, None): NaN becomes None, dict keys strings, tuples lists. Anything else goes
    through GE's own conversion."""
    if isinstance(value, float):
        return None if value != value else value
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    from great_expectations.util import convert_to_json_serializable

    return convert_to_json_serializable(value)


def _write(path: Path, text: str | Iterable[str]) -> None:
    """Written beside (the text, or its pieces one after the other), then renamed: a reader of the site
    never sees half a page."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.writelines([text] if isinstance(text, str) else text)
    tmp.replace(path)


def index_page(suites: list[dict], css: str) -> str:
    """The site's index (suites: stored_results.summary's name, description, success, unexpected,
    checked, run_time); each suite's run time as its validation page prints it (UTC, to the second)."""
    rows = []
    for s in suites:
        name = html.escape(s["name"])
        state = ('<span class="ok">conforme</span>' if s["success"] else
                 f'<span class="ko">{pluriel(s["unexpected"], "constat", "constats")}</span>')
        when = _shown_time(s["run_time"]) if s.get("run_time") else "—"
        rows.append(f'<tr><td><a href="expectations/{name}.html">{name}</a></td>'
                    f'<td>{html.escape(s["description"])}</td><td>{nombre(s["checked"])}</td><td>{state}</td>'
                    f'<td class="quand" data-suite="{name}">{when}</td>'
                    f'<td><a href="validations/{name}.html">résultats</a></td></tr>')
    return ("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Data Docs — bilans</title>"
            f"<style>\n{css}</style></head><body><div class=\"container\"><h1>Contrôles des bilans — Data Docs</h1>"
            "<p>Une suite par famille de règles (<code>expectations/*.json</code>) ; chaque suite donne ses règles "
            "et leurs paramètres, chaque résultat les constats avec le document, le tableau, la ligne, le chiffre "
            "trouvé et le chiffre attendu.</p><table><thead><tr><th>Suite</th><th>Règles</th>"
            "<th>Contrôles</th><th>Résultat</th><th>Exécution (UTC)</th><th>Détail</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></body></html>\n")
