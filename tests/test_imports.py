"""The package's imports: no module of pipelines.validate takes part in an import cycle (function-level
imports included, so that none is needed to break one), and every module of pipelines/ imports on its
own in a fresh interpreter."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipelines"


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of pipelines/."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports, anywhere in its body (a function-level import is an
    edge too). `from pkg import name` points to the submodule pkg.name when there is one, else to pkg."""

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [known(a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else known(base) for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_graph_finds_a_cycle_when_there_is_one(tmp_path):
    """The checker itself: a → b → a through a function-level import is a cycle."""
    (tmp_path / "a.py").write_text("import b\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("def f():\n    from a import x\n", encoding="utf-8")
    (tmp_path / "c.py").write_text("import a\n", encoding="utf-8")
    mods = {p.stem: p for p in tmp_path.glob("*.py")}
    assert cycles(import_graph(mods)) == [["a", "b"]]


def test_validate_has_no_import_cycle():
    graph = import_graph(modules())
    validate = {m for m in graph if m.startswith("pipelines.validate")}
    assert "pipelines.validate.suites" in validate and "pipelines.validate.verdicts" in validate
    assert [c for c in cycles(graph) if validate & set(c)] == []
    # the suite files are read without GE: the rule builders do not pay for its import
    for light in ("pipelines.validate.verdicts", "pipelines.validate.suite_specs", "pipelines.validate.totals",
                  "pipelines.validate.stored_results"):
        assert "pipelines.validate.expectations" not in _reachable(graph, light), light


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in graph[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


# Each module is imported in a child forked from an interpreter that holds the heavy third-party
# libraries but no module of pipelines: a fresh import order for the project's modules, without
# paying GE's import once per module.
_SCRIPT = textwrap.dedent("""
    import importlib, os, sys
    for heavy in ("pandas", "duckdb", "great_expectations", "altair", "pdfplumber", "docx", "polars"):
        try:
            importlib.import_module(heavy)
        except ImportError:
            pass
    assert not [m for m in sys.modules if m.split(".")[0] == "pipelines"]
    for name in sys.argv[1:]:
        pid = os.fork()
        if pid == 0:
            try:
                importlib.import_module(name)
            except BaseException as exc:
                print(f"{name}: {type(exc).__name__}: {exc}", flush=True)
                os._exit(1)
            os._exit(0)
        os.waitpid(pid, 0)
""")


def test_every_module_imports_on_its_own(tmp_path):
    names = list(modules())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "False"}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, *names], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "", proc.stdout
