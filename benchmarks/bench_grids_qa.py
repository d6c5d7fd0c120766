"""Time check_grids on a synthetic 3-level grid map of growing size (prints, asserts nothing).

Levels are H3 cells around Chicago: level 1 at resolution r, level 2 at r+1, level 3 at r+2,
parents by h3.cell_to_parent. H3 children do not tile their parent's hexagon exactly, so every
child spills out and every parent has uncovered edges: a worst case for the nesting checks.

    python benchmarks/bench_grids_qa.py
"""

from __future__ import annotations

import time

import geopandas as gpd
import h3
import pandas as pd
import shapely

from gridcover.gis.qa.check import check_grids


def h3_grid(lat: float, lng: float, res: int, k: int) -> gpd.GeoDataFrame:
    top = h3.grid_disk(h3.latlng_to_cell(lat, lng, res), k)
    rows = []
    for level, r in ((1, res), (2, res + 1), (3, res + 2)):
        cells = top if r == res else sorted({c for t in top for c in h3.cell_to_children(t, r)})
        for c in cells:
            ring = [(x, y) for y, x in h3.cell_to_boundary(c)]
            parent = h3.cell_to_parent(c, r - 1) if level > 1 else None
            rows.append((c, parent, level, shapely.Polygon(ring)))
    df = pd.DataFrame(rows, columns=["code", "parent_code", "level", "geometry"])
    return gpd.GeoDataFrame(df, geometry="geometry", crs=4326)


def main() -> None:
    for k in (2, 5, 9):
        g = h3_grid(41.85, -87.65, 7, k)
        t = time.perf_counter()
        r = check_grids(g)
        dt = time.perf_counter() - t
        counts = g["level"].value_counts().sort_index().to_dict()
        print(
            f"{len(g):>6} grids {counts}: {dt:6.2f} s, {r.n_errors} errors, "
            f"{r.n_warnings} warnings; errors per check: "
            + ", ".join(f"{c} {n}" for c, n in r.summary["errors"].items() if n)
        )


if __name__ == "__main__":
    main()
