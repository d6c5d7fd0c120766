"""What-if scenarios: cameras disabled, added or re-aimed -> every statistic and its delta.

A scenario is applied to a finished baseline analysis. Only the views of the cameras it
changes (re-aimed or added) are computed; every other camera keeps its baseline view and
its covering pairs. The (cell, camera) pairs of the changed cameras are replaced, the
counts, blind spots and statistics are recomputed from the updated pairs (cheap: numpy
aggregation), and the deltas against the baseline are returned. The result is the same as
a full run of ``run_analysis`` on the modified camera layer (``apply_scenario``), which the
tests check.

Semantics: *disabled* cameras get status ``offline`` (they stay in the layer and in the
camera counts, no longer covering, even when the baseline counts offline cameras with
``include_offline``: then a full run would have to drop them to agree); *re-aimed*
cameras get new ``azimuth_deg`` / ``fov_deg`` / ``range_m`` (NaN = type default / 360°) and,
for the 3D model, ``height_m`` / ``tilt_deg`` / ``resolution_px``;
*added* cameras are appended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridcover.coverage.analysis import (
    AnalysisResult,
    Progress,
    camera_notes,
    compute_views,
    finish,
)
from gridcover.coverage.beyond_reach import beyond_line, split_beyond_reach
from gridcover.coverage.cover import Sectors, camera_counted, cover_cells, cover_pairs
from gridcover.coverage.cover3d import cover_3d_pairs, views_3d
from gridcover.coverage.detail import detail_cover
from gridcover.coverage.stats import locate_points
from gridcover.errors import InputError

__all__ = [
    "EDIT_FIELDS",
    "OPTICS_FIELDS",
    "REAIM_FIELDS",
    "Scenario",
    "ScenarioResult",
    "apply_scenario",
    "run_scenario",
]

REAIM_FIELDS = ("azimuth_deg", "fov_deg", "range_m")
OPTICS_FIELDS = ("height_m", "tilt_deg", "resolution_px")
"""Fields of the 3D model a scenario may also change per camera (metres above ground,
degrees below horizontal, horizontal pixels; NaN = type default); a 2D run ignores them."""
EDIT_FIELDS = REAIM_FIELDS + OPTICS_FIELDS


@dataclass(frozen=True)
class Scenario:
    """Cameras to disable (ids), to add (canonical camera rows, any CRS), to re-aim
    (id -> {azimuth_deg, fov_deg, range_m}; degrees clockwise from north, metres) and to
    repair (ids set back to status online)."""

    name: str = "scenario"
    disabled: tuple[str, ...] = ()
    added: gpd.GeoDataFrame | None = None
    reaimed: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    repaired: tuple[str, ...] = ()  # ids back online (status "online"), e.g. "repair camera X"


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """The scenario's full result, its deltas per grid and overall, and how many views
    were recomputed (the changed cameras only)."""

    scenario: Scenario
    result: AnalysisResult
    grid_deltas: pd.DataFrame
    summary_deltas: Mapping[str, float]
    views_recomputed: int


def _positions(ids: np.ndarray, wanted: list[str], what: str) -> np.ndarray:
    pos = pd.Index(ids).get_indexer(pd.Index(wanted, dtype=object))
    if (pos < 0).any():
        missing = [w for w, p in zip(wanted, pos, strict=True) if p < 0]
        raise InputError(
            f"Scenario: {what} camera id(s) {', '.join(map(repr, missing[:10]))} are not in the "
            "camera layer; use camera_id values of the baseline cameras."
        )
    return pos


def apply_scenario(cameras: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    """The camera layer (EPSG:4326, index 0..n-1) as the scenario leaves it."""
    cams = cameras.to_crs("EPSG:4326").reset_index(drop=True).copy()
    ids = cams["camera_id"].astype(str).to_numpy()
    off = _positions(ids, [str(c) for c in scenario.disabled], "disabled")
    if "status" not in cams.columns:
        cams["status"] = "unknown"
    cams.loc[off, "status"] = "offline"
    cams.loc[_positions(ids, [str(c) for c in scenario.repaired], "repaired"), "status"] = "online"
    aim = _positions(ids, [str(c) for c in scenario.reaimed], "re-aimed")
    for p, (cid, change) in zip(aim, scenario.reaimed.items(), strict=True):
        bad = set(change) - set(EDIT_FIELDS)
        if bad:
            raise InputError(
                f"Scenario: re-aiming camera {cid!r} sets {', '.join(sorted(bad))}; only "
                f"{', '.join(EDIT_FIELDS)} can change."
            )
        for k, v in change.items():
            if k not in cams.columns:
                cams[k] = np.nan
            cams.loc[p, k] = np.nan if v is None else float(v)
    if scenario.added is not None and len(scenario.added):
        add = scenario.added.to_crs("EPSG:4326")
        # a missing status reads as "unknown", as read_layer gives it to a full run's layer
        status = add["status"] if "status" in add.columns else pd.Series(None, add.index, object)
        add = add.assign(status=status.where(status.notna(), "unknown"))
        clash = np.intersect1d(add["camera_id"].astype(str).to_numpy(), ids)
        if clash.size:
            raise InputError(
                f"Scenario: added camera id(s) {', '.join(map(repr, clash[:10]))} already exist; "
                "give new cameras new ids."
            )
        cams = pd.concat([cams, add], ignore_index=True)
        cams = gpd.GeoDataFrame(cams, geometry="geometry", crs="EPSG:4326")
    return cams


def run_scenario(
    baseline: AnalysisResult, scenario: Scenario, *, progress: Progress | None = None
) -> ScenarioResult:
    """Apply ``scenario`` to ``baseline``, recomputing only the changed cameras' views."""
    st = baseline.state
    n_old = len(st.cameras)
    cams = apply_scenario(st.cameras, scenario)
    beyond_notes: tuple[str, ...] = ()
    if len(cams) > n_old:  # added cameras beyond reach are left out, as in a full run
        area = shapely.union_all(np.asarray(st.grid_index.grids.geometry.values))
        added, beyond = split_beyond_reach(
            cams.iloc[n_old:], area, st.crs, st.config.camera_defaults
        )
        cams = gpd.GeoDataFrame(
            pd.concat([cams.iloc[:n_old], added], ignore_index=True), crs="EPSG:4326"
        )
        beyond_notes = tuple(line for line in (beyond_line(beyond, None),) if line)
    ids = cams["camera_id"].astype(str).to_numpy()
    aim = _positions(ids[:n_old], [str(c) for c in scenario.reaimed], "re-aimed")
    changed = np.unique(np.r_[aim, np.arange(n_old, len(cams))]).astype(np.int64)
    views = st.views.copy()
    views["status"] = cams["status"].to_numpy()[:n_old]
    cell_idx, cam_idx = st.coverage.cell_idx, st.coverage.camera_idx
    known = st.known_lonlat()  # EPSG:4326 views already built for the baseline's table
    lonlat = None if known is None else np.r_[known, np.full(len(cams) - n_old, None, object)]
    cfg, v3 = st.config, st.views3d
    levels = None if st.detail is None else (st.detail.pair_level, st.detail.pair_night)
    if changed.size:
        walls = st.walls if st.walls is not None else st.buildings  # prepared once
        if v3 is not None:  # 3D: the changed cameras among the same prisms
            h_t = cfg.target_height_m
            new3 = views_3d(cams.iloc[changed], st.buildings, st.walls, st.crs, cfg)
            v3 = dataclasses.replace(v3, optics=v3.optics.updated(changed, new3.optics))
            new = new3.views
        else:
            new = compute_views(cams.iloc[changed], walls, st.config, st.crs)
        new.index = changed
        if lonlat is not None:
            lonlat[changed] = None  # reprojected when the scenario's views table is built
        views = pd.concat([views.drop(index=changed[changed < n_old]), new]).sort_index()
        views = gpd.GeoDataFrame(views, geometry="geometry", crs=st.crs)
        geoms = np.asarray(new.geometry.values)
        cells = st.cells
        if v3 is not None:
            sp = cover_3d_pairs(new3, cells, target_height_m=h_t, threads=cfg.threads)
            ci, ki = sp.cell_idx, sp.camera_idx
        else:
            ci, ki = cover_pairs(
                geoms,
                cells.x,
                cells.y,
                threads=st.config.threads,
                tree=cells.tree,
                sectors=Sectors.from_views(new),
            )
        keep = ~np.isin(cam_idx, changed)
        cell_idx = np.r_[cell_idx[keep], ci]
        cam_idx = np.r_[cam_idx[keep], changed[ki]]
        if levels is not None:
            levels = (np.r_[levels[0][keep], sp.level], np.r_[levels[1][keep], sp.night])
    counted = camera_counted(
        views["status"].to_numpy(),
        include_offline=st.config.include_offline,
        unknown_online=st.config.unknown_online,
    )
    # A disabled camera never covers, even in a run that counts offline cameras.
    counted[_positions(ids[:n_old], [str(c) for c in scenario.disabled], "disabled")] = False
    coverage = cover_cells(len(st.cells), cell_idx, cam_idx, counted)
    detail = None
    if levels is not None:
        detail = detail_cover(len(st.cells), cell_idx, cam_idx, *levels, counted)
    added_grid = locate_points(
        np.asarray(st.grid_index.grids.geometry.values),
        st.grid_index.level,
        cams.geometry.x.to_numpy()[n_old:],
        cams.geometry.y.to_numpy()[n_old:],
    )
    points = st.camera_points
    if points is not None and len(cams) > n_old:
        added_m = cams.geometry.iloc[n_old:].to_crs(st.crs)
        points = np.r_[points, np.asarray(added_m.values)]
    notes = beyond_notes + st.notes
    if len(cams) > n_old:  # added cameras outside the grids get the same note as in a full run
        area = shapely.union_all(np.asarray(st.grid_index.grids.geometry.values))
        notes += tuple(camera_notes(cams.iloc[n_old:], area, st.crs, first_row=n_old))
    state = dataclasses.replace(
        st,
        cameras=cams,
        views=views,
        views_lonlat=lonlat,
        coverage=coverage,
        camera_grid=np.r_[st.camera_grid, added_grid],
        notes=notes,
        camera_points=points,
        views3d=v3,
        detail=detail,
    )
    result = finish(state, progress=progress)
    return ScenarioResult(
        scenario,
        result,
        grid_deltas(baseline.grid_stats, result.grid_stats),
        MappingProxyType(summary_deltas(baseline.summary, result.summary)),
        int(changed.size),
    )


def grid_deltas(base: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per grid code: scenario minus baseline of every numeric statistic, plus targets."""
    b = base.set_index("code")
    s = new.set_index("code").reindex(b.index)
    num = [
        c
        for c in b.columns
        if c != "level"
        and pd.api.types.is_numeric_dtype(b[c])
        and not pd.api.types.is_bool_dtype(b[c])
    ]
    out = (s[num] - b[num]).add_prefix("d_")
    out.insert(0, "level", b["level"])
    out["targets_met_before"] = b["targets_met"]
    out["targets_met_after"] = s["targets_met"]
    return out.reset_index()


def summary_deltas(base: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, float]:
    """Scenario minus baseline of every numeric summary figure."""
    return {
        k: float(new[k]) - float(v)
        for k, v in base.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k in new
    }
