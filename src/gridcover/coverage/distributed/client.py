"""The coverage analysis on a Dask cluster, partitioned by H3 parent cell (see partition.py).

``run_distributed(grids, cameras, ..., client=..., out_dir=...)`` gives the tables of
``analysis.run_analysis`` for areas too large for one machine:

1. plan the partitions (res-``parent_res`` H3 cells) and select each one's halo on the
   client (STRtree distance queries, metric CRS of the area, as on one machine);
2. if there are area incidents, a cheap pre-pass sums per partition the area of each
   incident's cells (its count is shared over all its cells, across partitions);
3. ``partition_run.run_partition`` per partition on the workers, a bounded window of
   tasks in flight: each writes its cells as one GeoParquet part (``out_dir/cells/``) and
   the views of the cameras it owns (``out_dir/views/``), and returns small aggregates;
4. blind spots are merged across partition edges, per-grid statistics and the summary
   computed from per-(grid, flags) sums (partition_merge.py); the parts are then rewritten
   with the global blind-spot ranks and per-camera cell counts.

No step collects all cells: the client holds the input layers, one row per partition and
per blind spot; a worker holds one partition. The cluster: ``connect("local")``,
``connect("local:4")`` (a LocalCluster of worker processes) or
``connect("tcp://scheduler:8786")``; with a remote cluster ``out_dir`` must be on storage
every worker and the client can reach (docs/SCALE.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridcover.coverage.analysis import AnalysisConfig, prepare_inputs
from gridcover.coverage.cover import camera_counted
from gridcover.coverage.distributed.merge import (
    merge_blind_spots,
    merge_grid_stats,
    merge_summary,
    pseudo_cells,
)
from gridcover.coverage.distributed.plan import default_parent_res, plan_partitions
from gridcover.coverage.distributed.shared import weights_state
from gridcover.coverage.distributed.tasks import Halo, metric_layer, prepass_indexed
from gridcover.coverage.distributed.worker import (
    PartitionOutput,
    finish_partition,
    run_partition,
)
from gridcover.coverage.stats import locate_points
from gridcover.coverage.views.camera_rows import validate_cameras
from gridcover.coverage.views.defaults import CameraDefaults
from gridcover.errors import InputError

__all__ = [
    "DistributedResult",
    "connect",
    "run_distributed",
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


def _windowed(
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


def _clean(out: Path) -> None:
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
    notes = list(run.notes)
    pres = default_parent_res(cfg.res) if parent_res is None else int(parent_res)
    parts = plan_partitions(area, cfg.res, pres, crs)
    out = Path(out_dir)
    _clean(out)
    win = window or 2 * max(1, sum(client.nthreads().values())) + 1
    step("pre-pass", 0, 4)
    t = time.perf_counter()
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
        ranges=rows.range_m,
        buildings=metric_layer(buildings, crs, "buildings"),
        layers={
            "roads": metric_layer(roads, crs, "roads"),
            "sites": metric_layer(sites, crs, "sites"),
            "incidents": metric_layer(incidents, crs, "incidents"),
        },
        grids=g[["code", "level", "geometry"]].assign(gidx=np.arange(len(g))),
    )
    for i, inside in _windowed(client, prepass_indexed, halo.prepass_jobs(), win):
        halo.add_prepass(i, inside)
    secs["pre-pass"] = time.perf_counter() - t
    t = time.perf_counter()
    halo.select(weights)
    secs["halo"] = time.perf_counter() - t
    t = time.perf_counter()
    orphan = halo.orphan_jobs()
    total = len(parts) + len(orphan)
    jobs = itertools.chain(((halo.job(i),) for i in range(len(parts))), ((j,) for j in orphan))
    outputs: list[PartitionOutput] = []
    kept = 0
    for o in _windowed(client, run_partition, jobs, win):
        kept += len(o.gathered)
        if kept > gather_budget and len(o.gathered):  # bounded client memory: partial sums
            o = dataclasses.replace(
                o, gathered=o.gathered.iloc[:0], clusters=o.clusters.assign(gathered=False)
            )
        outputs.append(o)
        step(f"partitions {len(outputs)}/{total}", 1, 4)
    outputs.sort(key=lambda o: o.key)
    secs["partitions"] = time.perf_counter() - t
    step("merge", 2, 4)
    t = time.perf_counter()
    seen = np.zeros(len(cams), np.int64)
    for o in outputs:
        np.add.at(seen, o.cam_index, o.cells_seen)
    counted = camera_counted(
        rows.status, include_offline=cfg.include_offline, unknown_online=cfg.unknown_online
    )
    spots = merge_blind_spots(
        outputs,
        grid_codes=g["code"].astype(str).to_numpy(),
        crs=crs,
        cameras=cams,
        posts=None if posts is None else posts.to_crs("EPSG:4326"),
        counted=counted,
    )
    pseudo = pseudo_cells(outputs, spots.rank_of)
    status = (
        cams["status"].to_numpy() if "status" in cams.columns else np.full(len(cams), "unknown")
    )
    lon, lat = cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy()
    camera_grid = locate_points(
        np.asarray(g.geometry.values), g["level"].to_numpy(np.int64), lon, lat
    )
    stats = merge_grid_stats(
        pseudo,
        g,
        res=cfg.res,
        crs=crs,
        camera_grid=camera_grid,
        camera_status=status,
        targets=weights.targets,
    )
    base = {
        "res": cfg.res,
        "metric_crs": crs.to_string(),
        "occlusion": bool(buildings is not None and cfg.occlusion),
        "uniform_priority": bool(
            roads is None and sites is None and incidents is None and weights.base == 0
        ),
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
        (o.cells_path, rank, o.views_path, seen[halo.owned[o.key]] if o.views_path else None)
        for o, rank in zip(outputs, spots.rank_of, strict=True)
        if o.cells_path is not None or o.views_path is not None
    ]
    for _ in _windowed(client, finish_partition, fin, win):
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
