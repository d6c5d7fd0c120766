"""Layers -> per-cell arrays for patrol zones: boundary regions, road length, incidents, locks.

Every function takes the area's :class:`~gridcover.coverage.cells.Cells` (sorted int64 H3,
centroids in EPSG:4326 and metres) and a canonical layer, and returns arrays aligned with
the cells. A cell belongs to a polygon when its centroid lies inside (the house rule).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.coverage.cells import Cells
from gridcover.errors import CRSError, InputError, SchemaError

__all__ = [
    "DEFAULT_WORKLOAD_WEIGHTS",
    "combine_workload",
    "containing",
    "incidents_per_cell",
    "locked_cells",
    "priority_per_cell",
    "regions",
    "road_length_per_cell",
    "to_lonlat",
]

#: Relative weight of each workload component (each is first scaled to a share of its total).
DEFAULT_WORKLOAD_WEIGHTS: dict[str, float] = {
    "area": 1.0,
    "priority": 1.0,
    "road_length": 1.0,
    "incidents": 1.0,
}


def to_lonlat(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """The layer in EPSG:4326 (raises CRSError when it has no CRS)."""
    if gdf.crs is None:
        raise CRSError(f"The {kind} layer has no CRS; read it with gis.read_layer(path, ...).")
    return gdf if pyproj.CRS.from_user_input(gdf.crs).equals("EPSG:4326") else gdf.to_crs(4326)


def containing(polys: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index of the first polygon containing each point, -1 for none."""
    out = np.full(np.size(lon), -1, dtype=np.int64)
    if np.size(lon) == 0 or polys.size == 0:
        return out
    tree = shapely.STRtree(shapely.points(lon, lat))
    poly_i, pt_i = tree.query(polys, predicate="contains")
    order = np.lexsort((poly_i, pt_i))[::-1]  # the first polygon wins where they overlap
    out[pt_i[order]] = poly_i[order]
    return out


