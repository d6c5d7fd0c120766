"""`gridcover --help` starts without the heavy libraries; each command still gets its options."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from gridcover.cli import COMMANDS, build_parser, command_help

HEAVY = ("geopandas", "shapely", "pandas", "pyproj", "h3", "pyogrio", "scipy", "fastapi")


def _modules_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_top_level_help_imports_no_heavy_library() -> None:
    code = (
        "from gridcover.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
    )
    loaded = _modules_after(code)
    assert "gridcover.cli" in loaded  # the probe did run the CLI
    assert not [m for m in HEAVY if m in loaded]
    assert not [m for m in loaded if m.startswith("gridcover.commands.")]


def test_a_command_imports_what_it_needs() -> None:
    code = (
        "from gridcover.cli import main\n"
        "try:\n    main(['inspect', '--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
    )
    loaded = _modules_after(code)
    assert "gridcover.commands.inspect" in loaded and "geopandas" in loaded
    assert "gridcover.commands.check" not in loaded


@pytest.mark.parametrize("name", COMMANDS)
def test_help_read_from_source_is_the_module_constant(name: str) -> None:
    module = importlib.import_module(f"gridcover.commands.{name}")
    assert command_help(name) == (module.NAME, module.HELP)


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_parser_has_its_own_options(name: str) -> None:
    lazy = build_parser(name)._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
    full = build_parser("*")._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
    assert lazy.format_help() == full.format_help()
    assert len(lazy._actions) > 1  # configured: more than its -h


def test_console_script_help_runs() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "gridcover", "--help"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0
    for name in COMMANDS:
        assert f"    {name} " in run.stdout
