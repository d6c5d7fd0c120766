"""Priority weight per H3 cell from roads, intersections, key sites and incident counts.

Each component is a per-cell array (dimensionless weight ≥ 0), decided by the cell
centroid's distance to the features, all in the cells' metric CRS:

- roads: the largest class weight of the roads within the cell's road radius of its
  centroid: ``buffer_m``, but never less than the cell's own inner radius (that of a regular
  hexagon of the cell's area), so a road is a continuous band of cells (``road_radius_m``);
- intersections: nodes where ≥ ``min_degree`` road segments meet (an interior vertex of a
  line counts 2, an end 1); cells within ``radius_m`` get ``weight``, plus ``main_bonus``
  when a main road (``main_classes``) meets there;
- sites: the largest kind weight (or the site's own ``weight``) within ``radius_m``;
- incidents: point counts go to every cell within ``radius_m``; area counts are spread over
  the area's cells in proportion to cell area; weight = min(max, per_incident x count);
- cameras declaring GB/T 28181 PositionType 8 / 9 / 10 (``declared_areas``): school
  surroundings in ``sites``, a complex public-security area in ``incidents`` and a trunk road
  in ``roads``, each the larger of it and the layer's own weight in that component.

Total = base + components (``combine="sum"``) or the largest one (``"max"``); cells whose
centroid is inside a building get 0 when ``exclude_buildings``. Priority cells: total ≥
``priority_min``. With no roads, sites or incidents at all, every open cell gets weight 1
and is a priority cell (``Priority.uniform`` is True), so blind spots are still found;
cameras' declared areas then only raise their cells' weight above 1.

A cell's weight depends only on that cell (centroid, area) and the layers, never on which
other cells are analysed with it (except an area incident's count, which is shared over
the area's analysed cells): a partition of a larger area gets the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import pyproj
import shapely

from gridcover.coverage.cells import Cells
from gridcover.coverage.declared_areas import declared_components, declared_points
from gridcover.coverage.road_classes import weight_classes
from gridcover.coverage.weights import Weights, load_weights
from gridcover.errors import CRSError, SchemaError

__all__ = [
    "COMPONENTS",
    "Priority",
    "intersections_from_lines",
    "max_weight_near",
    "priority_from_layers",
    "priority_weights",
    "road_radius_m",
    "road_reach_m",
]

COMPONENTS = ("roads", "intersections", "sites", "incidents")

# H3 hexagons are at most 1.2066 x their resolution's average area (measured on 10^5 random
# cells at res 9, 12 and 13; the ellipsoid factor adds at most +0.7 %): the bound used by
# ``road_reach_m``.
_MAX_AREA_RATIO = 1.25


@dataclass(frozen=True, eq=False)
class Priority:
    """Per-cell weights (aligned with the cells): components, total, masks."""

    components: dict[str, np.ndarray]
    in_building: np.ndarray
    weight: np.ndarray
    priority: np.ndarray
    uniform: bool
    intersections_xy: np.ndarray  # (n, 2) metric x/y of the intersection nodes found


def max_weight_near(
    tree: shapely.STRtree, n_cells: int, geoms: np.ndarray, weights: np.ndarray, distance: float
) -> np.ndarray:
    """Per cell, the largest weight of the ``geoms`` within ``distance`` metres of its centroid.

    ``tree``: STRtree over the cell centroids (metric); 0 where no geometry is near.
    """
    out = np.zeros(n_cells, dtype=float)
    if len(geoms) == 0:
        return out
    pairs = tree.query(np.asarray(geoms), predicate="dwithin", distance=float(distance))
    np.maximum.at(out, pairs[1], np.asarray(weights, dtype=float)[pairs[0]])
    return out


def intersections_from_lines(
    lines: np.ndarray, main: np.ndarray, min_degree: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Road nodes of degree ≥ ``min_degree``: (xy (n, 2), degree, touches a main road).

    ``lines``: shapely (Multi)LineStrings in a metric CRS; ``main``: per line, whether it is
    a main road. Vertices at the same place (to the millimetre) are one node; the degree
    of a node is its number of distinct neighbours along the lines (duplicated or
    overlapping ways count once, so two ways crossing at a shared vertex give 4, a way
    ending on another 3, two ways joined end to end 2).
    """
    lines = np.asarray(lines, dtype=object)
    empty = (np.empty((0, 2)), np.empty(0, np.int64), np.empty(0, bool))
    if lines.size == 0:
        return empty
    parts, owner = shapely.get_parts(lines, return_index=True)
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    if coords.shape[0] < 2:
        return empty
    key = np.round(coords, 3)  # millimetres: the same source vertex projects identically
    nodes, node = np.unique(key, axis=0, return_inverse=True)
    node = node.ravel()
    same_part = part_of[1:] == part_of[:-1]
    a, b = node[:-1][same_part], node[1:][same_part]
    seg_main = np.asarray(main, dtype=bool)[owner[part_of[1:][same_part]]]
    keep = a != b  # zero-length segments are no edge
    lo, hi = np.minimum(a, b)[keep], np.maximum(a, b)[keep]
    edges, seg_edge = np.unique(np.c_[lo, hi], axis=0, return_inverse=True)
    ends = edges.ravel()
    degree = np.bincount(ends, minlength=len(nodes))
    # an edge is main if any of the (possibly duplicated) segments along it is main
    edge_main = np.zeros(len(edges), bool)
    np.logical_or.at(edge_main, seg_edge.ravel(), seg_main[keep])
    touches_main = np.bincount(ends, weights=np.repeat(edge_main, 2), minlength=len(nodes)) > 0
    sel = degree >= min_degree
    return nodes[sel], degree[sel].astype(np.int64), touches_main[sel]


