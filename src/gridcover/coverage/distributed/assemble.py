"""A distributed run's tables from its partitions' outputs (shared by the run from layers
in memory, ``client.run_distributed``, and the run from staged inputs, ``staged``).

``gather_outputs`` runs the partition tasks in a bounded window; ``merge_outputs`` merges
blind spots across partition edges, computes grid statistics and the summary from the
partitions' sums and rewrites the parts with the global ranks. Dask is imported only when
tasks are submitted.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.analysis import AnalysisConfig, RunInputs
from gridcover.coverage.cover import camera_counted
from gridcover.coverage.distributed.merge import (
    merge_blind_spots,
    merge_grid_stats,
    merge_summary,
    pseudo_cells,
)
from gridcover.coverage.distributed.nearest import camera_table
from gridcover.coverage.distributed.worker import PartitionOutput, finish_partition
from gridcover.coverage.stats import locate_points

__all__ = [
    "DistributedResult",
    "RunContext",
    "context",
    "gather_outputs",
    "merge_outputs",
    "windowed",
]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, eq=False)
class DistributedResult:
    """Tables of a distributed run. ``cells_dir`` / ``views_dir``: partitioned GeoParquet
    (read with ``gis.analysis_folder.read_parts`` or ``dask_geopandas.read_parquet``);
    ``partitions``: per partition its cells, halo cameras and buildings, seconds per step and
    worker RSS."""

    out_dir: Path
    blind_spots: gpd.GeoDataFrame
    grid_stats: gpd.GeoDataFrame
    summary: dict[str, Any]
    notes: tuple[str, ...]
    partitions: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)
    spanning_blind_spots: int = 0
    approximate_blind_spots: int = 0

    @property
    def cells_dir(self) -> Path:
        return self.out_dir / "cells"

    @property
    def views_dir(self) -> Path:
        return self.out_dir / "views"


def windowed(
    client: Any, fn: Callable[..., Any], jobs: Iterable[tuple[Any, ...]], window: int
) -> Iterator[Any]:
    """Results of ``fn(*job)`` on the cluster as they finish, at most ``window`` in flight."""
    from distributed import as_completed

    it = iter(jobs)
    ac = as_completed()
    for job in itertools.islice(it, window):
        ac.add(client.submit(fn, *job, pure=False))
    for fut in ac:
        res = fut.result()
        fut.release()
        nxt = next(it, None)
        if nxt is not None:
            ac.add(client.submit(fn, *nxt, pure=False))
        yield res


@dataclass(frozen=True, eq=False)
class RunContext:
    """What the merge needs of the inputs: cameras (``nearest.camera_table`` without
    lon/lat: camera_id, categorical status, metric x/y; no geometry objects), whether each
    counts (from its validated status and the config), grids (EPSG:4326), posts, flags and
    notes (small but for the cameras, ≈ 35 bytes each)."""

    config: AnalysisConfig
    weights: Any
    grids: gpd.GeoDataFrame
    crs: Any
    cameras: pd.DataFrame
    counted: np.ndarray  # per camera: counts towards coverage (validated status, config)
    camera_grid: np.ndarray  # per camera: row of the deepest grid holding it, -1 if none
    posts: gpd.GeoDataFrame | None
    occlusion: bool
    uniform: bool
    notes: tuple[str, ...]


def context(
    run: RunInputs, rows: Any, posts: gpd.GeoDataFrame | None, has_buildings: bool, layers: tuple
) -> RunContext:
    """The ``RunContext`` of a run's inputs (``layers``: roads, sites, incidents)."""
    cams = camera_table(run.cameras, run.crs)
    g = run.grids
    camera_grid = locate_points(  # here, not in the merge: the client of a staged run never does it
        np.asarray(g.geometry.values),
        g["level"].to_numpy(np.int64),
        cams["lon"].to_numpy(float),
        cams["lat"].to_numpy(float),
    )
    return RunContext(
        run.config,
        run.weights,
        g,
        run.crs,
        cams.drop(columns=["lon", "lat"]),  # located: the merge needs only metric x/y
        camera_counted(
            np.asarray(rows.status),
            include_offline=run.config.include_offline,
            unknown_online=run.config.unknown_online,
        ),
        camera_grid,
        None if posts is None else posts.to_crs("EPSG:4326"),
        bool(has_buildings and run.config.occlusion),
        bool(all(x is None for x in layers) and run.weights.base == 0),
        tuple(run.notes),
    )


