"""House rules that are cheap to check on the import graph (deferred imports inside functions
included): the pure core never imports the web layer or the commands; storage, keys, audit and
jobs import no web framework; no import cycles between modules; module names are unique
across packages unless they name the same concept."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gridcover"
WEB = ("fastapi", "starlette", "uvicorn", "gridcover.api", "gridcover.commands")
FRAMEWORK = ("fastapi", "starlette", "uvicorn")


def _core_files() -> list[Path]:
    return sorted([*SRC.joinpath("gis").rglob("*.py"), *SRC.joinpath("coverage").rglob("*.py")])


def _imported_names(path: Path, text: str | None = None) -> list[str]:
    """Absolute names of every module a file imports (relative imports resolved, the names
    imported from a package included: ``from gridcover import api`` -> ``gridcover.api``;
    ``import_module("...")`` calls with a literal name too)."""
    package = ["gridcover", *path.relative_to(SRC).parent.parts]
    names: list[str] = []
    source = path.read_text(encoding="utf-8") if text is None else text
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names += [module, *(f"{module}.{a.name}" for a in node.names)]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.append(str(node.args[0].value))
    return names


def _is_web(name: str) -> bool:
    return any(name == w or name.startswith(f"{w}.") for w in WEB)


def test_import_scanner_sees_relative_and_from_package_imports() -> None:
    """The scanner itself can fail: it resolves the ways a core file could reach the web layer."""
    probe = SRC / "gis" / "maps" / "probe.py"  # not a real file: its path places the code
    cases = {
        "from ...api import app": True,
        "from ... import api": True,
        "from gridcover import api": True,
        "import fastapi.routing": True,
        "import_module('starlette.responses')": True,
        "from ..crs import normalize_crs": False,
        "from gridcover.gis import read_layer": False,
        "import fastapix": False,
    }
    for code, web in cases.items():
        names = _imported_names(probe, code)
        assert any(_is_web(n) for n in names) == web, (code, names)


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_has_no_web_import(path: Path) -> None:
    for name in _imported_names(path):
        assert not _is_web(name), f"{path.name} imports {name}"


def test_importing_core_does_not_load_fastapi() -> None:
    code = (
        "import sys, importlib, pkgutil, gridcover.gis, gridcover.coverage\n"
        "for pkg in (gridcover.gis, gridcover.coverage):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'uvicorn')"
        " or m.startswith('gridcover.api')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _module_name(path: Path) -> str:
    parts = ["gridcover", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str], text: str | None = None) -> set[str]:
    """The gridcover modules a file imports at run time, deferred imports inside functions
    included and ``if TYPE_CHECKING:`` blocks excluded. ``from pkg import sub`` is an edge to
    the module ``pkg.sub`` when that is a module, else to ``pkg``; any other name resolves to
    its longest module prefix (``gridcover.coverage.cells.Cells`` -> its module)."""
    package = ["gridcover", *path.relative_to(SRC).parent.parts]
    tree = ast.parse(path.read_text(encoding="utf-8") if text is None else text)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))

    def resolve(name: str) -> str | None:
        parts = name.split(".")
        while parts and ".".join(parts) not in modules:
            parts.pop()
        return ".".join(parts) or None

    out: set[str | None] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(resolve(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for a in node.names:
                sub = f"{module}.{a.name}"
                out.add(sub if sub in modules else resolve(module))
    return {m for m in out if m is not None and m.startswith("gridcover")}


def _import_graph() -> dict[str, set[str]]:
    """Module -> the gridcover modules it imports at run time (see ``_runtime_imports``)."""
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {m: _runtime_imports(p, set(files)) - {m} for m, p in files.items()}


@pytest.mark.parametrize("part", ["api/store", "api/jobs"])
def test_storage_and_jobs_import_no_web_framework(part: str) -> None:
    for path in sorted(SRC.joinpath(part).rglob("*.py")):
        for name in _imported_names(path):
            top = name.split(".")[0]
            assert top not in FRAMEWORK, f"{path.relative_to(SRC)} imports {name}"


def test_no_import_cycles() -> None:
    import networkx as nx

    graph = nx.DiGraph([(a, b) for a, targets in _import_graph().items() for b in targets])
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert cycles == [], f"import cycles: {cycles}"


def test_cycle_finder_can_fail() -> None:
    """The graph sees a cycle closed by an import inside a function, and ignores imports
    only a type checker runs."""
    mods = {"gridcover.gis", "gridcover.gis.a", "gridcover.gis.b"}
    a = _runtime_imports(SRC / "gis" / "a.py", mods, "def f():\n    from gridcover.gis import b\n")
    b = _runtime_imports(SRC / "gis" / "b.py", mods, "from gridcover.gis.a import f\n")
    typed = _runtime_imports(
        SRC / "gis" / "b.py",
        mods,
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gridcover.gis.a import f\n",
    )
    assert a == {"gridcover.gis.b"} and b == {"gridcover.gis.a"} and typed == set()


# Module names that appear in more than one package because they are the same concept.
SAME_CONCEPT = {
    "__init__": "package faces",
    "__main__": "entry point",
    "store": "a storage backend's Store class (gpkg/, postgis/)",
    "sql": "a storage backend's SQL (gpkg/, postgis/)",
    "edit": "a storage backend's one-feature edits (gpkg/, postgis/)",
    "plan": "the core's plan of a job (patrol/, siting/) or of a distributed run",
    "audit": "the audit log (api/store/audit.py) and its command (commands/audit.py)",
    "keys": "API keys (api/store/keys.py) and their command (commands/keys.py)",
    "check": "the grid check (gis/qa/check.py) and its command (commands/check.py)",
    "errors": "the error types (errors.py) and their HTTP mapping (api/errors.py)",
}


def test_module_names_are_unique_across_packages() -> None:
    seen: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        seen.setdefault(path.stem, []).append(str(path.parent.relative_to(SRC)))
    shared = {k: sorted(v) for k, v in seen.items() if len(v) > 1 and k not in SAME_CONCEPT}
    assert shared == {}, f"module names used in several packages: {shared}"


def _store_files() -> list[Path]:
    return sorted(SRC.joinpath("api", "store").rglob("*.py"))


@pytest.mark.parametrize("path", _store_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_storage_imports_no_web_framework(path: Path) -> None:
    """Storage, keys and the audit log are used by the CLI too: every import in
    ``api/store/**`` (deferred ones inside functions included: the AST walk sees every node)
    stays clear of fastapi, starlette and uvicorn, and of the routes in ``gridcover.api``."""
    framework = ("fastapi", "starlette", "uvicorn")
    for name in _imported_names(path):
        top = name.split(".")[0]
        assert top not in framework, f"{path.name} imports {name}"
        if name.startswith("gridcover.api.") and not name.startswith("gridcover.api.store"):
            raise AssertionError(f"{path.name} imports the web layer module {name}")


def test_storage_scan_sees_deferred_imports() -> None:
    probe = SRC / "api" / "store" / "probe.py"  # not a real file: its path places the code
    code = "def f():\n    from starlette.responses import Response\n    return Response\n"
    assert "starlette.responses" in _imported_names(probe, code)
