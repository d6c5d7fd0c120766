"""``gridcover check``: grid QA from the shell (a table for people, GeoJSON/CSV for GIS)."""

from __future__ import annotations

import argparse
import os
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridcover.commands.layer_options import add_layer_options, options_from_args
from gridcover.errors import InputError, SchemaError
from gridcover.gis import read_layer
from gridcover.gis.profile import LayerOptions
from gridcover.gis.qa.check import COLUMNS, GridCheck, check_grids

NAME = "check"
HELP = "Check a grid map: overlaps, gaps, nesting, orphans, codes, slivers (exit 1 on errors)."
DESCRIPTION = """\
Check a 1-3 level grid map (网格) for topology and coding errors.

GRIDS is one layer holding every level (with a level field), or several files, e.g. one per
level; they are read with gridcover's reader (GeoJSON, GeoPackage, Shapefile/zip, CSV,
GeoParquet; any supported CRS) and checked together.

Per level: invalid shapes, overlaps between grids, gaps (holes between grids, and inside a
parent), slivers. Across levels: child outside its parent, children not covering their
parent, orphans (parent code not in the data), level not parent level + 1, child codes that
do not extend the parent code (only when the data uses such prefix codes), duplicate codes.
Overlaps, gaps and spills smaller than --gap-min-area or thinner than --tolerance are
warnings (digitising noise), not errors. Areas are m² in a local metric CRS.

Exit code: 0 no errors (warnings allowed), 1 errors found, 2 unreadable input.

Examples:
  gridcover check sample_geodata/grids.geojson --out issues.geojson
  gridcover check districts.geojson beats.geojson --csv issues.csv
  gridcover check level2.shp --level 2 --code-field WGBM --parent-field SJWGBM
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("grids", nargs="+", metavar="GRIDS", help="grid file(s) to check together")
    add_layer_options(parser, single=True)  # --layer, --crs, --coord-sys, ... (every file)
    parser.add_argument("--code-field", metavar="F", help="column holding the grid code")
    parser.add_argument("--parent-field", metavar="F", help="column holding the parent grid code")
    parser.add_argument("--level-field", metavar="F", help="column holding the level (1-3)")
    parser.add_argument(
        "--level",
        type=int,
        action="append",
        choices=(1, 2, 3),
        metavar="N",
        help="level of every grid of a single-level file; give once for all files or once per file",
    )
    parser.add_argument("--mask", type=Path, metavar="FILE",
                        help="water, rail yards, closed areas: not gaps")  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="FILE", help="write issues as GeoJSON here")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write issues as CSV here")
    parser.add_argument(
        "--limit", type=int, default=20, metavar="N", help="issues printed (default 20)"
    )
    th = parser.add_argument_group("thresholds (see docs/GRID_QA.md)")
    th.add_argument(
        "--tolerance",
        type=float,
        default=1.0,
        metavar="M",
        help="parts thinner than this (mean width, m) are warnings (default 1.0)",
    )
    th.add_argument(
        "--gap-min-area",
        type=float,
        default=1.0,
        metavar="M2",
        help="parts smaller than this (m²) are warnings (default 1.0)",
    )
    th.add_argument(
        "--sliver-max-area",
        type=float,
        default=100.0,
        metavar="M2",
        help="grids smaller than this (m²) are slivers (default 100)",
    )
    th.add_argument(
        "--sliver-thinness",
        type=float,
        default=0.05,
        metavar="PP",
        help="grids below this Polsby-Popper compactness are slivers (default 0.05)",
    )
    parser.set_defaults(func=run)


def read_grids(args: argparse.Namespace) -> gpd.GeoDataFrame:
    """Read every GRIDS file into one canonical grids GeoDataFrame (index 'file:feature')."""
    levels = args.level or []
    if len(levels) not in (0, 1, len(args.grids)):
        raise InputError(
            f"--level was given {len(levels)} times for {len(args.grids)} files; give it once "
            "(same level for every file) or once per file, in file order."
        )
    columns = {
        f: target
        for f, target in (
            (args.code_field, "code"),
            (args.parent_field, "parent_code"),
            (args.level_field, "level"),
        )
        if f
    }
    options = options_from_args(args, ["grids"], single="grids")["grids"]
    fields = [_fields(path, options.layer) for path in args.grids]
    for src in columns:
        if all(f is not None and src not in f for f in fields):
            raise InputError(
                f"No GRIDS file has a column '{src}' (given as a --*-field option); "
                "the files have: "
                + "; ".join(
                    f"{p}: {', '.join(sorted(f or []))}"
                    for p, f in zip(args.grids, fields, strict=True)
                )
            )
    frames = []
    for k, path in enumerate(args.grids):
        have = fields[k]
        mine = {c: t for c, t in columns.items() if have is None or c in have}
        level = (levels[0] if len(levels) == 1 else levels[k]) if levels else None
        if level is not None:  # --level wins over --level-field for this file
            mine = {c: t for c, t in mine.items() if t != "level"}
        gdf = _read_one(path, options, mine, level)
        name = Path(path).name
        gdf.index = pd.Index([f"{name}:{i}" for i in range(len(gdf))])
        frames.append(gdf[["code", "parent_code", "level", "name", "geometry"]])
    return gpd.GeoDataFrame(pd.concat(frames), geometry="geometry", crs=4326)


def _fields(path: str, layer: str | None) -> set[str] | None:
    """Attribute names of a file (None when GDAL cannot tell; the reader will)."""
    try:
        return set(pyogrio.read_info(path, layer=layer)["fields"])
    except Exception:
        return None


def _read_one(
    path: str, options: LayerOptions, columns: dict[str, str], level: int | None
) -> gpd.GeoDataFrame:
    """Read one GRIDS file; ``level`` (from --level) is the level of every row."""
    kw = options.kwargs()
    kw["columns"] = {**kw.get("columns", {}), **columns} or None
    if level is not None:
        kw["constants"] = {**kw.get("constants", {}), "level": level}
    try:
        return read_layer(path, "grids", **kw, duplicates="keep", on_invalid="keep")
    except SchemaError as exc:
        if "no column found for required" not in str(exc):
            raise
        raise SchemaError(
            f"{exc} With gridcover check, name the columns with --code-field F, "
            "--parent-field F, --level-field F, or give a single-level file its level with "
            "--level N."
        ) from exc


def run(args: argparse.Namespace) -> int:
    outputs = [(args.out, write_geojson, "GeoJSON"), (args.csv, write_csv, "CSV, UTF-8")]
    staged = [(path, writer, what) for path, writer, what in outputs if path is not None]
    for path, _, _ in staged:  # before any work: an output path that cannot be a file
        if path.is_dir():
            raise InputError(
                f"{path} is a folder; give --out/--csv a file name, e.g. "
                f"{path / 'issues.geojson'} or {path / 'issues.csv'}."
            )
    grids = read_grids(args)
    result = check_grids(
        grids,
        sliver_max_area_m2=args.sliver_max_area,
        sliver_thinness=args.sliver_thinness,
        gap_min_area_m2=args.gap_min_area,
        tolerance_m=args.tolerance,
        mask=_read_mask(args.mask) if args.mask else None,
    )
    print(report(result, grids, limit=args.limit))
    write_all(result.issues, [(path, writer) for path, writer, _ in staged])
    for path, _, what in staged:
        print(f"Wrote {len(result.issues)} issue(s) to {path} ({what}, EPSG:4326).")
    return 0 if result.ok else 1


def write_all(
    issues: gpd.GeoDataFrame,
    targets: list[tuple[Path, Callable[[gpd.GeoDataFrame, Path], None]]],
) -> None:
    """Write every target completely beside its final name, then move them all into place
    (``os.replace``, atomic per file). A failure removes the partial files and leaves the
    existing outputs as they were: never a half-written or a mismatched file."""
    parts: list[tuple[Path, Path]] = []
    try:
        for path, writer in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(
                prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent
            )
            os.close(fd)
            part = Path(name)
            parts.append((part, path))
            part.unlink()  # the writers create the file themselves
            writer(issues, part)
        for part, path in parts:
            os.replace(part, path)
    finally:
        for part, _ in parts:
            part.unlink(missing_ok=True)


def report(result: GridCheck, grids: gpd.GeoDataFrame, *, limit: int = 20) -> str:
    """The table for people: what was read, counts per check, then the first issues."""
    per_level = grids["level"].value_counts().sort_index()
    lines = [
        f"Checked {len(grids)} grid rows ("
        + ", ".join(f"{n} at level {lv}" for lv, n in per_level.items())
        + f"); areas in m², measured in {result.metric_crs.name}.",
        "",
        f"{'check':<16}{'errors':>8}{'warnings':>10}{'area m²':>16}",
    ]
    for check, err, warn, area in result.summary.itertuples():
        lines.append(f"{check:<16}{int(err):>8}{int(warn):>10}{area:>16,.1f}")
    verdict = "FAILED" if result.n_errors else "OK"
    lines += ["", f"{verdict}: {result.n_errors} error(s), {result.n_warnings} warning(s)."]
    shown = result.issues.head(max(limit, 0))
    if len(shown):
        lines += ["", f"First {len(shown)} of {len(result.issues)} issue(s), errors first:"]
        wrap = textwrap.TextWrapper(width=100, initial_indent="", subsequent_indent=" " * 6)
        for k, (sev, msg) in enumerate(zip(shown["severity"], shown["message"], strict=True), 1):
            lines.append(wrap.fill(f"{k:>3}. [{sev}] {msg}"))
    return "\n".join(lines)


def write_geojson(issues: gpd.GeoDataFrame, path: Path) -> None:
    """Issue table as GeoJSON (EPSG:4326); issues without a place get a null geometry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    issues.to_file(path, driver="GeoJSON", engine="pyogrio")


