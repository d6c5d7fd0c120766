"""Camera siting for detail levels (3D model): candidates carry a camera model, and a cell
counts as served only when some camera sees it at its required DORI level.

The required level per cell comes from the weights file's ``[detail]`` section
(``coverage.detail.required_level``: key sites and intersections recognise, roads observe,
other priority cells detect). A candidate *covers* a cell when, mounted and equipped as its
:class:`catalogue.CameraModel` says, it sees the cell centroid at that level or better
(``coverage.views.sight``: heights, tilt, resolution, 3D occlusion); existing cameras do the
same with their own ledger fields. The choice itself is :func:`cameras.choose_sites`, so the
objective is the priority weight of the cells newly brought up to their required level.
Metric CRS of the cells, metres.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
from scipy import sparse

from gridcover.coverage.cells import Cells
from gridcover.coverage.cover import camera_counted
from gridcover.coverage.siting.cameras import CameraSiting, choose_sites
from gridcover.coverage.siting.catalogue import CameraModel
from gridcover.coverage.views.sight import roof_heights, sight_pairs
from gridcover.coverage.views.views3d import DEFAULT_TARGET_HEIGHT_M, camera_views_3d, prisms_for
from gridcover.errors import InputError

__all__ = [
    "DEFAULT_3D_MODEL",
    "at_required_counts",
    "drawn_views_3d",
    "level_coverage",
    "site_cameras_3d",
]


DEFAULT_3D_MODEL = CameraModel(
    "4MP bullet, 6 mm, IR 50 m", resolution="4MP", height_m=5.0, tilt_deg=12.0,
    supply_light="infrared", ir_range_m=50.0,
)  # fmt: skip
"""The model :func:`site_cameras_3d` fits onto candidate rows that name none."""


def level_coverage(
    cells: Cells,
    cameras: gpd.GeoDataFrame,
    required: np.ndarray,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    target_height_m: float = DEFAULT_TARGET_HEIGHT_M,
    building_height_m: float = 9.0,
) -> tuple[sparse.csr_matrix, gpd.GeoDataFrame]:
    """(cells x cameras) 0/1: the camera sees the cell at ``max(required, 1)`` or better;
    and the cameras' 3D views (metric CRS of ``cells``)."""
    prisms = prisms_for(buildings, cells.crs, default_height_m=building_height_m)
    v3 = camera_views_3d(
        cameras, prisms, metric_crs=cells.crs, target_height_m=target_height_m, draw=False
    )
    p = sight_pairs(
        v3.optics,
        cells.x,
        cells.y,
        target_height_m=target_height_m,
        tree=cells.tree,
        prisms=prisms,
        roof_m=roof_heights(prisms, cells.x, cells.y),
    )
    need = np.maximum(np.asarray(required, np.int64), 1)
    ok = p.level >= need[p.cell_idx]
    ci, ki = p.cell_idx[ok], p.camera_idx[ok]
    m = sparse.csr_matrix((np.ones(ci.size, np.int8), (ci, ki)), shape=(len(cells), len(cameras)))
    return m, v3.views


def site_cameras_3d(
    cells: Cells,
    weight: np.ndarray,
    required: np.ndarray,
    candidates: gpd.GeoDataFrame,
    k: int,
    *,
    model: CameraModel | None = None,
    existing: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    target_height_m: float = DEFAULT_TARGET_HEIGHT_M,
    building_height_m: float = 9.0,
    include_offline: bool = False,
    **options: Any,
) -> CameraSiting:
    """Choose ``k`` candidates (camera rows with ``site_id``, e.g. from
    ``siting.candidates.camera_candidates``) fitted with ``model`` so that the most priority
    ``weight`` reaches its ``required`` level (per cell, 0 = nothing required). The chosen
    rows carry the model's columns (``camera_model, resolution, height_m, tilt_deg, ...``).
    ``model`` None: ``DEFAULT_3D_MODEL``, unless the candidates carry their own
    ``model`` column (catalogue rows, ``siting.catalogue.model_candidates``): those are used
    as given. ``building_height_m``: buildings without a height (metres).
    ``options`` go to :func:`cameras.choose_sites`."""
    if len(candidates) == 0:
        raise InputError("There are no candidate sites: give roads, a spacing or a site layer.")
    req = np.asarray(required, np.int64)
    w = np.where(req > 0, np.asarray(weight, float), 0.0)
    own = model is None and "model" in candidates.columns
    cand = candidates.copy() if own else (model or DEFAULT_3D_MODEL).apply(candidates)
    heights = {"target_height_m": target_height_m, "building_height_m": building_height_m}
    cov, _ = level_coverage(cells, cand, req, buildings=buildings, **heights)
    count = np.zeros(len(cells), np.int64)
    if existing is not None and len(existing):
        ex, ex_views = level_coverage(cells, existing, req, buildings=buildings, **heights)
        on = camera_counted(ex_views["status"].to_numpy(), include_offline=include_offline)
        count = np.asarray(ex[:, on].sum(axis=1)).ravel().astype(np.int64)
    site = cand["site_id"].to_numpy() if "site_id" in cand else None
    res = choose_sites(cov, w, k, existing=count, site=site, **options)
    rank = res.ranking
    pick = cand.iloc[rank["candidate"].to_numpy()].copy()
    pick["rank"] = rank["rank"].to_numpy()
    pick["marginal_gain"] = rank["marginal_gain"].to_numpy()
    pick["removal_loss"] = rank["removal_loss"].to_numpy()
    pick = pick.to_crs("EPSG:4326") if pick.crs is not None else pick
    v = drawn_views_3d(cells, pick, buildings=buildings, **heights)
    return CameraSiting(res, pick, v, cov, count, w)


def drawn_views_3d(
    cells: Cells,
    cameras: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    target_height_m: float = DEFAULT_TARGET_HEIGHT_M,
    building_height_m: float = 9.0,
) -> gpd.GeoDataFrame:
    """3D views of a few ``cameras`` (e.g. the chosen ones) with their geometry drawn, for a
    map or a file (EPSG:4326): the ground seen between the near blind zone and the detect
    distance, cut by the buildings (``level_coverage`` computes its matrix without)."""
    prisms = prisms_for(buildings, cells.crs, default_height_m=building_height_m)
    v3 = camera_views_3d(cameras, prisms, metric_crs=cells.crs, target_height_m=target_height_m)
    return v3.views.to_crs("EPSG:4326").reset_index(drop=True)


def at_required_counts(
    required: np.ndarray, existing: np.ndarray, coverage: sparse.spmatrix, chosen: np.ndarray
) -> dict[str, float]:
    """Priority cells (``required`` level >= 1) seen at their required level by the counted
    existing cameras (``existing`` > 0 per cell), and with the ``chosen`` columns of the
    level ``coverage`` added: counts and % of those cells (NaN % when there are none)."""
    need = np.asarray(required) > 0
    before = np.asarray(existing) > 0
    added = np.asarray(sparse.csr_matrix(coverage)[:, chosen].sum(axis=1)).ravel() > 0
    n = int(need.sum())
    b, a = int((need & before).sum()), int((need & (before | added)).sum())
    pct = (lambda x: 100.0 * x / n) if n else (lambda _x: float("nan"))
    return {"required_cells": n, "at_required_before": b, "at_required_after": a,
            "at_required_before_pct": pct(b), "at_required_after_pct": pct(a)}  # fmt: skip
