"""Benchmark: patrol zones for 25 posts over Chicago (≈ 600 km²) at H3 res 10.

Area: the union of the 25 real Chicago police-district polygons (tests/data/
chicago-cameras-police). Posts: the 22 real district stations + Headquarters + 2 extra
posts placed at the cells of the main connected piece farthest from any station (said so:
illustrative), 25 in all.
The repository has no Chicago streets, so two travel set-ups are timed:
  1. grid adjacency (no streets; the fallback the tests use);
  2. a synthetic street grid modelled on Chicago's: residential streets every 200 m both
     ways, arterials ('secondary') every 800 m, clipped to the city (said so: synthetic).
Each is run without and with the district boundary layer. Workload: area + priority
(a north/south gradient) + incident counts (one per real red-light camera intersection).

Prints per run: cells, time per phase (cells, network, design), total, balance ratio
(max/min), contiguous zones, Polsby-Popper median, max travel. No assertions.
Run: ``python -m benchmarks.bench_patrol [--res 10]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridcover.coverage.cell_graph import label_components, neighbours
from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.patrol.zones import patrol_zones
from gridcover.coverage.reach.network import build_network
from gridcover.gis import read_layer

CHI = Path(__file__).resolve().parents[1] / "tests" / "data" / "chicago-cameras-police"


def street_grid(area: shapely.Geometry, crs) -> gpd.GeoDataFrame:
    """Synthetic streets: every 200 m N-S and E-W, every 4th one an arterial; EPSG:4326."""
    a = gpd.GeoSeries([area], crs=4326).to_crs(crs).iloc[0]
    x0, y0, x1, y1 = a.bounds
    lines, cls = [], []
    for i, x in enumerate(np.arange(x0, x1, 200.0)):
        lines.append(shapely.LineString([(x, y0), (x, y1)]))
        cls.append("secondary" if i % 4 == 0 else "residential")
    for i, y in enumerate(np.arange(y0, y1, 200.0)):
        lines.append(shapely.LineString([(x0, y), (x1, y)]))
        cls.append("secondary" if i % 4 == 0 else "residential")
    clipped = shapely.intersection(np.array(lines), a)
    keep = ~shapely.is_empty(clipped)
    g = gpd.GeoDataFrame({"class": np.array(cls)[keep]}, geometry=clipped[keep], crs=crs)
    g = g.explode(index_parts=False).reset_index(drop=True)
    g["road_id"] = [f"s{i}" for i in range(len(g))]
    return g.to_crs(4326)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, default=10)
    args = ap.parse_args()
    dist = read_layer(CHI / "police_districts_2014.geojson", "grids", duplicates="keep")
    posts = read_layer(CHI / "police_stations.csv", "posts")
    t = time.perf_counter()
    cells = cells_for_area(dist, args.res)
    t_cells = time.perf_counter() - t
    # Two extra posts: the cells farthest (straight line) from every station, in the main
    # connected piece of the city (O'Hare hangs on a strip that may not connect).
    comp = label_components(neighbours(cells.h3), np.zeros(len(cells), np.int64))
    main_piece = comp == np.bincount(comp).argmax()
    pxy = posts.to_crs(cells.crs).geometry
    px, py = pxy.x.to_numpy(), pxy.y.to_numpy()
    d = np.hypot(cells.x[:, None] - px[None], cells.y[:, None] - py[None]).min(axis=1)
    far = np.argsort(np.where(main_piece, d, -1.0))[::-1]
    first = far[0]
    second = far[np.hypot(cells.x[far] - cells.x[first], cells.y[far] - cells.y[first]) > 5000][0]
    extra = gpd.GeoDataFrame(
        {"post_id": ["extra-1", "extra-2"], "name": ["extra 1", "extra 2"], "kind": "office"},
        geometry=gpd.points_from_xy(cells.lon[[first, second]], cells.lat[[first, second]]),
        crs=4326,
    )
    posts = pd.concat([posts[["post_id", "name", "kind", "geometry"]], extra], ignore_index=True)
    cams = pd.read_csv(CHI / "red_light_camera_locations.csv")
    inc = gpd.GeoDataFrame(
        {"count": np.ones(len(cams), int)},
        geometry=gpd.points_from_xy(cams["LONGITUDE"], cams["LATITUDE"]),
        crs=4326,
    )
    prio = 1.0 + (cells.lat - cells.lat.min()) / np.ptp(cells.lat)
    print(
        f"Chicago: {len(posts)} posts, {len(cells)} H3 res-{args.res} cells, "
        f"{cells.total_area_m2 / 1e6:.0f} km² (cells built in {t_cells:.2f} s)"
    )
    t = time.perf_counter()
    roads = street_grid(dist.geometry.union_all(), cells.crs)
    net = build_network(roads, crs=cells.crs)
    t_net = time.perf_counter() - t
    print(
        f"Synthetic street grid: {len(roads)} lines -> {net.n_nodes} nodes, {net.n_edges} "
        f"edges, built in {t_net:.2f} s"
    )
    for label, r in (("grid adjacency", None), ("synthetic streets", roads)):
        for bnd in (None, dist):
            t = time.perf_counter()
            plan = patrol_zones(
                dist, posts, cells=cells, roads=r, boundary=bnd, priority=prio, incidents=inc
            )
            secs = time.perf_counter() - t
            z = plan.zones[plan.zones["cells"] > 0]
            a = plan.assignment
            print(
                f"- {label}, {'district boundary' if bnd is not None else 'no boundary'}: "
                f"{secs:.1f} s total (incl. network build when streets); balance "
                f"{plan.balance_ratio:.3f} (Voronoi start {a.initial_ratio:.2f}); contiguous "
                f"{int(z['contiguous'].sum())}/{len(z)}; Polsby-Popper median "
                f"{z['polsby_popper'].median():.3f}; max travel {z['max_travel_min'].max():.1f}"
                f" min; {a.stats.moves} cell moves; unassigned "
                f"{sum(a.unassigned.values())} cells"
            )


if __name__ == "__main__":
    main()
