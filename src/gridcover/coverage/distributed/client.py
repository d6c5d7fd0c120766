"""The coverage analysis on a Dask cluster, partitioned by H3 parent cell (see plan.py).

``run_distributed(grids, cameras, ..., client=..., out_dir=...)`` gives the tables of
``analysis.run_analysis`` for areas too large for one machine:

1. plan the partitions (res-``parent_res`` H3 cells) and select each one's halo on the
   client (STRtree distance queries, metric CRS of the area, as on one machine);
2. if there are area incidents, a cheap pre-pass sums per partition the area of each
   incident's cells (its count is shared over all its cells, across partitions);
3. ``worker.run_partition`` per partition on the workers, a bounded window of
   tasks in flight: each writes its cells as one GeoParquet part (``out_dir/cells/``) and
   the views of the cameras it owns (``out_dir/views/``), and returns small aggregates;
4. blind spots are merged across partition edges, per-grid statistics and the summary
   computed from per-(grid, flags) sums (merge.py); the parts are then rewritten
   with the global blind-spot ranks and per-camera cell counts.

No step collects all cells: the client holds the input layers, one row per partition and
per blind spot; a worker holds one partition. The cluster: ``connect("local")``,
``connect("local:4")`` (a LocalCluster of worker processes) or
``connect("tcp://scheduler:8786")``; with a remote cluster ``out_dir`` must be on storage
every worker and the client can reach (docs/SCALE.md).
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridcover.coverage.analysis import AnalysisConfig, RunInputs, prepare_inputs
from gridcover.coverage.cover3d import reach_ranges
from gridcover.coverage.declared_areas import declared_cameras
from gridcover.coverage.distributed.assemble import (
    DistributedResult,
    context,
    gather_outputs,
    merge_outputs,
    windowed,
)
from gridcover.coverage.distributed.plan import default_parent_res, plan_partitions
from gridcover.coverage.distributed.shared import weights_state
from gridcover.coverage.distributed.tasks import Halo, metric_layer, prepass_indexed
from gridcover.coverage.distributed.worker import (
    run_partition,
)
from gridcover.coverage.views.camera_rows import validate_cameras
from gridcover.coverage.views.defaults import CameraDefaults
from gridcover.errors import InputError

__all__ = [
    "DistributedResult",
    "connect",
    "run_distributed",
]

Progress = Callable[[str, int, int], None]


def parse_dask_spec(spec: str) -> tuple[str, Any]:
    """``local`` / ``local:N`` -> ("local", N or None); ``tcp://host:port`` -> ("tcp", spec)."""
    s = spec.strip()
    if s == "local" or s.startswith("local:"):
        n = s.partition(":")[2]
        if n and not (n.isdigit() and int(n) > 0):
            raise InputError(
                f"--dask {spec!r}: give local, local:N (N workers) or tcp://host:port."
            )
        return "local", int(n) if n else None
    if s.startswith(("tcp://", "tls://", "ucx://")):
        return "tcp", s
    raise InputError(f"--dask {spec!r}: give local, local:N (N workers) or tcp://host:port.")


