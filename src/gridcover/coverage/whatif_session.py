"""Incremental what-if: a planner re-aims, disables or re-enables cameras one edit at a time.

``WhatIfSession(baseline)`` keeps, from a finished ``run_analysis`` result, every camera's
covered cells, the per-cell camera counts, the blind-spot clusters (cells, sums, outline,
nearest features) and the per-grid sums. An edit recomputes only

- the views and covering pairs of the edited cameras (``cover_pairs`` on their new views);
- the counts of the cells those cameras covered before or cover now;
- the blind spots whose cells changed (re-clustered on the H3 cell graph around the changed
  cells; the others keep their outline and figures) and the nearest counted / not counted
  camera where an edit moved a camera between the two sets;
- the per-grid sums of the grids holding a changed cell (every level), from their cells
  in the same order as ``stats.grid_statistics``, so the sums are bit for bit the same.

Every edit returns a ``LiveResult`` with the tables a full ``whatif.run_scenario`` of the
same cumulative scenario gives (``session.scenario``; the tests compare them after each
of 50 random edits); ``full_result()`` builds the complete ``AnalysisResult`` (cells and
views tables) when an output needs it. A view computed alone can differ from the same
view computed in a batch in the last bits of its vertices (numpy's vectorised sin/cos
depend on an element's place in the array; about 1e-10 m): the views table of
``full_result`` equals a full run's to 1e-9 m, every other table exactly. Semantics are
those of ``whatif``: a disabled camera gets status ``offline`` and never counts. Adding
cameras goes through ``run_scenario``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage._live_state import LiveState
from gridcover.coverage._tables import run_summary
from gridcover.coverage.analysis import AnalysisResult, compute_views
from gridcover.coverage.cover import Coverage, Sectors, cover_pairs
from gridcover.coverage.whatif import REAIM_FIELDS, Scenario, summary_deltas
from gridcover.errors import InputError

__all__ = ["LiveResult", "WhatIfSession"]


@dataclass(frozen=True, eq=False)
class LiveResult:
    """The figures after an edit, as a full run of ``scenario`` gives them.

    ``summary`` / ``summary_deltas``: overall figures and their change from the baseline;
    ``counts`` / ``counts_other`` / ``cell_cluster``: per cell, counted and other cameras
    and the blind-spot id (0 = none); ``cells_changed``: positions of the cells whose
    counts changed in this edit; ``views_recomputed``: cameras whose view was recomputed.
    The tables (``blind_spots``, ``grid_stats``, ``grid_deltas``; EPSG:4326) are built on
    first use from columns kept with the result.
    """

    scenario: Scenario
    summary: Mapping[str, Any]
    summary_deltas: Mapping[str, float]
    counts: np.ndarray
    counts_other: np.ndarray
    cell_cluster: np.ndarray
    cells_changed: np.ndarray
    views_recomputed: int
    _spots: Mapping[str, Any] = field(repr=False)
    _stats: Mapping[str, Any] = field(repr=False)
    _grids: gpd.GeoSeries = field(repr=False)
    _deltas: _GridDeltas = field(repr=False)

    @cached_property
    def blind_spots(self) -> gpd.GeoDataFrame:
        cols = dict(self._spots)
        cols["geometry"] = gpd.array.from_shapely(cols["geometry"], crs="EPSG:4326")
        return gpd.GeoDataFrame(cols, geometry="geometry", crs="EPSG:4326")

    @cached_property
    def grid_stats(self) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(dict(self._stats), geometry=self._grids.values, crs="EPSG:4326")

    @cached_property
    def grid_deltas(self) -> pd.DataFrame:
        """``whatif.grid_deltas`` of the baseline's and this edit's grid statistics."""
        return self._deltas(self._stats)


class WhatIfSession:
    """Incremental what-if scenarios on one baseline ``AnalysisResult`` (see module doc).

    Not thread-safe: one session per planner; edits are applied in call order.
    """

    def __init__(self, baseline: AnalysisResult) -> None:
        if baseline.state.detail is not None or baseline.state.config.visibility != "2d":
            raise InputError(
                "What-if session: the baseline is a 3D-visibility run; the incremental what-if "
                "supports visibility '2d' runs; use run_scenario for 3d."
            )
        self.baseline = baseline
        self._live = LiveState(baseline)
        st = baseline.state
        ids = st.cameras["camera_id"].astype(str).to_numpy()
        self._row = pd.Index(ids)
        self._pos = {v: i for i, v in enumerate(ids)}
        self._deltas = _GridDeltas(baseline.grid_stats)
        if self._row.has_duplicates:
            raise InputError(
                "What-if session: the camera layer repeats camera_id values; give each camera "
                "a unique camera_id (gridcover check reports them)."
            )
        self._base_status = self._live.status.copy()  # as strings, like the statistics
        self._disabled: dict[str, None] = {}
        self._reaimed: dict[str, dict[str, Any]] = {}
        self._views: dict[int, gpd.GeoDataFrame] = {}  # recomputed view rows (metric CRS)

    @property
    def scenario(self) -> Scenario:
        """The cumulative scenario of every edit so far (for ``whatif.run_scenario``)."""
        return Scenario(
            name="session",
            disabled=tuple(self._disabled),
            reaimed={k: dict(v) for k, v in self._reaimed.items()},
        )

    def _rows(self, ids: tuple[str, ...], what: str) -> np.ndarray:
        pos = np.array([self._pos.get(str(i), -1) for i in ids], dtype=np.int64)
        if (pos < 0).any():
            bad = [i for i, p in zip(ids, pos, strict=True) if p < 0]
            raise InputError(
                f"What-if session: {what} camera id(s) {', '.join(map(repr, bad[:10]))} are not "
                "in the baseline's camera layer; use its camera_id values."
            )
        return pos.astype(np.int64)

    def reaim(self, camera_id: str, **change: float | None) -> LiveResult:
        """Re-aim one camera: ``azimuth_deg`` / ``fov_deg`` / ``range_m`` (degrees clockwise
        from north, metres; None = type default / 360°), on top of earlier edits."""
        bad = set(change) - set(REAIM_FIELDS)
        if bad or not change:
            raise InputError(
                f"What-if session: re-aiming camera {camera_id!r} sets "
                f"{', '.join(sorted(bad)) or 'nothing'}; give {', '.join(REAIM_FIELDS)}."
            )
        row = self._rows((camera_id,), "re-aimed")
        self._reaimed.setdefault(str(camera_id), {}).update(
            {k: None if v is None else float(v) for k, v in change.items()}
        )
        return self._apply(row, np.empty(0, np.int64))

    def disable(self, *camera_ids: str) -> LiveResult:
        """Disable cameras (status offline, never counted)."""
        rows = self._rows(camera_ids, "disabled")
        for c in camera_ids:
            self._disabled[str(c)] = None
        return self._apply(np.empty(0, np.int64), rows)

    def enable(self, *camera_ids: str) -> LiveResult:
        """Undo ``disable`` for these cameras (their baseline status again)."""
        rows = self._rows(camera_ids, "enabled")
        for c in camera_ids:
            self._disabled.pop(str(c), None)
        return self._apply(np.empty(0, np.int64), rows)

    def _camera_rows(self, rows: np.ndarray) -> gpd.GeoDataFrame:
        """The cameras at ``rows`` as the cumulative scenario leaves them (as apply_scenario)."""
        cams = self.baseline.state.cameras.iloc[rows].copy()
        if "status" not in cams.columns:
            cams["status"] = "unknown"
        for p, r in enumerate(rows):
            cid = self._row[r]
            if cid in self._disabled:
                cams.iloc[p, cams.columns.get_loc("status")] = "offline"
            for k, v in self._reaimed.get(cid, {}).items():
                if k not in cams.columns:
                    cams[k] = np.nan
                cams.iloc[p, cams.columns.get_loc(k)] = np.nan if v is None else float(v)
        return cams

    def _apply(self, aimed: np.ndarray, switched: np.ndarray) -> LiveResult:
        st, live = self.baseline.state, self._live
        new_hits: dict[int, np.ndarray] = {}
        if aimed.size:
            walls = st.walls if st.walls is not None else st.buildings
            new = compute_views(self._camera_rows(aimed), walls, st.config, st.crs)
            new.index = aimed
            ci, ki = cover_pairs(
                np.asarray(new.geometry.values),
                st.cells.x,
                st.cells.y,
                threads=st.config.threads,
                tree=st.cells.tree,
                sectors=Sectors.from_views(new),
            )
            for j, r in enumerate(aimed):
                self._views[int(r)] = new.iloc[[j]]
                new_hits[int(r)] = np.sort(ci[ki == j])
        status = self._base_status[switched].copy()
        disabled = np.array([self._row[r] in self._disabled for r in switched], dtype=bool)
        status[disabled] = "offline"
        counted = live.base_counted[switched] & ~disabled
        changed = live.update_cameras(new_hits, switched, status, counted)
        spots, stats = live.spot_columns(), live.stat_columns()
        summary = run_summary(
            live.light_state(),
            pd.DataFrame({"targets_met": stats["targets_met"]}),
            pd.DataFrame({"area_m2": spots["area_m2"], "weight": spots["weight"]}),
            status=live.status,
        )
        return LiveResult(
            self.scenario,
            MappingProxyType(summary),
            MappingProxyType(summary_deltas(self.baseline.summary, summary)),
            live.counts.copy(),
            live.counts_other.copy(),
            live.cell_cluster(),
            changed,
            int(aimed.size),
            spots,
            stats,
            st.grid_index.grids.geometry,
            self._deltas,
        )

    def full_result(self) -> AnalysisResult:
        """The complete result of the cumulative scenario (cells and views tables built on
        first use, as for ``run_analysis``)."""
        from gridcover.coverage.whatif import apply_scenario

        st, live = self.baseline.state, self._live
        cams = apply_scenario(st.cameras, self.scenario)
        views = st.views.copy()
        views["status"] = cams["status"].to_numpy()
        known = st.known_lonlat()
        lonlat = None if known is None else known.copy()
        if self._views:
            rows = np.array(sorted(self._views), dtype=np.int64)
            new = pd.concat([self._views[int(r)] for r in rows])
            views = pd.concat([views.drop(index=rows), new]).sort_index()
            views = gpd.GeoDataFrame(views, geometry="geometry", crs=st.crs)
            views["status"] = cams["status"].to_numpy()
            if lonlat is not None:
                lonlat[rows] = None
        cell_idx, cam_idx = live.pairs()
        coverage = Coverage(
            len(st.cells), cell_idx, cam_idx, live.counted.copy(), live.counts, live.counts_other
        )
        state = dataclasses.replace(
            st, cameras=cams, views=views, views_lonlat=lonlat, coverage=coverage
        )
        last = self._apply(np.empty(0, np.int64), np.empty(0, np.int64))
        table, stats = last.blind_spots, last.grid_stats
        summary = run_summary(state, stats, table)
        return AnalysisResult(
            table, stats, MappingProxyType(summary), st.notes, state, last.cell_cluster
        )


class _GridDeltas:
    """``whatif.grid_deltas`` against one baseline, its side prepared once (same table)."""

    def __init__(self, base: pd.DataFrame) -> None:
        b = base.set_index("code")
        self.num = [
            c
            for c in b.columns
            if c != "level"
            and pd.api.types.is_numeric_dtype(b[c])
            and not pd.api.types.is_bool_dtype(b[c])
        ]
        self.base = {c: b[c].to_numpy() for c in self.num}
        self.head = {"code": b.index.to_numpy(), "level": b["level"].to_numpy()}
        self.met = b["targets_met"].to_numpy()

    def __call__(self, new: Mapping[str, Any]) -> pd.DataFrame:
        if not np.array_equal(np.asarray(new["code"]), self.head["code"]):
            raise InputError("What-if session: the grids changed; start a new session.")
        cols: dict[str, Any] = dict(self.head)
        for c in self.num:
            cols[f"d_{c}"] = np.asarray(new[c]) - self.base[c]
        cols["targets_met_before"] = self.met
        cols["targets_met_after"] = np.asarray(new["targets_met"])
        return pd.DataFrame(cols)
