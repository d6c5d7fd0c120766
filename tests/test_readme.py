"""The README's two set-up commands: the main job runs on the bundled sample, CI runs the tests."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyogrio

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md must open with a bash block holding the two commands"
    return [ln for ln in block.group(1).splitlines() if ln and not ln.startswith("#")]


def test_readme_opens_with_exactly_two_commands_and_ci_runs_the_second() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == commands[1]


def test_help_lists_every_command_with_one_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gridcover", "--help"], capture_output=True, text=True, check=True
    ).stdout
    from gridcover.cli import COMMANDS

    for name in COMMANDS:
        pattern = re.compile(rf"^ {{2,6}}{name} {{2,}}(\S.{{10,}})$")
        assert any(pattern.match(ln) for ln in out.splitlines()), name


def test_console_script_is_declared_and_installed() -> None:
    """README commands call `gridcover`: pyproject declares it and the installed entry point
    is the CLI's main (the other tests run `python -m gridcover`, the same function)."""
    import importlib.metadata as md
    import tomllib

    from gridcover.cli import main

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["scripts"] == {"gridcover": "gridcover.cli:main"}
    (ep,) = md.entry_points(group="console_scripts", name="gridcover")
    assert ep.load() is main


def test_main_job_command_runs_on_the_bundled_sample(tmp_path: Path) -> None:
    main_job = _readme_commands()[0].split("&&", 1)[1].strip()
    argv = shlex.split(main_job)
    assert argv[0] == "gridcover"
    run = subprocess.run(
        [sys.executable, "-m", "gridcover", *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = tmp_path / argv[argv.index("--out") + 1]
    # Re-read the results with GDAL (a second reader) and check they hang together.
    stats = pyogrio.read_dataframe(out / "grid_stats.geojson")
    grids = pyogrio.read_dataframe(ROOT / "sample_geodata" / "grids.geojson")
    assert sorted(stats["code"].astype(str)) == sorted(grids["code"].astype(str))
    spots = pyogrio.read_dataframe(out / "blind_spots.geojson")
    assert len(spots) > 0 and (spots["weight"].diff().dropna() <= 0).all()
    for name in ("map.html", "report/report.html", "report/grid_report.xlsx", "report/map.png"):
        assert (out / name).stat().st_size > 1000, name
    assert "=== 2. check the grid map ===" in run.stdout
