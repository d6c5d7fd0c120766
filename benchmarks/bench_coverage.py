"""Benchmark: cameras -> H3 cells -> cameras per cell, vectorised vs a naive per-camera loop.

Synthetic city: the generator of ``benchmarks/bench_views.py`` (``city``: at ``--scale 1`` a
10 km x 10 km square, 50,000 buildings, 100,000 cameras of mixed types, ranges 30-150 m,
60% wall-mounted), placed at ``--lon/--lat`` (default: Beijing, 116.40 E 39.90 N; metres in
the local metric CRS ``gis.crs.local_metric_crs``, there CGCS2000 3-degree GK). H3 cells of
the square at ``--res`` (default 12); the real cell count and mean cell area at that place
are printed (res-12 cells are ≈ 219 m² at Beijing, ≈ 300 m² at Shenzhen 22.5 N: 100 km² is
330k-470k cells depending on where the city is; at Beijing ≈ 457k, the issue's ~470k). The
load average of the machine is printed at the start and the end: on a shared machine the
wall times scale with it.

Prints, each measured in this run:
  A. cameras -> per-cell counts without occlusion: sector views + cover + bincount;
  B. the pipeline with occlusion: walls + snapping + occluded views + cover + bincount (the
     H3 cells of the area are built once and timed separately, and included in B's total);
  C. (unless --no-analysis) the whole ``run_analysis`` on GeoDataFrames: 3-level grids,
     roads, priority, blind spots, per-grid statistics; each in a fresh process
     (``benchmarks/_pipeline_run.py``, so its peak resident memory is its own), for the
     current code and for the previous code (``--baseline``, default the commit before
     issue 16, extracted with ``git archive``): total, the part after the cover step (from
     the "priority" step mark to the end), peak memory, and the cost of building the
     output tables (cells with hexagons, views in EPSG:4326) that the current code builds
     only when an output asks for them;
  naive pipelines on a ``--naive`` camera subset, scaled linearly to all cameras (said so):
     per camera, scalar shapely occlusion (bench_views.naive_views), then one
     ``h3.polygon_to_cells`` call per view, then counts in a dict; and the same without
     occlusion (sector + polygon_to_cells);
  every measurement is repeated ``--repeat`` times (default 3; the machine is shared) and the
  best is kept, for our pipelines and the naive ones alike; the CPU time of A, B and the
  naive loops is printed too, with the CPU-time ratios (load-independent: on a busy shared
  machine wall times of the 2-thread pipelines stretch more than the 1-thread naive loop's);
  D. (with C) what-if on C's result: p50 / p95 of ``--edits`` single-camera edits (half
     re-aim, half disable) in an incremental ``WhatIfSession``, against the full
     ``run_scenario`` of one edit, in the current and the previous code;
  speed-up ratios, agreement of the (camera, cell) pairs with the naive result on the
  subset, and the peak resident memory. No assertions: figures only.

Run from the repository root: ``python -m benchmarks.bench_coverage [--scale 0.1]``
(``--scale 0.05 --naive 500`` takes seconds).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pyproj
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_views import city, naive_views, peak_mb, sector

from gridcover.coverage.cells import Cells, cells_for_area
from gridcover.coverage.cover import Sectors, cover_pairs
from gridcover.coverage.views.occlusion import Walls
from gridcover.coverage.views.sectors import view_polygons
from gridcover.coverage.views.snapping import snap_cameras
from gridcover.gis.crs import local_metric_crs

TYPES = {0: "bullet", 1: "dome", 2: "ptz", 3: "other"}


def place(scale: float, seed: int, lon: float, lat: float):
    """The synthetic city shifted so its centre sits at lon/lat in the local metric CRS."""
    buildings, cams = city(scale, seed)
    crs = local_metric_crs(lon, lat)
    x0, y0 = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    side = 10_000.0 * np.sqrt(scale)
    dx, dy = x0 - side / 2, y0 - side / 2
    buildings = shapely.transform(buildings, lambda c: c + np.array([dx, dy]))
    cams = {**cams, "x": cams["x"] + dx, "y": cams["y"] + dy}
    square = shapely.box(dx, dy, dx + side, dy + side)
    return buildings, cams, crs, square, side


def grids_layer(square: shapely.Polygon, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Three levels of square grids: 2x2, then 5x5 per level-1, then 4x4 per level-2."""
    minx, miny, maxx, maxy = square.bounds
    rows = []

    def split(box: tuple[float, float, float, float], n: int, level: int, parent: str | None):
        x0, y0, x1, y1 = box
        w, h = (x1 - x0) / n, (y1 - y0) / n
        for i in range(n):
            for j in range(n):
                b = (x0 + i * w, y0 + j * h, x0 + (i + 1) * w, y0 + (j + 1) * h)
                code = f"{parent or 'G'}{i}{j}"
                rows.append((code, parent, level, shapely.box(*b)))
                if level == 1:
                    split(b, 5, 2, code)
                elif level == 2:
                    split(b, 4, 3, code)

    split((minx, miny, maxx, maxy), 2, 1, None)
    codes, parents, levels, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"code": codes, "parent_code": parents, "level": levels}, geometry=list(geoms), crs=crs
    ).to_crs(4326)


