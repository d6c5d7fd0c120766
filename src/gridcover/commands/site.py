"""``gridcover site cameras|posts``: where the next K cameras or police posts should go."""

from __future__ import annotations

import argparse
from pathlib import Path

from gridcover.commands.layer_options import CliReader, add_layer_options
from gridcover.commands.patrol import write
from gridcover.commands.view_options import add_view_options
from gridcover.coverage.cells import DEFAULT_RES
from gridcover.coverage.siting.plan import SitingConfig, plan_siting
from gridcover.errors import InputError

NAME = "site"
HELP = "Choose K new cameras or police posts that cover the most uncovered priority weight."
DESCRIPTION = """\
Choose K new cameras (or posts) among candidate sites so that the most priority weight not
yet covered gets covered; existing cameras (posts) stay as they are.

Candidates: road intersections (default), points every --every metres along roads, and/or
a --candidates point layer. Cameras, 3D (the default, as in analyze): every site gets every
camera model of the --catalogue (or the --model names), directional models in --azimuths
orientations (8 = every 45°); a cell counts when a camera sees it at its required detail
level ([detail] of the weights file: key sites and intersections recognise, roads observe,
other priority cells detect) through the 3D line of sight (mounting height, tilt,
resolution, building heights). The proposal table says which model to buy and how to mount
it (resolution, lens, height, tilt, azimuth), and the report how many priority cells reach
their required level before and after. Cameras, --visibility 2d: --azimuths bullet
orientations and/or a 360° --dome, a cell counts when its centroid is in a view cut by
buildings. Posts: a cell is reached within --radius metres (straight line) or --minutes
along the streets.

Within a budget (--budget AMOUNT, with or without -k): every pole gets every model of the
--catalogue (or the --model names) in the model's own directions, with its price; poles on
motorways / overpasses or inside buildings are left out (--allow-motorway). The view model
is the same as above: 3D (default) counts a cell when a camera sees it at its required
detail level and reports the priority cells at their required level before and after;
--visibility 2d counts centroids in sectors. The proposal table gives model, price and, in
3D, how to mount it (resolution, lens, height, tilt, azimuth).

Solvers: lazy greedy always; exact MILP (HiGHS) when small or with --method exact (with a
--time-limit). The report gives the objective (weight gained), a proven upper bound (LP
relaxation when the exact solve is not run), the gap, and every chosen site ranked by
marginal gain. --backup K asks for K-fold coverage near key --sites.

examples:
  gridcover site cameras sample_geodata/grids.geojson --roads sample_geodata/roads.geojson \\
      --buildings sample_geodata/buildings.geojson --cameras sample_geodata/cameras.geojson \\
      --sites sample_geodata/sites.geojson -k 10 --out new_cameras.geojson
  gridcover site cameras sample_geodata/grids.geojson --roads sample_geodata/roads.geojson \\
      --buildings sample_geodata/buildings.geojson --cameras sample_geodata/cameras.geojson \\
      --budget 20000 --out within_budget.geojson
  gridcover site posts sample_geodata/grids.geojson --roads sample_geodata/roads.geojson \\
      --posts sample_geodata/posts.geojson --minutes 3 -k 2 --out new_posts.geojson
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=("cameras", "posts"), help="what to site")
    parser.add_argument("area", help="polygons of the area (all features are joined)")
    parser.add_argument("-k", type=int, help="how many new sites (cameras: or --budget)")
    parser.add_argument("--budget", type=float, metavar="AMOUNT",
                        help="cameras: total price limit (with -k: both hold); models and "
                        "prices from --catalogue (docs/PATROL_SITING.md)")  # fmt: skip
    parser.add_argument(
        "--catalogue",
        metavar="TOML",
        help="camera models (3D fields) and prices (default: packaged)",
    )
    parser.add_argument(
        "--weights",
        metavar="TOML",
        help="priority weights file, as for gridcover analyze (default: packaged)",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="3d or --budget: only this catalogue model (repeatable; default: all)",
    )
    add_view_options(
        parser,
        visibility_help="3d (default): site for required detail levels with catalogue camera "
        "models; 2d: sector views for uncovered cells (docs/VIEWS.md)",
    )
    parser.add_argument("--allow-motorway", action="store_true",
                        help="budget: allow poles on motorways / overpasses")  # fmt: skip
    parser.add_argument(
        "--res", type=int, default=DEFAULT_RES, help=f"H3 resolution 9-13 (default {DEFAULT_RES})"
    )
    parser.add_argument("--roads", help="street lines: candidates and priority")
    parser.add_argument("--buildings", help="buildings: occlusion and priority")
    parser.add_argument("--sites", help="key sites: priority (and --backup)")
    parser.add_argument("--incidents", help="incident counts: priority (as in analyze)")
    parser.add_argument("--cameras", help="existing cameras (kept)")
    parser.add_argument("--posts", help="existing posts (kept)")
    parser.add_argument("--candidates", help="candidate site points (a user layer)")
    parser.add_argument("--every", type=float, metavar="M", help="candidates every M m on roads")
    parser.add_argument("--no-intersections", action="store_true", help="no intersection sites")
    parser.add_argument("--azimuths", type=int, default=8, help="bullet orientations per site")
    parser.add_argument("--dome", action="store_true", help="2d: also a 360° dome per site")
    parser.add_argument("--backup", type=int, default=1, metavar="K", help="K-fold near sites")
    parser.add_argument("--radius", type=float, default=1000.0, help="post reach, metres")
    parser.add_argument("--minutes", type=float, help="post reach in minutes along streets")
    parser.add_argument("--mode", choices=("walk", "bike", "car"), default="car")
    parser.add_argument("--method", choices=("auto", "greedy", "exact"), default="auto")
    parser.add_argument("--time-limit", type=float, default=60.0, help="HiGHS seconds (60)")
    parser.add_argument("--out", type=Path, required=True, help="chosen sites (.geojson/.parquet)")
    parser.add_argument("--views-out", type=Path, help="chosen camera views (cameras only)")
    parser.add_argument("--report", type=Path, help="also write the report to this text file")
    add_layer_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.budget is not None:
        return _run_budget(args)
    if args.k is None:
        raise InputError("gridcover site needs -k (how many new sites) or, for cameras, --budget.")
    config = SitingConfig(
        k=args.k,
        what=args.what,
        res=args.res,
        method=args.method,
        time_limit=args.time_limit,
        intersections=not args.no_intersections,
        every_m=args.every,
        azimuths=args.azimuths,
        dome=args.dome,
        backup=args.backup,
        radius_m=args.radius,
        minutes=args.minutes,
        mode=args.mode,
        visibility=args.visibility,
        target_height_m=args.target_height_m,
        building_height_m=args.building_height_m,
        models=tuple(args.model),
        catalogue=args.catalogue,
        weights=args.weights,
    )
    kinds = ("roads", "buildings", "sites", "incidents", "cameras", "posts")
    paths = {"grids": args.area, **{k: getattr(args, k) for k in kinds}}
    read_layer = CliReader(args, paths, {"grids": {"duplicates": "keep"}})  # options, offsets
    layers = {
        kind: read_layer(getattr(args, kind), kind) if getattr(args, kind) else None
        for kind in ("roads", "buildings", "sites", "incidents", "cameras", "posts")
    }
    run_ = plan_siting(
        read_layer(args.area, "grids", duplicates="keep"),
        config,
        candidates=read_layer(args.candidates, args.what) if args.candidates else None,
        **layers,
    )
    text = "".join(f"Decision: {d}\n" for d in read_layer.layer_set.decisions) + run_.report()
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text + "\n", encoding="utf-8")
        print(f"Wrote the report to {args.report}.")
    if args.views_out and run_.views is not None:
        write(run_.views, args.views_out)
    write(run_.chosen, args.out)
    print(f"Wrote {len(run_.chosen)} site(s) to {args.out}.")
    return 0


def _run_budget(args: argparse.Namespace) -> int:
    from gridcover.coverage.siting.budget import BudgetConfig, plan_budget_siting

    if args.what != "cameras":
        raise InputError("--budget applies to cameras (posts have no catalogue of prices).")
    if args.dome or args.backup != 1:
        raise InputError(
            "--dome and --backup apply to K siting; with --budget the catalogue's models are "
            "the candidates (choose them with --model, e.g. --model dome)."
        )
    config = BudgetConfig(
        budget=args.budget, k=args.k, catalogue=args.catalogue, res=args.res,
        method=args.method, time_limit=args.time_limit, intersections=not args.no_intersections,
        every_m=args.every, allow_motorway=args.allow_motorway, weights=args.weights,
        visibility=args.visibility, target_height_m=args.target_height_m,
        building_height_m=args.building_height_m, models=tuple(args.model),
    )  # fmt: skip
    kinds = ("roads", "buildings", "sites", "incidents", "cameras")
    paths = {"grids": args.area, **{k: getattr(args, k) for k in kinds}}
    read_layer = CliReader(args, paths, {"grids": {"duplicates": "keep"}})  # options, offsets
    layers = {
        kind: read_layer(getattr(args, kind), kind) if getattr(args, kind) else None
        for kind in kinds
    }
    out, text = plan_budget_siting(
        read_layer(args.area, "grids", duplicates="keep"),
        config,
        candidates=read_layer(args.candidates, "cameras") if args.candidates else None,
        **layers,
    )
    text = "".join(f"Decision: {d}\n" for d in read_layer.layer_set.decisions) + text
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text + "\n", encoding="utf-8")
        print(f"Wrote the report to {args.report}.")
    if args.views_out and out.views is not None:
        write(out.views, args.views_out)
    write(out.chosen, args.out)
    print(f"Wrote {len(out.chosen)} camera(s) to {args.out}.")
    return 0