def write_csv(issues: gpd.GeoDataFrame, path: Path) -> None:
    """Issue table as CSV (UTF-8 with BOM for spreadsheets) with a lon/lat point on each issue."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pts = anchor_points(issues.geometry.to_numpy())
    table = pd.DataFrame(issues[list(COLUMNS)]).assign(
        area_m2=issues["area_m2"].round(3),
        lon=shapely.get_x(pts).round(7),
        lat=shapely.get_y(pts).round(7),
    )
    table.to_csv(path, index=False, encoding="utf-8-sig")


def anchor_points(geoms: np.ndarray) -> np.ndarray:
    """A point inside the largest polygon part of each geometry (points stay; None stays None)."""
    out = shapely.point_on_surface(geoms)
    parts, idx = shapely.get_parts(geoms, return_index=True)
    if len(parts):
        area = shapely.area(parts)
        order = np.lexsort((-area, idx))
        first = order[np.r_[True, idx[order][1:] != idx[order][:-1]]]
        out[idx[first]] = shapely.point_on_surface(parts[first])
    return out


def _read_mask(path: Path) -> gpd.GeoDataFrame:
    from gridcover.gis.analysis_folder import read_table

    mask = read_table(path)
    if mask.crs is None:
        raise InputError(f"{path}: the mask has no CRS; give a file with one (e.g. GeoJSON).")
    return mask
