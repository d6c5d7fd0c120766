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

from gridcover.coverage import beyond_reach as left
from gridcover.coverage._tables import (
    cell_columns,
    cells_table,
    main_grid,
    run_summary,
    views_table,
)
from gridcover.coverage.cells import DEFAULT_RES, Cells, cells_for_area, check_res, metric_crs_for
from gridcover.coverage.cover import Coverage
from gridcover.coverage.cover3d import cover_step, views_3d
from gridcover.coverage.declared_areas import declared_note
from gridcover.coverage.detail import DetailCoverage, add_levels, blind_cells, check_3d
from gridcover.coverage.gaps import find_blind_spots
from gridcover.coverage.priority import Priority, priority_from_layers
from gridcover.coverage.road_classes import road_class_note
from gridcover.coverage.stats import GridIndex, grid_statistics, index_grids, locate_points
from gridcover.coverage.views.occlusion import Walls
from gridcover.coverage.views.views3d import Views3D
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

DEFAULT_VISIBILITY = "3d"
"""The visibility model of every door (CLI, API, library) when none is asked: line of sight
over camera and building heights, with detail levels day and night; "2d" is the sector model
with buildings as infinitely tall walls (docs/VIEWS.md)."""

STEPS = ("camera views", "H3 cells", "cover", "priority", "blind spots", "statistics")


@dataclass(frozen=True)
class AnalysisConfig:
    """Run parameters. ``res``: H3 resolution (9-13); ``weights``: priority weights (None =
    packaged defaults); ``occlusion``: cut views by buildings when buildings are given;
    ``include_offline`` / ``unknown_online``: which camera statuses count (see cover.py);
    ``camera_defaults``: per-type FOV/range (None = views defaults); ``threads``: cover
    step threads (None = CPU count); ``cell_geometry``: "polygon" or "point" in the cells
    table. ``visibility`` "2d" or "3d" and the 3D fields after it: docs/VIEWS.md."""

    res: int = DEFAULT_RES
    weights: Weights | None = None
    occlusion: bool = True
    include_offline: bool = False
    unknown_online: bool = True
    camera_defaults: Any = None
    threads: int | None = None
    cell_geometry: str = "polygon"
    visibility: str = DEFAULT_VISIBILITY
    target_height_m: float = 1.5
    building_height_m: float = 9.0
    optics_defaults: Any = None

    def __post_init__(self) -> None:
        check_res(self.res)
        check_3d(self.visibility, self.target_height_m, self.building_height_m)
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
    beyond: pd.DataFrame | None = None  # cameras left out: beyond reach of the area
    views3d: Views3D | None = None  # 3D visibility: optics and prisms (reused by what-if)
    detail: DetailCoverage | None = None  # 3D visibility: detail levels per pair and cell

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
    required_level: np.ndarray | None = field(default=None, repr=False)  # 3D: per cell

    @cached_property
    def views(self) -> gpd.GeoDataFrame:
        """One row per camera: its view polygon (EPSG:4326), counted, cells_seen, area."""
        return views_table(self.state)

    @cached_property
    def cells(self) -> gpd.GeoDataFrame:
        """One row per H3 cell (hexagons or centroids, ``AnalysisConfig.cell_geometry``);
        a 3D run adds the detail-level columns (``detail.detail_columns``)."""
        return cells_table(self.state, self.cell_cluster, self.required_level)


def camera_notes(
    cameras: gpd.GeoDataFrame, area: shapely.Geometry, crs: pyproj.CRS, first_row: int = 0
) -> list[str]:
    """One aggregated note for the cameras (EPSG:4326) outside the area of interest but
    within reach (they are kept); ``first_row`` is kept for callers, ids name the cameras."""
    return left.outside_note(cameras, area, crs)


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
    beyond: pd.DataFrame | None = None  # cameras left out: beyond reach of the area


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
    cams, indoor = left.split_indoor(cams)
    cams, beyond = left.split_beyond_reach(cams, area, crs, cfg.camera_defaults)
    lines = (indoor, left.beyond_line(beyond, None))
    weights = cfg.weights or load_weights()
    notes = (
        *(line for line in lines if line),
        *declared_note(cams, weights),
        *camera_notes(cams, area, crs),
    )
    return RunInputs(cfg, weights, g, area, crs, cams, notes, beyond)


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
    notes = list(run.notes) + list(road_class_note(roads, weights))
    step = progress or (lambda _s, _i, _n: None)
    n = len(STEPS)
    step(STEPS[0], 0, n)
    b_metric: gpd.GeoDataFrame | None = None
    walls: Walls | None = None
    if buildings is not None and cfg.occlusion:
        b_metric = buildings.to_crs(crs)
        walls = Walls.from_polygons(np.asarray(b_metric.geometry.values))
    cams_m = cams.to_crs(crs)  # once: the views step and the blind spots' nearest camera
    v3 = views_3d(cams, b_metric, walls, crs, cfg) if cfg.visibility == "3d" else None
    views = (compute_views(cams_m, walls, cfg, crs) if v3 is None else v3.views).reset_index(
        drop=True
    )
    step(STEPS[1], 1, n)
    cells = cells_for_area(area, cfg.res, crs)
    _ = cells.area_m2  # a property of the cells (one h3 call per cell): part of this step
    index = index_grids(g, cells)
    step(STEPS[2], 2, n)
    coverage, detail = cover_step(views, v3, cells, cfg)
    step(STEPS[3], 3, n)
    prio = priority_from_layers(
        cells,
        roads=roads,
        sites=sites,
        incidents=incidents,
        buildings=buildings if b_metric is None else b_metric,  # not reprojected twice
        weights=weights,
        cameras=cams,  # PositionType 8/9/10 declare priority areas
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
        beyond=run.beyond,
        views3d=v3,
        detail=detail,
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
    # 3D: a priority cell is blind below its required level (``required`` None in 2D)
    blind, required = blind_cells(prio, cov.covered, state.detail, state.weights.detail_targets)
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
        1, "grid_code", main_grid(spots.cell_cluster, cell_grid, cells.area_m2, codes, len(table))
    )
    summary = run_summary(state, stats, table)
    if state.detail is not None and required is not None:
        # the per-grid and whole-area levels now; the per-cell levels when ``cells`` is built
        stats, _ = add_levels(state, required, stats, None, summary)
    step("done", n, n)
    return AnalysisResult(
        table, stats, MappingProxyType(summary), state.notes, state, spots.cell_cluster, required
    )
