"""``gridcover stage``: write the input layers once, partitioned for a Dask cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gridcover.commands.view_options import add_view_options

NAME = "stage"
HELP = "write the input layers once as partitioned GeoParquet for 'analyze --dask --staged'"
DESCRIPTION = """\
Plan the partitions of a distributed coverage analysis (H3 parent cells, docs/SCALE.md) and
write, under --out (a folder or any fsspec URL the workers can read, e.g. s3://bucket/run),
each partition's inputs with their halo as GeoParquet: the cameras whose views can reach
it, the buildings that can occlude them, the roads, sites and incidents within the priority
reach and the grids touching it, plus a small plan. Then
'gridcover analyze --dask tcp://scheduler:8786 --staged URL --out DIR' runs it: each worker
reads only its partition's files and the client holds only the plan and the merged tables.
The analysis options (--res, --weights, ...) are fixed here, at staging time.

examples:
  gridcover stage --sample --parent-res 8 --out /shared/run1
  gridcover analyze --dask tcp://10.0.0.5:8786 --staged /shared/run1 --out /shared/out1
"""


def configure(parser: argparse.ArgumentParser) -> None:
    from gridcover.commands.analyze import LAYERS

    src = parser.add_argument_group("input layers (any format gis.read_layer reads)")
    for kind in LAYERS:
        req = " (required unless --sample)" if kind in ("grids", "cameras") else ""
        src.add_argument(f"--{kind}", type=Path, metavar="FILE", help=f"{kind} layer{req}")
    src.add_argument("--sample", action="store_true", help="use the bundled sample")
    opt = parser.add_argument_group("analysis (fixed at staging time)")
    opt.add_argument("--res", type=int, default=12, help="H3 resolution 9-13 (default 12)")
    opt.add_argument("--weights", type=Path, metavar="TOML", help="priority weights file")
    opt.add_argument(
        "--camera-default",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="per-type default where a camera leaves fov_deg/range_m empty (as analyze)",
    )
    opt.add_argument("--no-occlusion", action="store_true", help="ignore buildings for views")
    add_view_options(opt)
    opt.add_argument("--include-offline", action="store_true", help="offline cameras count too")
    opt.add_argument(
        "--unknown-offline", action="store_true", help="cameras of unknown status do not count"
    )
    opt.add_argument(
        "--parent-res",
        type=int,
        metavar="R",
        help="H3 resolution of the partitions (default: --res minus 6)",
    )
    parser.add_argument(
        "--out", required=True, metavar="URL", help="folder or fsspec URL for the staged inputs"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gridcover.commands.analyze import _layer_paths, camera_defaults
    from gridcover.coverage.analysis import AnalysisConfig
    from gridcover.coverage.distributed.staged import stage_inputs
    from gridcover.coverage.weights import load_weights
    from gridcover.gis import read_layer

    config = AnalysisConfig(
        res=args.res,
        weights=load_weights(args.weights),
        occlusion=not args.no_occlusion,
        include_offline=args.include_offline,
        unknown_online=not args.unknown_offline,
        camera_defaults=camera_defaults(args.camera_default),
        visibility=args.visibility,
        target_height_m=args.target_height_m,
        building_height_m=args.building_height_m,
    )
    layers = {kind: read_layer(path, kind) for kind, path in _layer_paths(args).items()}
    quiet = args.no_progress or not sys.stderr.isatty()
    bar = tqdm(desc="staging", unit="partition", disable=quiet)

    def progress(step: str, done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        n = stage_inputs(
            **layers, url=args.out, config=config, parent_res=args.parent_res, progress=progress
        )
    finally:
        bar.close()
    print(
        f"gridcover: staged {n} partitions under {args.out}; run them with "
        f"'gridcover analyze --dask CLUSTER --staged {args.out} --out DIR'"
    )
    return 0
