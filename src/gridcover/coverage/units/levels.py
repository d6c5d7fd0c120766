"""Work units of a run with detail levels (``--visibility 3d``): the cells to fix are the
priority cells below their required DORI level (blind ones included), and a fix must bring
every cell of its unit up to that level.

*Cells*: ``detail.blind_cells`` (the run's own rule): per cell the required level from the
weights file's ``[detail]`` (``detail.required_level``) and the current one (the best level
a counted camera reaches, ``DetailCoverage.detail_level``). A unit carries the highest
required and the lowest current level of its cells.

*Repair*: a not-counted camera whose own level on every cell of the unit is at least the
cell's required level (the run's (cell, camera) pair levels).

*New cameras*: the unit's candidate poles (as in 2D) fitted with each model of the camera
catalogue (``siting.catalogue``: the packaged ``camera_models.toml`` or the user's own, as in
``gridcover site``; type, field, range, price, resolution, lens, mounting height, tilt;
directional models at every candidate azimuth, 360° models once), seen through the run's own
3D engine (``views.views3d.camera_views_3d`` with the run's prisms, target height, camera and
optics defaults; ``views.sight.sight_pairs``): a candidate serves a cell when it sees it at
the cell's required level, i.e. when ``ppm = W / (2 D tan(f/2))`` at the slant distance ``D``
reaches the level's pixel density and nothing blocks the line of sight. So a scenario that
adds the proposed rows (they carry the model's columns) and reruns the 3D analysis finds
the same levels. Metric CRS of the run, metres.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gridcover.coverage.analysis import AnalysisState
from gridcover.coverage.detail import blind_cells
from gridcover.coverage.siting.catalogue import Catalogue, model_candidates
from gridcover.coverage.views.sight import LEVEL_NAMES, roof_heights, sight_pairs
from gridcover.coverage.views.views3d import camera_views_3d

__all__ = [
    "LEVEL_NAMES",
    "below_required",
    "level_candidates",
    "level_pairs",
    "repair_pair_ok",
    "unit_levels",
]


def below_required(state: AnalysisState) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(cells to split, required level, current level) per analysed cell for a run with
    detail levels; None for a 2D run."""
    det = state.detail
    if det is None:
        return None
    mask, required = blind_cells(
        state.priority, state.coverage.covered, det, state.weights.detail_targets
    )
    if required is None:
        return None
    return mask, required, np.asarray(det.detail_level, np.int8)


def unit_levels(
    labels: np.ndarray, required: np.ndarray, current: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (``labels``: unit of each split cell, 0..k-1; ``required`` / ``current``:
    the split cells' levels) the highest required and the lowest current level."""
    req = np.zeros(k, np.int64)
    np.maximum.at(req, labels, np.asarray(required, np.int64))
    cur = np.full(k, 4, np.int64)
    np.minimum.at(cur, labels, np.asarray(current, np.int64))
    return req, np.where(np.bincount(labels, minlength=k) > 0, cur, 0)


def repair_pair_ok(state: AnalysisState, required: np.ndarray) -> np.ndarray | None:
    """Per (cell, camera) pair of the run's coverage, whether the camera sees the cell at the
    cell's required level or better (None for a 2D run)."""
    det = state.detail
    if det is None:
        return None
    return np.asarray(det.pair_level >= np.asarray(required)[state.coverage.cell_idx])


def level_candidates(
    sites: gpd.GeoDataFrame, catalogue: Catalogue, azimuths: int
) -> gpd.GeoDataFrame:
    """Candidate camera rows for every site x catalogue model (EPSG:4326 points): directional
    models at ``azimuths`` directions, 360° models once, each row with the model's ``model``,
    ``price`` and 3D columns (``siting.catalogue.model_candidates``)."""
    return model_candidates(sites, catalogue, azimuths=azimuths)


def level_pairs(
    state: AnalysisState, candidates: gpd.GeoDataFrame, cells: np.ndarray, required: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``cells``, candidate row) of every pair where the candidate sees the
    analysed cell (``cells``: indexes) at the cell's ``required`` level or better, through
    the run's 3D engine (see the module doc)."""
    cfg, v3 = state.config, state.views3d
    prisms = None if v3 is None else v3.prisms
    views = camera_views_3d(
        candidates,
        prisms,
        metric_crs=state.crs,
        target_height_m=cfg.target_height_m,
        defaults=cfg.camera_defaults,
        optics_defaults=cfg.optics_defaults,
        draw=False,
    )
    x, y = state.cells.x[cells], state.cells.y[cells]
    p = sight_pairs(
        views.optics,
        x,
        y,
        target_height_m=cfg.target_height_m,
        tree=shapely.STRtree(shapely.points(x, y)),
        prisms=prisms,
        roof_m=roof_heights(prisms, x, y),
    )
    ok = p.level >= np.asarray(required)[cells][p.cell_idx]
    return p.cell_idx[ok], p.camera_idx[ok]
