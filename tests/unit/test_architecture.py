"""The design as tests: imports run one way, pure packages import no pytest, and no
module grows past what one reader holds in their head.

Every import counts, function-level and type-only ones too: a type-only import is still
a dependency of the design.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_ttsbench"
# The pytest edge; everything else in the package is pure.
EDGE = {
    "pytest_ttsbench.plugin",
    "pytest_ttsbench.session",
    "pytest_ttsbench.fixture",
    "pytest_ttsbench.fidelity_bench",
    "pytest_ttsbench.gatekeeper",
    "pytest_ttsbench.hookspec",
    "pytest_ttsbench.benchmark_bridge",
    "pytest_ttsbench.progress",
    "pytest_ttsbench.tools.fidelity",  # a script that drives a pytest run
}
MAX_LINES = 500
VERSION = "pytest_ttsbench.version"  # __version__, at the bottom of the graph


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if "suites" not in p.relative_to(PACKAGE).parts
    }


def _imported_names(path: Path, module: str) -> list[str]:
    """Every name ``path`` imports; ``from pkg import sub`` of a submodule names only
    ``pkg.sub`` (it reads nothing of ``pkg/__init__.py``), ``from pkg import name`` of
    anything else names ``pkg`` too."""
    names: list[str] = []
    modules = _modules()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")
                if path.name != "__init__.py":
                    parent = parent[:-1]
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found = [f"{base}.{alias.name}" for alias in node.names]
            if not all(name in modules for name in found):
                names.append(base)
            names.extend(found)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for name in _imported_names(path, module):
            target = owner(name) if name.startswith("pytest_ttsbench") else None
            if target and target != module:
                edges[module].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_no_import_runs_up_to_a_package_above() -> None:
    """No module imports a package that holds it (its ``__init__``): the version, say,
    is read from ``version.py``, at the bottom, not from the package top."""
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if module.startswith(target + ".")
    )
    assert upward == []


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_pure_modules_import_no_pytest() -> None:
    offenders = []
    for module, path in _modules().items():
        if module in EDGE:
            continue
        for name in _imported_names(path, module):
            if name.split(".")[0] in ("pytest", "_pytest"):
                offenders.append(f"{module} imports {name}")
    assert offenders == []


def test_results_is_the_bottom_layer() -> None:
    """The typed model imports nothing of the plugin outside results/ but the version
    (which results files record), and the version module imports nothing at all."""
    edges = _graph()
    above = {
        f"{module} -> {target}"
        for module, targets in edges.items()
        if module.startswith("pytest_ttsbench.results")
        for target in targets
        if not target.startswith("pytest_ttsbench.results") and target != VERSION
    }
    assert above == set()
    assert edges[VERSION] == set()


@pytest.mark.parametrize("module", sorted(_modules()))
def test_module_size(module: str) -> None:
    lines = _modules()[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines; split it by concern"


def test_the_wheel_lists_every_package() -> None:
    """pyproject lists packages by hand (suites/ is mapped in): none may be forgotten."""
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    on_disk = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert listed == on_disk | {"pytest_ttsbench.suites"}
    assert pyproject["tool"]["setuptools"]["package-dir"] == {"pytest_ttsbench.suites": "suites"}


def test_adapter_modules_import_nothing_heavy() -> None:
    """Collection imports adapters to look for weights: numpy and the engine packages
    must wait for a benchmark (engines/lazy.py)."""
    adapters = sorted(
        _module_name(p) for p in (PACKAGE / "engines").glob("*.py") if p.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {adapters!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = {'numpy', 'scipy', 'onnxruntime', 'torch', 'mlx', 'asyncio'}\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
