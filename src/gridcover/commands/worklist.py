"""``gridcover worklist``: blind spots as work units a planner can fix, with the 点位建议表."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

NAME = "worklist"
HELP = "blind-spot work units (road stretches, intersections, sites) with suggested fixes"
DESCRIPTION = """\
Run the coverage analysis, split the blind priority cells into units a planner can fix
(a road stretch between intersections named after its street and cross streets, an
intersection, a key site's surroundings, a grid's leftover area; never larger than the cap)
and suggest a fix for each (repair camera X, or one or two new cameras), ranked by
priority weight closed per camera. With --visibility 3d the units are the priority cells
below their required detail level ([detail] in the weights file; blind ones included),
smaller for stricter levels, each with its required and current level, and a fix must
bring every cell to the required level (camera models with resolution, lens and mounting).

Writes into --out: proposals.csv and proposals.xlsx (点位建议表, headers in Chinese and
English), units.geojson and proposed_cameras.geojson (a scenario can add them:
gridcover scenario create NAME --from-units DIR/proposed_cameras.geojson ...).

examples:
  gridcover worklist --sample --out out/worklist
  gridcover worklist --sample --visibility 3d --out out/worklist3d
  gridcover worklist --grids g.gpkg --cameras c.csv --roads streets.shp --out out/w \\
      --max-extent 80 --max-area 2000
"""


def configure(parser: argparse.ArgumentParser) -> None:
    from gridcover.commands.analyze import LAYERS

    src = parser.add_argument_group("input layers (as for gridcover analyze)")
    for kind in LAYERS:
        src.add_argument(f"--{kind}", type=Path, metavar="FILE", help=f"{kind} layer")
    src.add_argument("--sample", action="store_true", help="use the bundled sample")
    opt = parser.add_argument_group("analysis")
    opt.add_argument("--res", type=int, default=12, help="H3 resolution 9-13 (default 12)")
    opt.add_argument("--weights", type=Path, metavar="TOML", help="priority weights file")
    opt.add_argument("--no-occlusion", action="store_true", help="ignore buildings for views")
    opt.add_argument("--visibility", choices=("2d", "3d"), default=None,
                     help="view model (default: the analysis default); 3d: units of cells "
                     "below their required detail level")  # fmt: skip
    opt.add_argument("--include-offline", action="store_true", help="offline cameras count")
    opt.add_argument("--unknown-offline", action="store_true", help="unknown status: no count")
    u = parser.add_argument_group("units")
    u.add_argument("--max-extent", type=float, default=100.0, metavar="M",
                   help="largest distance across a unit, metres (default 100)")  # fmt: skip
    u.add_argument("--max-area", type=float, default=3000.0, metavar="M2",
                   help="largest unit area, m² (default 3000)")  # fmt: skip
    u.add_argument("--fixes-for", type=int, default=200, metavar="N",
                   help="suggest a fix for the N heaviest units (default 200)")  # fmt: skip
    u.add_argument("--catalogue", type=Path, metavar="TOML",
                   help="3d: camera models and prices the fixes choose from (default: packaged, "
                   "as for gridcover site)")  # fmt: skip
    u.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="3d: only this catalogue model (repeatable; default: all)",
    )
    u.add_argument("--top", type=int, default=10, help="units printed (default 10)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gridcover.commands.analyze import _layer_paths
    from gridcover.commands.scenario import analysis_config, config_of
    from gridcover.coverage.analysis import run_analysis
    from gridcover.coverage.units import UnitConfig, work_units, write_proposals
    from gridcover.gis import read_layer

    layers = {k: read_layer(p, k) for k, p in _layer_paths(args).items()}
    config = analysis_config(config_of(args))
    if args.visibility is not None:
        config = replace(config, visibility=args.visibility)
    result = run_analysis(**layers, config=config)
    cfg = UnitConfig(max_extent_m=args.max_extent, max_area_m2=args.max_area,
                     fixes_for=args.fixes_for, models=tuple(args.model),
                     catalogue=None if args.catalogue is None else str(args.catalogue))  # fmt: skip
    units = work_units(result, roads=layers.get("roads"), sites=layers.get("sites"), config=cfg)
    paths = write_proposals(units, args.out)
    t = units.table
    what = "blind priority area" if result.state.detail is None else (
        "priority area below its required detail level")  # fmt: skip
    print(
        f"{len(t)} work units, {t['area_m2'].sum():,.0f} m² of {what}; "
        f"{int(t['fix'].notna().sum())} with a suggested fix, {int(t['closes'].sum())} of them "
        f"closed by it ({int((t['fix'] == 'repair').sum())} by a repair)."
    )
    for _, r in t.head(args.top).iterrows():
        print(f"  {r['rank']:>3}. {r['unit_id']}  {r['name']}  [{r['grid_l1']}]  "
              f"{r['fix_text'] or 'no fix computed'}")  # fmt: skip
    print(f"gridcover: wrote {', '.join(p.name for p in paths.values())} to {args.out}")
    return 0
