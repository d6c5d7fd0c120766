"""Benchmark: one-camera what-if edits on the synthetic city, 2D and 3D, in the incremental
session and through the API, beside the full ``run_scenario`` of the same edit.

The city of ``bench_coverage`` (``--scale 1``: 10 km x 10 km at Beijing, 50,000 buildings,
100,000 cameras, res 12, ≈456k cells); for 3D the heights, tilts, resolutions and lights of
``bench_views3d`` (buildings 2-60 m). For each ``--visibility``:

  run: the baseline ``run_analysis`` (wall, CPU) and the ``WhatIfSession`` set-up;
  session: p50 / p95 wall and p50 CPU of ``--edits`` single-camera edits per kind on top of
     each other (re-aim, disable, add a camera 25 m from a counted one; in 3D also height /
     tilt / resolution; then the removal of each added camera), and the building of that
     edit's three tables (blind spots, grid statistics, grid deltas);
  previous method (same run): ``run_scenario`` of one edit, ``--full-edits`` times per kind,
     and the ratio (for "add": the full run of a scenario adding that one camera, the path
     every scenario with added cameras took before);
  API (``--api``): the layers stored in a GeoPackage store, the app built in this process
     (``create_app``) and called through ``fastapi.testclient`` the way the web app calls
     it: ``POST /analysis/whatif`` with the cumulative scenario (each request adds one
     edit: a disabled, re-aimed or added camera; the first request computes the baseline
     and the session), p50 / p95 wall and p50 CPU, and the response size.

The load average is printed at the start and the end (wall times on the shared 2-core
machine grow with it; CPU times do not), with the wall / CPU ratio of a fixed
single-threaded job run beside the edits: an edit whose wall / CPU ratio matches it loses
its wall time to the machine's load, not to threads, locks or serialisation. No
assertions: figures only. Run from the repository root:
``python -m benchmarks.bench_whatif --scale 0.05 --api`` takes a minute.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pipeline_run import _layers, peak_mb

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.whatif import Scenario, run_scenario
from gridcover.coverage.whatif_session import WhatIfSession


def load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def stretch() -> str:
    """Wall / CPU time of a fixed single-threaded numpy job (≈30 ms CPU) run 15 times: how
    much this machine's load alone stretches wall time (an edit whose wall / CPU ratio is
    the same loses nothing to threads, locks or serialisation)."""
    rng = np.random.default_rng(0)
    a = rng.uniform(size=400_000)
    walls, cpus = [], []
    for _ in range(15):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(6):
            np.sort(a)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    w, c = float(np.median(walls)), float(np.median(cpus))
    return f"load stretch (1-thread job): wall {w * 1e3:.0f} / CPU {c * 1e3:.0f} ms = {w / c:.1f}x"


def city(a: argparse.Namespace, three_d: bool) -> dict[str, Any]:
    """The benchmark layers (EPSG:4326); in 3D with heights and optics."""
    grids, cams, bld, roads = _layers(a.scale, a.seed, a.lon, a.lat)
    if three_d:
        from bench_coverage import place
        from bench_views3d import heights

        buildings, raw, _crs, _sq, _side = place(a.scale, a.seed, a.lon, a.lat)
        hb, o = heights(buildings.size, raw, a.seed)
        cams = cams.assign(
            height_m=o.height_m,
            tilt_deg=o.tilt_deg,
            resolution_px=o.width_px,
            ir_range_m=o.night_m,
            supply_light=np.where(o.night_m > 0, "infrared", "none"),
        )
        bld = bld.assign(height_m=hb)
    return {"grids": grids, "cameras": cams, "buildings": bld, "roads": roads}


def edit_for(kind: str, rng: np.random.Generator) -> dict[str, Any]:
    if kind == "reaim":
        return {"azimuth_deg": float(rng.uniform(0, 360)), "fov_deg": 90.0}
    return {
        "height_m": float(rng.uniform(3, 15)),
        "tilt_deg": float(rng.uniform(5, 30)),
        "resolution_px": float(rng.choice([1920.0, 2688.0, 3840.0])),
    }


def added_row(cams: Any, cid: str, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """A new camera 25 m from camera ``cid`` of ``cams`` (EPSG:4326), aimed at random."""
    p = cams.geometry.to_numpy()[np.flatnonzero(cams["camera_id"].astype(str) == cid)[0]]
    a = rng.uniform(0, 2 * np.pi)
    lat = p.y + 25.0 * np.cos(a) / 111_320.0
    lon = p.x + 25.0 * np.sin(a) / (111_320.0 * np.cos(np.radians(p.y)))
    return {"camera_id": f"bench-new-{n}", "lon": float(lon), "lat": float(lat),
            "type": "bullet", "status": "online", "azimuth_deg": float(rng.uniform(0, 360)),
            "fov_deg": 90.0, "range_m": 60.0}  # fmt: skip


def added_frame(row: dict[str, Any]) -> gpd.GeoDataFrame:
    rest = {k: [v] for k, v in row.items() if k not in ("lon", "lat")}
    return gpd.GeoDataFrame(rest, geometry=[shapely.Point(row["lon"], row["lat"])], crs=4326)


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q) * 1000) if xs else float("nan")


def line(label: str, wall: list[float], cpu: list[float], extra: str = "") -> None:
    print(
        f"   {label}: wall p50 {pct(wall, 50):.0f} ms, p95 {pct(wall, 95):.0f} ms; "
        f"CPU p50 {pct(cpu, 50):.0f} ms (n={len(wall)}){extra}"
    )


def session_part(res: Any, kinds: list[str], picks: dict[str, list[str]], seed: int) -> dict:
    t = time.perf_counter()
    s = WhatIfSession(res)
    print(f"   session set-up {time.perf_counter() - t:.2f} s")
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    tables: list[float] = []
    for kind in kinds:
        wall, cpu = [], []
        for i, cid in enumerate(picks[kind]):
            new = added_frame(added_row(res.state.cameras, cid, i, rng)) if kind == "add" else None
            t, c = time.perf_counter(), time.process_time()
            if new is not None:
                live = s.add(new)
            else:
                live = s.disable(cid) if kind == "disable" else s.reaim(cid, **edit_for(kind, rng))
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            t = time.perf_counter()
            _ = live.blind_spots, live.grid_stats, live.grid_deltas
            tables.append(time.perf_counter() - t)
        line(f"session {kind}", wall, cpu)
        out[kind] = pct(wall, 50) / 1000
        if kind == "add":  # then remove the added cameras again, one by one
            wall, cpu = [], []
            for i in range(len(picks[kind])):
                t, c = time.perf_counter(), time.process_time()
                s.remove(f"bench-new-{i}")
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            line("session remove an added camera", wall, cpu)
    print(f"   that edit's three tables when shown: p50 {pct(tables, 50):.0f} ms, "
          f"p95 {pct(tables, 95):.0f} ms")  # fmt: skip
    return out


def full_part(res: Any, kinds: list[str], picks: dict[str, list[str]], n: int, live: dict):
    rng = np.random.default_rng(1)
    for kind in kinds:
        wall, cpu = [], []
        for i, cid in enumerate(picks[kind][:n]):
            if kind == "add":
                sc = Scenario(added=added_frame(added_row(res.state.cameras, cid, i, rng)))
            elif kind == "disable":
                sc = Scenario(disabled=(cid,))
            else:
                sc = Scenario(reaimed={cid: edit_for(kind, rng)})
            t, c = time.perf_counter(), time.process_time()
            run_scenario(res, sc)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        ratio = pct(wall, 50) / 1000 / live[kind] if live.get(kind) else float("nan")
        line(f"previous method run_scenario {kind}", wall, cpu, f"; {ratio:.1f}x the session")


def api_part(layers: dict, visibility: str, a: argparse.Namespace, picks: dict) -> None:
    from fastapi.testclient import TestClient

    from gridcover.api.app import create_app
    from gridcover.api.store.gpkg.store import GeoPackageStore
    from gridcover.api.store.publish import store_layer
    from gridcover.settings import Settings

    with tempfile.TemporaryDirectory(prefix="gridcover-whatif-") as tmp:
        store = GeoPackageStore(Path(tmp) / "gridcover.gpkg")
        for name, gdf in layers.items():
            store_layer(store, name, gdf)
        store.close()
        settings = Settings(data_dir=Path(tmp), load_sample=False, sample_analyses=False,
                            max_cells=10_000_000, rate_limit_per_minute=0)  # fmt: skip
        app = create_app(settings)
        with TestClient(app) as client:
            keys = getattr(app.state, "keys", None)
            if keys is not None:
                client.headers["X-API-Key"] = keys.add("bench", "planner").token
            body: dict[str, Any] = {"config": {"res": a.res, "visibility": visibility},
                                    "disabled": [], "reaimed": {}, "added": []}  # fmt: skip
            t = time.perf_counter()
            r = client.post("/analysis/whatif", json=body)
            print(f"   API first POST (baseline run + session set-up): "
                  f"{time.perf_counter() - t:.2f} s, HTTP {r.status_code}")  # fmt: skip
            rng = np.random.default_rng(2)
            for kind in ("disable", "reaim", "add"):
                wall, cpu, size = [], [], []
                for i, cid in enumerate(picks[kind]):
                    if kind == "disable":
                        body["disabled"].append(cid)
                    elif kind == "add":
                        body["added"].append(added_row(layers["cameras"], cid, i, rng))
                    else:
                        body["reaimed"][cid] = edit_for("reaim", rng)
                    t, c = time.perf_counter(), time.process_time()
                    r = client.post("/analysis/whatif", json=body)
                    wall.append(time.perf_counter() - t)
                    cpu.append(time.process_time() - c)
                    size.append(len(r.content))
                    if r.status_code != 200:
                        print(f"   API error {r.status_code}: {r.text[:300]}")
                        return
                line(f"API POST /analysis/whatif {kind} (cumulative)", wall, cpu,
                     f"; response {np.median(size) / 1024:.0f} KB")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--res", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lon", type=float, default=116.40)
    ap.add_argument("--lat", type=float, default=39.90)
    ap.add_argument("--visibility", choices=("2d", "3d", "both"), default="both")
    ap.add_argument("--edits", type=int, default=30, help="session edits per kind")
    ap.add_argument("--full-edits", type=int, default=2, help="run_scenario edits per kind")
    ap.add_argument("--api", action="store_true", help="also POST what-if through the API")
    a = ap.parse_args()
    print(f"load average at the start: {load()}; cpus {os.cpu_count()}; {stretch()}")
    for vis in ("2d", "3d") if a.visibility == "both" else (a.visibility,):
        layers = city(a, vis == "3d")
        t, c = time.perf_counter(), time.process_time()
        res = run_analysis(**layers, config=AnalysisConfig(res=a.res, visibility=vis))
        n_cam = len(layers["cameras"])
        t, c = time.perf_counter() - t, time.process_time() - c
        print(f"{vis.upper()}: {n_cam:,} cameras, {len(res.state.cells):,} cells; run_analysis "
              f"{t:.2f} s wall, {c:.2f} s CPU")  # fmt: skip
        v = res.views
        ok = v["counted"].to_numpy() & (v["cells_seen"].to_numpy() > 0)
        ids = v["camera_id"].astype(str).to_numpy()[ok]
        kinds = ["reaim", "disable", "add"] + (["optics"] if vis == "3d" else [])
        rng = np.random.default_rng(a.seed + 5)
        chosen = rng.choice(ids, a.edits * len(kinds), replace=False).tolist()
        picks = {k: chosen[i * a.edits : (i + 1) * a.edits] for i, k in enumerate(kinds)}
        print(f"   {stretch()}")
        live = session_part(res, kinds, picks, a.seed)
        full_part(res, kinds, picks, a.full_edits, live)
        print(f"   peak resident memory so far: {peak_mb():,.0f} MB; load {load()}")
        if a.api:
            del res
            api_part(layers, vis, a, picks)
            print(f"   {stretch()}")
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
