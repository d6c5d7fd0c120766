"""Analyses on stored layers: grid check, coverage / blind spots, patrol zones, siting, what-if.

Each runner reads its input layers from the store, calls the pure core (``gis`` /
``coverage``), and stores the result tables as layers in one atomic write, recording the
run's parameters, the input layers' versions and a summary with every layer (reproducible:
the same parameters on the same inputs give the same tables). No HTTP here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover import __version__
from gridcover.api.jobs.manager import JobOutput, ProgressFn
from gridcover.api.store import LayerMeta, LayerWrite, Store
from gridcover.api.store.publish import TITLES, views_for
from gridcover.coverage.analysis import AnalysisConfig, AnalysisResult, run_analysis
from gridcover.errors import InputError

INPUTS = ("grids", "cameras", "buildings", "roads", "sites", "posts", "incidents")
ID_FIELDS = {
    "camera_views": "camera_id", "coverage_cells": "h3", "blind_spots": "blind_spot",
    "grid_stats": "code", "grid_issues": None, "patrol_zones": "post_id", "patrol_cells": "h3",
    "siting_proposals": "camera_id", "siting_views": "camera_id",
}  # fmt: skip


def inputs_version(store: Store) -> dict[str, str]:
    """Layer name -> time of its last write, for the input layers that are stored."""
    out: dict[str, str] = {}
    for c in store.collections():
        if c.layer in INPUTS:
            out[c.layer] = c.updated
    return out


def read_inputs(store: Store, required: Sequence[str]) -> dict[str, gpd.GeoDataFrame | None]:
    """The stored input layers (None when absent); InputError if a required one is missing."""
    stored = set(store.layers())
    missing = [r for r in required if r not in stored]
    if missing:
        raise InputError(
            f"the analysis needs the layer(s) {missing}, which are not stored; load them first "
            f"(stored layers: {sorted(stored)})"
        )
    return {k: store.read_layer(k) if k in stored else None for k in INPUTS}


def publishable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A result table ready to publish: no int64 H3 ids (hex ``h3`` strings only), no
    metric helper columns, plain text for object columns."""
    drop = [c for c in ("cell", "x_m", "y_m") if c in gdf.columns]
    out = gdf.drop(columns=drop)
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].map(lambda v: None if v is None else str(v))
    return out


def write_results(
    store: Store,
    tables: Mapping[str, gpd.GeoDataFrame],
    kind: str,
    params: Mapping[str, Any],
    summary: Mapping[str, Any],
) -> tuple[str, ...]:
    """Store result tables in one atomic write; returns the published collection ids."""
    writes = []
    recorded = {**params, "summary": dict(summary)}
    for layer, gdf in tables.items():
        pub = publishable(gdf)
        title = TITLES.get(layer, layer)
        desc = f"Result of a {kind} run (parameters in gridcover:params)."
        meta = LayerMeta(layer, title, desc, ID_FIELDS.get(layer), recorded)
        writes.append(LayerWrite(layer, pub, meta, views_for(layer, pub, title, desc)))
    store.replace_layers(writes)
    wanted = set(tables)
    return tuple(c.id for c in store.collections() if c.layer in wanted)


def run_record(
    job_id: str, kind: str, store: Store, parameters: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "run_id": job_id,
        "analysis": kind,
        "parameters": dict(parameters),
        "inputs": inputs_version(store),
        "gridcover_version": __version__,
    }


