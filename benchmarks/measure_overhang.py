"""Measure: how far H3 cell centroids reach beyond the outline of their ancestors.

For a partition parent ``P`` (res ``p``) and cells at res ``r``, prints the largest distance
of a res-``r`` descendant centroid beyond (a) ``P``'s hexagon and (b) the union of ``P``'s
descendants' hexagons ``k`` levels down, each divided by the average edge length of the
outline's resolution. ``plan.REGION_REACH`` (partition regions, docs/SCALE.md) is set from
these figures plus a margin. Parents at a few latitudes; distances in an azimuthal
equidistant CRS centred on each parent. Figures only.

Run: ``python -m benchmarks.measure_overhang`` (≈ 1 min).
"""

from __future__ import annotations

import h3
import h3.api.numpy_int as h3n
import numpy as np
import pyproj
import shapely

PLACES = ((22.5, 114.0), (40.0, 116.0), (60.0, 20.0), (-33.0, 151.0))
CASES = ((6, 12), (5, 11), (4, 10), (7, 12), (6, 11))


def overhang(parent_res: int, res: int, depth: int) -> float:
    """Largest overhang / average edge at ``parent_res + depth`` over ``PLACES``."""
    worst = 0.0
    for lat, lon in PLACES:
        p = h3n.latlng_to_cell(lat, lon, parent_res)
        crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon}")
        tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        kids = h3n.cell_to_children(p, parent_res + depth)
        outline = shapely.geometry.shape(h3n.cells_to_h3shape(kids).__geo_interface__)
        outline = shapely.transform(
            shapely.segmentize(outline, 0.0005), lambda xy, tr=tr: np.c_[tr.transform(*xy.T)]
        )
        cells = np.asarray(h3n.cell_to_children(p, res))
        ll = np.array([h3n.cell_to_latlng(int(c)) for c in cells])
        x, y = tr.transform(ll[:, 1], ll[:, 0])
        d = shapely.distance(outline, shapely.points(x, y))
        worst = max(
            worst, float(d.max()) / h3.average_hexagon_edge_length(parent_res + depth, unit="m")
        )
    return worst


def main() -> None:
    print("parent res, cell res: overhang / edge beyond the outline at depth 0, 2, 3")
    for parent_res, res in CASES:
        figs = [overhang(parent_res, res, k) for k in (0, 2, 3) if parent_res + k <= res]
        print(f"  {parent_res}, {res}: " + ", ".join(f"{f:.4f}" for f in figs), flush=True)


if __name__ == "__main__":
    main()
