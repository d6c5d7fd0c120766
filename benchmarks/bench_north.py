"""Benchmark: the true -> grid north conversion the view builders now run per camera.

Cameras spread over a 10 km square around central Helsinki (UTM 35N) with random azimuths;
times ``gis.north.grid_bearing_xy`` (inverse projection + PROJ factors) next to the plain
sectors of ``view_polygons`` for the same cameras (60 m range, 90° field, no buildings), and
prints the convergence range met and the sideways shift it makes at 100 m. No assertions.

Run: ``python -m benchmarks.bench_north [--cameras 100000] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyproj

from gridcover.coverage.views.sectors import view_polygons
from gridcover.gis.north import convergence_deg, grid_bearing_xy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.cameras
    crs = pyproj.CRS.from_epsg(32635)
    x0, y0 = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(24.94, 60.17)
    x = x0 + rng.uniform(-5000, 5000, n)
    y = y0 + rng.uniform(-5000, 5000, n)
    az = rng.uniform(0, 360, n)
    grid_bearing_xy(az[:10], x[:10], y[:10], crs)  # warm the PROJ objects
    t = time.perf_counter()
    grid = grid_bearing_xy(az, x, y, crs)
    t_north = time.perf_counter() - t
    t = time.perf_counter()
    view_polygons(x, y, grid, 90.0, 60.0, threads=1)
    t_views = time.perf_counter() - t
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    gamma = convergence_deg(lon, lat, crs)
    print(f"cameras: {n:,}")
    print(f"grid_bearing_xy: {t_north:.3f} s ({n / t_north:,.0f} cameras/s)")
    print(f"view_polygons (plain sectors, 1 thread): {t_views:.3f} s")
    print(f"conversion share of the sector time: {100 * t_north / t_views:.1f} %")
    print(f"convergence: {gamma.min():.3f}° .. {gamma.max():.3f}°")
    print(
        f"sideways shift at 100 m if ignored: {100 * np.sin(np.radians(np.abs(gamma).max())):.2f} m"
    )


if __name__ == "__main__":
    main()
