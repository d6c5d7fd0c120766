"""Statistics per grid, every level, rolled up 3 -> 2 -> 1 by construction.

Each cell is counted in exactly one grid: the deepest grid whose polygon holds its centroid
(ties: the first such grid in the layer). A grid's figures are sums over the cells whose
ancestor (by ``parent_code``) at the grid's level is that grid, so a parent's area,
covered area, weights, camera counts and blind-spot area are exactly the sums of its
children's plus the cells that lie in the parent but in none of its children
(``area_outside_children_m2``, 0 on a clean grid map). Percentages are area-weighted.
Blind spots are counted once per grid they touch (a cluster crossing two children counts
once in each and once in the parent), so that column is not additive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.coverage.cells import Cells
from gridcover.coverage.priority import COMPONENTS
from gridcover.errors import SchemaError

__all__ = [
    "GridIndex",
    "blind_spot_counts",
    "camera_counts",
    "cell_values",
    "grid_statistics",
    "index_grids",
    "locate_points",
    "stats_columns",
    "stats_table",
    "targets_missed",
]

LEVELS = (1, 2, 3)


def locate_points(
    polys: np.ndarray, levels: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> np.ndarray:
    """Index of the deepest polygon covering each point (lon/lat, EPSG:4326), -1 if none.

    Ties at the same level go to the first polygon in the layer.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    out = np.full(lon.size, -1, dtype=np.int64)
    if out.size == 0 or len(polys) == 0:
        return out
    gi, pi = _covering_pairs(np.asarray(polys), lon, lat)
    # order: deepest level first, then layer order; the first hit per point wins
    order = np.lexsort((gi, -np.asarray(levels)[gi]))
    pi, gi = pi[order], gi[order]
    first = np.unique(pi, return_index=True)[1]
    out[pi[first]] = gi[first]
    return out


