"""Partitioning the coverage work by H3 parent cell, with a halo.

A **partition** is one H3 cell ``P`` at the parent resolution ``parent_res`` (default
``res - 6``: ≈ 117,649 res-12 cells, ≈ 36 km², per partition). It **owns** exactly the
analysed cells whose res-``parent_res`` ancestor is ``P`` (H3's parent/child relation, so
every cell is owned by exactly one partition). The descendants of ``P`` are not inside
``P``'s hexagon: they reach up to ≈ 0.155 x the parent edge length beyond it
(``DESCENDANT_REACH`` = 0.25, with margin, sizes the lon/lat rect). The partition's
**region** follows the true outline of its descendants instead: the union of ``P``'s
descendants' hexagons ``REGION_DEPTH`` (3) levels down (343 hexagons, edge ≈ 1/18 of
``P``'s), in the metric CRS, buffered by ``REGION_REACH`` x their edge + two cell edges.
Measured (``benchmarks/measure_overhang.py``): cell centroids reach at most 0.155 x the
edge beyond the outline of their ancestors at any depth (0.097 at depth 3 below it);
``REGION_REACH`` = 0.2 leaves a margin for edge lengths that differ from the average. Every
owned cell centroid lies inside the region (checked at run time). At res 12 / parent res 6
the region reaches ≈ 60 m beyond the owned cells, against ≈ 940 m for ``P``'s hexagon
buffered by 0.25 x its edge: the halo's cameras drop from ≈ 1.7x to ≈ 1.15x those owned.

The **halo**: everything a partition needs to compute its cells exactly as the single
machine would, selected by distance (metres) from the region:

- cameras whose view can reach the region: distance <= own range + snap offset + 1 m;
- buildings that can occlude those cameras' views or hold a cell centroid: distance <=
  2 x max range + 2 x snap offset + 2 m (walls within a camera's range of any halo camera);
- roads, intersections, sites, incidents, grids: distance <= the largest priority radius
  + 1 m (a road node within the intersection radius brings every line through it).

CRS: cells and the area in EPSG:4326 lon/lat; regions and distances in one metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import h3
import h3.api.numpy_int as h3n
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gridcover.coverage.cells import cells_in_polygon, check_res
from gridcover.errors import InputError

__all__ = [
    "DESCENDANT_REACH",
    "REGION_DEPTH",
    "REGION_REACH",
    "Partition",
    "default_parent_res",
    "h3_parent",
    "near_pairs",
    "partition_cells",
    "plan_partitions",
]

DESCENDANT_REACH = 0.25  # max distance of descendants beyond the parent hexagon / edge
REGION_DEPTH = 3  # the region is the outline of the parent's descendants this deep
REGION_REACH = 0.2  # centroids beyond an outline of ancestors, / their edge (measured 0.097)
PARENT_RES_OFFSET = 6  # default: 7**6 ≈ 117,649 cells per partition
_RES_SHIFT = 52
_M_PER_DEG = 110_574.0  # metres per degree of latitude, the smallest value (equator)


def default_parent_res(res: int) -> int:
    """Default partition resolution for cell resolution ``res`` (``res - 6``, at least 0)."""
    return max(0, check_res(res) - PARENT_RES_OFFSET)


def h3_parent(cells: np.ndarray, parent_res: int) -> np.ndarray:
    """Ancestor at ``parent_res`` of each H3 cell (int64 array of one resolution >= it).

    Vectorised bit arithmetic on the H3 index: resolution field set to ``parent_res``,
    digits below it set to 7 (unused), exactly as h3's ``cell_to_parent``.
    """
    c = np.asarray(cells, dtype=np.int64)
    unused = np.int64((1 << (3 * (15 - parent_res))) - 1)
    res_mask = np.int64(0xF << _RES_SHIFT)
    return (c & ~res_mask & ~unused) | np.int64(parent_res << _RES_SHIFT) | unused


@dataclass(frozen=True)
class Partition:
    """One unit of distributed work.

    ``pid``: position in the plan (partitions are sorted by ``parent``, so their cells come
    out in ascending H3 order); ``parent``: the res-``parent_res`` H3 cell (int64);
    ``rect``: lon/lat box holding every descendant centroid (min_lon, min_lat, max_lon,
    max_lat); ``interior``: the rect lies inside the area of interest, so every descendant
    is an analysed cell; ``region``: metric polygon holding every owned centroid.
    """

    pid: int
    parent: int
    parent_res: int
    rect: tuple[float, float, float, float]
    interior: bool
    region: BaseGeometry


def _edge_m(parent: int) -> float:
    return float(h3.average_hexagon_edge_length(h3n.get_resolution(parent), unit="m"))


def _rect(parent: int, res: int) -> tuple[float, float, float, float]:
    ring = np.asarray(h3n.cell_to_boundary(parent))  # (lat, lng)
    margin = DESCENDANT_REACH * _edge_m(parent) * 1.5 + 4.0 * h3.average_hexagon_edge_length(
        res, unit="m"
    )
    lat0, lat1 = float(ring[:, 0].min()), float(ring[:, 0].max())
    dlat = margin / _M_PER_DEG
    coslat = max(np.cos(np.radians(min(max(abs(lat0), abs(lat1)) + dlat, 89.0))), 1e-3)
    dlon = margin / (_M_PER_DEG * coslat)
    return (
        float(ring[:, 1].min()) - dlon,
        lat0 - dlat,
        float(ring[:, 1].max()) + dlon,
        lat1 + dlat,
    )


def _region(parent: int, res: int, to_metric: pyproj.Transformer) -> BaseGeometry:
    """Metric polygon holding every centroid of ``parent``'s descendants at ``res``: the
    outline of its descendants ``REGION_DEPTH`` levels down, buffered (see module doc)."""
    depth = min(h3n.get_resolution(parent) + REGION_DEPTH, res)
    kids = np.asarray(h3n.cell_to_children(parent, depth), dtype=np.uint64).astype(np.int64)
    outline = shapely.geometry.shape(h3n.cells_to_h3shape(kids).__geo_interface__)
    outline = shapely.segmentize(outline, 0.001)  # ≈ 100 m: follows the projection
    metric = shapely.transform(outline, lambda xy: np.c_[to_metric.transform(xy[:, 0], xy[:, 1])])
    grow = REGION_REACH * h3.average_hexagon_edge_length(
        depth, unit="m"
    ) + 2.0 * h3.average_hexagon_edge_length(res, unit="m")
    return shapely.buffer(metric, grow)


def _h3shape(area: BaseGeometry) -> h3.H3Shape:
    return h3.geo_to_h3shape(area.__geo_interface__)


def plan_partitions(
    area: BaseGeometry, res: int, parent_res: int, crs: pyproj.CRS
) -> list[Partition]:
    """Partitions covering the cells of ``area`` (EPSG:4326 polygon) at resolution ``res``.

    Candidates are the res-``parent_res`` cells overlapping the area and their neighbours
    (descendants stick out of their parent); candidates whose rect misses the area are
    dropped. A partition may still own no cell (its descendants' centroids all fall
    outside the area): it then only computes the views of the cameras it owns.
    """
    res = check_res(res)
    if not 0 <= parent_res < res:
        raise InputError(
            f"The partition resolution {parent_res} must be between 0 and the cell "
            f"resolution minus one ({res - 1}); {default_parent_res(res)} is the default."
        )
    if area.is_empty:
        return []
    overlap = h3.h3shape_to_cells_experimental(_h3shape(area), parent_res, contain="overlap")
    cand = {h3.str_to_int(c) for c in overlap}
    for c in list(cand):
        cand.update(int(n) for n in h3n.grid_disk(c, 1))
    parents = np.array(sorted(cand), dtype=np.int64)
    rects = [_rect(int(p), res) for p in parents]
    boxes = shapely.box(*np.array(rects).T) if rects else np.empty(0, object)
    shapely.prepare(area)
    keep = shapely.intersects(area, boxes)
    interior = shapely.contains_properly(area, boxes)
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    out: list[Partition] = []
    for i in np.flatnonzero(keep):
        p = int(parents[i])
        out.append(
            Partition(
                len(out), p, parent_res, rects[i], bool(interior[i]), _region(p, res, to_metric)
            )
        )
    return out


def partition_cells(area: BaseGeometry, part: Partition, res: int) -> np.ndarray:
    """Analysed cells owned by ``part`` (int64, sorted): centroid in ``area``, ancestor P.

    ``area``: the area of interest (EPSG:4326); it is clipped to the partition rect first,
    which leaves h3's centroid-in-polygon decision unchanged for every descendant (they lie
    well inside the rect). Interior partitions take all descendants directly.
    """
    if part.interior:
        kids = h3n.cell_to_children(part.parent, res)
        return np.sort(np.asarray(kids, dtype=np.uint64).astype(np.int64))
    clip = shapely.clip_by_rect(area, *part.rect)
    polys = shapely.get_parts(clip)
    polys = polys[shapely.get_type_id(polys) == 3]
    if polys.size == 0:
        return np.empty(0, dtype=np.int64)
    cells = cells_in_polygon(shapely.multipolygons(polys), res)
    return cells[h3_parent(cells, part.parent_res) == part.parent]


def near_pairs(
    regions: np.ndarray, geoms: np.ndarray, distance: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(region index, geometry index) pairs within ``distance`` metres (metric CRS).

    ``distance``: one value, or one per geometry (e.g. each camera's own range). Sorted
    by region, then geometry index (so a subset keeps the layer order).
    """
    geoms = np.asarray(geoms, dtype=object)
    empty = np.empty(0, dtype=np.int64)
    if len(regions) == 0 or geoms.size == 0:
        return empty, empty
    per_geom = np.ndim(distance) > 0
    dist = np.asarray(distance, dtype=float)
    reach = float(np.nanmax(dist)) if per_geom else float(dist)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    safe = geoms.copy()
    safe[~ok] = None
    tree = shapely.STRtree(safe)
    ri, gi = tree.query(np.asarray(regions), predicate="dwithin", distance=reach)
    if per_geom and ri.size:
        d = shapely.distance(np.asarray(regions)[ri], geoms[gi])
        keep = d <= dist[gi]
        ri, gi = ri[keep], gi[keep]
    order = np.lexsort((gi, ri))
    return ri[order].astype(np.int64), gi[order].astype(np.int64)
