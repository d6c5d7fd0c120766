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
of 50 random edits, on 2D and on 3D runs); ``full_result()`` builds the complete
``AnalysisResult`` (cells and views tables) when an output needs it. A view computed
alone can differ from the same view computed in a batch in the last bits of its vertices
(numpy's vectorised sin/cos depend on an element's place in the array; about 1e-10 m):
the views table of ``full_result`` equals a full run's to 1e-9 m, every other table
exactly. Semantics are those of ``whatif``: a disabled camera gets status ``offline`` and
never counts. Adding cameras goes through ``run_scenario``; ``apply(scenario)`` moves
the session to any scenario without added cameras (the API's stateless what-if).

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
from gridcover.coverage.analysis import AnalysisResult, compute_views
from gridcover.coverage.cover import Coverage, Sectors, cover_pairs
from gridcover.coverage.cover3d import cover_3d_pairs
from gridcover.coverage.live.result import LiveResult, _GridDeltas
from gridcover.coverage.live.state import LiveState
from gridcover.coverage.views.sight import Optics
from gridcover.coverage.views.views3d import Views3D, camera_views_3d
from gridcover.coverage.whatif import EDIT_FIELDS, Scenario, summary_deltas
from gridcover.errors import InputError

__all__ = ["LiveResult", "WhatIfSession"]


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
        self._reaimed: dict[str, dict[str, Any]] = {}
        self._views: dict[int, gpd.GeoDataFrame] = {}  # recomputed view rows (metric CRS)
        self._optics: dict[int, Optics] = {}  # 3D: recomputed cameras' optics (one row each)

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

    def apply(self, scenario: Scenario) -> LiveResult:
        """Move the session to ``scenario`` (its disabled and re-aimed cameras; added or
        repaired cameras go through ``run_scenario``): only the cameras whose aim differs
        from the session's are recomputed (those set back to the baseline's aim take their
        baseline cells again) and only those whose disabled flag differs are switched."""
        if (scenario.added is not None and len(scenario.added)) or scenario.repaired:
            raise InputError(
                f"What-if session: scenario {scenario.name!r} adds or repairs cameras; "
                "run it with whatif.run_scenario."
            )
        want = {str(k): _clean(str(k), v) for k, v in scenario.reaimed.items()}
        off = dict.fromkeys(str(c) for c in scenario.disabled)
        self._rows(tuple(want), "re-aimed")
        self._rows(tuple(off), "disabled")
        flip = sorted(set(off).symmetric_difference(self._disabled))
        moved = sorted(
            k for k in set(want) | set(self._reaimed) if want.get(k) != self._reaimed.get(k)
        )
        self._disabled, self._reaimed = off, want
        aimed = [k for k in moved if k in want]
        back = [int(self._pos[k]) for k in moved if k not in want]
        return self._apply(
            self._rows(tuple(aimed), "re-aimed"), self._rows(tuple(flip), "disabled"), back
        )

    def _recompute(
        self, aimed: np.ndarray
    ) -> tuple[dict[int, np.ndarray], dict[int, tuple[np.ndarray, np.ndarray]]]:
        """New views of the camera rows ``aimed``: their cells (sorted) and, in 3D, the
        levels and night flags of those cells."""
        st = self.baseline.state
        hits: dict[int, np.ndarray] = {}
        levels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if not aimed.size:
            return hits, levels
        cams, cfg, v3 = self._camera_rows(aimed), st.config, st.views3d
        three_d = v3 is not None and self._live.detail is not None
        if v3 is not None and self._live.detail is not None:
            new3 = camera_views_3d(
                cams, v3.prisms, metric_crs=st.crs, target_height_m=cfg.target_height_m,
                defaults=cfg.camera_defaults, optics_defaults=cfg.optics_defaults,
            )  # fmt: skip
            sp = cover_3d_pairs(
                new3, st.cells, target_height_m=cfg.target_height_m, threads=cfg.threads,
                roof_m=self._live.detail.roof_m,
            )  # fmt: skip
            new, ci, ki = new3.views, sp.cell_idx, sp.camera_idx
        else:
            walls = st.walls if st.walls is not None else st.buildings
            new = compute_views(cams, walls, cfg, st.crs)
            ci, ki = cover_pairs(
                np.asarray(new.geometry.values),
                st.cells.x,
                st.cells.y,
                threads=cfg.threads,
                tree=st.cells.tree,
                sectors=Sectors.from_views(new),
            )
        new.index = aimed
        for j, r in enumerate(aimed):
            at = np.flatnonzero(ki == j)
            at = at[np.argsort(ci[at], kind="stable")]
            self._views[int(r)] = new.iloc[[j]]
            hits[int(r)] = ci[at]
            if three_d:
                levels[int(r)] = (sp.level[at], sp.night[at])
                self._optics[int(r)] = new3.optics.subset([j])
        return hits, levels

    def _apply(
        self, aimed: np.ndarray, switched: np.ndarray, back: list[int] | None = None
    ) -> LiveResult:
        st, live = self.baseline.state, self._live
        new_hits, new_levels = self._recompute(aimed)
        for r in back or []:  # set back to the baseline's aim: its cells and levels again
            self._views.pop(r, None)
            self._optics.pop(r, None)
            a, b = live.hit_start[r], live.hit_start[r + 1]
            new_hits[r] = live.hit_cells[a:b]
            if live.detail is not None:
                new_levels[r] = (live.detail.level[a:b], live.detail.night[a:b])
        status = self._base_status[switched].copy()
        disabled = np.array([self._row[r] in self._disabled for r in switched], dtype=bool)
        status[disabled] = "offline"
        counted = live.base_counted[switched] & ~disabled
        changed = live.update_cameras(new_hits, switched, status, counted, new_levels)
        live.restore(back or [])
        spots, stats = live.spot_columns(), live.stat_columns()
        summary = run_summary(
            self._light_state(),
            pd.DataFrame({"targets_met": stats["targets_met"]}),
            pd.DataFrame({"area_m2": spots["area_m2"], "weight": spots["weight"]}),
            status=live.status,
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
            int(aimed.size),
            spots,
            stats,
            st.grid_index.grids.geometry,
            self._deltas,
        )

    def _light_state(self) -> Any:
        """The baseline state with today's counts and statuses (for ``run_summary``)."""
        live = self._live
        cov = Coverage(
            len(live.counts),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            live.counted,
            live.counts,
            live.counts_other,
        )
        return dataclasses.replace(self.baseline.state, coverage=cov)

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
        v3, detail = st.views3d, None
        if v3 is not None and live.detail is not None:
            v3 = _with_optics(v3, self._optics)
            detail = live.detail.coverage(cell_idx, cam_idx, live.counted.copy())
        state = dataclasses.replace(
            st,
            cameras=cams,
            views=views,
            views_lonlat=lonlat,
            coverage=coverage,
            views3d=v3,
            detail=detail,
        )
        last = self._apply(np.empty(0, np.int64), np.empty(0, np.int64))
        table, stats = last.blind_spots, last.grid_stats
        summary = run_summary(state, stats, table)
        if live.detail is not None:
            summary.update(live.detail.summary())
        return AnalysisResult(
            table,
            stats,
            MappingProxyType(summary),
            st.notes,
            state,
            last.cell_cluster,
            self.baseline.required_level,
        )


def _clean(camera_id: str, change: Mapping[str, Any]) -> dict[str, float | None]:
    """A scenario's change of one camera with NaN as None (the session's own form)."""
    bad = set(change) - set(EDIT_FIELDS)
    if bad:
        raise InputError(
            f"What-if session: re-aiming camera {camera_id!r} sets {', '.join(sorted(bad))}; "
            f"give {', '.join(EDIT_FIELDS)}."
        )
    return {k: None if v is None or v != v else float(v) for k, v in change.items()}


def _with_optics(v3: Views3D, optics: Mapping[int, Optics]) -> Views3D:
    """``v3`` with the optics of the recomputed camera rows replaced."""
    if not optics:
        return v3
    rows = sorted(optics)
    fields = Optics.__dataclass_fields__
    new = Optics(*(np.concatenate([getattr(optics[r], f) for r in rows]) for f in fields))
    return dataclasses.replace(v3, optics=v3.optics.updated(rows, new))
