"""What budget candidates cover, per view model: the cells x candidates 0/1 matrix, the
counted existing cameras per cell and the objective weight of a budget siting run.

* "2d": a candidate covers a cell when the cell centroid lies in its sector cut by the
  buildings (``cameras.candidate_coverage``); existing cameras count through
  ``cover.cover_from_views``; the weight is the priority weight. (Budget siting before 3D.)
* "3d": a candidate covers a cell only when, mounted as its catalogue model says (height,
  tilt, resolution, lens, light), it sees the cell centroid at the cell's required detail
  level ``max(required, 1)`` or better (``detail_sites.level_coverage``: heights, 3D
  occlusion); existing cameras the same way with their own ledger fields, counted by the
  status rule ``cover.camera_counted``; the weight is the priority weight of the cells with
  a required level (0 elsewhere), as ``detail_sites.site_cameras_3d`` does.

Metric CRS of the cells; heights in metres above ground.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from scipy import sparse

from gridcover.coverage.cells import Cells
from gridcover.coverage.cover import camera_counted, cover_from_views
from gridcover.coverage.detail import check_3d
from gridcover.coverage.siting.cameras import candidate_coverage
from gridcover.coverage.siting.detail_sites import drawn_views_3d, level_coverage
from gridcover.coverage.views.heights import DEFAULT_BUILDING_HEIGHT_M
from gridcover.coverage.views.sectors import camera_views
from gridcover.coverage.views.views3d import DEFAULT_TARGET_HEIGHT_M
from gridcover.errors import InputError

__all__ = ["BudgetCover", "budget_cover", "drawn_views"]


@dataclass(frozen=True, eq=False)
class BudgetCover:
    """``coverage`` (cells x candidates 0/1, CSR), ``existing`` (counted existing cameras
    covering each cell; 3D: at its required level), ``weight`` (objective weight per cell),
    ``required`` (3D: required level per cell, else None) and the candidates' ``views``
    (metric CRS of the cells)."""

    coverage: sparse.csr_matrix
    existing: np.ndarray
    weight: np.ndarray
    required: np.ndarray | None
    views: gpd.GeoDataFrame


def budget_cover(
    cells: Cells,
    weight: np.ndarray,
    candidates: gpd.GeoDataFrame,
    *,
    visibility: str,
    existing: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    include_offline: bool = False,
    required: np.ndarray | None = None,
    target_height_m: float = DEFAULT_TARGET_HEIGHT_M,
    building_height_m: float = DEFAULT_BUILDING_HEIGHT_M,
) -> BudgetCover:
    """The matrix, existing counts and weight of ``candidates`` (camera rows with the
    catalogue's columns, any CRS) over ``cells`` under ``visibility`` (see the module doc).
    ``required``: 3D only, the level per cell (0 = nothing required; None = detect, 1, on
    every cell with ``weight`` > 0). ``target_height_m``: target above ground;
    ``building_height_m``: buildings without a height (metres)."""
    check_3d(visibility, target_height_m, building_height_m)
    w = np.asarray(weight, float)
    count = np.zeros(len(cells), np.int64)
    if visibility == "2d":
        cov, views = candidate_coverage(cells, candidates, buildings)
        if existing is not None and len(existing):
            ex = camera_views(existing, buildings, metric_crs=cells.crs)
            count = cover_from_views(ex, cells, include_offline=include_offline).counts
        return BudgetCover(cov, count.astype(np.int64), w, None, views)
    req = (np.where(w > 0, 1, 0) if required is None else np.asarray(required)).astype(np.int64)
    if req.shape != (len(cells),):
        raise InputError(
            f"required has {req.size} levels for {len(cells)} cells: give one per cell "
            "(coverage.detail.required_level of the same cells)."
        )
    heights = {"target_height_m": target_height_m, "building_height_m": building_height_m}
    cov, views = level_coverage(cells, candidates, req, buildings=buildings, **heights)
    if existing is not None and len(existing):
        ex_cov, ex_views = level_coverage(cells, existing, req, buildings=buildings, **heights)
        on = camera_counted(ex_views["status"].to_numpy(), include_offline=include_offline)
        count = np.asarray(ex_cov[:, on].sum(axis=1)).ravel()
    return BudgetCover(cov, count.astype(np.int64), np.where(req > 0, w, 0.0), req, views)


def drawn_views(
    cells: Cells,
    cover: BudgetCover,
    cameras: gpd.GeoDataFrame,
    chosen: np.ndarray,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    target_height_m: float = DEFAULT_TARGET_HEIGHT_M,
    building_height_m: float = DEFAULT_BUILDING_HEIGHT_M,
) -> gpd.GeoDataFrame:
    """The views of the ``chosen`` rows of ``cameras`` (EPSG:4326) for a map or a file: 2D
    the sectors of ``cover``; 3D drawn again with geometry (the matrix needs none): the
    ground seen between the near blind zone and the detect distance, cut by the buildings."""
    if cover.required is None:
        return cover.views.iloc[chosen].to_crs("EPSG:4326").reset_index(drop=True)
    heights = {"target_height_m": target_height_m, "building_height_m": building_height_m}
    return drawn_views_3d(cells, cameras.iloc[chosen], buildings=buildings, **heights)
