"""Benchmark: camera view polygons with and without building occlusion.

Synthetic city (all in metres, a local metric CRS): at ``--scale 1`` a 10 km x 10 km square
(100 km²) with 50,000 rectangular buildings on a jittered lattice and 100,000 cameras of
mixed types (bullet 50%, dome 25%, ptz 15%, other 10%), ranges uniform 30-150 m, random
azimuths; 60% of the cameras are wall-mounted (on or up to 1 m inside a building outline,
as in real data), the rest stand anywhere. ``--scale s`` multiplies area, buildings and
cameras by ``s`` (``--scale 0.05`` runs in seconds).

Prints: wall preparation, snapping, views without occlusion, views with occlusion (wall
time, rays cast, rays/s, (ray, wall) pairs), the naive baseline (per-camera Python loop:
shapely sector minus the union of the nearby buildings' shadows) timed on a subset and
scaled linearly, the speed-up ratio, the area agreement with the naive result on that
subset, and the peak resident memory. No assertions: figures only.

Run: ``python -m benchmarks.bench_views [--scale 0.1] [--naive 2000] [--seed 0]``
(or ``python benchmarks/bench_views.py``).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import shapely

from gridcover.coverage.views.defaults import CameraDefaults
from gridcover.coverage.views.occlusion import Walls, uniform_counts
from gridcover.coverage.views.sectors import _steps, view_polygons
from gridcover.coverage.views.snapping import snap_cameras

TYPES = np.array(["bullet", "dome", "ptz", "other"], dtype=object)
TYPE_P = [0.5, 0.25, 0.15, 0.10]


def city(scale: float, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Buildings (Polygon array) and cameras (dict of arrays) of the synthetic city."""
    rng = np.random.default_rng(seed)
    side = 10_000.0 * np.sqrt(scale)
    n_b = round(50_000 * scale)
    per_row = int(np.ceil(np.sqrt(n_b)))
    pitch = side / per_row
    gx, gy = np.meshgrid(np.arange(per_row), np.arange(per_row))
    cx = (gx.ravel()[:n_b] + 0.5) * pitch + rng.uniform(-5, 5, n_b)
    cy = (gy.ravel()[:n_b] + 0.5) * pitch + rng.uniform(-5, 5, n_b)
    w = rng.uniform(10, 30, n_b)
    h = rng.uniform(8, 25, n_b)
    buildings = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    n_c = round(100_000 * scale)
    kinds = rng.choice(TYPES, n_c, p=TYPE_P)
    wall = rng.uniform(size=n_c) < 0.6
    x = rng.uniform(0, side, n_c)
    y = rng.uniform(0, side, n_c)
    # Wall-mounted: a random point on a random building's outline, pushed up to 1 m inside.
    nb = int(wall.sum())
    host = rng.integers(0, n_b, nb)
    edge = shapely.boundary(buildings[host])
    on = shapely.line_interpolate_point(edge, rng.uniform(0, 1, nb), normalized=True)
    ox, oy = shapely.get_x(on), shapely.get_y(on)
    inward = rng.uniform(0, 1, nb)
    dx, dy = cx[host] - ox, cy[host] - oy
    norm = np.hypot(dx, dy)
    x[wall] = ox + inward * dx / norm
    y[wall] = oy + inward * dy / norm
    defaults = CameraDefaults()
    cams = {
        "x": x,
        "y": y,
        "azimuth_deg": rng.uniform(0, 360, n_c),
        "fov_deg": defaults.fov_for(kinds),
        "range_m": rng.uniform(30, 150, n_c),
    }
    return buildings, cams


def sector(x: float, y: float, az: float, fov: float, r: float, step: float) -> shapely.Polygon:
    """Scalar sector polygon (degrees clockwise from north), arc vertex every ``step``°."""
    if fov >= 360:
        return shapely.Point(x, y).buffer(r, quad_segs=max(int(90 / step), 2))
    n = max(int(np.ceil(fov / step)), 1)
    t = np.radians(az - fov / 2 + np.arange(n + 1) * fov / n)
    pts = [(x, y), *zip(x + r * np.sin(t), y + r * np.cos(t), strict=True), (x, y)]
    return shapely.Polygon(pts)