def roads_layer(square: shapely.Polygon, crs: pyproj.CRS, spacing: float) -> gpd.GeoDataFrame:
    """A street grid every ``spacing`` metres, vertices at every crossing (degree-4 nodes)."""
    minx, miny, maxx, maxy = square.bounds
    xs = np.arange(minx + spacing / 2, maxx, spacing)
    ys = np.arange(miny + spacing / 2, maxy, spacing)
    lines = [shapely.LineString(np.c_[np.full(ys.size, x), ys]) for x in xs]
    lines += [shapely.LineString(np.c_[xs, np.full(xs.size, y)]) for y in ys]
    cls = np.where(np.arange(len(lines)) % 5 == 0, "primary", "residential")
    return gpd.GeoDataFrame(
        {"road_id": [f"r{i}" for i in range(len(lines))], "class": cls}, geometry=lines, crs=crs
    ).to_crs(4326)


def naive_counts(views: list[shapely.Geometry], crs: pyproj.CRS, res: int) -> Counter:
    """Per view: project to lon/lat, one h3.polygon_to_cells call, count cells in a dict."""
    tr = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    counts: Counter = Counter()
    for v in views:
        if v.is_empty:
            continue
        for part in getattr(v, "geoms", [v]):
            lon, lat = tr.transform(*np.asarray(part.exterior.coords).T)
            holes = [tr.transform(*np.asarray(r.coords).T) for r in part.interiors]
            poly = h3.LatLngPoly(
                list(zip(lat, lon, strict=True)), *[list(zip(b, a, strict=True)) for a, b in holes]
            )
            counts.update(h3n.polygon_to_cells(poly, res).astype(np.int64).tolist())
    return counts


