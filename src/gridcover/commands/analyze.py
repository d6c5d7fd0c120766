"""``gridcover analyze``: camera views, H3 coverage, blind spots and per-grid statistics."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridcover.commands.layer_options import add_layer_options, read_cli_layers
from gridcover.commands.view_options import add_view_options

if TYPE_CHECKING:
    from gridcover.coverage.views.defaults import CameraDefaults

NAME = "analyze"
HELP = "coverage analysis: occluded camera views, H3 coverage, ranked blind spots, grid stats"
DESCRIPTION = """\
Compute what the cameras really see (views cut by buildings), which H3 cells they cover
(a cell is covered when its centroid lies inside the view of an online camera), the priority
weight of every cell (roads, intersections, key sites, incidents; see --weights), the ranked
blind spots and the statistics of every grid at every level.

Writes into --out: views, cells, blind_spots, grid_stats as GeoJSON and GeoParquet,
grid_stats.csv, summary.csv and report.txt (and cell_cameras.csv with --cell-cameras). The
files are written into a staging folder next to --out and moved in only when all are
complete: a run that fails leaves a previous result in --out whole (not yet with --dask).

examples:
  gridcover analyze --sample --out out/sample
  gridcover analyze --grids grids.gpkg --cameras cams.csv --buildings bld.shp \\
      --roads roads.geojson --sites sites.geojson --res 12 --out out/district
  gridcover analyze --weights-template my_weights.toml     (then edit it, pass --weights)