def naive_views(
    buildings: np.ndarray,
    cams: dict[str, np.ndarray],
    idx: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> list[shapely.Geometry]:
    """Per-camera loop: sector minus the union of every nearby building's shadow (scalar)."""
    tree = shapely.STRtree(buildings)
    out = []
    for i in idx:
        r = cams["range_m"][i]
        view = sector(x[i], y[i], cams["azimuth_deg"][i], cams["fov_deg"][i], r, 2.0)
        shadows = []
        for j in tree.query(shapely.Point(x[i], y[i]).buffer(r, quad_segs=4)):
            b = buildings[j]
            if not b.intersects(view):
                continue
            c = np.asarray(b.exterior.coords)
            d = c - (x[i], y[i])
            far = (x[i], y[i]) + d * (3 * r / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6))[:, None]
            shadows.append(shapely.MultiPoint(np.vstack([c, far])).convex_hull)
        out.append(view.difference(shapely.union_all(shadows)) if shadows else view)
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1 = 100 km², 50k bldgs, 100k cams")
    ap.add_argument("--naive", type=int, default=2000, help="cameras timed in the naive loop")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t0 = time.perf_counter()
    buildings, cams = city(args.scale, args.seed)
    n = cams["x"].size
    print(
        f"synthetic city: {args.scale * 100:.1f} km², {buildings.size:,} buildings, {n:,} cameras"
    )
    print(f"  generated in {time.perf_counter() - t0:.2f} s")

    t = time.perf_counter()
    walls = Walls.from_polygons(buildings)
    t_walls = time.perf_counter() - t
    print(f"walls prepared:        {t_walls:7.2f} s  ({walls.n_segments:,} wall segments)")

    t = time.perf_counter()
    snap = snap_cameras(cams["x"], cams["y"], walls)
    t_snap = time.perf_counter() - t
    print(f"snapping:              {t_snap:7.2f} s  ({int(snap.snapped.sum()):,} cameras moved)")
    x, y = snap.x, snap.y
    az, fov, rng = cams["azimuth_deg"], cams["fov_deg"], cams["range_m"]

    t = time.perf_counter()
    plain = view_polygons(x, y, az, fov, rng)
    t_plain = time.perf_counter() - t
    print(f"views, no occlusion:   {t_plain:7.2f} s  ({n / t_plain:,.0f} views/s)")
    del plain

    t = time.perf_counter()
    occl = view_polygons(x, y, az, fov, rng, walls, snap_offset_m=None, threads=1)
    t_one = time.perf_counter() - t
    del occl
    print(f"views, occlusion, 1 thread:   {t_one:5.2f} s  ({n / t_one:,.0f} views/s)")
    t = time.perf_counter()
    occl = view_polygons(x, y, az, fov, rng, walls, snap_offset_m=None)
    t_occl = time.perf_counter() - t
    # Every ray end is one polygon vertex; minus the closing vertex and the apex of sectors.
    rays = int((shapely.get_num_coordinates(occl) - 1 - (fov < 360)).sum())
    uniform = int(uniform_counts(np.radians(fov), _steps(rng, None, 0.1), fov >= 360).sum())
    print(
        f"views, occlusion, {os.cpu_count()} threads:  {t_occl:5.2f} s  "
        f"({n / t_occl:,.0f} views/s; "
        f"{rays:,} rays, {uniform:,} of them uniform; "
        f"{rays / t_occl / 1e6:.2f} M rays/s)"
    )
    valid = shapely.is_valid(occl)
    print(f"  valid polygons: {valid.mean() * 100:.3f} %; peak memory so far {peak_mb():,.0f} MB")
    print(f"  total incl. walls + snapping: {t_walls + t_snap + t_occl:.2f} s")

    k = min(args.naive, n)
    sub = np.random.default_rng(args.seed + 1).choice(n, k, replace=False)
    t = time.perf_counter()
    naive = naive_views(buildings, cams, sub, x, y)
    t_naive = time.perf_counter() - t
    scaled = t_naive * n / k
    print(
        f"naive loop on {k:,} cameras: {t_naive:.2f} s -> scaled linearly to {n:,}: "
        f"{scaled:.1f} s\n  speed-up of the vectorised occlusion: "
        f"{scaled / t_one:.1f}x on 1 thread, "
        f"{scaled / t_occl:.1f}x on {os.cpu_count()} threads"
    )
    ours = occl[sub]
    inter = shapely.area(shapely.intersection(ours, np.asarray(naive, dtype=object)))
    union = shapely.area(shapely.union(ours, np.asarray(naive, dtype=object)))
    iou = inter.sum() / union.sum()
    print(f"  area agreement with the naive views on the subset (IoU): {iou * 100:.2f} %")
    print(f"peak resident memory: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
