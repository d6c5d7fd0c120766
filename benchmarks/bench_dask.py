"""Benchmark: the coverage analysis on a Dask LocalCluster, partitioned by H3 parent cell.

Synthetic province (``--area-km2``, default 10,000 km², a square at ``--lon/--lat``, default
Shenzhen): towns of 20 km² covering 20% of the area, each the synthetic city of
``benchmarks/bench_views.py`` (``city(0.2)``: 10,000 rectangular buildings, cameras of mixed
types with ranges 30-150 m, 60% wall-mounted), keeping ``--cameras`` / towns cameras per
town; a 200 m street grid in every town (``bench_coverage.roads_layer``) and the 3-level
grid map of ``bench_coverage.grids_layer`` over the whole square (1,704 grids). At the
defaults: 1,000,000 cameras, 1,000,000 buildings, ~33 M H3 cells at res 12.

Runs ``gridcover.coverage.distributed.client.run_distributed`` on a LocalCluster of ``--workers``
processes (one thread each) and prints: wall time (and per stage), cells and cells/s,
per-partition costs (cells, halo cameras and buildings, seconds per step: median / 90th
percentile / max), the peak resident memory of every worker process (sampled every 0.2 s
with psutil) and of the client. Then the single-machine
``run_analysis`` on the same province scaled to ``--single-cameras`` cameras (default
100,000, same densities, so 1/10 of the area) in a fresh process, for comparison: wall
time, cells/s and peak memory. No assertions: figures only.

With ``--staged``, the same province is then run from inputs staged on storage
(``gridcover stage``: ``distributed.staged``), each step in a fresh process so its peak
memory is its own: staging (reads nothing but the generated layers, writes the partitioned
GeoParquet), then the client of the staged run (holds only the plan and merged tables):
wall time and peak memory (VmHWM) of each, and the workers' peaks; printed next to the
in-memory run's figures above (whose client holds every layer).

Run from the repository root: ``python -m benchmarks.bench_dask`` (full size), or small:
``python -m benchmarks.bench_dask --cameras 10000 --area-km2 100 --single-cameras 10000``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coverage import grids_layer, roads_layer
from bench_views import city

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.distributed.client import connect, run_distributed
from gridcover.gis.crs import local_metric_crs

TOWN_KM2 = 20.0
TOWN_SHARE = 0.2


def province(cameras: int, area_km2: float, seed: int, lon: float, lat: float) -> dict[str, Any]:
    """Layers (EPSG:4326) of the synthetic province and a few facts about it."""
    crs = local_metric_crs(lon, lat)
    cx, cy = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    side = math.sqrt(area_km2) * 1000.0
    x0, y0 = cx - side / 2, cy - side / 2
    towns = max(1, round(area_km2 * TOWN_SHARE / TOWN_KM2))
    town_km2 = min(TOWN_KM2, area_km2 / towns)
    per_town = np.full(towns, cameras // towns)
    per_town[: cameras % towns] += 1
    k = math.ceil(math.sqrt(towns))
    slot = side / k
    rng = np.random.default_rng(seed)
    cams, blds, roads = [], [], []
    for t in range(towns):
        scale = max(town_km2 / 100.0, per_town[t] / 100_000)
        b, c = city(scale, seed + t)
        tside = 10_000.0 * math.sqrt(scale)
        free = max(slot - tside, 0.0)
        ox = x0 + (t % k) * slot + rng.uniform(0, free)
        oy = y0 + (t // k) * slot + rng.uniform(0, free)
        keep = np.sort(rng.choice(c["x"].size, per_town[t], replace=False))
        sel = {key: v[keep] for key, v in c.items()}
        sel["x"], sel["y"] = sel["x"] + ox, sel["y"] + oy
        cams.append(sel)
        blds.append(shapely.transform(b, lambda xy, ox=ox, oy=oy: xy + np.array([ox, oy])))
        r = roads_layer(shapely.box(ox, oy, ox + tside, oy + tside), crs, 200.0)
        roads.append(r.assign(road_id=[f"t{t}-{i}" for i in range(len(r))]))
    cam = {key: np.concatenate([c[key] for c in cams]) for key in cams[0]}
    n = cam["x"].size
    fov = cam["fov_deg"]
    cam_gdf = gpd.GeoDataFrame(
        {
            "camera_id": [f"c{i}" for i in range(n)],
            "type": np.where(fov >= 360, "dome", "bullet"),
            "status": np.where(np.arange(n) % 20 == 0, "offline", "online"),
            "azimuth_deg": cam["azimuth_deg"],
            "fov_deg": fov,
            "range_m": cam["range_m"],
        },
        geometry=shapely.points(cam["x"], cam["y"]),
        crs=crs,
    ).to_crs(4326)
    b = np.concatenate(blds)
    bld = gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(b.size)]}, geometry=b, crs=crs
    ).to_crs(4326)
    square = shapely.box(x0, y0, x0 + side, y0 + side)
    layers = {
        "grids": grids_layer(square, crs),
        "cameras": cam_gdf,
        "buildings": bld,
        "roads": pd.concat(roads, ignore_index=True),
    }
    return {"layers": layers, "towns": towns, "town_km2": town_km2, "crs": crs}


def _start_sampler(dask_worker: Any) -> None:
    """On a worker: a thread recording the process's largest resident memory (psutil)."""
    import threading

    import psutil

    proc = psutil.Process()
    state = {"max": proc.memory_info().rss, "run": True}
    dask_worker.bench_rss = state

    def loop() -> None:
        while state["run"]:
            state["max"] = max(state["max"], proc.memory_info().rss)
            time.sleep(0.2)

    threading.Thread(target=loop, daemon=True).start()


