"""The cover step of ``--visibility 3d``: 3D views x cells -> coverage and detail levels.

Same covering pairs contract as :mod:`gridcover.coverage.cover` (a :class:`Coverage` whose
``counts`` are the counted cameras that *see* a cell centroid under the 3D model of
:mod:`gridcover.coverage.views.sight`), plus the DORI levels of every pair and per cell
(:class:`gridcover.coverage.detail.DetailCoverage`).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pyproj

from gridcover.coverage.cells import Cells
from gridcover.coverage.cover import Coverage, Sectors, camera_counted, cover_cells, cover_pairs
from gridcover.coverage.detail import DetailCoverage, detail_cover
from gridcover.coverage.views.bands import band_polygons
from gridcover.coverage.views.occlusion import Walls
from gridcover.coverage.views.optics import camera_optics
from gridcover.coverage.views.sight import SightPairs, roof_heights, sight_pairs
from gridcover.coverage.views.views3d import Views3D, camera_views_3d, prisms_for

__all__ = [
    "DETAIL_GROUPS",
    "band_table",
    "cover_3d",
    "cover_3d_pairs",
    "cover_step",
    "detail_groups",
    "reach_ranges",
    "views_3d",
]

DETAIL_GROUPS = ("detail_level", "night_detail_level", "required_level")
"""Per-cell keys a partitioned run groups its cells by (all 0 in a 2D run)."""


def detail_groups(
    detail: DetailCoverage | None, required: np.ndarray | None, n: int
) -> dict[str, np.ndarray]:
    """The :data:`DETAIL_GROUPS` columns of ``n`` cells (zeros without detail levels)."""
    if detail is None or required is None:
        return {k: np.zeros(n, np.int8) for k in DETAIL_GROUPS}
    return {
        "detail_level": detail.detail_level,
        "night_detail_level": detail.night_detail_level,
        "required_level": np.asarray(required, np.int8),
    }


def reach_ranges(cameras: gpd.GeoDataFrame, rows: Any, crs: pyproj.CRS, config: Any) -> np.ndarray:
    """Per camera the farthest ground distance it can cover (metres): the 2D range, or in
    3D the range and detection distance of :meth:`Optics.reach_m` (``rows``: the
    validated camera rows; ``config``: an ``AnalysisConfig``)."""
    if config.visibility != "3d":
        return np.asarray(rows.range_m, dtype=float)
    pts = cameras.geometry.to_crs(crs)
    optics = camera_optics(cameras, rows, pts.x.to_numpy(), pts.y.to_numpy(),
                           config.optics_defaults, crs=crs)  # fmt: skip
    return optics.reach_m(config.target_height_m)


def band_table(state: Any) -> gpd.GeoDataFrame | None:
    """The detail bands of a 3D run's cameras (``state``: an ``AnalysisState``; None for a
    2D run): one row per camera and level with a non-empty ring, cut by the buildings' 3D
    shadows, in EPSG:4326. Columns ``camera_id, status, counted, level (1-4), level_name,
    inner_m, outer_m`` (horizontal metres from the camera)."""
    v3 = state.views3d
    if v3 is None:
        return None
    outline = np.asarray(state.views.geometry.values)  # already cut: bands only clip it
    bands = band_polygons(v3.optics, v3.prisms, state.config.target_height_m, outline=outline)
    cam = bands["camera"].to_numpy()
    views = state.views
    out = gpd.GeoDataFrame(
        {
            "camera_id": views["camera_id"].to_numpy()[cam],
            "status": views["status"].to_numpy()[cam],
            "counted": state.coverage.counted[cam],
            **{c: bands[c].to_numpy() for c in ("level", "level_name", "inner_m", "outer_m")},
        },
        geometry=bands.geometry.values,
        crs=state.crs,
    )
    out = out[~(out.geometry.is_empty | out.geometry.isna())]
    return out.to_crs("EPSG:4326").reset_index(drop=True)


def views_3d(
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    walls: Walls | None,
    crs: pyproj.CRS,
    config: Any,
) -> Views3D:
    """3D views of ``cameras`` among ``buildings`` (metric CRS ``crs``, with ``walls``
    prepared from them, or None), with an ``AnalysisConfig``'s target height, building
    height default and camera and optics defaults."""
    h = config.building_height_m
    prisms = prisms_for(buildings, crs, walls=walls, default_height_m=h)
    return camera_views_3d(
        cameras,
        prisms,
        metric_crs=crs,
        target_height_m=config.target_height_m,
        defaults=config.camera_defaults,
        optics_defaults=config.optics_defaults,
    )


def cover_step(
    views: gpd.GeoDataFrame, v3: Views3D | None, cells: Cells, config: Any
) -> tuple[Coverage, DetailCoverage | None]:
    """The cover step of a run (``config``: an ``AnalysisConfig``): the 3D model when
    ``v3`` is given, else centroid-in-view-polygon of the 2D ``views``."""
    if v3 is not None:
        return cover_3d(
            v3,
            cells,
            target_height_m=config.target_height_m,
            include_offline=config.include_offline,
            unknown_online=config.unknown_online,
            threads=config.threads,
        )
    ci, ki = cover_pairs(
        np.asarray(views.geometry.values),
        cells.x,
        cells.y,
        threads=config.threads,
        tree=cells.tree,
        sectors=Sectors.from_views(views),
    )
    counted = camera_counted(
        views["status"].to_numpy(),
        include_offline=config.include_offline,
        unknown_online=config.unknown_online,
    )
    return cover_cells(len(cells), ci, ki, counted), None


def cover_3d_pairs(
    views: Views3D,
    cells: Cells,
    *,
    target_height_m: float,
    threads: int | None = None,
    roof_m: np.ndarray | None = None,
) -> SightPairs:
    """The seeing (cell, camera) pairs of ``views`` over ``cells`` (same metric CRS)."""
    if roof_m is None:
        roof_m = roof_heights(views.prisms, cells.x, cells.y)
    return sight_pairs(
        views.optics,
        cells.x,
        cells.y,
        target_height_m=target_height_m,
        tree=cells.tree,
        prisms=views.prisms,
        roof_m=roof_m,
        threads=threads,
    )


def cover_3d(
    views: Views3D,
    cells: Cells,
    *,
    target_height_m: float,
    include_offline: bool = False,
    unknown_online: bool = True,
    threads: int | None = None,
) -> tuple[Coverage, DetailCoverage]:
    """Coverage and detail levels of ``cells`` under the 3D model (statuses as in 2D)."""
    pairs = cover_3d_pairs(views, cells, target_height_m=target_height_m, threads=threads)
    counted = camera_counted(
        views.views["status"].to_numpy(),
        include_offline=include_offline,
        unknown_online=unknown_online,
    )
    cov = cover_cells(len(cells), pairs.cell_idx, pairs.camera_idx, counted)
    det = detail_cover(
        len(cells), pairs.cell_idx, pairs.camera_idx, pairs.level, pairs.night, counted
    )
    return cov, det
