"""``gridcover report``: HTML report, XLSX + CSV table per grid and PNG map of an analysis."""

from __future__ import annotations

import argparse
from pathlib import Path

from gridcover.commands.layer_options import add_layer_options, read_given

NAME = "report"
HELP = "meeting report of an analysis: report.html, grid_report.xlsx/.csv, map.png, map.html"
DESCRIPTION = """\
Turn the --out folder of 'gridcover analyze' into documents for a meeting, in one command:

  report.html       summary, static map, statistics of the level-1/2 grids, top blind spots
  grid_report.xlsx  one row per grid (coverage %, cameras, blind spots, targets met), blind
                    spots, summary; row 1 labels (zh/en), row 2 column keys
  grid_report.csv   the same grid table (UTF-8 with BOM, opens in Excel)
  map.png           static map for documents (matplotlib)
  map.html          offline interactive map (Leaflet inlined)

examples:
  gridcover analyze --sample --out out/sample
  gridcover report out/sample
  gridcover report out/sample --out out/report-en --lang en --posts sample_geodata/posts.geojson
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("analysis", type=Path, help="'gridcover analyze' --out folder")
    parser.add_argument("--out", type=Path, help="output folder (default: ANALYSIS/report)")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh", help="labels (default zh)")
    parser.add_argument("--title", help="report title")
    parser.add_argument("--top", type=int, default=20, help="blind spots listed (default 20)")
    parser.add_argument("--cameras", type=Path, metavar="FILE", help="cameras for map.html")
    parser.add_argument("--posts", type=Path, metavar="FILE", help="posts for map.html")
    parser.add_argument("--no-html-map", action="store_true", help="skip map.html")
    parser.add_argument("--grids", type=Path, metavar="FILE",
                        help="grids with chief_name / chief_phone (网格长)")  # fmt: skip
    parser.add_argument("--units", type=Path, metavar="DIR",
                        help="'gridcover worklist' --out folder: the blind-spot work list "
                        "(default: ANALYSIS when it holds units.geojson)")  # fmt: skip
    parser.add_argument("--compare", type=Path, metavar="CSV",
                        help="a scenario comparison (scenarios/compare_A_B_kpis.csv)")  # fmt: skip
    add_layer_options(parser)  # for the cameras and posts files
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gridcover.errors import InputError
    from gridcover.gis import read_layer
    from gridcover.gis.analysis_folder import read_analysis_dir, read_table
    from gridcover.gis.reports import write_report

    tables = read_analysis_dir(args.analysis)
    for note in tables.notes:
        print(f"gridcover: note: {note}")
    grid_stats = tables.get("grids")
    if grid_stats is None:
        raise InputError(
            f"{args.analysis}: no grid_stats table (.parquet or .geojson); run 'gridcover "
            "analyze ... --out DIR' and pass DIR."
        )
    names = ("cameras", "posts", "zones", "siting", "qa_issues", "bands")
    extra = {k: tables.get(k) for k in names}
    paths = {"cameras": args.cameras, "posts": args.posts}
    extra.update(read_given(args, paths, references={"grids": grid_stats}))
    out = args.out or (args.analysis / "report")
    grids_layer = read_layer(args.grids, "grids", duplicates="keep") if args.grids else None
    units_dir = args.units or args.analysis
    units = proposals = None
    if (units_dir / "units.geojson").is_file():
        units = read_table(units_dir / "units.geojson")
        cams = units_dir / "proposed_cameras.geojson"
        proposals = read_table(cams) if cams.is_file() else None
    elif args.units is not None:
        raise InputError(f"{args.units}: no units.geojson; run 'gridcover worklist --out DIR'.")
    comparison = None
    if args.compare is not None:
        import pandas as pd

        stem = args.compare.name.removeprefix("compare_").removesuffix("_kpis.csv")
        a, _, b = stem.partition("_")
        comparison = (a, b, pd.read_csv(args.compare))
    rep = write_report(
        out,
        grid_stats=grid_stats,
        cells=tables.get("cells"),
        blind_spots=tables.get("blind_spots"),
        views=tables.get("views"),
        summary=tables.summary,
        lang=args.lang,
        title=args.title,
        top=args.top,
        interactive_map=not args.no_html_map,
        map_layers={k: v for k, v in extra.items() if v is not None},
        grids_layer=grids_layer,
        units=units,
        proposals=proposals,
        comparison=comparison,
    )
    print(f"gridcover: wrote the report to {out}")
    for p in rep.files:
        print(f"  {p.name} ({p.stat().st_size / 1e3:,.0f} kB)")
    for note in rep.notes:
        print(f"  note: {note}")
    return 0