def road_radius_m(area_m2: np.ndarray, buffer_m: float) -> np.ndarray:
    """Per cell, the road buffer in metres: the larger of ``buffer_m`` and the cell's inner
    radius, that of a regular hexagon of the cell's own area (``area_m2``, m²):
    sqrt(area / (2 sqrt 3)). A function of the cell alone (≈ 8.3 m for a 238 m² res-12 cell)."""
    inner = np.sqrt(np.asarray(area_m2, dtype=float) / (2.0 * np.sqrt(3.0)))
    return np.maximum(float(buffer_m), inner)


def road_reach_m(res: int, buffer_m: float) -> float:
    """An upper bound (metres) of ``road_radius_m`` over every H3 cell of resolution ``res``
    (the inner radius of a hexagon of 1.25 x h3's average hexagon area, or ``buffer_m``): how
    far from a set of cells a road can still weigh on one of them."""
    area = _MAX_AREA_RATIO * h3.average_hexagon_area(int(res), "m^2")
    return float(road_radius_m(np.array([area]), buffer_m)[0])


def _road_weight(
    cells: Cells, lines: np.ndarray, weights: np.ndarray, buffer_m: float
) -> np.ndarray:
    """Per cell, the largest weight of the ``lines`` within its ``road_radius_m``."""
    out = np.zeros(len(cells), dtype=float)
    if len(lines) == 0 or len(cells) == 0:
        return out
    radius = road_radius_m(cells.area_m2, buffer_m)
    pairs = shapely.STRtree(lines).query(
        cells.tree.geometries, predicate="dwithin", distance=radius
    )
    np.maximum.at(out, pairs[0], np.asarray(weights, dtype=float)[pairs[1]])
    return out


def priority_weights(
    cells: Cells,
    *,
    roads: tuple[np.ndarray, np.ndarray] | None = None,
    sites: tuple[np.ndarray, np.ndarray] | None = None,
    incidents: tuple[np.ndarray, np.ndarray] | None = None,
    buildings: np.ndarray | None = None,
    weights: Weights | None = None,
    declared: tuple[np.ndarray, np.ndarray] | None = None,
) -> Priority:
    """Array core. Geometries are shapely arrays in ``cells.crs`` (metres).

    ``roads`` = (lines, class names of any origin: ``road_classes.weight_classes``);
    ``sites`` = (geometries, weight per site);
    ``incidents`` = (points or polygons, counts); ``buildings`` = footprint polygons;
    ``declared`` = (camera points, GB/T 28181 PositionType codes; ``declared_areas``).
    """
    w = weights or load_weights()
    n = len(cells)
    tree = cells.tree
    comp = {k: np.zeros(n) for k in COMPONENTS}
    nodes_xy = np.empty((0, 2))
    if roads is not None and len(roads[0]):
        lines = np.asarray(roads[0])
        classes = weight_classes(roads[1], w).classes  # any origin -> weight classes
        rw = np.array([w.road_weight(c) for c in classes])
        comp["roads"] = _road_weight(cells, lines, rw, w.road_buffer_m)
        use = np.isin(classes, w.intersection_classes) if w.intersection_classes else slice(None)
        main = np.isin(classes, w.intersection_main_classes)
        nodes_xy, _, node_main = intersections_from_lines(
            lines[use], main[use], w.intersection_min_degree
        )
        node_w = w.intersection_weight + w.intersection_main_bonus * node_main
        comp["intersections"] = max_weight_near(
            tree, n, shapely.points(nodes_xy), node_w, w.intersection_radius_m
        )
    if sites is not None and len(sites[0]):
        comp["sites"] = max_weight_near(tree, n, sites[0], sites[1], w.site_radius_m)
    if incidents is not None and len(incidents[0]):
        comp["incidents"] = _incident_weight(tree, cells, incidents[0], incidents[1], w)
    if declared is not None and len(declared[0]):
        for k, arr in declared_components(tree, n, *declared, w).items():
            comp[k] = np.maximum(comp[k], arr)
    in_building = np.zeros(n, dtype=bool)
    if buildings is not None and len(buildings):
        b = np.asarray(buildings)
        b = b[~(shapely.is_missing(b) | shapely.is_empty(b))]
        in_building[tree.query(b, predicate="contains")[1]] = True
    stacked = np.vstack([comp[k] for k in COMPONENTS])
    uniform = roads is None and sites is None and incidents is None and w.base == 0
    if w.combine == "max":
        total = np.maximum(w.base, stacked.max(axis=0))
    else:
        total = w.base + stacked.sum(axis=0)
    if uniform:  # every open cell weighs 1; declared areas only raise their cells
        total = np.maximum(1.0, total)
    if w.exclude_buildings:
        total = np.where(in_building, 0.0, total)
        for k in COMPONENTS:
            comp[k] = np.where(in_building, 0.0, comp[k])
    prio = (total >= w.priority_min) & (total > 0) if not uniform else total > 0
    return Priority(comp, in_building, total, prio, uniform, nodes_xy)


