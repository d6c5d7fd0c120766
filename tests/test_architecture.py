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


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_has_no_web_import(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(WEB), f"{path.name} imports {name}"


def test_importing_core_does_not_load_fastapi() -> None:
    code = (
        "import sys, importlib, pkgutil, gridcover.gis, gridcover.coverage\n"
        "for pkg in (gridcover.gis, gridcover.coverage):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'uvicorn')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