def _pipeline(args: argparse.Namespace, src: Path | None) -> dict:
    """C and D in a fresh process, on ``src`` (a ``src`` folder) or the current code."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    argv = [sys.executable, "-m", "benchmarks._pipeline_run", "--scale", str(args.scale)]
    argv += ["--res", str(args.res), "--seed", str(args.seed), "--edits", str(args.edits)]
    argv += ["--lon", str(args.lon), "--lat", str(args.lat)]
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=True)
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("PIPELINE "))
    return json.loads(line.split(" ", 1)[1])


def _previous_code(rev: str) -> Path | None:
    """``src/`` of commit ``rev`` in a temporary folder (None when git cannot give it)."""
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", rev, "src/gridcover"],
        capture_output=True,
    )
    if run.returncode != 0:
        print(f"previous code {rev!r} not available from git: C and D without a baseline")
        return None
    tmp = Path(tempfile.mkdtemp(prefix=f"gridcover-{rev}-"))
    with tarfile.open(fileobj=io.BytesIO(run.stdout)) as tar:
        tar.extractall(tmp, filter="data")
    return tmp / "src"


def analysis(args: argparse.Namespace, t_core: float, cpu_core: float = float("nan")) -> float:
    """C and D for the current code and (with --baseline) the previous one, same run;
    returns the current code's run_analysis seconds."""
    runs = {"current": _pipeline(args, None)}
    src = _previous_code(args.baseline) if args.baseline else None
    if src is not None:
        runs[f"previous ({args.baseline})"] = _pipeline(args, src)
    for label, r in runs.items():
        marks = ", ".join(f"{a} @{b:.1f}s" for a, b in r["steps"])
        print(
            f"C. run_analysis, {label} code: {r['run_s']:.2f} s = {r['run_s'] / t_core:.2f}x "
            f"the occluded core B [target ≤ 1.3x] (CPU time {r['run_cpu_s'] / cpu_core:.2f}x B's); "
            f"after the cover step {r['after_cover_s']:.2f}"
            f" s [target ≤ 1.0 s] (CPU time: run {r['run_cpu_s']:.2f} s, after the cover step "
            f"{r['after_cover_cpu_s']:.2f} s); peak memory {r['peak_mb_run']:,.0f} MB "
            f"[target ≤ 1,200]; {r['blind_spots']:,} blind spots, covered {r['covered_pct']:.2f}%\n"
            f"   steps: {marks}\n   output tables on first use: cells ({r['cells_rows']:,} "
            f"rows, hexagons) {r['cells_table_s']:.2f} s, views ({r['views_rows']:,}, EPSG:4326)"
            f" {r['views_table_s']:.2f} s; peak memory with them {r['peak_mb_tables']:,.0f} MB"
        )
        if "live_reaim" in r:
            (a50, a95), (d50, d95) = r["live_reaim"], r["live_disable"]
            print(
                f"D. what-if, {label} code, incremental session ({args.edits} edits; set-up "
                f"{r['session_setup_s']:.2f} s once): re-aim 1 camera p50 {a50 * 1e3:.0f} ms, "
                f"p95 {a95 * 1e3:.0f} ms; disable 1 camera p50 {d50 * 1e3:.0f} ms, p95 "
                f"{d95 * 1e3:.0f} ms [target p50 ≤ 100 ms, p95 ≤ 200 ms]; CPU time p50 "
                f"{r['live_cpu'][0] * 1e3:.0f} / {r['live_cpu'][1] * 1e3:.0f} ms; the edit's "
                f"tables (blind spots, grid stats, grid deltas) when shown: p50 "
                f"{r['live_tables'][0] * 1e3:.0f} ms, p95 {r['live_tables'][1] * 1e3:.0f} ms"
            )
        print(
            f"D. what-if, {label} code, full run_scenario of one edit: re-aim "
            f"{r['full_reaim'][0]:.2f} s, disable {r['full_disable'][0]:.2f} s (median of "
            "2 each)"
        )
    if len(runs) == 2:
        cur, old = runs.values()
        print(
            f"C vs previous: whole run {old['run_s'] / cur['run_s']:.2f}x faster, after the "
            f"cover step {old['after_cover_s'] / cur['after_cover_s']:.1f}x faster, peak memory "
            f"{cur['peak_mb_run'] / old['peak_mb_run']:.2f}x"
        )
    return float(runs["current"]["run_s"])