def _incident_weight(
    tree: shapely.STRtree, cells: Cells, geoms: np.ndarray, counts: np.ndarray, w: Weights
) -> np.ndarray:
    geoms = np.asarray(geoms)
    counts = np.asarray(counts, dtype=float)
    n = len(cells)
    total = np.zeros(n)
    is_pt = shapely.get_type_id(geoms) == 0
    if is_pt.any():
        pairs = tree.query(geoms[is_pt], predicate="dwithin", distance=w.incident_radius_m)
        total += np.bincount(pairs[1], weights=counts[is_pt][pairs[0]], minlength=n)
    if (~is_pt).any():
        polys, c = geoms[~is_pt], counts[~is_pt]
        pairs = tree.query(polys, predicate="contains")
        inside_area = np.bincount(pairs[0], weights=cells.area_m2[pairs[1]], minlength=len(polys))
        share = np.divide(c, inside_area, out=np.zeros_like(c), where=inside_area > 0)
        total += np.bincount(
            pairs[1], weights=share[pairs[0]] * cells.area_m2[pairs[1]], minlength=n
        )
    return np.minimum(w.incident_max, w.incident_per_count * total)


def _metric(gdf: gpd.GeoDataFrame | None, crs: pyproj.CRS, kind: str) -> gpd.GeoDataFrame | None:
    if gdf is None:
        return None
    if gdf.crs is None:
        raise CRSError(f"The {kind} layer has no CRS; read it with gis.read_layer.")
    out = gdf.to_crs(crs)
    return out[~(out.geometry.isna() | out.geometry.is_empty)]


def _column(gdf: gpd.GeoDataFrame, name: str, kind: str) -> np.ndarray:
    if name not in gdf.columns:
        raise SchemaError(f"The {kind} layer has no '{name}' column; read it with gis.read_layer.")
    return gdf[name].to_numpy()


def priority_from_layers(
    cells: Cells,
    *,
    roads: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    weights: Weights | None = None,
    cameras: gpd.GeoDataFrame | None = None,
) -> Priority:
    """GeoDataFrame adapter: canonical layers (any CRS) -> ``priority_weights``.

    ``cameras``: the run's cameras; those whose ``position_type`` is 8, 9 or 10 declare
    priority areas around them (``declared_areas``); other cameras add nothing.
    """
    w = weights or load_weights()
    r = _metric(roads, cells.crs, "roads")
    s = _metric(sites, cells.crs, "sites")
    i = _metric(incidents, cells.crs, "incidents")
    b = _metric(buildings, cells.crs, "buildings")
    site_arg = None
    if s is not None:
        kinds = _column(s, "kind", "sites").astype(str)
        kw = np.array([w.site_kinds.get(k, w.site_kinds.get("other", 0.0)) for k in kinds])
        if "weight" in s.columns:
            own = s["weight"].to_numpy(dtype=float, na_value=np.nan)
            kw = np.where(np.isfinite(own), own, kw)
        site_arg = (np.asarray(s.geometry.values), kw)
    return priority_weights(
        cells,
        roads=None
        if r is None
        else (np.asarray(r.geometry.values), _column(r, "class", "roads").astype(str)),
        sites=site_arg,
        incidents=None
        if i is None
        else (
            np.asarray(i.geometry.values),
            _column(i, "count", "incidents").astype(float),
        ),
        buildings=None if b is None else np.asarray(b.geometry.values),
        weights=w,
        declared=declared_points(cameras, cells.crs),
    )
