"""``gridcover patrol``: one contiguous, workload-balanced patrol zone per police post."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import geopandas as gpd

from gridcover.commands.layer_options import CliReader, add_layer_options
from gridcover.coverage.patrol.compactness import DEFAULT_MIN_COMPACTNESS
from gridcover.coverage.patrol.plan import DEFAULT_PATROL_RES, PatrolConfig, plan_patrol
from gridcover.errors import InputError
from gridcover.gis import read_layer

NAME = "patrol"
HELP = "Design patrol zones: one contiguous, balanced zone of H3 cells per police post."
DESCRIPTION = """\
Partition an area into one patrol zone per police post (派出所 / 警务室). Every zone is one
connected piece of H3 cells holding its post; with --boundary, zones never cross the
boundary polygons (e.g. police districts / 派出所辖区); --locked polygons (with a post_id
column) keep their cells as they are. Zones start from the fastest post (street network
when --roads is given, otherwise grid-adjacency travel: say so in the report) and are then
balanced by moving border cells. Workload mixes area, priority weight (from --roads,
--sites, --buildings), road length and --incidents counts; --weights sets the mix.

Pieces of the area that H3 adjacency does not connect to any post (e.g. an airport joined
by a strip narrower than a cell) go whole to the nearest post as exclaves of its zone
(--exclaves attach, default; reported per zone) or stay unassigned (--exclaves leave).

Writes zones (GeoJSON, or GeoParquet for .parquet) and optionally one row per cell, and
prints a short report (also written to --report): balance ratio (max/min workload; target
1.15), one line per zone (cells, km², workload, max/mean travel minutes, Polsby-Popper
compactness, contiguity, exclaves), and the reason when the target cannot be met, each with the
figure measured behind it (e.g. the distance to a close post). Posts closer than half the
radius of a disc of their two zones' area are close: their zones are re-split by straight lines
or sectors around them when one would otherwise ring the other (--min-compactness,
Polsby-Popper floor 0.2; a floor out of reach is reported with its reason). It also checks
the patrol target "a post within --day-radius m by day (straight line), within
--night-minutes by --mode at night" per cell and per grid (--grids, default the area).

examples:
  gridcover patrol sample_geodata/grids.geojson sample_geodata/posts.geojson \\
      --roads sample_geodata/roads.geojson --res 10 --out zones.geojson
  gridcover patrol districts.geojson stations.csv --boundary districts.geojson --res 9
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("area", help="polygons of the area to cover (all features are joined)")
    parser.add_argument("posts", help="police posts (points, read as kind 'posts')")
    parser.add_argument("--area-level", type=int, metavar="N", help="only grids of this level")
    parser.add_argument(
        "--res",
        type=int,
        default=DEFAULT_PATROL_RES,
        help=f"H3 resolution 9-13 (default {DEFAULT_PATROL_RES})",
    )
    parser.add_argument("--roads", help="street lines: travel along streets, road length")
    parser.add_argument("--boundary", help="polygons zones must not cross (e.g. districts)")
    parser.add_argument("--boundary-field", metavar="F", help="region key column (default code)")
    parser.add_argument("--locked", help="polygons with post_id: frozen zones")
    parser.add_argument("--incidents", help="incident counts (points/polygons with count)")
    parser.add_argument("--sites", help="key sites, for the priority weight")
    parser.add_argument("--buildings", help="buildings, for the priority weight")
    parser.add_argument(
        "--weights",
        default="area=1,priority=1,road_length=1,incidents=1",
        metavar="K=V,...",
        help="workload mix (default: equal shares of area, priority, road_length, incidents)",
    )
    parser.add_argument("--mode", choices=("walk", "bike", "car"), default="car")
    parser.add_argument("--target", type=float, default=1.15, help="balance target (1.15)")
    parser.add_argument(
        "--exclaves",
        choices=("attach", "leave"),
        default="attach",
        help="pieces of the area cut off from every post: give each to the nearest post "
        "(default) or leave them unassigned",
    )
    parser.add_argument(
        "--min-compactness",
        type=float,
        default=DEFAULT_MIN_COMPACTNESS,
        metavar="PP",
        help="Polsby-Popper floor of every zone: zones of close posts are re-split by "
        f"straight lines or sectors to reach it (default {DEFAULT_MIN_COMPACTNESS}; 0 = off)",
    )
    tg = parser.add_argument_group("patrol target (police within R m by day, T min by night)")
    tg.add_argument("--grids", help="grids to report the target per grid (default: AREA)")
    tg.add_argument("--day-radius", type=float, default=1000.0, help="metres (default 1000)")
    tg.add_argument("--night-minutes", type=float, default=15.0, help="minutes (default 15)")
    tg.add_argument("--target-out", type=Path, help="per-grid target table (.csv)")
    parser.add_argument("--out", type=Path, required=True, help="zones file (.geojson/.parquet)")
    parser.add_argument("--cells-out", type=Path, help="per-cell file (.geojson/.parquet)")
    parser.add_argument("--report", type=Path, help="also write the report to this text file")
    add_layer_options(parser)
    parser.set_defaults(func=run)