def _covering_pairs(
    polys: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(polygon, point) index pairs where the polygon covers the point (boundary included).

    Points stay coordinates (no Point objects, no tree over 10⁵-10⁶ points): they are
    sorted by longitude once; each polygon tests only the points of its bounding box, found
    by binary search in that order. For a point, "intersects" is "covers".
    """
    order = np.argsort(lon, kind="stable")
    slon = lon[order]
    bounds = shapely.bounds(polys)
    lo = np.searchsorted(slon, bounds[:, 0], side="left")
    hi = np.searchsorted(slon, bounds[:, 2], side="right")
    gis, pis = [], []
    for g in np.flatnonzero(np.isfinite(bounds[:, 0]) & (hi > lo)):
        cand = order[lo[g] : hi[g]]
        y = lat[cand]
        cand = cand[(y >= bounds[g, 1]) & (y <= bounds[g, 3])]
        if cand.size == 0:
            continue
        poly = polys[g]
        shapely.prepare(poly)
        hit = cand[shapely.intersects_xy(poly, lon[cand], lat[cand])]
        gis.append(np.full(hit.size, g, dtype=np.int64))
        pis.append(hit)
    if not gis:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(gis), np.concatenate(pis).astype(np.int64)


@dataclass(frozen=True, eq=False)
class GridIndex:
    """Grids and where each cell / camera falls. ``ancestor[L]``: per grid, its ancestor at
    level L (itself at its own level; -1 above its level's roots or below its level)."""

    grids: gpd.GeoDataFrame
    level: np.ndarray
    ancestor: dict[int, np.ndarray]
    has_children: np.ndarray
    cell_grid: np.ndarray

    def at_level(self, grid_of: np.ndarray, level: int) -> np.ndarray:
        """Map per-item deepest-grid indexes to the level-``level`` grid (-1 if none)."""
        anc = self.ancestor[level]
        return np.where(grid_of >= 0, anc[np.maximum(grid_of, 0)], -1)


def index_grids(grids: gpd.GeoDataFrame, cells: Cells) -> GridIndex:
    """Check the grids layer (code, parent_code, level) and place every cell in its grid."""
    for col in ("code", "level"):
        if col not in grids.columns:
            raise SchemaError(
                f"The grids layer has no '{col}' column; read it with gis.read_layer."
            )
    g = grids.to_crs("EPSG:4326").reset_index(drop=True)
    codes = g["code"].astype(str).to_numpy()
    level = g["level"].to_numpy(dtype=np.int64)
    bad = ~np.isin(level, LEVELS)
    if bad.any():
        raise SchemaError(
            f"The grids layer has level {level[bad][0]} at row {int(np.flatnonzero(bad)[0])}; "
            "levels must be 1, 2 or 3."
        )
    pos = pd.Index(codes)
    if pos.has_duplicates:
        dup = pos[pos.duplicated()][0]
        raise SchemaError(f"Grid code {dup!r} is repeated; run 'gridcover check' on the grids.")
    parent_code = g["parent_code"] if "parent_code" in g.columns else pd.Series([None] * len(g))
    parent = pos.get_indexer(parent_code.astype("string").fillna("").to_numpy(dtype=object))
    ancestor = {}
    for lv in LEVELS:
        anc = np.where(level == lv, np.arange(len(g)), -1)
        cur = np.where(level > lv, parent, -1)  # only deeper grids have an ancestor at lv
        for _ in range(len(LEVELS)):
            ok = (anc < 0) & (cur >= 0)
            found = ok & (level[np.maximum(cur, 0)] == lv)
            anc = np.where(found, cur, anc)
            cur = np.where(ok & ~found, parent[np.maximum(cur, 0)], -1)
        ancestor[lv] = anc
    has_children = np.zeros(len(g), bool)
    has_children[parent[parent >= 0]] = True
    cell_grid = locate_points(np.asarray(g.geometry.values), level, cells.lon, cells.lat)
    return GridIndex(g, level, ancestor, has_children, cell_grid)


def _pct(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(100.0 * num, den, out=np.full(num.shape, np.nan), where=den > 0)


def targets_missed(table: pd.DataFrame, targets: Mapping[str, float]) -> pd.Series:
    """Per row, the '; '-joined names of targets (percent) whose value is below target."""
    cols = {k: table[k].to_numpy(dtype=float) for k in targets if k in table.columns}
    return pd.Series(_missed(cols, len(table), targets), index=table.index, dtype=object)


def _missed(cols: Mapping[str, np.ndarray], n: int, targets: Mapping[str, float]) -> np.ndarray:
    missed = np.full(n, "", dtype=object)
    for key, goal in targets.items():
        if key not in cols:
            continue
        v = np.asarray(cols[key], dtype=float)
        below = np.isfinite(v) & (v < goal - 1e-9)
        label = f"{key}<{goal:g}"
        m = missed[below]
        missed[below] = np.where(m == "", label, m + f"; {label}")
    return missed


def grid_statistics(
    index: GridIndex,
    cells: Cells,
    *,
    covered: np.ndarray,
    weight: np.ndarray,
    components: Mapping[str, np.ndarray],
    in_building: np.ndarray,
    blind_cluster: np.ndarray,
    camera_grid: np.ndarray,
    camera_status: np.ndarray,
    targets: Mapping[str, float],
    crs: pyproj.CRS | None = None,
) -> gpd.GeoDataFrame:
    """One row per grid (EPSG:4326): areas m², coverage %, weights, cameras, blind spots, targets.

    Arrays are aligned with ``cells`` (covered, weight, components, in_building,
    blind_cluster = blind-spot id or 0) or with the cameras (camera_grid = deepest grid index
    or -1, camera_status).
    """
    per_cell = cell_values(cells.area_m2, covered, weight, components, in_building, blind_cluster)
    sums = {k: np.zeros(len(index.grids)) for k in per_cell}
    for lv in LEVELS:
        gl = index.at_level(index.cell_grid, lv)
        ok = gl >= 0
        for k, v in per_cell.items():
            sums[k] += np.bincount(gl[ok], weights=v[ok], minlength=len(index.grids))
    blind_count = blind_spot_counts(index, np.flatnonzero(blind_cluster), blind_cluster)
    cams = camera_counts(index, camera_grid, camera_status)
    metric = crs or cells.crs
    polygon_area = index.grids.geometry.to_crs(metric).area.to_numpy()
    return stats_table(index, cells.area_m2, sums, blind_count, cams, polygon_area, targets)


def cell_values(
    area: np.ndarray,
    covered: np.ndarray,
    weight: np.ndarray,
    components: Mapping[str, np.ndarray],
    in_building: np.ndarray,
    blind_cluster: np.ndarray,
) -> dict[str, np.ndarray]:
    """The per-cell values whose per-grid sums make the table (areas m², weights)."""
    cov = np.asarray(covered, bool)
    open_ = ~np.asarray(in_building, bool)
    blind = np.asarray(blind_cluster) > 0
    per_cell = {
        "area_m2": area,
        "covered_m2": area * cov,
        "open_area_m2": area * open_,
        "open_covered_m2": area * (open_ & cov),
        "weight": weight,
        "weight_covered": weight * cov,
        "blind_spot_area_m2": area * blind,
        "blind_spot_weight": weight * blind,
    }
    for k in COMPONENTS:
        has = np.asarray(components[k]) > 0
        per_cell[f"_{k}_area"] = area * has
        per_cell[f"_{k}_cov"] = area * (has & cov)
    return per_cell


def blind_spot_counts(index: GridIndex, cells: np.ndarray, blind_cluster: np.ndarray) -> np.ndarray:
    """Per grid, the number of distinct blind spots among the given (blind) ``cells``."""
    n = len(index.grids)
    out = np.zeros(n, np.int64)
    for lv in LEVELS:
        gl = index.at_level(index.cell_grid[cells], lv)
        ok = gl >= 0
        pairs = np.unique(np.c_[gl[ok], np.asarray(blind_cluster)[cells][ok]], axis=0)
        if len(pairs):
            out += np.bincount(pairs[:, 0], minlength=n)
    return out


def camera_counts(
    index: GridIndex, camera_grid: np.ndarray, camera_status: np.ndarray
) -> dict[str, np.ndarray]:
    """Per grid (every level), cameras online / offline / unknown (status text exactly that;
    other values count in none). ``camera_status`` may be a ``pd.Categorical``: then no
    string is made per camera. Counted per deepest grid first, then carried up the levels."""
    n = len(index.grids)
    names = ("online", "offline", "unknown")
    if isinstance(camera_status, pd.Categorical):
        known = [names.index(c) if c in names else -1 for c in map(str, camera_status.categories)]
        code = np.array([*known, -1], dtype=np.int64)[camera_status.codes]  # NaN: code -1
    else:
        status = np.asarray(camera_status, dtype=object).astype(str)
        code = np.full(status.size, -1, dtype=np.int64)
        for i, s in enumerate(names):
            code[status == s] = i
    grid = np.asarray(camera_grid, dtype=np.int64)
    ok = (grid >= 0) & (code >= 0)
    deep = np.bincount(grid[ok] * 3 + code[ok], minlength=3 * n).reshape(n, 3)
    cams = {s: np.zeros(n, np.int64) for s in names}
    for lv in LEVELS:
        cl = index.at_level(np.arange(n), lv)
        sel = cl >= 0
        for i, s in enumerate(names):
            cams[s] += np.bincount(cl[sel], weights=deep[sel, i], minlength=n).astype(np.int64)
    return cams


def stats_table(
    index: GridIndex,
    area: np.ndarray,
    sums: Mapping[str, np.ndarray],
    blind_count: np.ndarray,
    cams: Mapping[str, np.ndarray],
    polygon_area: np.ndarray,
    targets: Mapping[str, float],
) -> gpd.GeoDataFrame:
    """The grid statistics table from the per-grid sums of ``cell_values`` (every level),
    blind-spot and camera counts and the grids' own polygon areas (m²)."""
    out = stats_columns(index, area, sums, blind_count, cams, polygon_area, targets)
    # one constructor call (column-by-column inserts cost more than the sums themselves)
    return gpd.GeoDataFrame(out, geometry=index.grids.geometry.values, crs="EPSG:4326")


def stats_columns(
    index: GridIndex,
    area: np.ndarray,
    sums: Mapping[str, np.ndarray],
    blind_count: np.ndarray,
    cams: Mapping[str, np.ndarray],
    polygon_area: np.ndarray,
    targets: Mapping[str, float],
) -> dict[str, Any]:
    """The columns of ``stats_table`` (without geometry), as arrays in table order."""
    g = index.grids
    n = len(g)
    own = index.cell_grid >= 0
    direct = np.bincount(index.cell_grid[own], weights=area[own], minlength=n)
    out: dict[str, Any] = {"code": g["code"].astype(str).to_numpy(), "level": index.level}
    for col in ("parent_code", "name"):
        if col in g.columns:
            out[col] = g[col].to_numpy()
    out["area_m2"] = sums["area_m2"]
    out["covered_m2"] = sums["covered_m2"]
    out["covered_pct"] = _pct(sums["covered_m2"], sums["area_m2"])
    out["open_area_m2"] = sums["open_area_m2"]
    out["open_covered_pct"] = _pct(sums["open_covered_m2"], sums["open_area_m2"])
    out["weight"] = sums["weight"]
    out["weight_covered"] = sums["weight_covered"]
    out["priority_weighted_pct"] = _pct(sums["weight_covered"], sums["weight"])
    for k in COMPONENTS:
        out[f"{k}_area_m2"] = sums[f"_{k}_area"]
        out[f"{k}_pct"] = _pct(sums[f"_{k}_cov"], sums[f"_{k}_area"])
    out["cameras_online"] = cams["online"]
    out["cameras_offline"] = cams["offline"]
    out["cameras_unknown"] = cams["unknown"]
    total_cams = cams["online"] + cams["offline"] + cams["unknown"]
    out["cameras_per_km2"] = np.divide(
        total_cams * 1e6, sums["area_m2"], out=np.full(n, np.nan), where=sums["area_m2"] > 0
    )
    out["blind_spots"] = blind_count
    out["blind_spot_area_m2"] = sums["blind_spot_area_m2"]
    out["blind_spot_weight"] = sums["blind_spot_weight"]
    out["area_outside_children_m2"] = np.where(index.has_children, direct, 0.0)
    out["polygon_area_m2"] = polygon_area
    out["targets_missed"] = _missed(out, n, targets)
    out["targets_met"] = out["targets_missed"] == ""
    return out
