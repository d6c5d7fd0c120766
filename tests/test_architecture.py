"""House rules that are cheap to check: the pure core never imports the web layer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gridcover"
WEB = ("fastapi", "starlette", "uvicorn", "gridcover.api")


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