def _read_sampler(dask_worker: Any) -> float:
    """Largest resident memory of the worker process seen by the sampler (MB). (The
    kernel's ru_maxrss is no use here: a forked worker inherits its parent's peak.)"""
    state = dask_worker.bench_rss
    state["run"] = False
    return float(state["max"]) / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _hwm_mb() -> float:
    """Peak RSS of this process since its exec (VmHWM; ru_maxrss would include the parent's
    size at fork), MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return _peak_mb()


def _sub(args: argparse.Namespace, mode: str, url: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_dask", mode, url]
    cmd += ["--cameras", str(args.cameras), "--area-km2", str(args.area_km2)]
    cmd += ["--res", str(args.res), "--seed", str(args.seed), "--workers", str(args.workers)]
    cmd += ["--lon", str(args.lon), "--lat", str(args.lat), "--cell-geometry", args.cell_geometry]
    if args.parent_res is not None:
        cmd += ["--parent-res", str(args.parent_res)]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    if run.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{run.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def stage_only(args: argparse.Namespace) -> None:
    from gridcover.coverage.distributed.staged import stage_inputs

    p = province(args.cameras, args.area_km2, args.seed, args.lon, args.lat)
    config = AnalysisConfig(res=args.res, cell_geometry=args.cell_geometry, visibility="2d")
    t = time.perf_counter()
    n = stage_inputs(**p["layers"], url=args.stage_only, config=config, parent_res=args.parent_res)
    sec = time.perf_counter() - t
    print(json.dumps({"jobs": n, "seconds": sec, "peak_mb": _hwm_mb()}))


def staged_client(args: argparse.Namespace) -> None:
    from gridcover.coverage.distributed.staged import run_staged

    out = Path(tempfile.mkdtemp(prefix="bench_dask_staged_"))
    with connect(f"local:{args.workers}", memory_limit=args.memory_limit) as client:
        client.run(_start_sampler)
        t = time.perf_counter()
        r = run_staged(args.staged_client, client=client, out_dir=out)
        wall = time.perf_counter() - t
        mem = client.run(_read_sampler)
    shutil.rmtree(out, ignore_errors=True)
    print(
        json.dumps(
            {
                "seconds": wall,
                "cells": int(r.summary["cells"]),
                "client_mb": _hwm_mb(),
                "workers_mb": sorted(mem.values()),
                "stages": r.seconds,
            }
        )
    )


def run_staged_bench(args: argparse.Namespace, wall_memory: float, client_memory: float) -> None:
    """Stage, then run from the staged inputs, each in a fresh process."""
    folder = Path(tempfile.mkdtemp(prefix="bench_dask_inputs_"))
    try:
        st = _sub(args, "--stage-only", str(folder))
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        plan = (folder / "plan.pkl").stat().st_size
        r = _sub(args, "--staged-client", str(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"staged inputs (gridcover stage, one process): {st['jobs']} partition jobs written in "
        f"{st['seconds']:.1f} s ({size / 2**20:,.0f} MB on disk, plan {plan / 2**20:.1f} MB); "
        f"peak memory {st['peak_mb']:,.0f} MB"
    )
    print(
        f"staged run (client in a fresh process): {r['seconds']:.1f} s wall for "
        f"{r['cells']:,} cells; client peak {r['client_mb']:,.0f} MB [target ≤ 512 MB] "
        f"against {client_memory:,.0f} MB for the in-memory client above (which also "
        f"generated the layers); workers' peaks "
        f"{', '.join(f'{m:,.0f}' for m in r['workers_mb'])} MB; in-memory run "
        f"{wall_memory:.1f} s wall"
    )
    print("   stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items()))


def _describe(col: pd.Series) -> str:
    q = col.quantile([0.5, 0.9]).to_numpy()
    return f"median {q[0]:.2f}, p90 {q[1]:.2f}, max {col.max():.2f}"


def run_dask(args: argparse.Namespace) -> None:
    t = time.perf_counter()
    p = province(args.cameras, args.area_km2, args.seed, args.lon, args.lat)
    layers = p["layers"]
    t_gen = time.perf_counter() - t
    print(
        f"province: {args.area_km2:,.0f} km² at {args.lon:.2f} E {args.lat:.2f} N "
        f"({p['crs'].to_string()}), {p['towns']} towns of {p['town_km2']:.1f} km²: "
        f"{len(layers['cameras']):,} cameras, {len(layers['buildings']):,} buildings, "
        f"{len(layers['roads']):,} roads, {len(layers['grids']):,} grids "
        f"(generated in {t_gen:.1f} s)"
    )
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_dask_"))
    config = AnalysisConfig(res=args.res, cell_geometry=args.cell_geometry, visibility="2d")
    with connect(f"local:{args.workers}", memory_limit=args.memory_limit) as client:
        client.run(_start_sampler)
        t = time.perf_counter()
        r = run_distributed(
            **layers, client=client, out_dir=out, config=config, parent_res=args.parent_res
        )
        wall = time.perf_counter() - t
        mem = client.run(_read_sampler)
    cells = int(r.summary["cells"])
    parts = r.partitions
    work = parts[parts["cells"] > 0]
    print(
        f"distributed ({args.workers} worker processes x 1 thread, res {args.res}, partitions "
        f"at res {args.parent_res if args.parent_res is not None else args.res - 6}): "
        f"{wall:.1f} s wall for {cells:,} cells = {cells / wall:,.0f} cells/s; "
        f"{len(parts)} partitions ({len(work)} with cells)"
    )
    print("   stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in r.seconds.items()))
    print(
        f"   blind spots {len(r.blind_spots):,} ({r.spanning_blind_spots:,} across partition "
        f"edges, {r.approximate_blind_spots:,} merged from partial sums); covered "
        f"{r.summary['covered_pct']:.1f}%, priority-weighted "
        f"{r.summary['priority_weighted_pct']:.1f}%"
    )
    step_cols = [c for c in parts.columns if c.startswith("s_")]
    per = work[step_cols].sum(axis=1)
    print(f"   per partition with cells: cells {_describe(work['cells'].astype(float))}")
    print(f"     halo cameras {_describe(work['cameras'].astype(float))}")
    print(f"     halo buildings {_describe(work['buildings'].astype(float))}")
    print(f"     seconds {_describe(per)}; {cells / per.sum():,.0f} cells per task-second")
    print(
        "     seconds by step (sum over partitions): "
        + ", ".join(f"{c[2:]} {work[c].sum():.1f}" for c in step_cols)
    )
    print(f"     worker RSS at task end (MB): {_describe(work['rss_mb'])}")
    for addr, mb in sorted(mem.items()):
        print(f"   worker {addr}: peak RSS {mb:,.0f} MB (sampled every 0.2 s)  [target ≤ 4,096 MB]")
    client_mb = _peak_mb()
    print(f"   client process peak RSS: {client_mb:,.0f} MB")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"   output: {out} ({size / 2**20:,.0f} MB)")
    if not args.out:
        shutil.rmtree(out, ignore_errors=True)
    del layers, p, r
    if args.staged:
        run_staged_bench(args, wall, client_mb)
    if args.single_cameras > 0:
        area = args.area_km2 * args.single_cameras / args.cameras
        cmd = [sys.executable, "-m", "benchmarks.bench_dask", "--single-only"]
        cmd += ["--cameras", str(args.single_cameras), "--area-km2", str(area)]
        cmd += ["--res", str(args.res), "--seed", str(args.seed), "--cell-geometry"]
        cmd += [args.cell_geometry, "--lon", str(args.lon), "--lat", str(args.lat)]
        run = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parents[1])
        if run.returncode != 0:
            print("single machine run failed:\n" + run.stderr[-2000:])
            return
        s = json.loads(run.stdout.strip().splitlines()[-1])
        print(
            f"single machine run_analysis, {s['cameras']:,} cameras over {area:,.0f} km² (same "
            f"densities): {s['seconds']:.1f} s for {s['cells']:,} cells = "
            f"{s['cells'] / s['seconds']:,.0f} cells/s; peak RSS {s['peak_mb']:,.0f} MB"
        )
        print(
            f"   per cell, distributed on {args.workers} workers is "
            f"{(cells / wall) / (s['cells'] / s['seconds']):.2f}x the single-machine rate"
        )


def run_single(args: argparse.Namespace) -> None:
    p = province(args.cameras, args.area_km2, args.seed, args.lon, args.lat)
    t = time.perf_counter()
    r = run_analysis(
        **p["layers"],
        config=AnalysisConfig(res=args.res, cell_geometry=args.cell_geometry, visibility="2d"),
    )
    sec = time.perf_counter() - t
    print(
        json.dumps(
            {
                "cameras": len(p["layers"]["cameras"]),
                "cells": int(r.summary["cells"]),
                "seconds": sec,
                "peak_mb": _peak_mb(),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cameras", type=int, default=1_000_000)
    ap.add_argument("--area-km2", type=float, default=10_000.0)
    ap.add_argument("--res", type=int, default=12)
    ap.add_argument("--parent-res", type=int, default=None, help="default: res - 6")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default=None, help="per worker, e.g. 4GB (default auto)")
    ap.add_argument("--cell-geometry", choices=("point", "polygon"), default="point")
    ap.add_argument("--single-cameras", type=int, default=100_000, help="0: skip")
    ap.add_argument("--out", default=None, help="keep the output here (default: temp, removed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lon", type=float, default=114.06)
    ap.add_argument("--lat", type=float, default=22.54)
    ap.add_argument("--staged", action="store_true", help="also run from staged inputs")
    ap.add_argument("--single-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stage-only", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--staged-client", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage_only:
        stage_only(args)
    elif args.staged_client:
        staged_client(args)
    elif args.single_only:
        run_single(args)
    else:
        run_dask(args)


if __name__ == "__main__":
    main()