def gather_outputs(
    client: Any,
    fn: Callable[..., PartitionOutput],
    jobs: Iterable[tuple[Any, ...]],
    total: int,
    win: int,
    gather_budget: int,
    step: Progress,
) -> list[PartitionOutput]:
    """Run the partition tasks; a bounded number of gathered blind cells is kept."""
    outputs: list[PartitionOutput] = []
    kept = 0
    for o in windowed(client, fn, jobs, win):
        kept += len(o.gathered)
        if kept > gather_budget and len(o.gathered):  # bounded client memory: partial sums
            o = dataclasses.replace(
                o, gathered=o.gathered.iloc[:0], clusters=o.clusters.assign(gathered=False)
            )
        outputs.append(o)
        step(f"partitions {len(outputs)}/{total}", 1, 4)
    outputs.sort(key=lambda o: o.key)
    return outputs


def merge_outputs(
    client: Any,
    outputs: list[PartitionOutput],
    ctx: RunContext,
    owned: dict[str, np.ndarray],
    out: Path,
    win: int,
    secs: dict[str, float],
    t_all: float,
    step: Progress,
) -> DistributedResult:
    """Blind spots, grid statistics and summary from the partitions' outputs; the parts
    rewritten with the global ranks and per-camera cell counts."""
    cfg, weights, g, crs, cams = ctx.config, ctx.weights, ctx.grids, ctx.crs, ctx.cameras
    posts, notes = ctx.posts, list(ctx.notes)
    step("merge", 2, 4)
    t = time.perf_counter()
    seen = np.zeros(len(cams), np.int64)
    for o in outputs:
        np.add.at(seen, o.cam_index, o.cells_seen)
    counted = ctx.counted
    spots = merge_blind_spots(
        outputs,
        grid_codes=g["code"].astype(str).to_numpy(),
        crs=crs,
        cameras=cams,
        posts=posts,
        counted=counted,
    )
    pseudo = pseudo_cells(outputs, spots.rank_of)
    status = (  # categorical: codes, not a string per camera
        cams["status"].array if "status" in cams.columns else np.full(len(cams), "unknown")
    )
    camera_grid = ctx.camera_grid
    stats = merge_grid_stats(
        pseudo,
        g,
        res=cfg.res,
        crs=crs,
        camera_grid=camera_grid,
        camera_status=status,
        targets=weights.targets,
        levels=cfg.visibility == "3d",
    )
    base = {
        "visibility": cfg.visibility,
        "target_height_m": cfg.target_height_m,
        "res": cfg.res,
        "metric_crs": crs.to_string(),
        "occlusion": ctx.occlusion,
        "uniform_priority": ctx.uniform,
        "weights": weights.source,
    }
    summary = merge_summary(
        pseudo,
        stats,
        spots.table,
        base=base,
        status=status,
        counted=counted,
        camera_grid=camera_grid,
    )
    secs["merge"] = time.perf_counter() - t
    step("finish", 3, 4)
    t = time.perf_counter()
    fin = [
        (o.cells_path, rank, o.views_path, seen[owned[o.key]] if o.views_path else None)
        for o, rank in zip(outputs, spots.rank_of, strict=True)
        if o.cells_path is not None or o.views_path is not None
    ]
    for _ in windowed(client, finish_partition, fin, win):
        pass
    shutil.rmtree(out / "_scratch", ignore_errors=True)
    secs["finish"] = time.perf_counter() - t
    secs["total"] = time.perf_counter() - t_all
    costs = pd.DataFrame(
        [
            {
                "key": o.key,
                "cells": o.n_cells,
                "cameras": o.n_cameras,
                "buildings": o.n_buildings,
                "rss_mb": o.rss_mb,
                **{f"s_{k.replace(' ', '_')}": v for k, v in o.seconds.items()},
            }
            for o in outputs
        ]
    )
    step("done", 4, 4)
    return DistributedResult(
        out,
        spots.table,
        stats,
        summary,
        tuple(notes),
        costs,
        secs,
        spots.spanning,
        spots.approximate,
    )