def parse_weights(text: str) -> dict[str, float]:
    """'area=1,incidents=2' -> {'area': 1.0, 'incidents': 2.0}."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, val = part.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            sep = ""
        if not sep:
            raise InputError(f"--weights item {part!r} must look like name=number, e.g. area=1.")
    return out


def write(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GeoParquet for .parquet, GeoJSON otherwise (EPSG:4326)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        gdf.to_parquet(path)
    else:
        gdf.to_file(path, driver="GeoJSON", engine="pyogrio")


def _read_polygons(path: str, level: int | None = None, read: Any = read_layer) -> gpd.GeoDataFrame:
    gdf = read(path, "grids", duplicates="keep")
    return gdf[gdf["level"] == level] if level is not None else gdf


def _read_locked(path: str) -> gpd.GeoDataFrame:
    """Locked zones: any polygon file with a post_id column (not a canonical layer kind)."""
    gdf = gpd.read_file(path, engine="pyogrio")
    if gdf.crs is None:
        raise InputError(f"{path}: the locked-zones file has no CRS; save it with one.")
    return gdf.to_crs(4326)


def run(args: argparse.Namespace) -> int:
    kinds = ("posts", "roads", "sites", "buildings", "incidents")
    paths = {"grids": args.area, **{k: getattr(args, k) for k in kinds}}
    read = CliReader(args, paths, {"grids": {"duplicates": "keep"}})  # layer options, offsets
    area = _read_polygons(args.area, args.area_level, read)
    config = PatrolConfig(
        res=args.res,
        mode=args.mode,
        target_ratio=args.target,
        weights=parse_weights(args.weights),
        exclaves=args.exclaves,
        boundary_field=args.boundary_field,
        day_radius_m=args.day_radius,
        night_minutes=args.night_minutes,
        min_compactness=args.min_compactness,
    )
    run_ = plan_patrol(
        area,
        read(args.posts, "posts"),
        config,
        roads=read(args.roads, "roads") if args.roads else None,
        sites=read(args.sites, "sites") if args.sites else None,
        buildings=read(args.buildings, "buildings") if args.buildings else None,
        incidents=read(args.incidents, "incidents") if args.incidents else None,
        boundary=_read_polygons(args.boundary, None, read) if args.boundary else None,
        locked=_read_locked(args.locked) if args.locked else None,
        grids=_read_polygons(args.grids, None, read) if args.grids else None,
    )
    text = "".join(f"Decision: {d}\n" for d in read.layer_set.decisions) + run_.report()
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text + "\n", encoding="utf-8")
        print(f"Wrote the report to {args.report}.")
    per = run_.reach.grids if run_.reach is not None else None
    if args.target_out and per is not None:
        args.target_out.parent.mkdir(parents=True, exist_ok=True)
        per.to_csv(args.target_out, index=False, encoding="utf-8-sig")
        print(f"Wrote the target per grid to {args.target_out}.")
    plan = run_.plan
    write(plan.zones, args.out)
    print(f"Wrote {len(plan.zones)} zone(s) to {args.out}.")
    if args.cells_out:
        write(plan.cells, args.cells_out)
        print(f"Wrote {len(plan.cells)} cell(s) to {args.cells_out}.")
    return 0
