"""Planning analyses on stored layers: patrol zones per post and new-camera siting.

Same contract as ``analysis.py``: read stored inputs, call the pure core, store the result
tables atomically with the run's parameters, input versions and summary recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd

from gridcover.api.jobs.manager import JobOutput, ProgressFn
from gridcover.api.jobs.plans import json_values, read_inputs, run_record, write_results
from gridcover.api.store import Store
from gridcover.errors import InputError


def _grid_level(grids: gpd.GeoDataFrame, level: int | None, what: str) -> gpd.GeoDataFrame:
    if level is None:
        return grids
    part = grids[grids["level"] == level]
    if part.empty:
        levels = sorted({int(v) for v in grids["level"].dropna()})
        raise InputError(f"{what}: the grids have no level {level}; stored levels: {levels}")
    return part


def run_patrol(
    store: Store, params: Mapping[str, Any], job_id: str, progress: ProgressFn
) -> JobOutput:
    """Patrol-zone job: one contiguous, workload-balanced zone per post (``coverage.patrol``).

    ``params``: res, mode (walk/bike/car), target_ratio, area_level (grid level whose union is
    the area; default all grids), boundary_level (grid level zones must not cross),
    use_roads (travel along streets), use_priority (priority weight in the workload).
    """
    from gridcover.coverage.cells import cells_for_area
    from gridcover.coverage.patrol.zones import patrol_zones
    from gridcover.coverage.priority import priority_from_layers

    layers = read_inputs(store, ("grids", "posts"))
    grids, posts = layers["grids"], layers["posts"]
    assert grids is not None and posts is not None
    record = run_record(job_id, "patrol", store, params)
    area = _grid_level(grids, params.get("area_level"), "area_level")
    blevel = params.get("boundary_level")
    boundary = _grid_level(grids, blevel, "boundary_level") if blevel is not None else None
    roads = layers["roads"] if params.get("use_roads", True) else None
    progress(0.1, "H3 cells of the area")
    cells = cells_for_area(area, int(params.get("res", 10)))
    priority = None
    if params.get("use_priority", True) and any(
        layers[k] is not None for k in ("roads", "sites", "buildings")
    ):
        progress(0.2, "priority weights")
        priority = priority_from_layers(
            cells, roads=layers["roads"], sites=layers["sites"], buildings=layers["buildings"]
        ).weight
    progress(0.3, "travel times and zones")
    plan = patrol_zones(
        area, posts, cells=cells, roads=roads, boundary=boundary,
        boundary_field="code" if boundary is not None else None, priority=priority,
        incidents=layers["incidents"], mode=str(params.get("mode", "car")),
        target_ratio=float(params.get("target_ratio", 1.15)),
    )  # fmt: skip
    a = plan.assignment
    summary = json_values(
        {
            "method": plan.method, "res": plan.res, "balance_ratio": a.balance_ratio,
            "initial_ratio": a.initial_ratio, "zones": int((a.anchors >= 0).sum()),
            "posts": int(a.anchors.size), "cells": len(plan.cells),
        }
    )  # fmt: skip
    summary["report"] = plan.report()
    progress(0.9, "storing results")
    ids = write_results(
        store, {"patrol_zones": plan.zones, "patrol_cells": plan.cells}, "patrol", record, summary
    )
    return JobOutput(ids, summary)


def run_siting(
    store: Store, params: Mapping[str, Any], job_id: str, progress: ProgressFn
) -> JobOutput:
    """Camera-siting job: K new cameras covering the most uncovered priority weight.

    ``params``: k, res, method (auto/greedy/exact), time_limit (s), intersections (road
    intersections as candidate sites), every_m (sites along roads every N m), azimuths,
    dome, backup (coverage level wanted at key sites).
    """
    from gridcover.coverage.cells import cells_for_area
    from gridcover.coverage.priority import priority_from_layers
    from gridcover.coverage.siting.cameras import key_site_levels, site_cameras
    from gridcover.coverage.siting.candidates import camera_candidates, candidate_sites

    layers = read_inputs(store, ("grids", "roads"))
    grids = layers["grids"]
    assert grids is not None
    record = run_record(job_id, "siting", store, params)
    progress(0.05, "H3 cells and priority")
    cells = cells_for_area(grids, int(params.get("res", 11)))
    prio = priority_from_layers(
        cells, roads=layers["roads"], sites=layers["sites"], buildings=layers["buildings"],
        incidents=layers["incidents"],
    )  # fmt: skip
    progress(0.2, "candidate sites")
    points = candidate_sites(
        layers["roads"], intersections=bool(params.get("intersections", True)),
        every_m=params.get("every_m"), area=grids.geometry.union_all(),
    )  # fmt: skip
    backup = int(params.get("backup", 1))
    levels = None
    if layers["sites"] is not None and backup > 1:
        levels = key_site_levels(cells, layers["sites"], backup)
    cand = camera_candidates(
        points, azimuths=int(params.get("azimuths", 8)), dome=bool(params.get("dome", False))
    )
    progress(0.35, f"views of {len(cand)} candidates and the choice")
    out = site_cameras(
        cells, prio.weight, cand, int(params.get("k", 10)), existing=layers["cameras"],
        buildings=layers["buildings"], levels=levels, method=str(params.get("method", "auto")),
        time_limit=float(params.get("time_limit", 60.0)),
    )  # fmt: skip
    r = out.result
    summary = json_values(
        {
            "chosen": int(r.chosen.size), "candidates": r.n_candidates, "sites": len(points),
            "objective": r.objective, "upper_bound": r.upper_bound, "gap": r.gap,
            "bound_source": r.bound_source, "method": r.method,
        }
    )  # fmt: skip
    progress(0.9, "storing results")
    ids = write_results(
        store, {"siting_proposals": out.chosen, "siting_views": out.views}, "siting", record,
        summary,
    )  # fmt: skip
    return JobOutput(ids, summary)