def json_values(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Plain JSON values (NaN and missing -> None)."""
    out: dict[str, Any] = {}
    for k, v in summary.items():
        if v is None or v is pd.NA or v is pd.NaT:
            out[k] = None
        elif isinstance(v, float | np.floating):
            out[k] = None if not np.isfinite(v) else float(v)
        elif isinstance(v, bool | np.bool_):
            out[k] = bool(v)
        elif isinstance(v, int | np.integer):
            out[k] = int(v)
        else:
            out[k] = str(v)
    return out


# -- coverage and the what-if baseline ------------------------------------------------------
class BaselineCache:
    """The last coverage result per (config, input versions), reused by what-if scenarios."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._result: AnalysisResult | None = None
        self._live_lock = threading.Lock()  # one edit at a time on the session
        self._live: tuple[AnalysisResult, Any] | None = None  # (baseline, WhatIfSession)

    def live(self, baseline: AnalysisResult, scenario: Any) -> Any:
        """``scenario`` applied by the incremental what-if session of ``baseline`` (built on
        first use, kept with the baseline): a ``whatif_session.LiveResult``."""
        from gridcover.coverage.whatif_session import WhatIfSession

        with self._live_lock:
            if self._live is None or self._live[0] is not baseline:
                self._live = (baseline, WhatIfSession(baseline))
            return self._live[1].apply(scenario)

    def key(self, store: Store, config: AnalysisConfig) -> tuple[Any, ...]:
        return (config, tuple(sorted(inputs_version(store).items())))

    def put(self, key: tuple[Any, ...], result: AnalysisResult) -> None:
        with self._lock:
            self._key, self._result = key, result

    def get(self, key: tuple[Any, ...]) -> AnalysisResult | None:
        with self._lock:
            return self._result if self._key == key else None


def analysis_config(params: Mapping[str, Any]) -> AnalysisConfig:
    """The core's run config from API parameters (res, occlusion, camera statuses...)."""
    keys = ("res", "occlusion", "include_offline", "unknown_online", "cell_geometry",
            "visibility", "target_height_m")  # fmt: skip
    return AnalysisConfig(**{k: params[k] for k in keys if k in params})


def compute_coverage(
    store: Store, params: Mapping[str, Any], progress: ProgressFn | None = None
) -> AnalysisResult:
    """Run the coverage analysis on the stored layers (no write)."""
    cfg = analysis_config(params)
    layers = read_inputs(store, ("grids", "cameras"))
    grids, cameras = layers["grids"], layers["cameras"]
    assert grids is not None and cameras is not None
    step = progress or (lambda _f, _m: None)

    def core_progress(message: str, done: int, total: int) -> None:
        step(0.05 + 0.85 * done / max(total, 1), message)

    step(0.05, "layers read")
    return run_analysis(
        grids, cameras, layers["buildings"], layers["roads"], layers["sites"], layers["posts"],
        layers["incidents"], config=cfg, progress=core_progress,
    )  # fmt: skip


def run_coverage(
    store: Store,
    cache: BaselineCache,
    params: Mapping[str, Any],
    job_id: str,
    progress: ProgressFn,
    outputs: Sequence[str] = ("camera_views", "coverage_cells", "blind_spots", "grid_stats"),
) -> JobOutput:
    """Coverage job: views, cells, blind spots and per-grid statistics, stored as layers."""
    key = cache.key(store, analysis_config(params))
    record = run_record(job_id, "coverage", store, params)
    result = compute_coverage(store, params, progress)
    cache.put(key, result)
    summary = json_values(result.summary)
    tables = {
        "camera_views": result.views, "coverage_cells": result.cells,
        "blind_spots": result.blind_spots, "grid_stats": result.grid_stats,
    }  # fmt: skip
    progress(0.92, "storing results")
    chosen = {k: v for k, v in tables.items() if k in outputs}
    if "camera_views" in outputs and result.state.views3d is not None:
        from gridcover.coverage.cover3d import band_table  # 3D: detail bands per camera

        chosen["camera_view_bands"] = band_table(result.state)
    ids = write_results(store, chosen, "coverage", record, summary)
    return JobOutput(ids, {**summary, "notes": list(result.notes)})


def run_grid_check(
    store: Store, params: Mapping[str, Any], job_id: str, progress: ProgressFn
) -> JobOutput:
    """Grid QA job: the issue table of ``gis.qa.check.check_grids``, stored as grid_issues."""
    from gridcover.gis.qa.check import check_grids

    layers = read_inputs(store, ("grids",))
    assert layers["grids"] is not None
    record = run_record(job_id, "grid-check", store, params)
    progress(0.1, "checking grids")
    check = check_grids(layers["grids"], **dict(params))
    summary = {
        "ok": check.ok, "errors": check.n_errors, "warnings": check.n_warnings,
        "metric_crs": check.metric_crs.to_string(),
        **{f"{name}_errors": int(row["errors"]) for name, row in check.summary.iterrows()},
        **{f"{name}_warnings": int(row["warnings"]) for name, row in check.summary.iterrows()},
    }  # fmt: skip
    progress(0.9, "storing results")
    ids = write_results(store, {"grid_issues": check.issues}, "grid-check", record, summary)
    return JobOutput(ids, summary)


def whatif_deltas(
    store: Store, cache: BaselineCache, params: Mapping[str, Any], scenario: Any
) -> dict[str, Any]:
    """KPI deltas of a scenario against the baseline coverage (computed if not cached),
    from the incremental what-if session of the baseline (2D and 3D; disabled, re-aimed,
    repaired and added cameras): the same figures as ``whatif.run_scenario``."""
    key = cache.key(store, analysis_config(params))
    baseline = cache.get(key)
    if baseline is None:
        baseline = compute_coverage(store, params)
        cache.put(key, baseline)
    live = cache.live(baseline, scenario)
    # the views the scenario changes: its re-aimed and added cameras (those within reach
    # of the grids), as run_scenario counts them
    n_views = len(scenario.reaimed) + live.cameras_added
    return whatif_json(
        scenario.name, n_views, baseline.summary, live.summary, live.summary_deltas,
        live.grid_deltas,
    )  # fmt: skip


def whatif_json(
    name: str,
    views_recomputed: int,
    baseline: Mapping[str, Any],
    summary: Mapping[str, Any],
    deltas: Mapping[str, Any],
    grid: pd.DataFrame,
) -> dict[str, Any]:
    """The what-if response: summaries, deltas and the grids whose figures changed."""
    num = [c for c in grid.columns if c.startswith("d_")]
    changed = grid[(grid[num].fillna(0).abs() > 1e-9).any(axis=1)
                   | (grid["targets_met_before"] != grid["targets_met_after"])]  # fmt: skip
    return {
        "name": name,
        "views_recomputed": views_recomputed,
        "baseline": json_values(baseline),
        "scenario": json_values(summary),
        "deltas": json_values(deltas),
        "grid_deltas": _records(changed),
    }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for rec in df.to_dict(orient="records"):
        rows.append(json_values(rec))
    return rows
