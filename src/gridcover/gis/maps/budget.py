"""Feature budget: keep every map layer small enough for Leaflet to stay responsive.

Budget: at most :data:`FEATURE_BUDGET` (5,000) features per layer (a 10k-polygon GeoJSON
freezes Leaflet's SVG renderer). Above it:

* H3 cell layers are **aggregated** to the finest coarser resolution that fits
  (``parent_cells`` + regroup; each group's outline is the exact union of its cells, and
  its figures are area-weighted means / sums of its cells);
* ranked layers (blind spots, QA issues, siting proposals) keep their first ``budget`` rows;
* camera views are **dissolved** by status (one multipolygon per status, simplified).

Every layer's coordinates are rounded to 1e-6 degree (≤ 0.06 m) to keep the HTML small.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

__all__ = [
    "FEATURE_BUDGET",
    "CellAggregate",
    "aggregate_cells",
    "dissolve_by",
    "parent_cells",
    "round_coordinates",
]

#: Most features one map layer may hold.
FEATURE_BUDGET = 5000

_RES_SHIFT = 52
_RES_MASK = np.int64(0xF) << _RES_SHIFT


def cell_resolution(cells: np.ndarray) -> np.ndarray:
    """H3 resolution of each int64 cell id."""
    return (np.asarray(cells, dtype=np.int64) >> _RES_SHIFT) & 0xF


def parent_cells(cells: np.ndarray, res: int) -> np.ndarray:
    """Parent (int64 H3 id) at resolution ``res`` of each int64 cell id (vectorised
    ``h3.cell_to_parent``: set the resolution field, fill the finer digits with 7)."""
    ids = np.asarray(cells, dtype=np.int64)
    if ids.size and (cell_resolution(ids) < res).any():
        raise ValueError(f"parent resolution {res} is finer than some cells")
    unused = np.int64((1 << (3 * (15 - res))) - 1)
    return (ids & ~_RES_MASK) | (np.int64(res) << _RES_SHIFT) | unused


@dataclass(frozen=True)
class CellAggregate:
    """Cells after the budget: ``frame`` (EPSG:4326), its H3 ``res`` and whether aggregated."""

    frame: gpd.GeoDataFrame
    res: int
    source_res: int
    aggregated: bool
    source_count: int


def _cell_ids(cells: gpd.GeoDataFrame) -> np.ndarray:
    if "cell" in cells.columns:
        return cells["cell"].to_numpy(dtype=np.int64)
    return np.array([h3n.str_to_int(str(h)) for h in cells["h3"]], dtype=np.int64)


def _outline(group: np.ndarray) -> shapely.Geometry:
    return shape(h3n.cells_to_h3shape(group.astype(np.uint64)).__geo_interface__)


def aggregate_cells(cells: gpd.GeoDataFrame, budget: int = FEATURE_BUDGET) -> CellAggregate:
    """Fit an H3 cells layer (columns ``cell`` int64 or ``h3`` hex; optional ``area_m2``,
    ``cameras``, ``covered``, ``weight``, ``blind_spot``) into ``budget`` features.

    Returns the cells unchanged when they fit; else one row per parent cell at the finest
    coarser resolution that fits, with columns ``h3``, ``cell``, ``cells`` (children),
    ``area_m2`` (sum), ``cameras_mean`` (area-weighted mean cameras), ``covered_share``
    (area-weighted % covered), ``weight`` (sum), ``blind_cells`` (children in a blind spot),
    with ``detail_level`` (3D runs) the highest level seen on at least half the parent's area,
    and the union of the children as geometry.
    """
    n = len(cells)
    ids = _cell_ids(cells)
    res0 = int(cell_resolution(ids).max()) if n else 0
    if n <= budget:
        return CellAggregate(cells, res0, res0, False, n)
    res = res0
    parents = ids
    while res > 0:
        res -= 1
        parents = parent_cells(ids, res)
        if np.unique(parents).size <= budget:
            break
    area = cells["area_m2"].to_numpy(float) if "area_m2" in cells.columns else np.ones(n)
    df = pd.DataFrame({"parent": parents, "child": ids, "area_m2": area})
    df["cam_area"] = (cells["cameras"].to_numpy(float) if "cameras" in cells else 0.0) * area
    cov = cells["covered"].to_numpy(bool) if "covered" in cells else np.zeros(n, bool)
    df["cov_area"] = area * cov
    df["weight"] = cells["weight"].to_numpy(float) if "weight" in cells else 0.0
    blind = cells["blind_spot"].to_numpy() > 0 if "blind_spot" in cells else np.zeros(n, bool)
    df["blind_cells"] = blind.astype(np.int64)
    detail = "detail_level" in cells.columns
    lv = cells["detail_level"].to_numpy(int) if detail else np.zeros(n, int)
    for k in range(1, 5):
        df[f"l{k}_area"] = area * (lv >= k)
    df = df.sort_values(["parent", "child"], kind="stable")
    agg = df.groupby("parent", sort=True).agg(
        cells=("child", "size"),
        area_m2=("area_m2", "sum"),
        cam_area=("cam_area", "sum"),
        cov_area=("cov_area", "sum"),
        weight=("weight", "sum"),
        blind_cells=("blind_cells", "sum"),
        **{f"l{k}_area": (f"l{k}_area", "sum") for k in range(1, 5)},
    )
    groups = np.split(df["child"].to_numpy(), np.cumsum(agg["cells"].to_numpy())[:-1])
    geoms = np.array([_outline(g) for g in groups], dtype=object)
    pid = agg.index.to_numpy(dtype=np.int64)
    out = gpd.GeoDataFrame(
        {
            "h3": [h3n.int_to_str(int(c)) for c in pid],
            "cell": pid,
            "res": res,
            "cells": agg["cells"].to_numpy(),
            "area_m2": agg["area_m2"].to_numpy(),
            "cameras_mean": agg["cam_area"].to_numpy() / agg["area_m2"].to_numpy(),
            "covered_share": 100.0 * agg["cov_area"].to_numpy() / agg["area_m2"].to_numpy(),
            "weight": agg["weight"].to_numpy(),
            "blind_cells": agg["blind_cells"].to_numpy(),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    if detail:
        half = [
            agg[f"l{k}_area"].to_numpy() >= 0.5 * agg["area_m2"].to_numpy() for k in (1, 2, 3, 4)
        ]
        out["detail_level"] = np.sum(half, axis=0).astype(np.int8)  # levels nest: count them
    return CellAggregate(out, res, res0, True, n)


def dissolve_by(
    gdf: gpd.GeoDataFrame, column: str, tolerance_deg: float = 2e-6
) -> gpd.GeoDataFrame:
    """One row per value of ``column`` (union of its geometries, simplified by
    ``tolerance_deg`` degrees, topology preserved) with a ``count`` column."""
    keys = gdf[column].astype(str).to_numpy()
    geoms = np.asarray(gdf.geometry.values)
    rows = []
    for k in sorted(set(keys)):
        union = shapely.union_all(geoms[keys == k])
        rows.append((k, int((keys == k).sum()), shapely.simplify(union, tolerance_deg)))
    return gpd.GeoDataFrame(
        {column: [r[0] for r in rows], "count": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=gdf.crs,
    )


def round_coordinates(geoms: np.ndarray, decimals: int = 6) -> np.ndarray:
    """Geometries with every coordinate rounded to ``decimals`` (degrees; 6 -> ≤ 0.06 m)."""
    return np.asarray(
        shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.round(c, decimals)),
        dtype=object,
    )