@contextlib.contextmanager
def connect(spec: str, *, memory_limit: str | None = None) -> Iterator[Any]:
    """A dask.distributed Client for ``spec`` (closed, with its LocalCluster, on exit).

    ``local[:N]``: N worker processes with one thread each (default: CPU count);
    ``memory_limit``: per worker (e.g. "4GB"; local clusters only).
    """
    from distributed import Client, LocalCluster

    kind, arg = parse_dask_spec(spec)
    if kind == "tcp":
        with Client(arg) as client:
            yield client
        return
    import os

    n = arg or os.cpu_count() or 1
    kw: dict[str, Any] = {"memory_limit": memory_limit} if memory_limit else {}
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, **kw
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def clean_out_dir(out: Path) -> None:
    """Empty the parts folders of ``out`` (and its scratch) before a run."""
    shutil.rmtree(out / "_scratch", ignore_errors=True)
    for sub in ("cells", "views"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for old in (out / sub).glob("*.parquet"):
            old.unlink()


def run_distributed(
    grids: gpd.GeoDataFrame,
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    posts: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    client: Any,
    out_dir: str | Path,
    config: AnalysisConfig | None = None,
    parent_res: int | None = None,
    gather_limit: int = 100_000,
    gather_budget: int = 5_000_000,
    window: int | None = None,
    progress: Progress | None = None,
) -> DistributedResult:
    """The coverage analysis of ``run_analysis`` on a Dask ``client``, partitioned by H3
    parent cell (``parent_res``, default ``res - 6``); writes into ``out_dir`` (see the
    module doc and docs/SCALE.md). Layers: canonical GeoDataFrames, any CRS.
    ``gather_limit``: a blind spot crossing partition edges is recomputed from its cells
    when each of its pieces has at most this many cells, as long as the client holds at
    most ``gather_budget`` such cells in all (beyond, pieces are merged from their sums);
    ``window``: tasks in flight (default 2 x worker threads + 1)."""
    t_all = time.perf_counter()
    step = progress or (lambda _s, _i, _n: None)
    secs: dict[str, float] = {}
    out = Path(out_dir)
    run, rows, halo = plan_halo(
        grids, cameras, buildings, roads, sites, incidents, config, parent_res, out, gather_limit
    )
    clean_out_dir(out)  # only once the inputs passed their checks
    win = window or 2 * max(1, sum(client.nthreads().values())) + 1
    step("pre-pass", 0, 4)
    t = time.perf_counter()
    for i, inside in windowed(client, prepass_indexed, halo.prepass_jobs(), win):
        halo.add_prepass(i, inside)
    secs["pre-pass"] = time.perf_counter() - t
    t = time.perf_counter()
    halo.select(run.weights)
    secs["halo"] = time.perf_counter() - t
    t = time.perf_counter()
    orphan = halo.orphan_jobs()
    total = len(halo.parts) + len(orphan)
    jobs = itertools.chain(((halo.job(i),) for i in range(len(halo.parts))), ((j,) for j in orphan))
    outputs = gather_outputs(client, run_partition, jobs, total, win, gather_budget, step)
    secs["partitions"] = time.perf_counter() - t
    return merge_outputs(
        client,
        outputs,
        context(run, rows, posts, buildings is not None, (roads, sites, incidents)),
        halo.owned,
        out,
        win,
        secs,
        t_all,
        step,
    )


def plan_halo(
    grids: gpd.GeoDataFrame,
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    roads: gpd.GeoDataFrame | None,
    sites: gpd.GeoDataFrame | None,
    incidents: gpd.GeoDataFrame | None,
    config: AnalysisConfig | None,
    parent_res: int | None,
    out: Path,
    gather_limit: int,
) -> tuple[RunInputs, Any, Halo]:
    """The run's checked inputs, validated camera rows and the partitions with their halo
    layers (``Halo``; its pre-pass and ``select`` still to run)."""
    run = prepare_inputs(grids, cameras, config)
    cfg, weights, g, area, crs, cams = (
        run.config,
        run.weights,
        run.grids,
        run.area,
        run.crs,
        run.cameras,
    )
    rows = validate_cameras(cams, cfg.camera_defaults or CameraDefaults())
    pres = default_parent_res(cfg.res) if parent_res is None else int(parent_res)
    parts = plan_partitions(area, cfg.res, pres, crs)
    halo = Halo(
        parts=parts,
        clips=[
            shapely.box(*p.rect) if p.interior else shapely.clip_by_rect(area, *p.rect)
            for p in parts
        ],
        res=cfg.res,
        crs=crs,
        config=replace(cfg, weights=None, threads=cfg.threads or 1),
        weights=weights_state(weights),
        out_dir=out,
        gather_limit=gather_limit,
        cameras=cams,
        cam_xy=np.asarray(cams.geometry.to_crs(crs).values),
        ranges=reach_ranges(cams, rows, crs, cfg),
        buildings=metric_layer(buildings, crs, "buildings"),
        layers={
            "roads": metric_layer(roads, crs, "roads"),
            "sites": metric_layer(sites, crs, "sites"),
            "incidents": metric_layer(incidents, crs, "incidents"),
            "declared": metric_layer(declared_cameras(cams), crs, "cameras"),
        },
        grids=g[["code", "level", "geometry"]].assign(gidx=np.arange(len(g))),
    )
    return run, rows, halo
