"""The output tables and figures of a coverage run, built from its ``AnalysisState``.

Private helpers of ``coverage.analysis`` (and of the what-if modules that rebuild the same
tables): the per-cell columns, the lazily built ``cells`` and ``views`` tables, the main
grid of each blind spot and the summary figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.cover import Coverage
from gridcover.coverage.detail import detail_columns
from gridcover.coverage.priority import COMPONENTS, Priority

if TYPE_CHECKING:
    from gridcover.coverage.analysis import AnalysisState

__all__ = ["cell_columns", "cells_table", "main_grid", "run_summary", "views_table"]


def cell_columns(
    grid_code: np.ndarray, coverage: Coverage, priority: Priority, blind_spot: np.ndarray
) -> dict[str, Any]:
    """The per-cell columns of the ``cells`` table (single machine and Dask parts alike)."""
    return {
        "grid_code": grid_code,
        "cameras": coverage.counts,
        "cameras_other": coverage.counts_other,
        "covered": coverage.covered,
        "in_building": priority.in_building,
        "weight": priority.weight,
        "priority": priority.priority,
        **{f"w_{k}": priority.components[k] for k in COMPONENTS},
        "blind_spot": blind_spot,
    }


def main_grid(
    cluster: np.ndarray, cell_grid: np.ndarray, area: np.ndarray, codes: np.ndarray, k: int
) -> np.ndarray:
    """Per blind spot, the code of the deepest grid holding most of its area."""
    out = np.full(k, None, dtype=object)
    sel = (cluster > 0) & (cell_grid >= 0)
    if not sel.any():
        return out
    df = pd.DataFrame({"c": cluster[sel], "g": cell_grid[sel], "a": area[sel]})
    agg = df.groupby(["c", "g"], sort=True)["a"].sum().reset_index()
    best = agg.sort_values(["c", "a", "g"], ascending=[True, False, True]).drop_duplicates("c")
    out[best["c"].to_numpy() - 1] = codes[best["g"].to_numpy()]
    return out


def cells_table(
    state: AnalysisState, cluster: np.ndarray, required: np.ndarray | None = None
) -> gpd.GeoDataFrame:
    """The ``cells`` table of a run (``AnalysisResult.cells``): per cell, the columns of
    ``cell_columns`` and, for a 3D run (``state.detail`` set), the detail-level columns
    with the ``required`` level per cell (``detail.detail_columns``)."""
    cells, cov, prio = state.cells, state.coverage, state.priority
    codes = state.grid_index.grids["code"].astype(str).to_numpy()
    cell_grid = state.grid_index.cell_grid
    grid_code = np.asarray(np.where(cell_grid >= 0, codes[np.maximum(cell_grid, 0)], None))
    cols = cell_columns(grid_code, cov, prio, cluster)
    table = cells.to_geodataframe(state.config.cell_geometry, **cols)
    if state.detail is not None and required is not None:  # after the geometry, as on Dask
        table = table.assign(**detail_columns(state.detail, required))
    return table


def views_table(state: AnalysisState) -> gpd.GeoDataFrame:
    v = state.views
    out = v.drop(columns=[c for c in ("x_m", "y_m") if c in v.columns]).copy()
    out["counted"] = state.coverage.counted
    out["cells_seen"] = state.coverage.cells_seen_per_camera()
    out["view_area_m2"] = v.geometry.area.to_numpy()
    return gpd.GeoDataFrame(
        pd.DataFrame(out.drop(columns=v.geometry.name)),
        geometry=state.lonlat_views,
        crs="EPSG:4326",
    )


def run_summary(
    state: AnalysisState,
    stats: pd.DataFrame,
    spots: pd.DataFrame,
    status: np.ndarray | None = None,
) -> dict[str, Any]:
    """The run's figures; ``stats`` needs ``targets_met``, ``spots`` ``area_m2`` and
    ``weight``; ``status``: per camera as text (default: the cameras' status column)."""
    cells, cov, prio = state.cells, state.coverage, state.priority
    a = cells.area_m2
    open_ = ~prio.in_building
    covered = cov.covered
    if status is None:
        has = "status" in state.cameras.columns
        status = state.cameras["status"].astype(str).to_numpy() if has else None
    n_cams = len(state.cameras) if status is None else len(status)
    online = 0 if status is None else int((status == "online").sum())
    offline = 0 if status is None else int((status == "offline").sum())

    def pct(num: float, den: float) -> float:
        return float(100.0 * num / den) if den > 0 else float("nan")

    return {
        "res": int(cells.res),
        "metric_crs": state.crs.to_string(),
        "cells": len(cells),
        "area_m2": float(a.sum()),
        "covered_m2": float(a[covered].sum()),
        "covered_pct": pct(a[covered].sum(), a.sum()),
        "open_area_m2": float(a[open_].sum()),
        "open_covered_pct": pct(a[open_ & covered].sum(), a[open_].sum()),
        "priority_cells": int(prio.priority.sum()),
        "priority_weighted_pct": pct(prio.weight[covered].sum(), prio.weight.sum()),
        "cameras": n_cams,
        "cameras_online": online,
        "cameras_offline": offline,
        "cameras_unknown": n_cams - online - offline,
        "cameras_counted": int(cov.counted.sum()),
        "cameras_outside_grids": int((state.camera_grid < 0).sum()),
        "blind_spots": len(spots),
        "blind_spot_area_m2": float(spots["area_m2"].sum()) if len(spots) else 0.0,
        "blind_spot_weight": float(spots["weight"].sum()) if len(spots) else 0.0,
        "grids": len(stats),
        "grids_missing_targets": int((~stats["targets_met"]).sum()),
        "occlusion": bool(state.buildings is not None),
        "uniform_priority": bool(prio.uniform),
        "weights": state.weights.source,
    }
