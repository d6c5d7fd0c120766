"""``gridcover analyze --dask CLUSTER``: the command-line options and output of a distributed run.

``add_dask_arguments(parser)`` adds ``--dask``, ``--parent-res`` and ``--worker-memory`` to
the analyze parser; ``run_cli(args, layers, config, read_notes)`` runs
``distributed.run_distributed`` and writes, into ``--out``:

- ``cells/`` and ``views/``: partitioned GeoParquet, one part per partition (the columns of
  the single-machine ``cells`` and ``views`` tables; read the folder with
  ``dask_geopandas.read_parquet`` or ``geopandas.read_parquet`` per part);
- ``blind_spots``, ``grid_stats`` (``.geojson`` and ``.parquet``), ``grid_stats.csv``,
  ``summary.csv``, ``report.txt``, as the single-machine run does;
- ``partitions.csv``: per partition its cells, halo cameras and buildings, seconds per
  step and the worker's resident memory (MB).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the heavy imports wait for a --dask run: the parser stays fast
    from gridcover.coverage.analysis import AnalysisConfig
    from gridcover.coverage.distributed.client import DistributedResult
    from gridcover.coverage.weights import Weights

__all__ = ["add_dask_arguments", "distributed_report", "run_cli", "write_distributed"]


def add_dask_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the scale-out options to the ``gridcover analyze`` parser."""
    grp = parser.add_argument_group("scale-out on a Dask cluster (docs/SCALE.md)")
    grp.add_argument(
        "--dask",
        metavar="CLUSTER",
        help="run partitioned by H3 parent cell on Dask: 'local', 'local:N' (N worker "
        "processes here) or 'tcp://scheduler:8786'; cells and views are then written as "
        "partitioned GeoParquet folders (out/cells/, out/views/)",
    )
    grp.add_argument(
        "--parent-res",
        type=int,
        metavar="R",
        help="H3 resolution of the partitions (default: --res minus 6, ≈ 117,649 cells each)",
    )
    grp.add_argument(
        "--staged",
        metavar="URL",
        help="with --dask: run the inputs written by 'gridcover stage' at URL (each worker "
        "reads its own partition; no layer is read here, and the layer and analysis options "
        "(res, visibility, ...) are those given to 'gridcover stage')",
    )
    grp.add_argument(
        "--worker-memory",
        metavar="SIZE",
        help="memory limit per local worker, e.g. 4GB (local clusters only)",
    )


def distributed_report(result: DistributedResult, weights: Weights) -> str:
    """The single-machine text report of the tables, plus how the run was partitioned."""
    from gridcover.coverage.output import text_report

    view = SimpleNamespace(
        summary=result.summary,
        state=SimpleNamespace(weights=weights),
        blind_spots=result.blind_spots,
        grid_stats=result.grid_stats,
        notes=result.notes,
    )
    text = text_report(view)  # type: ignore[arg-type]
    lines = [ln for ln in text.splitlines() if not ln.startswith("Files:")]
    p = result.partitions
    lines += [
        f"Distributed run: {len(p)} partitions ({int(p['cells'].sum())} cells), "
        f"{result.seconds.get('total', float('nan')):.1f} s; "
        f"{result.spanning_blind_spots} blind spots cross partition edges "
        f"({result.approximate_blind_spots} merged from partial sums).",
        "Files: cells/ and views/ (partitioned GeoParquet), blind_spots, grid_stats "
        "(.geojson, .parquet), grid_stats.csv, summary.csv, partitions.csv. Definitions: "
        "docs/COVERAGE.md, docs/SCALE.md.",
        "",
    ]
    return "\n".join(lines)


def write_distributed(
    result: DistributedResult, out_dir: str | Path, weights: Weights | None = None
) -> list[Path]:
    """Write the small tables of ``result`` next to its partitioned cells and views, with the
    names of :mod:`gridcover.gis.analysis_folder`."""
    from gridcover.coverage.weights import load_weights
    from gridcover.gis import analysis_folder as folder

    out = Path(out_dir)
    written: list[Path] = [result.cells_dir, result.views_dir]
    for name in ("blind_spots", "grid_stats"):
        written += folder.write_table(getattr(result, name), out, name)
    folder.write_grid_stats_csv(result.grid_stats, out / folder.GRID_STATS_CSV)
    folder.write_summary(result.summary, out / folder.SUMMARY)
    result.partitions.to_csv(out / folder.PARTITIONS, index=False)
    report = out / folder.REPORT
    report.write_text(distributed_report(result, weights or load_weights()), encoding="utf-8")
    names = (folder.GRID_STATS_CSV, folder.SUMMARY, folder.PARTITIONS, folder.REPORT)
    return written + [out / n for n in names]


def run_staged_cli(args: argparse.Namespace) -> int:
    """``gridcover analyze --dask CLUSTER --staged URL --out DIR``: run, write, report."""
    from gridcover.coverage.distributed.client import connect
    from gridcover.coverage.distributed.staged import run_staged, staged_weights
    from gridcover.errors import InputError
    from gridcover.gis.analysis_folder import staged_output

    if not getattr(args, "dask", None):
        raise InputError("--staged needs --dask CLUSTER (e.g. --dask tcp://scheduler:8786).")
    with staged_output(args.out) as stage:
        with connect(args.dask, memory_limit=getattr(args, "worker_memory", None)) as client:
            result = run_staged(args.staged, client=client, out_dir=stage)
        weights = staged_weights(args.staged)
        written = write_distributed(result, stage, weights)
        report = distributed_report(result, weights)
    print(report)
    print(f"gridcover: wrote {len(written)} files and folders to {args.out}")
    return 0


def run_cli(
    args: argparse.Namespace,
    layers: dict[str, Any],
    config: AnalysisConfig,
    read_notes: list[str] | None = None,
) -> int:
    """``gridcover analyze ... --dask CLUSTER``: run, write, print the report."""
    from tqdm import tqdm

    from gridcover.coverage.distributed.client import connect, run_distributed
    from gridcover.coverage.weights import load_weights
    from gridcover.gis.analysis_folder import REPORT, staged_output

    quiet = getattr(args, "no_progress", False) or not sys.stderr.isatty()
    bar = tqdm(total=4, desc="distributed analysis", unit="step", disable=quiet)

    def progress(step: str, done: int, total: int) -> None:
        bar.set_description(step)
        bar.update(done - bar.n)

    # Workers write their parts into a staging folder beside --out (same shared storage);
    # it replaces the old results only when every part and table is written.
    with staged_output(args.out) as stage:
        try:
            with connect(args.dask, memory_limit=getattr(args, "worker_memory", None)) as client:
                result = run_distributed(
                    **layers,
                    client=client,
                    out_dir=stage,
                    config=config,
                    parent_res=getattr(args, "parent_res", None),
                    progress=progress,
                )
        finally:
            bar.close()
        weights = config.weights or load_weights()
        written = write_distributed(result, stage, weights)
        report = distributed_report(result, weights)
        if read_notes:
            report += "Reading notes:\n" + "".join(f"  - {n}\n" for n in read_notes)
            (stage / REPORT).write_text(report, encoding="utf-8")
    print(report)
    print(f"gridcover: wrote {len(written)} files and folders to {args.out}")
    return 0