"""

LAYERS = ("grids", "cameras", "buildings", "roads", "sites", "posts", "incidents")


def configure(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("input layers (any format gis.read_layer reads)")
    for kind in LAYERS:
        req = " (required unless --sample)" if kind in ("grids", "cameras") else ""
        src.add_argument(f"--{kind}", type=Path, metavar="FILE", help=f"{kind} layer{req}")
    src.add_argument(
        "--sample",
        action="store_true",
        help="use the bundled sample (central Helsinki, OSM); explicit layers override it",
    )
    opt = parser.add_argument_group("analysis")
    opt.add_argument("--res", type=int, default=12, help="H3 resolution 9-13 (default 12)")
    opt.add_argument("--weights", type=Path, metavar="TOML", help="priority weights file")
    opt.add_argument(
        "--weights-template",
        type=Path,
        metavar="TOML",
        help="write the default weights file (commented, zh/en) here and exit",
    )
    opt.add_argument(
        "--camera-default",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a per-type default used where a camera leaves fov_deg/range_m empty, "
        "e.g. bullet_range_m=80 or other_fov_deg=120 (repeatable; docs/VIEWS.md)",
    )
    opt.add_argument("--no-occlusion", action="store_true", help="ignore buildings for views")
    add_view_options(opt)
    opt.add_argument("--include-offline", action="store_true", help="offline cameras count too")
    opt.add_argument(
        "--unknown-offline",
        action="store_true",
        help="cameras of unknown status do not count (default: they count as online)",
    )
    opt.add_argument(
        "--cell-geometry",
        choices=("polygon", "point"),
        default="polygon",
        help="cells as hexagons (default) or centroids",
    )
    opt.add_argument("--threads", type=int, help="threads for the cover step (default: CPUs)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, metavar="DIR", help="output folder (created)")
    out.add_argument(
        "--cell-cameras",
        action="store_true",
        help="also write cell_cameras.csv: every (cell, covering camera) pair, offline too",
    )
    out.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_layer_options(parser)
    parser.set_defaults(func=run)
    from gridcover.commands.analyze_dask import add_dask_arguments  # --dask: docs/SCALE.md

    add_dask_arguments(parser)


def _layer_paths(args: argparse.Namespace) -> dict[str, Path]:
    from gridcover.errors import InputError

    paths: dict[str, Path] = {}
    if args.sample:
        from gridcover.sample import bundled_sample_dir

        folder = bundled_sample_dir()
        if folder is None:
            raise InputError(
                "The bundled sample was not found (sample_geodata/); pass --grids and --cameras."
            )
        paths = {k: folder / f"{k}.geojson" for k in LAYERS if (folder / f"{k}.geojson").is_file()}
    for kind in LAYERS:
        if getattr(args, kind) is not None:
            paths[kind] = getattr(args, kind)
    missing = [k for k in ("grids", "cameras") if k not in paths]
    if missing:
        raise InputError(
            f"gridcover analyze needs --{' and --'.join(missing)} (or --sample for the sample)."
        )
    return paths


def camera_defaults(pairs: list[str]) -> CameraDefaults:
    """``CameraDefaults`` with the ``FIELD=VALUE`` overrides of ``--camera-default``."""
    import dataclasses

    from gridcover.coverage.views.defaults import CameraDefaults
    from gridcover.errors import InputError

    fields = [f.name for f in dataclasses.fields(CameraDefaults)]
    values: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or key not in fields or number != number:
            raise InputError(
                f"--camera-default {pair!r}: give FIELD=NUMBER with FIELD one of "
                f"{', '.join(fields)} (e.g. bullet_range_m=80)."
            )
        values[key] = number
    try:
        return CameraDefaults(**values)
    except ValueError as exc:
        raise InputError(f"--camera-default: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from gridcover.coverage.weights import default_weights_text, load_weights
    from gridcover.errors import InputError

    if args.weights_template is not None:
        args.weights_template.write_text(default_weights_text(), encoding="utf-8")
        print(
            f"gridcover: wrote the default weights to {args.weights_template}; edit it, then "
            "pass it with --weights."
        )
        return 0
    if args.out is None:
        raise InputError("gridcover analyze needs --out DIR (the folder for the results).")
    if getattr(args, "staged", None):  # inputs written by 'gridcover stage' (docs/SCALE.md)
        from gridcover.commands.analyze_dask import run_staged_cli

        return run_staged_cli(args)
    from tqdm import tqdm

    from gridcover.coverage.analysis import AnalysisConfig, run_analysis
    from gridcover.coverage.beyond_reach import BEYOND_FILE, beyond_line
    from gridcover.coverage.output import text_report, write_analysis

    config = AnalysisConfig(
        res=args.res,
        weights=load_weights(args.weights),
        occlusion=not args.no_occlusion,
        include_offline=args.include_offline,
        unknown_online=not args.unknown_offline,
        threads=args.threads,
        cell_geometry=args.cell_geometry,
        camera_defaults=camera_defaults(args.camera_default),
        visibility=args.visibility,
        target_height_m=args.target_height_m,
        building_height_m=args.building_height_m,
    )
    paths = _layer_paths(args)
    quiet = args.no_progress or not sys.stderr.isatty()
    read = read_cli_layers(args, paths)  # decisions (coordinate system chosen) come first
    for line in read.decisions:
        print(f"gridcover: {line}")
    layers: dict[str, Any] = dict(read.layers)
    read_notes = list(read.notes)
    if getattr(args, "dask", None):  # partitioned run on a Dask cluster (docs/SCALE.md)
        from gridcover.commands.analyze_dask import run_cli

        return run_cli(args, layers, config, read_notes)
    bar = tqdm(total=6, desc="analysis", unit="step", disable=quiet)

    def progress(step: str, done: int, total: int) -> None:
        bar.set_description(step)
        bar.update(done - bar.n)

    try:
        result = run_analysis(**layers, config=config, progress=progress)
    finally:
        bar.close()
    beyond = result.state.beyond
    indoor = [n for n in result.notes if "indoor camera(s)" in n]
    decisions = [*read.decisions, *indoor]
    decisions += [beyond_line(beyond)] if beyond is not None else []
    decisions = [d for d in decisions if d]
    for line in decisions[len(read.decisions) :]:
        print(f"gridcover: {line}")
    report = "".join(f"Decision: {d}\n" for d in decisions) + text_report(result)
    if read_notes:
        report += "Reading notes:\n" + "".join(f"  - {n}\n" for n in read_notes)
    # Written into a staging folder first: a failure here leaves --out as it was.
    files = tqdm(total=1, desc="writing", unit="file", disable=quiet)

    def wrote(name: str, done: int, total: int) -> None:
        files.total = total
        files.set_description(f"writing {name}")
        files.update(done - files.n)

    try:
        written = write_analysis(
            result, args.out, report=report, progress=wrote, cell_cameras=args.cell_cameras
        )
    finally:
        files.close()
    if beyond is not None and len(beyond):
        beyond.to_csv(args.out / BEYOND_FILE, index=False, encoding="utf-8-sig")
        written = [*written, args.out / BEYOND_FILE]
    print(report)
    print(f"gridcover: wrote {len(written)} files to {args.out}")
    return 0
