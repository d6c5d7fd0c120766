"""The pipeline's previous code path (main at c7ff345), kept as the baseline of the speed work.

Not a test module. Each function is the former implementation of one step that issue 16
made cheaper; test_speed_equality.py checks that the new code gives the same tables.
"""

from __future__ import annotations

from itertools import chain

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pyproj
import shapely

from gridcover.coverage.cells import _ellipsoid_area_factor


def hexagons(ids: np.ndarray) -> np.ndarray:
    """Cell outlines, one ``cell_to_boundary`` per cell, rings then polygons."""
    rings = [h3n.cell_to_boundary(int(c)) for c in ids]  # ((lat, lng), ...)
    sizes = np.fromiter(map(len, rings), np.int64, len(rings))
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(rings)), float, 2 * sizes.sum())
    lnglat = flat.reshape(-1, 2)[:, ::-1]
    ring_of = np.repeat(np.arange(len(rings)), sizes)
    return shapely.polygons(shapely.linearrings(lnglat, indices=ring_of))


def hex_ids(ids: np.ndarray) -> np.ndarray:
    return np.array([h3.int_to_str(int(c)) for c in ids], dtype=object)


def areas_m2(ids: np.ndarray, lat: np.ndarray) -> np.ndarray:
    sphere = np.fromiter((h3n.cell_area(int(c), "km^2") for c in ids), float, ids.size)
    return sphere * 1e6 * _ellipsoid_area_factor(lat)


def centroids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = chain.from_iterable(h3n.cell_to_latlng(int(c)) for c in ids)
    latlng = np.fromiter(pairs, float, 2 * ids.size).reshape(-1, 2)
    return latlng[:, 1], latlng[:, 0]


def locate_points(
    polys: np.ndarray, levels: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> np.ndarray:
    """Deepest covering polygon per point via an STRtree over Point objects."""
    out = np.full(np.asarray(lon).size, -1, dtype=np.int64)
    if out.size == 0 or len(polys) == 0:
        return out
    tree = shapely.STRtree(shapely.points(lon, lat))
    gi, pi = tree.query(np.asarray(polys), predicate="covers")
    order = np.lexsort((gi, -np.asarray(levels)[gi]))
    pi, gi = pi[order], gi[order]
    first = np.unique(pi, return_index=True)[1]
    out[pi[first]] = gi[first]
    return out


def nearest(
    outlines: gpd.GeoDataFrame, layer: gpd.GeoDataFrame, key: str, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest feature of ``layer`` per outline, both reprojected with GeoDataFrame.to_crs."""
    metric = outlines.to_crs(crs)
    n = len(metric)
    ids = np.full(n, None, dtype=object)
    dist = np.full(n, np.nan)
    if len(layer) == 0 or n == 0:
        return ids, dist
    pts = layer.to_crs(crs)
    tree = shapely.STRtree(np.asarray(pts.geometry.values))
    (src, dst), d = tree.query_nearest(
        np.asarray(metric.geometry.values), return_distance=True, all_matches=False
    )
    ids[src] = pts[key].to_numpy()[dst]
    dist[src] = d
    return ids, dist
