"""One whole ``run_analysis`` on the synthetic city, then what-if edits; figures as JSON.

Not a benchmark on its own: ``bench_coverage`` runs it in a fresh process for the current
code and again for the previous code (``git archive`` of an earlier commit on PYTHONPATH),
so each run's peak resident memory is its own and both are measured in the same session.
Works with either version: the incremental what-if session is used when it exists, the
full ``run_scenario`` otherwise (and always, for a few edits, as the reference).

Usage: ``python -m benchmarks._pipeline_run --scale 1 --res 12 --edits 40`` (prints one
line ``PIPELINE {json}``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coverage import grids_layer, place, roads_layer
from bench_views import peak_mb as _maxrss_mb

import gridcover
from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.whatif import Scenario, run_scenario


def _layers(scale: float, seed: int, lon: float, lat: float):
    buildings, cams, crs, square, _side = place(scale, seed, lon, lat)
    n = cams["x"].size
    fov = cams["fov_deg"]
    cam_gdf = gpd.GeoDataFrame(
        {
            "camera_id": [f"c{i}" for i in range(n)],
            "type": np.where(fov >= 360, "dome", "bullet"),
            "status": np.where(np.arange(n) % 20 == 0, "offline", "online"),
            "azimuth_deg": cams["azimuth_deg"],
            "fov_deg": fov,
            "range_m": cams["range_m"],
        },
        geometry=shapely.points(cams["x"], cams["y"]),
        crs=crs,
    ).to_crs(4326)
    bld = gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(buildings.size)]}, geometry=buildings, crs=crs
    ).to_crs(4326)
    return grids_layer(square, crs), cam_gdf, bld, roads_layer(square, crs, 180.0)


def peak_mb() -> float:
    """Peak resident memory of this process in MB: VmHWM (Linux; reset by exec, unlike
    ru_maxrss, which a child started from a large benchmark process inherits)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return _maxrss_mb()


def _pct(times: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(times), q)) if times else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--res", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lon", type=float, default=116.40)
    ap.add_argument("--lat", type=float, default=39.90)
    ap.add_argument("--edits", type=int, default=40, help="what-if edits (half re-aim)")
    ap.add_argument("--full-edits", type=int, default=2, help="full run_scenario per kind")
    args = ap.parse_args()
    grids, cams, bld, roads = _layers(args.scale, args.seed, args.lon, args.lat)
    out: dict = {"code": str(Path(gridcover.__file__).resolve().parent)}
    steps: list[tuple[str, float]] = []
    cpu_marks: dict[str, float] = {}

    def mark(step: str, _i: int, _n: int) -> None:
        steps.append((step, time.perf_counter() - t))
        cpu_marks[step] = time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    res = run_analysis(
        grids,
        cams,
        buildings=bld,
        roads=roads,
        config=AnalysisConfig(res=args.res, visibility="2d"),
        progress=mark,
    )
    out["run_s"] = time.perf_counter() - t
    out["run_cpu_s"] = time.process_time() - c
    out["steps"] = steps
    out["after_cover_s"] = out["run_s"] - dict(steps)["priority"]
    out["after_cover_cpu_s"] = out["run_cpu_s"] - cpu_marks["priority"]
    out["peak_mb_run"] = peak_mb()
    t = time.perf_counter()
    out["cells_rows"] = len(res.cells)
    out["cells_table_s"] = time.perf_counter() - t
    t = time.perf_counter()
    out["views_rows"] = len(res.views)
    out["views_table_s"] = time.perf_counter() - t
    out["peak_mb_tables"] = peak_mb()
    out["blind_spots"] = len(res.blind_spots)
    out["covered_pct"] = float(res.summary["covered_pct"])

    v = res.views
    ids = v["camera_id"].to_numpy()[v["counted"].to_numpy() & (v["cells_seen"].to_numpy() > 0)]
    rng = np.random.default_rng(args.seed + 3)
    pick = [str(c) for c in rng.choice(ids, args.edits, replace=False)]
    half = args.edits // 2
    try:
        from gridcover.coverage.whatif_session import WhatIfSession

        has_session = True
    except ImportError:  # the previous code: no incremental session
        has_session = False
    if has_session:
        t = time.perf_counter()
        session = WhatIfSession(res)
        out["session_setup_s"] = time.perf_counter() - t
        reaim, disable, cpu_reaim, cpu_disable, tables = [], [], [], [], []
        for cid in pick[:half]:
            t, c = time.perf_counter(), time.process_time()
            live = session.reaim(cid, azimuth_deg=float(rng.uniform(0, 360)), fov_deg=90.0)
            reaim.append(time.perf_counter() - t)
            cpu_reaim.append(time.process_time() - c)
            t = time.perf_counter()
            _ = live.blind_spots, live.grid_stats, live.grid_deltas  # built on first use
            tables.append(time.perf_counter() - t)
        for cid in pick[half:]:
            t, c = time.perf_counter(), time.process_time()
            session.disable(cid)
            disable.append(time.perf_counter() - t)
            cpu_disable.append(time.process_time() - c)
        out["live_reaim"] = [_pct(reaim, 50), _pct(reaim, 95)]
        out["live_disable"] = [_pct(disable, 50), _pct(disable, 95)]
        out["live_cpu"] = [_pct(cpu_reaim, 50), _pct(cpu_disable, 50)]
        out["live_tables"] = [_pct(tables, 50), _pct(tables, 95)]
    full_reaim, full_disable = [], []
    for cid in pick[: args.full_edits]:
        t = time.perf_counter()
        run_scenario(res, Scenario(reaimed={cid: {"azimuth_deg": 90.0, "fov_deg": 90.0}}))
        full_reaim.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_scenario(res, Scenario(disabled=(cid,)))
        full_disable.append(time.perf_counter() - t)
    out["full_reaim"] = [_pct(full_reaim, 50), _pct(full_reaim, 95)]
    out["full_disable"] = [_pct(full_disable, 50), _pct(full_disable, 95)]
    print("PIPELINE " + json.dumps(out))


if __name__ == "__main__":
    main()
