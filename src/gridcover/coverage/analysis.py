"""One coverage analysis: layers + run parameters -> every table, as a frozen result.

``run_analysis(grids, cameras, buildings, roads, sites, posts, incidents, config=...)``
chains the steps: camera views (occluded by buildings) -> H3 cells of the grids ->
cover -> priority -> blind spots -> per-grid statistics. The run is deterministic (no
randomness; sorted ids), so the same inputs and config give the same tables. The result
keeps the intermediate arrays (``AnalysisResult.state``) so ``whatif.run_scenario`` can
recompute only what a scenario changes.

Output tables are built once, on first use: ``AnalysisResult.cells`` (with its hexagon
polygons) and ``AnalysisResult.views`` (view polygons reprojected to EPSG:4326) cost more
than every step after the cover step together, so a run that only needs the statistics,
the blind spots or a what-if never builds them (docs/COVERAGE.md, "Speed").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.coverage.cells import DEFAULT_RES, Cells, cells_for_area, check_res, metric_crs_for
from gridcover.coverage.cover import (
    Coverage,
    Sectors,
    camera_counted,
    cover_cells,
    cover_pairs,
)
from gridcover.coverage.gaps import find_blind_spots
from gridcover.coverage.priority import COMPONENTS, Priority, priority_from_layers
from gridcover.coverage.stats import GridIndex, grid_statistics, index_grids, locate_points
from gridcover.coverage.views.occlusion import Walls
from gridcover.coverage.weights import Weights, load_weights
from gridcover.errors import InputError

__all__ = [
    "AnalysisConfig",
    "AnalysisResult",
    "AnalysisState",
    "Progress",
    "RunInputs",
    "camera_notes",
    "cell_columns",
    "prepare_inputs",
    "run_analysis",
]

Progress = Callable[[str, int, int], None]
"""progress(step description, steps done, total steps)."""

STEPS = ("camera views", "H3 cells", "cover", "priority", "blind spots", "statistics")


@dataclass(frozen=True)
class AnalysisConfig:
    """Run parameters. ``res``: H3 resolution (9-13); ``weights``: priority weights (None =
    packaged defaults); ``occlusion``: cut views by buildings when buildings are given;
    ``include_offline`` / ``unknown_online``: which camera statuses count (see cover.py);
    ``camera_defaults``: per-type FOV/range (None = views defaults); ``threads``: cover
    step threads (None = CPU count); ``cell_geometry``: "polygon" or "point" in the cells
    table."""

    res: int = DEFAULT_RES
    weights: Weights | None = None
    occlusion: bool = True
    include_offline: bool = False
    unknown_online: bool = True
    camera_defaults: Any = None
    threads: int | None = None
    cell_geometry: str = "polygon"

    def __post_init__(self) -> None:
        check_res(self.res)
        if self.cell_geometry not in ("polygon", "point"):
            raise InputError(
                f"cell_geometry must be 'polygon' or 'point', not {self.cell_geometry!r}."
            )


@dataclass(frozen=True, eq=False)
class AnalysisState:
    """Intermediate arrays of a run, kept for what-if scenarios (not for display)."""

    config: AnalysisConfig
    weights: Weights
    crs: pyproj.CRS
    cells: Cells
    grid_index: GridIndex
    priority: Priority
    cameras: gpd.GeoDataFrame  # EPSG:4326, index 0..n-1
    views: gpd.GeoDataFrame  # metric CRS, index 0..n-1, aligned with cameras
    # the same view polygons in EPSG:4326 where already reprojected (None: not yet; an
    # object array may hold None for views not yet reprojected); see ``lonlat_views``
    views_lonlat: np.ndarray | None
    coverage: Coverage
    camera_grid: np.ndarray
    buildings: gpd.GeoDataFrame | None  # metric CRS (None: no occlusion)
    posts: gpd.GeoDataFrame | None
    notes: tuple[str, ...]
    walls: Walls | None = None  # the buildings prepared for ray casting (reused by what-if)
    camera_points: np.ndarray | None = None  # cameras as shapely Points in ``crs`` (metres)

    def known_lonlat(self) -> np.ndarray | None:
        """The EPSG:4326 views reprojected so far (None: none yet)."""
        done = self.__dict__.get("lonlat_views")
        return done if done is not None else self.views_lonlat

    @cached_property
    def lonlat_views(self) -> np.ndarray:
        """View polygons in EPSG:4326 (reprojected on first use, only those not yet done)."""
        have = self.views_lonlat
        geoms = np.asarray(self.views.geometry.values)
        todo = (
            np.arange(len(geoms))
            if have is None
            else np.flatnonzero(np.asarray([g is None for g in have], dtype=bool))
        )
        out = np.empty(len(geoms), dtype=object) if have is None else have.copy()
        if todo.size:
            part = gpd.GeoSeries(geoms[todo], crs=self.views.crs).to_crs("EPSG:4326")
            out[todo] = np.asarray(part.values)
        return out


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """Every table of a run. GeoDataFrames are in EPSG:4326; ``summary`` is read-only.

    ``views`` and ``cells`` are built on first use (then kept): the per-cell table with
    its hexagon polygons is the largest object of a run and most callers of the core
    (what-if, statistics, the Dask merge) never need it.
    """

    blind_spots: gpd.GeoDataFrame
    grid_stats: gpd.GeoDataFrame
    summary: Mapping[str, Any]
    notes: tuple[str, ...]
    state: AnalysisState = field(repr=False)
    cell_cluster: np.ndarray = field(repr=False)  # per cell, blind-spot id or 0

    @cached_property
    def views(self) -> gpd.GeoDataFrame:
        """One row per camera: its view polygon (EPSG:4326), counted, cells_seen, area."""
        return _views_table(self.state)

    @cached_property
    def cells(self) -> gpd.GeoDataFrame:
        """One row per H3 cell (hexagons or centroids, ``AnalysisConfig.cell_geometry``)."""
        return _cells_table(self.state, self.cell_cluster)


def camera_notes(
    cameras: gpd.GeoDataFrame, area: shapely.Geometry, crs: pyproj.CRS, first_row: int = 0
) -> list[str]:
    """One sentence per camera (EPSG:4326) outside the area of interest (they are kept).

    Rows are named from ``first_row`` on (0-based, as in the views step's messages).
    """
    lon, lat = cameras.geometry.x.to_numpy(), cameras.geometry.y.to_numpy()
    shapely.prepare(area)
    out = np.flatnonzero(~shapely.intersects_xy(area, lon, lat))
    if out.size == 0:
        return []
    pts = cameras.geometry.iloc[out].to_crs(crs)
    area_m = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).iloc[0]
    d = np.zeros(len(cameras))
    d[out] = shapely.distance(area_m, np.asarray(pts.values))
    notes = []
    for i in np.flatnonzero(d > 0):
        notes.append(
            f"camera {cameras['camera_id'].iloc[i]} (row {first_row + i}) lies {d[i]:.0f} m "
            "outside the area of interest (the grids); it is kept and counts only where its "
            "view reaches into the area."
        )
    return notes


def compute_views(
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | Walls | None,
    config: AnalysisConfig,
    crs: pyproj.CRS,
) -> gpd.GeoDataFrame:
    """Camera view polygons in ``crs`` (the views module; occluded when buildings given).

    ``buildings``: footprints (any CRS) or a ``Walls`` already prepared in ``crs``.
    """
    from gridcover.coverage.views.sectors import camera_views

    b = buildings if config.occlusion else None
    return camera_views(cameras, b, defaults=config.camera_defaults, metric_crs=crs)


@dataclass(frozen=True, eq=False)
class RunInputs:
    """What every coverage run (single machine or Dask) derives from its layers first:
    ``grids`` and ``cameras`` in EPSG:4326 indexed 0..n-1, the area (union of the grids), the
    local metric CRS of its centroid, the weights and the notes on cameras outside it."""

    config: AnalysisConfig
    weights: Weights
    grids: gpd.GeoDataFrame
    area: shapely.Geometry
    crs: pyproj.CRS
    cameras: gpd.GeoDataFrame
    notes: tuple[str, ...]


def prepare_inputs(
    grids: gpd.GeoDataFrame, cameras: gpd.GeoDataFrame, config: AnalysisConfig | None = None
) -> RunInputs:
    """Check and normalise the two required layers of a coverage run (see ``RunInputs``)."""
    cfg = config or AnalysisConfig()
    if grids.crs is None:
        raise InputError("The grids layer has no CRS; read it with gis.read_layer.")
    g = grids.to_crs("EPSG:4326").reset_index(drop=True)
    area = shapely.union_all(np.asarray(g.geometry.values))
    if area.is_empty:
        raise InputError("The grids layer is empty: give at least one grid polygon.")
    crs = metric_crs_for(area.centroid.x, area.centroid.y)
    if cameras.crs is None:
        raise InputError("The cameras layer has no CRS; read it with gis.read_layer.")
    if "camera_id" not in cameras.columns:
        raise InputError(
            "The cameras layer has no 'camera_id' column; read it with gis.read_layer."
        )
    cams = cameras.to_crs("EPSG:4326").reset_index(drop=True)
    notes = tuple(camera_notes(cams, area, crs))
    return RunInputs(cfg, cfg.weights or load_weights(), g, area, crs, cams, notes)


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


def run_analysis(
    grids: gpd.GeoDataFrame,
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    posts: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    config: AnalysisConfig | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Run the whole coverage analysis on canonical layers (any CRS; see gis.read_layer).

    The area of interest is the union of the grids; every metre figure is computed in the
    local metric CRS of its centroid (``gis.crs.local_metric_crs``).
    """
    run = prepare_inputs(grids, cameras, config)
    cfg, weights, g, area, crs, cams = (
        run.config,
        run.weights,
        run.grids,
        run.area,
        run.crs,
        run.cameras,
    )
    notes = list(run.notes)
    step = progress or (lambda _s, _i, _n: None)
    n = len(STEPS)
    step(STEPS[0], 0, n)
    b_metric: gpd.GeoDataFrame | None = None
    walls: Walls | None = None
    if buildings is not None and cfg.occlusion:
        b_metric = buildings.to_crs(crs)
        walls = Walls.from_polygons(np.asarray(b_metric.geometry.values))
    cams_m = cams.to_crs(crs)  # once: the views step and the blind spots' nearest camera
    views = compute_views(cams_m, walls, cfg, crs).reset_index(drop=True)
    step(STEPS[1], 1, n)
    cells = cells_for_area(area, cfg.res, crs)
    _ = cells.area_m2  # a property of the cells (one h3 call per cell): part of this step
    index = index_grids(g, cells)
    step(STEPS[2], 2, n)
    geoms = np.asarray(views.geometry.values)
    ci, ki = cover_pairs(
        geoms,
        cells.x,
        cells.y,
        threads=cfg.threads,
        tree=cells.tree,
        sectors=Sectors.from_views(views),
    )
    counted = camera_counted(
        views["status"].to_numpy(),
        include_offline=cfg.include_offline,
        unknown_online=cfg.unknown_online,
    )
    coverage = cover_cells(len(cells), ci, ki, counted)
    step(STEPS[3], 3, n)
    prio = priority_from_layers(
        cells,
        roads=roads,
        sites=sites,
        incidents=incidents,
        buildings=buildings if b_metric is None else b_metric,  # not reprojected twice
        weights=weights,
    )
    camera_grid = locate_points(
        np.asarray(g.geometry.values),
        index.level,
        cams.geometry.x.to_numpy(),
        cams.geometry.y.to_numpy(),
    )
    state = AnalysisState(
        cfg,
        weights,
        crs,
        cells,
        index,
        prio,
        cams,
        views,
        None,
        coverage,
        camera_grid,
        b_metric,
        None if posts is None else posts.to_crs("EPSG:4326"),
        tuple(notes),
        walls,
        np.asarray(cams_m.geometry.values),
    )
    return finish(state, progress=step, first_step=4)


def finish(
    state: AnalysisState, *, progress: Progress | None = None, first_step: int = 4
) -> AnalysisResult:
    """Blind spots, statistics and output tables from a state (used by run and what-if)."""
    step = progress or (lambda _s, _i, _n: None)
    n = len(STEPS)
    cells, cov, prio = state.cells, state.coverage, state.priority
    step(STEPS[4], first_step, n)
    blind = prio.priority & ~cov.covered
    spots = find_blind_spots(
        cells,
        blind,
        prio.weight,
        cameras=state.cameras,
        posts=state.posts,
        counted=cov.counted,
        camera_points=state.camera_points,
    )
    step(STEPS[5], first_step + 1, n)
    stats = grid_statistics(
        state.grid_index,
        cells,
        covered=cov.covered,
        weight=prio.weight,
        components=prio.components,
        in_building=prio.in_building,
        blind_cluster=spots.cell_cluster,
        camera_grid=state.camera_grid,
        camera_status=state.cameras["status"].to_numpy()
        if "status" in state.cameras.columns
        else np.full(len(state.cameras), "unknown"),
        targets=state.weights.targets,
    )
    codes = state.grid_index.grids["code"].astype(str).to_numpy()
    cell_grid = state.grid_index.cell_grid
    table = spots.table
    table.insert(
        1, "grid_code", _main_grid(spots.cell_cluster, cell_grid, cells.area_m2, codes, len(table))
    )
    summary = _summary(state, stats, table)
    step("done", n, n)
    return AnalysisResult(
        table, stats, MappingProxyType(summary), state.notes, state, spots.cell_cluster
    )


def _main_grid(
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


def _cells_table(state: AnalysisState, cluster: np.ndarray) -> gpd.GeoDataFrame:
    cells, cov, prio = state.cells, state.coverage, state.priority
    codes = state.grid_index.grids["code"].astype(str).to_numpy()
    cell_grid = state.grid_index.cell_grid
    grid_code = np.asarray(np.where(cell_grid >= 0, codes[np.maximum(cell_grid, 0)], None))
    cols = cell_columns(grid_code, cov, prio, cluster)
    return cells.to_geodataframe(state.config.cell_geometry, **cols)


def _views_table(state: AnalysisState) -> gpd.GeoDataFrame:
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


def _summary(
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