def regions(
    cells: Cells,
    boundary: gpd.GeoDataFrame,
    post_lon: np.ndarray,
    post_lat: np.ndarray,
    field: str | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Boundary region of each cell (-1 outside all) and each post (-2 outside all), names.

    Polygons sharing a ``field`` value form one region (a district in three parts is one
    region). ``field`` defaults to ``code`` (canonical grids), then ``name``, else the row.
    """
    b = to_lonlat(boundary, "boundary")
    if field is None:
        field = next((f for f in ("code", "name") if f in b.columns), None)
    if field is not None and field not in b.columns:
        raise SchemaError(
            f"The boundary layer has no column {field!r}; columns are {list(b.columns)}."
        )
    keys = b[field].astype(str).to_numpy() if field else np.arange(len(b)).astype(str)
    region_of_poly, names = pd.factorize(keys)
    polys = np.asarray(b.geometry.values)
    cell_poly = containing(polys, cells.lon, cells.lat)
    post_poly = containing(polys, np.asarray(post_lon), np.asarray(post_lat))
    cell_region = np.where(cell_poly >= 0, region_of_poly[np.maximum(cell_poly, 0)], -1)
    post_region = np.where(post_poly >= 0, region_of_poly[np.maximum(post_poly, 0)], -2)
    return cell_region.astype(np.int64), post_region.astype(np.int64), [str(n) for n in names]


def _metric_hexagons(cells: Cells) -> np.ndarray:
    hexes = cells.hexagons()
    tr = pyproj.Transformer.from_crs("EPSG:4326", cells.crs, always_xy=True)
    return shapely.transform(hexes, lambda xy: np.c_[tr.transform(xy[:, 0], xy[:, 1])])


def road_length_per_cell(cells: Cells, lines_metric: np.ndarray) -> np.ndarray:
    """Metres of road inside each cell's hexagon; ``lines_metric`` in ``cells.crs`` metres."""
    hexes = _metric_hexagons(cells)
    lines = np.asarray(lines_metric, dtype=object)
    out = np.zeros(len(cells))
    if lines.size == 0 or hexes.size == 0:
        return out
    hi, li = shapely.STRtree(lines).query(hexes, predicate="intersects")
    if hi.size:
        lengths = shapely.length(shapely.intersection(hexes[hi], lines[li]))
        out += np.bincount(hi, weights=lengths, minlength=len(cells))
    return out


def incidents_per_cell(cells: Cells, incidents: gpd.GeoDataFrame) -> np.ndarray:
    """Sum of ``count`` of the incident features whose point (or polygon centroid) is in each
    cell; features outside the cells are ignored."""
    inc = to_lonlat(incidents, "incidents")
    if "count" not in inc.columns:
        raise SchemaError("The incidents layer has no 'count' column; read it with read_layer.")
    pts = shapely.centroid(np.asarray(inc.geometry.values))
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    ids = np.array(
        [h3n.latlng_to_cell(float(b), float(a), cells.res) for a, b in zip(lon, lat, strict=True)],
        dtype=np.uint64,
    ).astype(np.int64)
    pos = cells.index_of(ids)
    cnt = pd.to_numeric(inc["count"], errors="coerce").fillna(0).to_numpy(float)
    ok = pos >= 0
    return np.bincount(pos[ok], weights=cnt[ok], minlength=len(cells))


def priority_per_cell(cells: Cells, priority: object) -> np.ndarray:
    """Align priority weights with the cells: an array of the same length, or a pandas
    Series indexed by int64 cell or H3 hex id (missing cells get 0)."""
    if isinstance(priority, pd.Series):
        idx = priority.index
        if idx.dtype == object:
            keys = np.array([h3n.str_to_int(str(h)) for h in idx], dtype=np.uint64)
            idx = pd.Index(keys.astype(np.int64))
        s = pd.Series(priority.to_numpy(float), index=idx)
        return s.reindex(cells.h3).fillna(0.0).to_numpy(float)
    arr = np.asarray(priority, dtype=float)
    if arr.shape != (len(cells),):
        raise InputError(
            f"priority has {arr.size} values but the area has {len(cells)} cells; give one "
            "weight per cell or a Series indexed by H3 cell."
        )
    return arr


def locked_cells(
    cells: Cells, locked: gpd.GeoDataFrame, post_ids: list[str], field: str = "post_id"
) -> np.ndarray:
    """Post index that each cell is locked to (-1: free) from polygons with a post id column."""
    lk = to_lonlat(locked, "locked zones")
    if field not in lk.columns:
        raise SchemaError(f"The locked-zones layer needs a {field!r} column naming the post.")
    if len(lk) == 0:
        return np.full(len(cells), -1, dtype=np.int64)
    lookup = {p: i for i, p in enumerate(post_ids)}
    owners = lk[field].astype(str).to_numpy()
    unknown = sorted({o for o in owners if o not in lookup})
    if unknown:
        raise InputError(
            f"Locked zones name post(s) {unknown} that are not in the posts layer; fix the "
            f"{field!r} values."
        )
    poly = containing(np.asarray(lk.geometry.values), cells.lon, cells.lat)
    owner_idx = np.array([lookup[o] for o in owners], dtype=np.int64)
    return np.where(poly >= 0, owner_idx[np.maximum(poly, 0)], -1)


def combine_workload(
    components: Mapping[str, np.ndarray | None], weights: Mapping[str, float] | None = None
) -> tuple[np.ndarray, dict[str, float]]:
    """Workload per cell, in % of the whole area's workload.

    Each present component (area, priority, road_length, incidents; any name works) is
    scaled to a share of its own total, then mixed with ``weights`` (default: equal).
    Components that are absent or sum to zero are left out and the rest renormalised.
    Returns the workload and the weights actually used (summing to 1).
    """
    w = dict(DEFAULT_WORKLOAD_WEIGHTS if weights is None else weights)
    bad = {k: v for k, v in w.items() if not np.isfinite(v) or v < 0}
    if bad:
        raise InputError(f"Workload weights must be >= 0; got {bad}.")
    used: dict[str, float] = {}
    total: np.ndarray | None = None
    for name, comp in components.items():
        if comp is None or w.get(name, 0.0) <= 0:
            continue
        arr = np.asarray(comp, dtype=float)
        s = float(arr.sum())
        if s <= 0:
            continue
        used[name] = w[name]
        part = w[name] * arr / s
        total = part if total is None else total + part
    if total is None:
        raise InputError(
            "The workload is zero everywhere: give a positive weight to 'area' or supply "
            "priority, roads or incidents."
        )
    norm = sum(used.values())
    return total / norm * 100.0, {k: v / norm for k, v in used.items()}
