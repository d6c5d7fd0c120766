"""Incremental what-if: a planner re-aims, disables, re-enables, repairs or adds cameras one
edit at a time.

``WhatIfSession(baseline)`` keeps, from a finished ``run_analysis`` result, every camera's
covered cells, the per-cell camera counts, the blind-spot clusters (cells, sums, outline,
nearest features) and the per-grid sums. An edit recomputes only

- the views and covering pairs of the edited or added cameras (``cover_pairs`` on their
  new views);
- the counts of the cells those cameras covered before or cover now;
- the blind spots whose cells changed (re-clustered on the H3 cell graph around the changed
  cells; the others keep their outline and figures) and the nearest counted / not counted
  camera where an edit moved a camera into or out of one of the two sets;
- the per-grid sums of the grids holding a changed cell (every level), from their cells
  in the same order as ``stats.grid_statistics``, so the sums are bit for bit the same.

Every edit returns a ``LiveResult`` with the tables a full ``whatif.run_scenario`` of the
same cumulative scenario gives (``session.scenario``; the tests compare them after each
of 50 random edits, on 2D and on 3D runs); ``full_result()`` builds the complete
``AnalysisResult`` (cells and views tables) when an output needs it. A view computed
alone can differ from the same view computed in a batch in the last bits of its vertices
(numpy's vectorised sin/cos depend on an element's place in the array; about 1e-10 m):
the views table of ``full_result`` equals a full run's to 1e-9 m, every other table
exactly. Semantics are those of ``whatif``: a disabled camera gets status ``offline`` and
never counts; a repaired one gets status ``online``; added cameras are appended in the
order added (one that cannot reach the grids is left out, as in a full run), and only
added cameras can be removed. ``apply(scenario)`` moves the session to any scenario (the
API's stateless what-if), recomputing only what differs from the session's.

A 3D run (``visibility="3d"``) keeps in addition every pair's detail level and night flag,
per cell the counted cameras at each level (day and night) and per grid the area and weight
seen at each level (``live.level_counts``): an edit recomputes the edited cameras' 3D views (among
the same building prisms, with the cells' roof heights computed once) and the detail levels
of the cells they see; a cell is blind below its required level, as in a full 3D run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage._tables import run_summary
from gridcover.coverage.analysis import AnalysisResult
from gridcover.coverage.cover import Coverage, camera_counted
from gridcover.coverage.live.added import OUT, AddedCameras
from gridcover.coverage.live.recompute import recompute
from gridcover.coverage.live.result import LiveResult, _GridDeltas
from gridcover.coverage.live.state import LiveState
from gridcover.coverage.stats import locate_points
from gridcover.coverage.views.sight import Optics
from gridcover.coverage.whatif import EDIT_FIELDS, Scenario, summary_deltas
from gridcover.errors import InputError

__all__ = ["LiveResult", "WhatIfSession"]

_NONE = np.empty(0, np.int64)


class WhatIfSession:
    """Incremental what-if scenarios on one baseline ``AnalysisResult`` (see module doc).

    Not thread-safe: one session per planner; edits are applied in call order.
    """

    def __init__(self, baseline: AnalysisResult) -> None:
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
        self._repaired: dict[str, None] = {}
        self._reaimed: dict[str, dict[str, Any]] = {}
        self._added = AddedCameras(st, self._pos)
        self._views: dict[int, gpd.GeoDataFrame] = {}  # recomputed view rows (metric CRS)
        self._optics: dict[int, Optics] = {}  # 3D: recomputed cameras' optics (one row each)

    @property
    def scenario(self) -> Scenario:
        """The cumulative scenario of every edit so far (for ``whatif.run_scenario``)."""
        return Scenario(
            name="session",
            disabled=tuple(self._disabled),
            added=self._added.frame(),
            reaimed={k: dict(v) for k, v in self._reaimed.items()},
            repaired=tuple(self._repaired),
        )

    @property
    def cameras_added(self) -> int:
        """Added cameras in the layer now (those that can reach the grids)."""
        return int(self._added.live_rows().size)

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
        from north, metres; None = type default / 360°) and, for 3D runs, ``height_m`` /
        ``tilt_deg`` / ``resolution_px`` (``whatif.OPTICS_FIELDS``), on top of earlier
        edits."""
        bad = set(change) - set(EDIT_FIELDS)
        if bad or not change:
            raise InputError(
                f"What-if session: re-aiming camera {camera_id!r} sets "
                f"{', '.join(sorted(bad)) or 'nothing'}; give {', '.join(EDIT_FIELDS)}."
            )
        row = self._rows((camera_id,), "re-aimed")
        self._reaimed.setdefault(str(camera_id), {}).update(
            {k: None if v is None else float(v) for k, v in change.items()}
        )
        return self._apply(row, _NONE)

    def disable(self, *camera_ids: str) -> LiveResult:
        """Disable cameras (status offline, never counted)."""
        rows = self._rows(camera_ids, "disabled")
        for c in camera_ids:
            self._disabled[str(c)] = None
        return self._apply(_NONE, rows)

    def enable(self, *camera_ids: str) -> LiveResult:
        """Undo ``disable`` for these cameras (their baseline status again)."""
        rows = self._rows(camera_ids, "enabled")
        for c in camera_ids:
            self._disabled.pop(str(c), None)
        return self._apply(_NONE, rows)

    def repair(self, *camera_ids: str) -> LiveResult:
        """Repair cameras: status ``online`` (a disabled camera stays not counted)."""
        rows = self._rows(camera_ids, "repaired")
        for c in camera_ids:
            self._repaired[str(c)] = None
        return self._apply(_NONE, rows)

    def add(self, cameras: gpd.GeoDataFrame) -> LiveResult:
        """Add cameras (rows of a camera layer, any CRS: ``camera_id``, a point and any of
        the camera columns: type, azimuth, FOV, range, height, tilt, resolution, lens,
        status); their ids must be new. Only their views and cells are computed."""
        cams, ids = self._added.split(cameras, "added")
        taken = sorted(set(ids) & set(self._added.rows))
        if taken:
            raise InputError(
                f"What-if session: camera id(s) {', '.join(map(repr, taken[:10]))} were added "
                "already; remove them first or give new ids."
            )
        keys = self._added.keys_of(cams)
        new = {c: (cams.iloc[[i]].reset_index(drop=True), keys[i]) for i, c in enumerate(ids)}
        return self._apply(_NONE, _NONE, add=new)

    def remove(self, *camera_ids: str) -> LiveResult:
        """Remove added cameras (baseline cameras are disabled, not removed)."""
        bad = [c for c in camera_ids if str(c) not in self._added.rows]
        if bad:
            raise InputError(
                f"What-if session: camera id(s) {', '.join(map(repr, bad[:10]))} were not "
                "added in this session; only added cameras can be removed (disable the others)."
            )
        return self._apply(_NONE, _NONE, remove=[str(c) for c in camera_ids])

    def _camera_rows(self, rows: np.ndarray) -> gpd.GeoDataFrame:
        """The cameras at ``rows`` as the cumulative scenario leaves them (as apply_scenario)."""
        cams = self.baseline.state.cameras.iloc[rows].copy()
        if "status" not in cams.columns:
            cams["status"] = "unknown"
        for p, r in enumerate(rows):
            cid = self._row[r]
            if cid in self._disabled:
                cams.iloc[p, cams.columns.get_loc("status")] = "offline"
            if cid in self._repaired:
                cams.iloc[p, cams.columns.get_loc("status")] = "online"
            for k, v in self._reaimed.get(cid, {}).items():
                if k not in cams.columns:
                    cams[k] = np.nan
                cams.iloc[p, cams.columns.get_loc(k)] = np.nan if v is None else float(v)
        return cams

    def apply(self, scenario: Scenario) -> LiveResult:
        """Move the session to ``scenario``: only the cameras whose aim differs from the
        session's are recomputed (those set back to the baseline's aim take their baseline
        cells again), only those whose disabled or repaired flag differs are switched, and
        only the added cameras that are new or changed (or out of the scenario's order)
        are computed (those no longer added are removed)."""
        want = {str(k): _clean(str(k), v) for k, v in scenario.reaimed.items()}
        off = dict.fromkeys(str(c) for c in scenario.disabled)
        fixed = dict.fromkeys(str(c) for c in scenario.repaired)
        self._rows(tuple(want), "re-aimed")
        self._rows(tuple(off), "disabled")
        self._rows(tuple(fixed), "repaired")
        ids: list[str] = []
        if scenario.added is not None:
            cams, ids = self._added.split(scenario.added, "added")
            keys = self._added.keys_of(cams)
        flip = sorted(
            set(off).symmetric_difference(self._disabled)
            | set(fixed).symmetric_difference(self._repaired)
        )
        moved = sorted(
            k for k in set(want) | set(self._reaimed) if want.get(k) != self._reaimed.get(k)
        )
        add: dict[str, tuple[gpd.GeoDataFrame, Any]] = {}
        last = -1  # rows follow the layer's order: after one is re-added, the rest are too
        for i, cid in enumerate(ids):
            slot = self._added.slot.get(cid, -2)
            same = slot != -2 and self._added.keys[cid] == keys[i]
            if same and (slot == OUT or (slot > last and not add)):
                last = max(last, slot)
            else:
                add[cid] = (cams.iloc[[i]].reset_index(drop=True), keys[i])
        kept = set(ids)
        remove = [c for c in self._added.rows if c not in kept or c in add]
        self._disabled, self._reaimed, self._repaired = off, want, fixed
        aimed = [k for k in moved if k in want]
        back = [int(self._pos[k]) for k in moved if k not in want]
        return self._apply(
            self._rows(tuple(aimed), "re-aimed"),
            self._rows(tuple(flip), "switched"),
            back,
            add=add,
            remove=remove,
            order=ids,
        )

    def _recompute(
        self, cams: gpd.GeoDataFrame, rows: np.ndarray
    ) -> tuple[dict[int, np.ndarray], dict[int, tuple[np.ndarray, np.ndarray]]]:
        """New views of ``cams`` (EPSG:4326), the cameras of the live rows ``rows``: their
        cells and, in 3D, levels and night flags (their view rows and optics are kept)."""
        got = recompute(self.baseline.state, self._live.detail, cams, rows)
        self._views.update(got.views)
        self._optics.update(got.optics)
        return got.hits, got.levels

    def _arrive(
        self, add: Mapping[str, tuple[gpd.GeoDataFrame, Any]], remove: list[str]
    ) -> tuple[dict[int, np.ndarray], dict[int, tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """Remove and add cameras: their new cells and levels (none for removed ones) and
        their live rows (the status, counted and alive flags are ``_switch``'s)."""
        st, live, added = self.baseline.state, self._live, self._added
        hits: dict[int, np.ndarray] = {}
        levels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        rows: list[int] = []
        if add:  # views first: a camera the views step refuses leaves the session as it was
            frame = gpd.GeoDataFrame(pd.concat([r for r, _ in add.values()], ignore_index=True))
            ok = added.in_reach(frame)
            inside = frame[ok].reset_index(drop=True)
            new = np.arange(len(live.alive), len(live.alive) + len(inside), dtype=np.int64)
            hits, levels = self._recompute(inside, new)
        for cid in remove:
            r = added.drop(cid)
            if r != OUT:
                self._views.pop(r, None)
                self._optics.pop(r, None)
                hits[r], rows = _NONE, [*rows, r]
                if live.detail is not None:
                    levels[r] = (np.zeros(0, np.int8), np.zeros(0, bool))
        if add:
            grid = locate_points(
                np.asarray(st.grid_index.grids.geometry.values), st.grid_index.level,
                inside.geometry.x.to_numpy(), inside.geometry.y.to_numpy(),
            )  # fmt: skip
            pts = live._metric(np.asarray(inside.geometry.values))  # cached transformer
            live.add_slots(inside["camera_id"].astype(str).to_numpy(), pts, grid)
            slots = iter(new.tolist())
            for (cid, (row, key)), in_reach in zip(add.items(), ok, strict=True):
                added.put(cid, row, key, next(slots) if in_reach else OUT)
            rows += new.tolist()
        return hits, levels, np.array(rows, dtype=np.int64)

    def _switch(self, switched: np.ndarray, arrived: np.ndarray) -> tuple[np.ndarray, ...]:
        """Status, counted and alive flags of the baseline rows ``switched`` and of the
        added or removed rows ``arrived`` as the scenario leaves them."""
        cfg, live = self.baseline.state.config, self._live
        status = self._base_status[switched].copy()
        ids = self._row[switched]
        disabled = np.array([c in self._disabled for c in ids], dtype=bool)
        status[disabled] = "offline"
        status[np.array([c in self._repaired for c in ids], dtype=bool)] = "online"
        on = live.alive.copy()
        on[arrived] = [self._views.get(int(r)) is not None for r in arrived]
        came = [str(self._views[int(r)]["status"].iloc[0]) if on[r] else "" for r in arrived]
        status = np.r_[status, np.array(came, dtype=object)]
        counted = camera_counted(
            status, include_offline=cfg.include_offline, unknown_online=cfg.unknown_online
        )
        counted &= np.r_[~disabled, on[arrived]]
        return np.r_[switched, arrived], status, counted, on[np.r_[switched, arrived]]

    def _apply(
        self,
        aimed: np.ndarray,
        switched: np.ndarray,
        back: list[int] | None = None,
        add: Mapping[str, tuple[gpd.GeoDataFrame, Any]] | None = None,
        remove: list[str] | None = None,
        order: list[str] | None = None,
    ) -> LiveResult:
        st, live = self.baseline.state, self._live
        new_hits, new_levels = self._recompute(self._camera_rows(aimed), aimed)
        got, got_levels, arrived = self._arrive(add or {}, remove or [])
        if order is not None:
            self._added.reorder(order)
        new_hits.update(got)
        new_levels.update(got_levels)
        for r in back or []:  # set back to the baseline's aim: its cells and levels again
            self._views.pop(r, None)
            self._optics.pop(r, None)
            a, b = live.hit_start[r], live.hit_start[r + 1]
            new_hits[r] = live.hit_cells[a:b]
            if live.detail is not None:
                new_levels[r] = (live.detail.level[a:b], live.detail.night[a:b])
        rows, status, counted, alive = self._switch(switched, arrived)
        changed = live.update_cameras(new_hits, rows, status, counted, new_levels, alive)
        live.restore(back or [])
        spots, stats = live.spot_columns(), live.stat_columns()
        summary = run_summary(
            self._light_state(),
            pd.DataFrame({"targets_met": stats["targets_met"]}),
            pd.DataFrame({"area_m2": spots["area_m2"], "weight": spots["weight"]}),
            status=live.status[live.alive],
        )
        if live.detail is not None:
            summary.update(live.detail.summary())
        return LiveResult(
            self.scenario,
            MappingProxyType(summary),
            MappingProxyType(summary_deltas(self.baseline.summary, summary)),
            live.counts.copy(),
            live.counts_other.copy(),
            live.cell_cluster(),
            changed,
            int(aimed.size + np.count_nonzero(alive[switched.size :])),
            spots,
            stats,
            st.grid_index.grids.geometry,
            self._deltas,
            self.cameras_added,
        )

    def _light_state(self) -> Any:
        """The baseline state with today's cameras, counts and statuses (for
        ``run_summary``)."""
        live = self._live
        cov = Coverage(
            len(live.counts),
            _NONE,
            _NONE,
            live.counted[live.alive],
            live.counts,
            live.counts_other,
        )
        grid = live.cam_grid[live.alive]
        return dataclasses.replace(self.baseline.state, coverage=cov, camera_grid=grid)

    def full_result(self) -> AnalysisResult:
        """The complete result of the cumulative scenario (cells and views tables built on
        first use, as for ``run_analysis``)."""
        from gridcover.coverage.live.full import full_result

        last = self._apply(_NONE, _NONE)
        return full_result(self.baseline, self._live, self._added, self._views, self._optics, last)


def _clean(camera_id: str, change: Mapping[str, Any]) -> dict[str, float | None]:
    """A scenario's change of one camera with NaN as None (the session's own form)."""
    bad = set(change) - set(EDIT_FIELDS)
    if bad:
        raise InputError(
            f"What-if session: re-aiming camera {camera_id!r} sets {', '.join(sorted(bad))}; "
            f"give {', '.join(EDIT_FIELDS)}."
        )
    return {k: None if v is None or v != v else float(v) for k, v in change.items()}
