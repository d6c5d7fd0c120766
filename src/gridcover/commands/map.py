"""``gridcover map``: an offline interactive map (one HTML file) of an analysis and layers."""

from __future__ import annotations

import argparse
from pathlib import Path

from gridcover.commands.layer_options import add_layer_options, read_given

NAME = "map"
HELP = "offline interactive map (HTML) of grids, coverage, blind spots, cameras, posts, zones"
DESCRIPTION = """\
Draw an analysis on an interactive Leaflet map saved as ONE HTML file that opens from disk on
an air-gapped PC: Leaflet is inlined (from the installed xstatic-leaflet package), nothing is
loaded from the internet unless you choose an online --basemap.

Layers come from the --out folder of 'gridcover analyze' (grid_stats, cells, blind_spots,
views; also cameras, posts, zones/patrol_zones, siting, grid_issues if saved there) and/or
from files given with the options below (GeoJSON, GeoParquet, GPKG, ...). --qa runs the grid
QA checks on the grids and adds the issues. Each layer holds at most --max-features features
(default 5000): more H3 cells are aggregated to a coarser resolution, ranked layers keep
their first rows, views are merged by status; the map says what was done.

Basemaps: none (default, offline), a local XYZ template (tiles/{z}/{x}/{y}.png or an intranet
server), osm, tianditu (needs --basemap-key), amap (overlays are shifted to GCJ-02).

examples:
  gridcover analyze --sample --out out/sample
  gridcover map out/sample --cameras sample_geodata/cameras.geojson \\
      --posts sample_geodata/posts.geojson --out out/sample/map.html
  gridcover map --grids sample_geodata/grids.geojson --qa --lang en --out grids.html
  gridcover map out/sample --basemap amap --out amap.html
"""

LAYER_OPTIONS = ("grids", "cells", "blind_spots", "views", "cameras", "posts", "zones", "siting",
                 "qa_issues")  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("analysis", nargs="?", type=Path, help="'gridcover analyze' --out folder")
    src = parser.add_argument_group("layers (override the folder's tables)")
    for name in LAYER_OPTIONS:
        flag = "--" + name.replace("_", "-")
        src.add_argument(flag, dest=name, type=Path, metavar="FILE", help=f"{name} layer file")
    src.add_argument("--qa", action="store_true", help="run grid QA on the grids, map the issues")
    opt = parser.add_argument_group("map")
    opt.add_argument(
        "--basemap", default="none", help="none (offline, default), osm, tianditu, amap or XYZ URL"
    )
    opt.add_argument("--basemap-key", help="key for the Tianditu basemap")
    opt.add_argument("--lang", choices=("zh", "en"), default="zh", help="labels (default zh)")
    opt.add_argument("--max-features", type=int, default=5000, help="per layer (default 5000)")
    opt.add_argument("--title", help="title shown on the map")
    opt.add_argument(
        "--assets",
        choices=("inline", "folder"),
        default="inline",
        help="inline Leaflet (default) or copy it to a folder beside the HTML",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="HTML", help="output file")
    add_layer_options(parser)  # for the grids, cameras and posts files given
    parser.set_defaults(func=run)


def gather_layers(args: argparse.Namespace) -> dict[str, object]:
    """Layers from the analysis folder, overridden by the files given; grid QA on request."""
    from gridcover.errors import InputError
    from gridcover.gis.analysis_folder import read_analysis_dir, read_table

    layers: dict[str, object] = {}
    if args.analysis is not None:
        tables = read_analysis_dir(args.analysis)
        layers.update(tables.layers)
        views = tables.layers.get("views")
        if views is not None:  # "occluded by buildings" only when the run used buildings
            views.attrs["occlusion"] = bool(tables.summary.get("occlusion", False))
        for note in tables.notes:
            print(f"gridcover: note: {note}")
    canonical = ("grids", "cameras", "posts")  # raw layers: the reader with layer options
    paths = {k: getattr(args, k, None) for k in canonical}
    layers.update(read_given(args, paths, references={"grids": layers.get("grids")}))
    for name in LAYER_OPTIONS:
        path = getattr(args, name, None)
        if path is not None and name not in canonical:
            layers[name] = read_table(path)
    if getattr(args, "qa", False):
        if layers.get("grids") is None:
            raise InputError("--qa needs grids: give --grids FILE or an analysis folder.")
        from gridcover.gis.qa.check import check_grids

        layers["qa_issues"] = check_grids(layers["grids"]).issues
    if not any(v is not None for v in layers.values()):
        raise InputError(
            "Nothing to map: give an analysis folder ('gridcover analyze --out DIR') or layer "
            "files (--grids, --cells, --cameras, ...)."
        )
    return layers


def run(args: argparse.Namespace) -> int:
    from gridcover.gis.maps import build_map

    layers = gather_layers(args)
    m = build_map(**layers, basemap=args.basemap, basemap_key=args.basemap_key,  # type: ignore[arg-type]
                  lang=args.lang, budget=args.max_features, title=args.title)  # fmt: skip
    out = m.save(args.out, assets=args.assets)
    size = out.stat().st_size / 1e6
    print(f"gridcover: wrote {out} ({size:.1f} MB, {len(m.overlays)} layers)")
    for ov in m.overlays:
        print(f"  {ov.layer_name}: {ov.n_features} features")
    for note in m.notes:
        print(f"  note: {note}")
    if m.basemap.online:
        print("  note: the basemap loads tiles from the internet; use --basemap none offline")
    return 0
