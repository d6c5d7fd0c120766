"""Planning jobs on stored layers: patrol zones per post and new-camera siting.

Each translates the job's parameters into the core's config (``PatrolConfig`` /
``SitingConfig``) and calls the same plan as ``gridcover patrol`` / ``gridcover site``; the
defaults live in the core. Results are stored atomically with the run's parameters, input
versions and summary (``plans.write_results``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd

from gridcover.api.jobs.manager import JobOutput, ProgressFn
from gridcover.api.jobs.plans import json_values, read_inputs, run_record, write_results
from gridcover.api.store import Store
from gridcover.coverage.patrol.plan import PatrolConfig, plan_patrol
from gridcover.coverage.siting.budget import BudgetConfig, plan_budget_siting
from gridcover.coverage.siting.plan import SitingConfig, plan_siting
from gridcover.errors import InputError

PATROL_KEYS = ("res", "mode", "target_ratio", "use_roads", "use_priority", "min_compactness")
SITING_KEYS = (
    "k", "res", "method", "time_limit", "intersections", "every_m", "azimuths", "dome", "backup",
    "visibility", "target_height_m", "building_height_m", "models",
)  # fmt: skip

BUDGET_KEYS = (
    "budget", "k", "res", "method", "time_limit", "intersections", "every_m", "allow_motorway",
    "visibility", "target_height_m", "building_height_m", "models",
)  # fmt: skip


def _grid_level(grids: gpd.GeoDataFrame, level: int | None, what: str) -> gpd.GeoDataFrame:
    if level is None:
        return grids
    part = grids[grids["level"] == level]
    if part.empty:
        levels = sorted({int(v) for v in grids["level"].dropna()})
        raise InputError(f"{what}: the grids have no level {level}; stored levels: {levels}")
    return part


def _layer(layers: Mapping[str, gpd.GeoDataFrame | None], name: str) -> gpd.GeoDataFrame:
    gdf = layers[name]
    if gdf is None:  # read_inputs refuses a missing required layer first
        raise InputError(f"the {name} layer is not stored; load it first.")
    return gdf


def run_patrol(
    store: Store, params: Mapping[str, Any], job_id: str, progress: ProgressFn
) -> JobOutput:
    """Patrol-zone job (``coverage.patrol.plan``) over the stored grids and posts.

    ``params``: the ``PatrolConfig`` fields ``PATROL_KEYS``, plus area_level (grid level
    whose union is the area; default all grids) and boundary_level (grid level zones must not
    cross).
    """
    layers = read_inputs(store, ("grids", "posts"))
    grids = _layer(layers, "grids")
    record = run_record(job_id, "patrol", store, params)
    area = _grid_level(grids, params.get("area_level"), "area_level")
    blevel = params.get("boundary_level")
    boundary = _grid_level(grids, blevel, "boundary_level") if blevel is not None else None
    config = PatrolConfig(**{k: params[k] for k in PATROL_KEYS if k in params})
    run = plan_patrol(
        area, _layer(layers, "posts"), config, roads=layers["roads"], sites=layers["sites"],
        buildings=layers["buildings"], incidents=layers["incidents"], boundary=boundary,
        progress=progress,
    )  # fmt: skip
    summary = json_values(run.summary())
    summary["report"] = run.report()
    progress(0.9, "storing results")
    tables = {"patrol_zones": run.plan.zones, "patrol_cells": run.plan.cells}
    ids = write_results(store, tables, "patrol", record, summary)
    return JobOutput(ids, summary)


def run_siting(
    store: Store, params: Mapping[str, Any], job_id: str, progress: ProgressFn
) -> JobOutput:
    """Camera-siting job (``coverage.siting.plan``) over the stored grids and roads.

    ``params``: the ``SitingConfig`` fields ``SITING_KEYS``; with a ``budget``, the
    ``BudgetConfig`` fields ``BUDGET_KEYS`` (``siting.budget.plan_budget_siting``, as
    ``gridcover site --budget``).
    """
    layers = read_inputs(store, ("grids", "roads"))
    record = run_record(job_id, "siting", store, params)
    if params.get("budget") is not None:
        return _run_budget(store, layers, params, record, progress)
    config = SitingConfig(**{k: params[k] for k in SITING_KEYS if k in params})
    run = plan_siting(
        _layer(layers, "grids"), config, roads=layers["roads"], buildings=layers["buildings"],
        sites=layers["sites"], incidents=layers["incidents"], cameras=layers["cameras"],
        posts=layers["posts"], progress=progress,
    )  # fmt: skip
    summary = json_values(run.summary())
    progress(0.9, "storing results")
    tables = {"siting_proposals": run.chosen}
    if run.views is not None:
        tables["siting_views"] = run.views
    ids = write_results(store, tables, "siting", record, summary)
    return JobOutput(ids, summary)


def _run_budget(
    store: Store,
    layers: Mapping[str, gpd.GeoDataFrame | None],
    params: Mapping[str, Any],
    record: Mapping[str, Any],
    progress: ProgressFn,
) -> JobOutput:
    """The budget siting job: the same plan and tables as ``gridcover site --budget``."""
    config = BudgetConfig(**{k: params[k] for k in BUDGET_KEYS if k in params})
    progress(0.1, "candidates, their views and the choice within the budget")
    out, report = plan_budget_siting(
        _layer(layers, "grids"), config, roads=layers["roads"], buildings=layers["buildings"],
        sites=layers["sites"], incidents=layers["incidents"], cameras=layers["cameras"],
    )  # fmt: skip
    summary = json_values({"what": "cameras", "res": config.res, "k": config.k}
                          | out.summary())  # fmt: skip
    summary["report"] = report
    progress(0.9, "storing results")
    tables = {"siting_proposals": out.chosen}
    if out.views is not None:
        tables["siting_views"] = out.views
    ids = write_results(store, tables, "siting", record, summary)
    return JobOutput(ids, summary)