def b3_3d(buildings, cams, cells: Cells, reps: int, seed: int, t_2d: float, cpu_2d: float):
    """B3. the 3D cover step (bench_views3d: heights, tilt, resolution, night) on B's city
    and cells, timed like B without the cells: walls + prisms + snapping + sight + levels."""
    from bench_views3d import TARGET_H, heights

    from gridcover.coverage.detail import detail_cover
    from gridcover.coverage.views.sight import Optics, Prisms, roof_heights, sight_pairs

    hb, optics = heights(buildings.size, cams, seed)
    runs = []
    for _ in range(reps):
        t, cpu = time.perf_counter(), time.process_time()
        walls = Walls.from_polygons(buildings)
        prisms = Prisms.from_walls(walls, hb)
        snap = snap_cameras(cams["x"], cams["y"], walls)
        o = Optics(
            snap.x, snap.y, *(getattr(optics, f) for f in list(Optics.__dataclass_fields__)[2:])
        )
        roof = roof_heights(prisms, cells.x, cells.y)
        p = sight_pairs(
            o,
            cells.x,
            cells.y,
            target_height_m=TARGET_H,
            tree=cells.tree,
            prisms=prisms,
            roof_m=roof,
        )
        on = np.ones(o.n, bool)
        det = detail_cover(len(cells), p.cell_idx, p.camera_idx, p.level, p.night, on)
        runs.append((time.perf_counter() - t, time.process_time() - cpu, p, det))
    wall, cpu, p, det = min(runs, key=lambda r: r[0])
    levels = ", ".join(f"{int((det.detail_level >= k).sum()):,}" for k in range(1, 5))
    print(
        f"B3. 3D (heights: buildings {hb.min():.0f}-{hb.max():.0f} m, cameras "
        f"{optics.height_m.min():.1f}-{optics.height_m.max():.1f} m; tilt, resolution, night): "
        f"walls + snapping + sight + levels {wall:.2f} s wall / {cpu:.2f} s CPU beside B's "
        f"{t_2d:.2f} s / {cpu_2d:.2f} s without cells: 3D/2D = {wall / t_2d:.2f}x wall, "
        f"{cpu / max(cpu_2d, 1e-9):.2f}x CPU ({p.cell_idx.size / 1e6:.2f} M seeing pairs; "
        f"cells at level >= 1..4: {levels}); "
        "naive per-camera 3D loop: python -m benchmarks.bench_views3d"
    )


