"""Inputs staged once on shared storage; workers read only their own partition and halo.

``stage_inputs(grids, cameras, ..., url=...)`` plans the partitions (H3 parent cells) and
selects each one's halo with the rule of docs/SCALE.md (``tasks.Halo``: cameras whose
view can reach the partition, buildings that can occlude them, roads / sites / incidents
within the priority reach, grids touching it), then writes, under ``url`` (a folder or
any fsspec URL every worker can read, e.g. ``s3://bucket/run``):

- ``parts/<key>/<layer>.parquet``: that partition's halo subset of every layer
  (GeoParquet; cameras keep their global row as index) and ``parts/<key>/job.pkl``: the
  partition, its clip of the area and the run parameters (a few kB);
- ``plan.pkl``: the partition keys, which cameras each owns, and what the merge needs:
  the cameras as points with id and status, the grids, the posts, the config and notes.

``run_staged(url, client=..., out_dir=...)`` then submits one task per partition that
names only its key: the worker reads its files, runs the same ``worker.run_partition``
as ``run_distributed`` and writes its cells and views parts; the client holds the plan
and the merged small tables, never a building, road or view. Results equal
``run_distributed`` (and the single-machine run) on the same inputs.
"""

from __future__ import annotations

import dataclasses
import pickle
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import geopandas as gpd

from gridcover.coverage.analysis import AnalysisConfig
from gridcover.coverage.distributed.assemble import (
    DistributedResult,
    context,
    gather_outputs,
    merge_outputs,
)
from gridcover.coverage.distributed.shared import weights_from_state, weights_state
from gridcover.coverage.distributed.tasks import prepass_indexed
from gridcover.coverage.distributed.worker import PartitionJob, PartitionOutput, run_partition
from gridcover.coverage.weights import Weights
from gridcover.errors import InputError

__all__ = ["read_job", "run_staged", "run_staged_job", "stage_inputs", "staged_weights"]

LAYERS = ("cameras", "buildings", "roads", "sites", "incidents", "grids", "declared")
PLAN = "plan.pkl"


def _join(url: str, *parts: str) -> str:
    return "/".join([url.rstrip("/"), *parts])


def _write(fs: Any, path: str, obj: Any) -> None:
    with fs.open(path, "wb") as f:
        if isinstance(obj, gpd.GeoDataFrame):
            obj.to_parquet(f)
        else:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def stage_inputs(
    grids: gpd.GeoDataFrame,
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    posts: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    url: str,
    config: AnalysisConfig | None = None,
    parent_res: int | None = None,
    gather_limit: int = 100_000,
    progress: Callable[[str, int, int], None] | None = None,
) -> int:
    """Write the layers, partitioned with their halos, under ``url`` (see the module doc);
    returns the number of partition jobs (views-only jobs for far cameras included)."""
    from gridcover.coverage.distributed.client import plan_halo

    step = progress or (lambda _s, _i, _n: None)
    fs, root = fsspec.core.url_to_fs(url)
    fs.makedirs(root, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        run, rows, halo = plan_halo(
            grids,
            cameras,
            buildings,
            roads,
            sites,
            incidents,
            config,
            parent_res,
            Path(scratch),
            gather_limit,
        )
        for args in halo.prepass_jobs():  # area incidents: each partition's share, here
            halo.add_prepass(*prepass_indexed(*args))
        halo.select(run.weights)
        jobs = [halo.job(i) for i in range(len(halo.parts))] + halo.orphan_jobs()
    for n, job in enumerate(jobs):
        folder = _join(root, "parts", job.key)
        fs.makedirs(folder, exist_ok=True)
        for name in LAYERS:
            layer = getattr(job, name)
            if layer is not None:
                _write(fs, _join(folder, f"{name}.parquet"), layer)
        small: dict[str, Any] = {k: None for k in LAYERS} | {"out_dir": None, "cells_cache": None}
        small["cameras"] = job.cameras.iloc[:0]  # the rows are in cameras.parquet
        _write(fs, _join(folder, "job.pkl"), dataclasses.replace(job, **small))
        step(f"staged {n + 1}/{len(jobs)}", n + 1, len(jobs))
    ctx = context(run, rows, posts, buildings is not None, (roads, sites, incidents))
    ctx = dataclasses.replace(  # picklable: the weights as plain dicts
        ctx,
        config=dataclasses.replace(ctx.config, weights=None),
        weights=weights_state(ctx.weights),
    )
    plan = {
        "keys": [j.key for j in jobs],
        "owned": dict(halo.owned),
        "context": ctx,
    }
    _write(fs, _join(root, PLAN), plan)
    return len(jobs)


def _plan(url: str) -> dict[str, Any]:
    fs, root = fsspec.core.url_to_fs(url)
    path = _join(root, PLAN)
    if not fs.exists(path):
        raise InputError(f"No staged inputs at {url}: run 'gridcover stage ... --out {url}' first.")
    with fs.open(path, "rb") as f:
        plan: dict[str, Any] = pickle.load(f)
    ctx = plan["context"]
    plan["context"] = dataclasses.replace(ctx, weights=weights_from_state(ctx.weights))
    return plan


def staged_weights(url: str) -> Weights:
    """The priority weights the inputs at ``url`` were staged with."""
    weights: Weights = _plan(url)["context"].weights
    return weights


def read_job(url: str, key: str, out_dir: str) -> PartitionJob:
    """The job of partition ``key`` from its staged files (on the worker)."""
    fs, root = fsspec.core.url_to_fs(url)
    folder = _join(root, "parts", key)
    with fs.open(_join(folder, "job.pkl"), "rb") as f:
        job: PartitionJob = pickle.load(f)
    layers: dict[str, Any] = {}
    for name in LAYERS:
        path = _join(folder, f"{name}.parquet")
        if fs.exists(path):
            with fs.open(path, "rb") as f:
                layers[name] = gpd.read_parquet(f)
    return dataclasses.replace(job, out_dir=out_dir, **layers)


def run_staged_job(url: str, key: str, out_dir: str) -> PartitionOutput:
    """Worker task: read partition ``key``'s staged inputs and run it."""
    return run_partition(read_job(url, key, out_dir))


def run_staged(
    url: str,
    *,
    client: Any,
    out_dir: str | Path,
    gather_budget: int = 5_000_000,
    window: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DistributedResult:
    """The analysis of the inputs staged at ``url`` on the Dask ``client`` (see module doc);
    ``out_dir`` must be storage every worker and the client can reach."""
    from gridcover.coverage.distributed.client import clean_out_dir

    t_all = time.perf_counter()
    step = progress or (lambda _s, _i, _n: None)
    plan = _plan(url)
    ctx = plan["context"]
    out = Path(out_dir)
    clean_out_dir(out)
    win = window or 2 * max(1, sum(client.nthreads().values())) + 1
    secs: dict[str, float] = {}
    t = time.perf_counter()
    jobs = ((url, key, str(out)) for key in plan["keys"])
    outputs = gather_outputs(
        client, run_staged_job, jobs, len(plan["keys"]), win, gather_budget, step
    )
    secs["partitions"] = time.perf_counter() - t
    return merge_outputs(client, outputs, ctx, plan["owned"], out, win, secs, t_all, step)
