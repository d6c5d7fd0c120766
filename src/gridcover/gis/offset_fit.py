"""No silent offsets: which coordinate system do lon/lat points in China really use?

Lon/lat picked on or exported from AMap/Tencent are GCJ-02, from Baidu BD-09: a few hundred
metres off WGS84. When points come without a declared coordinate system and other layers of
the run (roads, buildings, grids) are there, :func:`fit_offsets` measures how well the points
fit those layers under each reading (WGS84 as is, GCJ-02 removed, BD-09 removed): the median
distance from a point to the nearest road line or building wall, in metres. The right
reading gives metres, a wrong one hundreds of metres. The decision is only taken when one
reading is clearly better (``FIT_MAX_M``, ``FIT_RATIO``); otherwise the caller stops with an
error naming the flag, because analysing data 500 m off without saying so is worse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from gridcover.gis.chinese_offsets import OFFSET_SYSTEMS, convert_geometries, in_china_box
from gridcover.gis.crs import local_metric_crs, transformer

FIT_MAX_M = 30.0
"""The best reading must put half the points within this many metres of a road or wall."""
FIT_RATIO = 3.0
"""... and every other reading must be at least this many times worse (median distance)."""
MIN_POINTS = 5
NEAR = 0.02
"""Degrees (about 2 km) around the points within which other layers count as evidence."""
REFERENCE_KINDS = ("roads", "buildings", "grids")
POINT_KINDS = ("cameras", "posts", "sites")
FLAGS = {"wgs84": "wgs84", "gcj02": "gcj02 (AMap/Tencent)", "bd09": "bd09 (Baidu)"}


@dataclass(frozen=True)
class OffsetFit:
    """The fit of one point layer under each coordinate system, and the decision."""

    median_m: Mapping[str, float]  # median distance to the nearest reference, per system
    points: int
    references: tuple[str, ...]
    best: str | None  # None: the evidence is unclear
    reason: str

    def describe(self) -> str:
        fits = ", ".join(f"{cs} {d:.0f} m" for cs, d in self.median_m.items())
        return f"median distance to the nearest {'/'.join(self.references)}: {fits}"


def in_china(gdf: gpd.GeoDataFrame) -> bool:
    """True when most of the layer's points (EPSG:4326) lie in the China box."""
    if gdf is None or not len(gdf):
        return False
    pts = shapely.point_on_surface(np.asarray(gdf.geometry.array, dtype=object))
    return bool(in_china_box(shapely.get_x(pts), shapely.get_y(pts)).mean() >= 0.5)


def _reference_lines(layers: Mapping[str, gpd.GeoDataFrame]) -> tuple[np.ndarray, list[str]]:
    parts: list[np.ndarray] = []
    used: list[str] = []
    for kind in REFERENCE_KINDS:
        gdf = layers.get(kind)
        if gdf is None or not len(gdf):
            continue
        g = np.asarray(gdf.to_crs(4326).geometry.array, dtype=object)
        # walls and boundaries, not areas: a point inside a building is not on its wall
        g = g if kind == "roads" else shapely.boundary(g)
        parts.append(g[~shapely.is_missing(g)])
        used.append({"roads": "road", "buildings": "wall", "grids": "grid boundary"}[kind])
    return (np.concatenate(parts) if parts else np.empty(0, dtype=object)), used


def fit_offsets(points: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame]) -> OffsetFit:
    """Median distance (m) of ``points`` (read as WGS84) to the nearest road / wall / grid
    boundary of ``layers`` (EPSG:4326), for each way of reading the points; and the decision.

    A reading is chosen only when its median is at most ``FIT_MAX_M`` and every other is at
    least ``FIT_RATIO`` times larger; otherwise ``best`` is None with the reason.
    """
    refs, used = _reference_lines(layers)
    geoms = np.asarray(points.to_crs(4326).geometry.array, dtype=object)
    geoms = geoms[~shapely.is_missing(geoms)]
    if len(refs) and len(geoms):  # only references near the points (a store may hold others)
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        refs = refs[
            shapely.intersects(refs, shapely.box(x0 - NEAR, y0 - NEAR, x1 + NEAR, y1 + NEAR))
        ]
    if len(refs) == 0 or len(geoms) < MIN_POINTS:
        why = "no roads, buildings or grids" if len(refs) == 0 else f"fewer than {MIN_POINTS}"
        return OffsetFit({}, len(geoms), tuple(used), None, f"too little to compare ({why})")
    c = shapely.centroid(shapely.multipoints(shapely.get_coordinates(geoms)))
    metric = local_metric_crs(shapely.get_x(c), shapely.get_y(c))
    t = transformer(4326, metric)

    def to_m(g: np.ndarray) -> np.ndarray:
        return shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    tree = shapely.STRtree(to_m(refs))
    median: dict[str, float] = {}
    for cs in OFFSET_SYSTEMS:
        moved = geoms if cs == "wgs84" else convert_geometries(geoms, cs, "wgs84")
        _, dist = tree.query_nearest(to_m(moved), return_distance=True, all_matches=False)
        median[cs] = float(np.median(dist))
    order = sorted(median, key=median.__getitem__)
    best, second = order[0], order[1]
    fit = median[best]
    if fit > FIT_MAX_M:
        reason = f"no reading puts the points within {FIT_MAX_M:.0f} m of the {'/'.join(used)}"
        return OffsetFit(median, len(geoms), tuple(used), None, reason)
    if median[second] < FIT_RATIO * max(fit, 1.0):
        reason = f"{best} and {second} fit almost equally well"
        return OffsetFit(median, len(geoms), tuple(used), None, reason)
    return OffsetFit(median, len(geoms), tuple(used), best, f"{best} fits clearly best")


def china_offset_hint(geoms: np.ndarray, ok: np.ndarray) -> list[str]:
    """A note for lon/lat tables assumed WGS84 whose points lie in China, where lon/lat
    exported from AMap/Tencent is GCJ-02 and from Baidu BD-09 (a few hundred metres off)."""
    if not ok.any():
        return []
    pts = shapely.point_on_surface(geoms[ok])
    if not in_china_box(shapely.get_x(pts), shapely.get_y(pts)).mean() >= 0.5:
        return []
    return [
        "the points lie in China: if they were picked on or exported from AMap/Tencent "
        "(GCJ-02) or Baidu (BD-09), pass coord_sys='gcj02' or 'bd09' (CLI: --coord-sys), "
        "or they land a few hundred metres off"
    ]


def undeclared_china_points(layers: Mapping[str, gpd.GeoDataFrame]) -> Sequence[str]:
    """Point layers read as WGS84 lon/lat without a declared coordinate system, in China."""
    out = []
    for kind in POINT_KINDS:
        gdf = layers.get(kind)
        if gdf is None:
            continue
        rep = gdf.attrs.get("gridcover", {})
        geographic = str(rep.get("crs_in", "")).startswith(("EPSG:4326", "EPSG:4490", "OGC:CRS84"))
        if not rep.get("coord_sys_declared", True) and geographic and in_china(gdf):
            out.append(kind)
    return out