def c3_3d(grids, cam_gdf, bld, roads, buildings, cams, args, t_2d: float) -> None:
    """C3. the same run_analysis with ``visibility="3d"`` (heights from bench_views3d), its
    cover step and its view drawing (3D outlines cut by shadows) apart."""
    from bench_views3d import heights

    from gridcover.coverage.analysis import AnalysisConfig, run_analysis

    hb, o = heights(buildings.size, cams, args.seed)
    light = np.where(o.night_m > 0, "infrared", "none")
    cam3 = cam_gdf.assign(
        height_m=o.height_m,
        tilt_deg=o.tilt_deg,
        resolution_px=o.width_px,
        ir_range_m=o.night_m,
        supply_light=light,
    )
    steps: list[tuple[str, float]] = []
    t = time.perf_counter()
    res = run_analysis(
        grids,
        cam3,
        buildings=bld.assign(height_m=hb),
        roads=roads,
        config=AnalysisConfig(res=args.res, visibility="3d"),
        progress=lambda s, _i, _n: steps.append((s, time.perf_counter() - t)),
    )
    t3 = time.perf_counter() - t
    marks = [f"{a} @{b:.1f}s" for a, b in steps]
    print(
        f"C3. run_analysis 3D: {t3:.2f} s beside C's {t_2d:.2f} s = {t3 / t_2d:.2f}x; "
        f"recognise or better {res.summary['recognise_pct']:.1f}%, seen at night "
        f"{res.summary['night_detect_pct']:.1f}%\n   steps (camera views includes drawing the "
        "3D outlines): " + ", ".join(marks)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1 = 100 km², 50k bldgs, 100k cams")
    ap.add_argument("--res", type=int, default=12)
    ap.add_argument("--naive", type=int, default=5000, help="cameras timed in the naive loops")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lon", type=float, default=116.40, help="default: Beijing")
    ap.add_argument("--lat", type=float, default=39.90)
    ap.add_argument("--no-analysis", action="store_true", help="skip C (run_analysis)")
    ap.add_argument("--no-3d", action="store_true", help="skip B3 (the 3D cover step)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; best is kept")
    ap.add_argument("--edits", type=int, default=40, help="what-if edits timed in D")
    ap.add_argument(
        "--baseline",
        default="c7ff345",
        help="git commit whose code is run as the previous method of C and D ('' = none)",
    )
    args = ap.parse_args()
    threads = os.cpu_count() or 1

    buildings, cams, crs, square, side = place(args.scale, args.seed, args.lon, args.lat)
    n = cams["x"].size
    print(
        f"synthetic city at {args.lon:.2f} E {args.lat:.2f} N ({crs.to_string()}): "
        f"{side**2 / 1e6:.1f} km², {buildings.size:,} buildings, {n:,} cameras; "
        f"{threads} CPU(s); load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    az, fov, rng = cams["azimuth_deg"], cams["fov_deg"], cams["range_m"]

    aoi = gpd.GeoSeries([square.segmentize(100.0)], crs=crs).to_crs(4326).iloc[0]
    reps = max(args.repeat, 1)

    def build_cells() -> tuple[float, Cells, float]:
        t, cpu = time.perf_counter(), time.process_time()
        c = cells_for_area(aoi, args.res, crs)
        _ = c.tree  # the centroid index is part of the cells, built once
        return time.perf_counter() - t, c, time.process_time() - cpu

    runs = [build_cells() for _ in range(reps)]
    t_cells, cells, cpu_cells = min(runs, key=lambda r: r[0])
    print(
        f"H3 cells at res {args.res}: {len(cells):,} (mean {cells.area_m2.mean():.1f} m²; "
        f"issue: ~470k) built with their STRtree in {t_cells:.2f} s "
        f"(best of {reps}; areas computed lazily, later)"
    )

    # A: no occlusion
    def run_a() -> tuple[float, float, float, np.ndarray, float]:
        t, cpu = time.perf_counter(), time.process_time()
        plain = view_polygons(cams["x"], cams["y"], az, fov, rng)
        t_v = time.perf_counter() - t
        t = time.perf_counter()
        sec = Sectors(cams["x"], cams["y"], az, fov, rng)
        ci, _ki = cover_pairs(plain, cells.x, cells.y, tree=cells.tree, sectors=sec)
        counts = np.bincount(ci, minlength=len(cells))
        return t_v, time.perf_counter() - t, ci.size, counts, time.process_time() - cpu

    a_runs = [run_a() for _ in range(reps)]
    t_v, t_c, hits, counts, cpu_a = min(a_runs, key=lambda r: r[0] + r[1])
    t_a = t_v + t_c
    print(
        f"A. no occlusion: views {t_v:.2f} s + cover&counts {t_c:.2f} s = {t_a:.2f} s "
        f"(best of {reps}: {', '.join(f'{r[0] + r[1]:.2f}' for r in a_runs)})  "
        f"({hits / 1e6:.2f} M hits, {hits / t_c / 1e6:.2f} M hits/s in the cover step; "
        f"{(counts > 0).mean() * 100:.1f}% of cells seen)  [target ≤ 2 s]"
    )

    # B: occlusion
    def run_b():
        t0, cpu = time.perf_counter(), time.process_time()
        walls = Walls.from_polygons(buildings)
        t_w = time.perf_counter() - t0
        t = time.perf_counter()
        snap = snap_cameras(cams["x"], cams["y"], walls)
        t_s = time.perf_counter() - t
        t = time.perf_counter()
        occl = view_polygons(snap.x, snap.y, az, fov, rng, walls, snap_offset_m=None)
        t_o = time.perf_counter() - t
        t = time.perf_counter()
        sec = Sectors(snap.x, snap.y, az, fov, rng)
        ci, ki = cover_pairs(occl, cells.x, cells.y, tree=cells.tree, sectors=sec)
        counts = np.bincount(ci, minlength=len(cells))
        t_c2 = time.perf_counter() - t
        return (t_w, t_s, t_o, t_c2), snap, ci, ki, counts, time.process_time() - cpu

    b_runs = [run_b() for _ in range(reps)]
    b_tot = [t_cells + sum(r[0]) for r in b_runs]
    (t_w, t_s, t_o, t_c2), snap, ci, ki, counts, cpu_b = b_runs[int(np.argmin(b_tot))]
    cpu_b += cpu_cells
    del b_runs
    t_full = min(b_tot)
    x, y = snap.x, snap.y
    print(
        f"B. with occlusion: cells {t_cells:.2f} + walls {t_w:.2f} + snapping {t_s:.2f} + "
        f"views {t_o:.2f} + cover&counts {t_c2:.2f} = {t_full:.2f} s (best of {reps}: "
        f"{', '.join(f'{v:.2f}' for v in b_tot)})  ({ci.size / 1e6:.2f} M hits; "
        f"{(counts > 0).mean() * 100:.1f}% of cells seen)  [target ≤ 10 s]"
    )
    print(f"   peak resident memory so far: {peak_mb():,.0f} MB")
    if not args.no_3d:
        b3_3d(buildings, cams, cells, reps, args.seed, t_full - t_cells, cpu_b - cpu_cells)

    # naive pipelines on a subset, scaled linearly
    k = min(args.naive, n)
    sub = np.sort(np.random.default_rng(args.seed + 1).choice(n, k, replace=False))
    naive_full, naive_plain, cpu_full, cpu_plain = [], [], [], []
    for _ in range(reps):
        t, cpu = time.perf_counter(), time.process_time()
        nv = naive_views(buildings, cams, sub, x, y)
        nc = naive_counts(nv, crs, args.res)
        naive_full.append(time.perf_counter() - t)
        cpu_full.append(time.process_time() - cpu)
        t, cpu = time.perf_counter(), time.process_time()
        sectors = [sector(cams["x"][i], cams["y"][i], az[i], fov[i], rng[i], 2.0) for i in sub]
        naive_counts(sectors, crs, args.res)
        naive_plain.append(time.perf_counter() - t)
        cpu_plain.append(time.process_time() - cpu)
    t_naive, t_naive_plain = min(naive_full), min(naive_plain)
    s_full, s_plain = t_naive * n / k, t_naive_plain * n / k
    print(
        f"naive, timed on {k:,} cameras (best of {reps}) and scaled linearly to {n:,}: with "
        f"occlusion {t_naive:.2f} s -> {s_full:.1f} s; without occlusion {t_naive_plain:.2f} s "
        f"-> {s_plain:.1f} s"
    )
    print(
        f"speed-up: pipeline with occlusion {s_full / t_full:.1f}x (target ≥ 20x); "
        f"without occlusion {s_plain / t_a:.1f}x"
    )
    c_full, c_plain = min(cpu_full) * n / k, min(cpu_plain) * n / k
    print(
        f"CPU time (all threads of this process; unlike wall time it does not grow when other "
        f"jobs share the cores): A {cpu_a:.2f} s, B {cpu_b:.2f} s; naive scaled: with "
        f"occlusion {c_full:.1f} s, without {c_plain:.1f} s -> CPU-time speed-up with "
        f"occlusion {c_full / cpu_b:.1f}x, without {c_plain / cpu_a:.1f}x"
    )
    # agreement of the per-cell counts from the subset cameras, on the cells of the area
    # (polygon_to_cells also returns the cells of views reaching past the square's edge)
    mine = np.isin(ki, sub)
    ours = Counter(cells.h3[ci[mine]].tolist())
    in_area = set(cells.h3.tolist())
    nc = Counter({c: v for c, v in nc.items() if c in in_area})
    keys = set(ours) | set(nc)
    same = sum(min(ours[c], nc[c]) for c in keys)
    total = sum(max(ours[c], nc[c]) for c in keys)
    print(
        f"agreement with the naive counts on the subset (shared hits / all hits): "
        f"{same / max(total, 1) * 100:.2f}%"
    )
    del nv, ci, ki

    if not args.no_analysis:
        t_an = analysis(args, t_full, cpu_b)
        if not args.no_3d:
            grids = grids_layer(square, crs)
            roads = roads_layer(square, crs, 180.0)
            cam_gdf = gpd.GeoDataFrame(
                {
                    "camera_id": [f"c{i}" for i in range(n)],
                    "type": np.where(fov >= 360, "dome", "bullet"),
                    "status": np.where(np.arange(n) % 20 == 0, "offline", "online"),
                    "azimuth_deg": az,
                    "fov_deg": fov,
                    "range_m": rng,
                },
                geometry=shapely.points(cams["x"], cams["y"]),
                crs=crs,
            ).to_crs(4326)
            bld = gpd.GeoDataFrame(
                {"building_id": [f"b{i}" for i in range(buildings.size)]},
                geometry=buildings,
                crs=crs,
            ).to_crs(4326)
            c3_3d(grids, cam_gdf, bld, roads, buildings, cams, args, t_an)
    print(f"peak resident memory: {peak_mb():,.0f} MB")
    print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
