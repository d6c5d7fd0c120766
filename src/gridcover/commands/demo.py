"""``gridcover demo``: the whole main job on the bundled sample, one step after another."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "demo"
HELP = "run the main job on the bundled sample: inspect, check, analyze, map and report"
DESCRIPTION = """\
Run every step a planner runs, on the bundled sample (real OpenStreetMap cameras, buildings and
streets of central Helsinki with a derived 3-level grid; see sample_geodata/README.md):

  1. inspect   every sample layer (counts, extent, column mapping, notes)
  2. check     the 3-level grid map (issues -> OUT/grid_issues.geojson)
  3. analyze   occluded camera views, H3 coverage, priority, blind spots, grid statistics
  4. map       an offline Leaflet map of the results (OUT/map.html)
  5. report    HTML/XLSX/CSV/PNG documents (OUT/report/)

Nothing needs a server, a key or the network. Each step is also a command of its own.

example:
  gridcover demo --out out/sample
"""

SAMPLE_LAYERS = ("grids", "cameras", "buildings", "roads", "sites", "posts")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out/sample"), help="output folder")
    parser.add_argument("--res", type=int, default=12, help="H3 resolution 9-13 (default 12)")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh", help="map/report labels")
    parser.set_defaults(func=run)


def _step(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def run(args: argparse.Namespace) -> int:
    from gridcover.cli import main
    from gridcover.errors import InputError
    from gridcover.sample import bundled_sample_dir as sample_dir

    folder = sample_dir()
    if folder is None:
        raise InputError("The bundled sample (sample_geodata/) was not found next to the package.")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for kind in SAMPLE_LAYERS:
        _step(f"1. inspect {kind}")
        if main(["inspect", str(folder / f"{kind}.geojson"), "--kind", kind]) != 0:
            return 2
    _step("2. check the grid map")
    check = main(
        ["check", str(folder / "grids.geojson"), "--out", str(out / "grid_issues.geojson")]
    )
    if check == 2:
        return 2
    _step("3. analyze coverage")
    analyze = ["analyze", "--sample", "--res", str(args.res), "--out", str(out), "--no-progress"]
    if main(analyze) != 0:
        return 2
    cameras, posts = str(folder / "cameras.geojson"), str(folder / "posts.geojson")
    _step("4. map")
    lang = ["--lang", args.lang]
    if main(["map", str(out), "--cameras", cameras, "--posts", posts, "--out",
             str(out / "map.html"), *lang]) != 0:  # fmt: skip
        return 2
    _step("5. report")
    if main(["report", str(out), "--cameras", cameras, "--posts", posts, *lang]) != 0:
        return 2
    print(f"\ngridcover: the sample run is in {out}/ (open map.html and report/report.html)")
    return check
