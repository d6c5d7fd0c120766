"""Benchmark: the 3D cover step (heights, tilt, resolution, night) beside the 2D one.

Synthetic city of ``bench_views.city`` (at ``--scale 1``: 10 km x 10 km, 50,000 buildings,
100,000 cameras, 60% wall-mounted), placed at ``--lon/--lat`` like ``bench_coverage`` (H3
cells of the square at ``--res``, default 12). Heights added here (seeded): buildings 3-60 m
(a fifth of them low, 2-4 m: walls, kiosks, sheds); cameras 2.5-8 m by type, a tilt for 40%
of the fixed ones, resolutions 720P / 1080P / 4MP, infrared on 70%.

Prints, each measured in this run (best of ``--repeat``; CPU time too):
  2D: snap + occluded view polygons + cover (centroid in polygon) + counts;
  3D: snap + optics + exact 3D sight test per (camera, cell) + levels + counts (no drawing);
  3D bands: the band polygons of every camera cut by 3D shadows (drawing for maps, not part
      of the cover step; timed separately);
  the ratio 3D / 2D, and a naive per-camera 3D loop (plain shapely, one camera and one cell
  at a time, as the test reference) timed on ``--naive`` cameras and scaled linearly to all
  cameras (said so), with its agreement with the vectorised pairs on that subset.
No assertions: figures only. Run from the repository root:
``python -m benchmarks.bench_views3d --scale 0.05 --naive 200`` takes seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coverage import place
from bench_views import peak_mb

from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.cover import Sectors, cover_cells, cover_pairs
from gridcover.coverage.detail import detail_cover
from gridcover.coverage.views.bands import band_polygons
from gridcover.coverage.views.occlusion import Walls
from gridcover.coverage.views.optics import vfov_16_9
from gridcover.coverage.views.sectors import view_polygons
from gridcover.coverage.views.sight import Optics, Prisms, roof_heights, sight_pairs
from gridcover.coverage.views.snapping import snap_cameras

TARGET_H = 1.5


def heights(n_b: int, cams: dict, seed: int) -> tuple[np.ndarray, Optics]:
    """Building heights and camera optics (before snapping; x/y filled in by the caller)."""
    rng = np.random.default_rng(seed + 7)
    low = rng.uniform(size=n_b) < 0.2
    hb = np.where(low, rng.uniform(2, 4, n_b), rng.uniform(6, 60, n_b))
    n = cams["x"].size
    fov = cams["fov_deg"]
    full = fov >= 360
    h = np.where(full, rng.uniform(3, 8, n), rng.uniform(2.5, 6, n))
    tilt = np.where(~full & (rng.uniform(size=n) < 0.4), rng.uniform(5, 35, n), np.nan)
    width = rng.choice([1280.0, 1920.0, 2560.0], n, p=[0.2, 0.6, 0.2])
    lens = np.where(full, 90.0, fov)
    night = np.where(rng.uniform(size=n) < 0.7, rng.uniform(20, 60, n), 0.0)
    optics = Optics(
        x=cams["x"],
        y=cams["y"],
        height_m=h,
        azimuth_deg=cams["azimuth_deg"],
        fov_deg=fov,
        range_m=cams["range_m"],
        tilt_deg=tilt,
        vfov_deg=vfov_16_9(lens),
        width_px=width,
        lens_fov_deg=lens,
        night_m=night,
    )
    return hb, optics


def naive_3d(
    buildings: np.ndarray,
    hb: np.ndarray,
    o: Optics,
    idx: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
) -> set[tuple[int, int]]:
    """Per camera, per candidate cell: plain math for the fields and level, shapely for the
    sight line against each footprint (the segment's lowest point inside must clear it)."""
    tree = shapely.STRtree(buildings)
    cell_tree = shapely.STRtree(shapely.points(cx, cy))
    out = set()
    for k in idx:
        px, py, hc = o.x[k], o.y[k], o.height_m[k]
        half = math.tan(math.radians(o.lens_fov_deg[k]) / 2)
        dmax = o.width_px[k] / (2 * 25 * half)
        r = min(o.range_m[k], math.sqrt(max(dmax**2 - (hc - TARGET_H) ** 2, 0)))
        for c in cell_tree.query(shapely.box(px - r, py - r, px + r, py + r)):
            dx, dy = cx[c] - px, cy[c] - py
            d = math.hypot(dx, dy)
            if d > r:
                continue
            if o.fov_deg[k] < 360:
                off = abs((math.degrees(math.atan2(dx, dy)) - o.azimuth_deg[k] + 180) % 360 - 180)
                if off > o.fov_deg[k] / 2:
                    continue
            if not math.isnan(o.tilt_deg[k]):
                dep = math.degrees(math.atan2(hc - TARGET_H, d))
                if abs(dep - o.tilt_deg[k]) > o.vfov_deg[k] / 2:
                    continue
            slant = math.hypot(d, hc - TARGET_H)
            if o.width_px[k] / (2 * slant * half) < 25:
                continue
            line = shapely.LineString([(px, py), (cx[c], cy[c])])
            blocked = False
            for j in tree.query(line):
                inter = buildings[j].intersection(line)
                for piece in getattr(inter, "geoms", [inter]):
                    for qx, qy in piece.coords if not piece.is_empty else ():
                        u = math.hypot(qx - px, qy - py) / d if d > 0 else 0.0
                        blocked |= hc + u * (TARGET_H - hc) < hb[j]
                if blocked:
                    break
            if not blocked:
                out.add((int(c), int(k)))
    return out


def best(fn, reps: int):
    walls, cpus, out = [], [], None
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1 = 100 km², 50k bldgs, 100k cams")
    ap.add_argument("--res", type=int, default=12)
    ap.add_argument("--naive", type=int, default=300, help="cameras timed in the naive loop")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lon", type=float, default=116.40, help="default: Beijing")
    ap.add_argument("--lat", type=float, default=39.90)
    ap.add_argument("--repeat", type=int, default=2, help="runs per measurement; best is kept")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    buildings, cams, crs, square, side = place(a.scale, a.seed, a.lon, a.lat)
    hb, optics = heights(buildings.size, cams, a.seed)
    print(
        f"city: {side / 1000:.2f} km square, {buildings.size:,} buildings "
        f"({(hb < 5).sum():,} under 5 m), {optics.n:,} cameras; res {a.res}"
    )
    t = time.perf_counter()
    area = shapely.Polygon(np.asarray(square.exterior.coords))
    import geopandas as gpd

    area_ll = gpd.GeoSeries([area], crs=crs).to_crs(4326).iloc[0]
    cells = cells_for_area(area_ll, a.res, crs)
    print(f"H3 cells: {len(cells):,} in {time.perf_counter() - t:.1f} s")
    counted = np.ones(optics.n, dtype=bool)

    def run_2d():
        w = Walls.from_polygons(buildings)
        s = snap_cameras(cams["x"], cams["y"], w)
        v = view_polygons(
            s.x,
            s.y,
            cams["azimuth_deg"],
            cams["fov_deg"],
            cams["range_m"],
            w,
            snap_offset_m=None,
            threads=a.threads,
        )
        sec = Sectors(s.x, s.y, cams["azimuth_deg"], cams["fov_deg"], cams["range_m"])
        ci, ki = cover_pairs(v, cells.x, cells.y, tree=cells.tree, sectors=sec, threads=a.threads)
        return cover_cells(len(cells), ci, ki, counted)

    def run_3d():
        w = Walls.from_polygons(buildings)
        prisms = Prisms.from_walls(w, hb)
        s = snap_cameras(cams["x"], cams["y"], w)
        o = optics.updated(np.arange(optics.n), optics.subset(np.arange(optics.n)))
        o = Optics(s.x, s.y, *(getattr(o, f) for f in list(o.__dataclass_fields__)[2:]))
        roof = roof_heights(prisms, cells.x, cells.y)
        p = sight_pairs(
            o,
            cells.x,
            cells.y,
            target_height_m=TARGET_H,
            tree=cells.tree,
            prisms=prisms,
            roof_m=roof,
            threads=a.threads,
        )
        cov = cover_cells(len(cells), p.cell_idx, p.camera_idx, counted)
        det = detail_cover(len(cells), p.cell_idx, p.camera_idx, p.level, p.night, counted)
        return cov, det, o, prisms

    t2, c2, cov2 = best(run_2d, a.repeat)
    print(
        f"2D cover step: {t2:.2f} s wall, {c2:.2f} s CPU; {cov2.cell_idx.size:,} pairs, "
        f"{int(cov2.covered.sum()):,} cells covered"
    )
    t3, c3, (cov3, det, o3, prisms) = best(run_3d, a.repeat)
    levels = np.bincount(det.detail_level, minlength=5)
    print(
        f"3D cover step: {t3:.2f} s wall, {c3:.2f} s CPU; {cov3.cell_idx.size:,} pairs, "
        f"{int(cov3.covered.sum()):,} cells seen; cells by best level 0-4: "
        f"{', '.join(f'{v:,}' for v in levels)}; seen at night: "
        f"{int((det.night_detail_level > 0).sum()):,}"
    )
    print(f"3D / 2D: {t3 / t2:.2f}x wall, {c3 / c2:.2f}x CPU (same run)")
    tb, cb, bands = best(lambda: band_polygons(o3, prisms, TARGET_H), 1)
    print(
        f"3D band polygons (drawing, not in the cover step): {tb:.2f} s wall, {cb:.2f} s CPU, "
        f"{len(bands):,} bands"
    )
    idx = np.random.default_rng(a.seed + 3).choice(o3.n, min(a.naive, o3.n), replace=False)
    idx.sort()
    solid = shapely.make_valid(buildings)
    t = time.perf_counter()
    ref = naive_3d(solid, hb, o3, idx, cells.x, cells.y)
    tn = time.perf_counter() - t
    scaled = tn * o3.n / idx.size
    sel = np.isin(cov3.camera_idx, idx)
    ours = set(zip(cov3.cell_idx[sel].tolist(), cov3.camera_idx[sel].tolist(), strict=True))
    agree = 1 - len(ours ^ ref) / max(len(ours | ref), 1)
    print(
        f"naive per-camera 3D loop: {tn:.1f} s on {idx.size} cameras, scaled linearly to "
        f"{o3.n:,} cameras: {scaled:,.0f} s = {scaled / t3:,.0f}x the vectorised 3D step; "
        f"pair agreement on the subset {100 * agree:.2f}% ({len(ref):,} naive pairs)"
    )
    print(f"peak RSS {peak_mb():,.0f} MB; load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
