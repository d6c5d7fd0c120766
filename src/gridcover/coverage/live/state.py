"""The mutable arrays behind ``whatif_session.WhatIfSession`` (private helper).

Per camera its covered cells (CSR of baseline pairs plus edited cameras' new cells); per cell
the counts; per grid every ``stats.cell_values`` sum; the blind spots (``live.blind_spots``,
the base class). Each update keeps them equal to a full run's, in the same order of
floating-point additions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridcover.coverage.analysis import AnalysisResult
from gridcover.coverage.cover import camera_counted
from gridcover.coverage.live.blind_spots import LiveSpots
from gridcover.coverage.live.level_counts import LiveDetail
from gridcover.coverage.live.nearest_cameras import NearestCameras
from gridcover.coverage.priority import COMPONENTS
from gridcover.coverage.stats import LEVELS, camera_counts, cell_values, stats_columns
from gridcover.gis.crs import transformer

# sums of ``stats.cell_values`` that no camera edit changes (areas and weights of cells)
_FIXED = frozenset({"area_m2", "open_area_m2", "weight"} | {f"_{k}_area" for k in COMPONENTS})


class LiveState(LiveSpots):
    """See the module docstring; built from a result, changed by ``update_cameras``."""

    def __init__(self, base: AnalysisResult) -> None:
        st = self.st = base.state
        cov = st.coverage
        n_cam = len(st.cameras)
        order = np.argsort(cov.camera_idx, kind="stable")
        self.hit_cells = cov.cell_idx[order].astype(np.int64)
        self.hit_start = np.searchsorted(cov.camera_idx[order], np.arange(n_cam + 1))
        self.hit_new: dict[int, np.ndarray] = {}
        self.detail = None if st.detail is None else LiveDetail(base, order, self.hit_start)
        status = st.cameras["status"] if "status" in st.cameras.columns else None
        self.status = (
            np.full(n_cam, "unknown", dtype=object)
            if status is None
            else status.astype(str).to_numpy(dtype=object).copy()
        )
        self.base_counted = camera_counted(
            self.status,
            include_offline=st.config.include_offline,
            unknown_online=st.config.unknown_online,
        )
        self.counted = cov.counted.copy()
        self.counts = cov.counts.copy()
        self.counts_other = cov.counts_other.copy()
        pts = st.camera_points
        if pts is None:
            pts = np.asarray(st.cameras.geometry.to_crs(st.crs).values)
        self.cam_pts = pts
        self.near = NearestCameras(pts)
        self.n_base = n_cam
        self.alive = np.ones(n_cam, bool)
        self.cam_grid = np.asarray(st.camera_grid).copy()
        self.to_metric = transformer("EPSG:4326", st.crs)
        self._clusters_from(base)
        self._grids_from(base)

    def _grids_from(self, base: AnalysisResult) -> None:
        st = self.st
        idx = st.grid_index
        n = len(idx.grids)
        self.g_cells: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for lv in LEVELS:
            gl = idx.at_level(idx.cell_grid, lv)
            order = np.argsort(gl, kind="stable")
            self.g_cells[lv] = (order, np.searchsorted(gl[order], np.arange(-1, n + 1)))
        p = st.priority
        cols = cell_values(
            st.cells.area_m2,
            self.counts > 0,
            p.weight,
            p.components,
            p.in_building,
            base.cell_cluster,
        )
        self.sums = {k: np.zeros(n) for k in cols}
        for lv in LEVELS:
            gl = idx.at_level(idx.cell_grid, lv)
            ok = gl >= 0
            for k, v in cols.items():
                self.sums[k] += np.bincount(gl[ok], weights=v[ok], minlength=n)
        stats = base.grid_stats
        self.blind_count = stats["blind_spots"].to_numpy(np.int64).copy()
        self.cams = camera_counts(idx, st.camera_grid, self.status)
        self.polygon_area = stats["polygon_area_m2"].to_numpy(float)

    def _grid_cells(self, g: int) -> np.ndarray:
        order, bounds = self.g_cells[int(self.st.grid_index.level[g])]
        return order[bounds[g + 1] : bounds[g + 2]]

    def _regrid(self, cells: np.ndarray) -> None:
        """Recompute every sum of the grids (all levels) holding one of ``cells``."""
        idx = self.st.grid_index
        grids = set()
        for lv in LEVELS:
            gl = idx.at_level(idx.cell_grid[cells], lv)
            grids |= set(gl[gl >= 0].tolist())
        if not grids:
            return
        gs = np.array(sorted(grids), np.int64)
        members = [self._grid_cells(g) for g in gs]
        at = np.concatenate(members)
        local = np.repeat(np.arange(gs.size), [m.size for m in members])
        cid = self.cell_cid[at]
        cols = cell_values(
            self.st.cells.area_m2[at],
            self.counts[at] > 0,
            self.st.priority.weight[at],
            {k: v[at] for k, v in self.st.priority.components.items()},
            self.st.priority.in_building[at],
            np.where(cid >= 0, 1, 0),
        )
        for k, v in cols.items():
            if k not in _FIXED:
                self.sums[k][gs] = np.bincount(local, weights=v, minlength=gs.size)
        blind = cid >= 0
        key = np.unique(local[blind] * (len(self.c_alive) + 1) + cid[blind])
        self.blind_count[gs] = np.bincount(key // (len(self.c_alive) + 1), minlength=gs.size)

    def hits(self, cam: int) -> np.ndarray:
        """Cells (positions) camera row ``cam`` covers now."""
        got = self.hit_new.get(cam)
        if got is not None:
            return got
        if cam >= self.n_base:
            return np.zeros(0, np.int64)
        return self.hit_cells[self.hit_start[cam] : self.hit_start[cam + 1]]

    def add_slots(self, ids: np.ndarray, pts: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """Rows for added cameras (``ids``; ``pts``: metric Points; ``grid``: finest grid
        index or -1), appended after every earlier row, not yet in the layer (no cells,
        not counted: ``update_cameras`` brings them in); returns the new rows. A removed
        added camera keeps its row, out of the layer, so rows keep the layer's order."""
        k, n = len(ids), len(self.alive)
        self.counted = np.r_[self.counted, np.zeros(k, bool)]
        self.alive = np.r_[self.alive, np.zeros(k, bool)]
        self.status = np.r_[self.status, np.full(k, "", dtype=object)]
        self.cam_ids = np.r_[self.cam_ids, np.asarray(ids, dtype=object)]
        self.cam_pts = np.r_[self.cam_pts, np.asarray(pts, dtype=object)]
        self.cam_grid = np.r_[self.cam_grid, np.asarray(grid, dtype=self.cam_grid.dtype)]
        self.near.add(pts)
        return np.arange(n, n + k, dtype=np.int64)

    def update_cameras(
        self,
        new_hits: dict[int, np.ndarray],
        switched: np.ndarray,
        status: np.ndarray,
        counted: np.ndarray,
        new_levels: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
        alive: np.ndarray | None = None,
    ) -> np.ndarray:
        """Apply new covered cells (re-aimed or added cameras; in 3D with their levels and
        night flags, ``new_levels``) and new status / counted flags of the rows ``switched``
        (and ``alive``: whether they are in the layer, for added cameras coming or going);
        returns the positions of the cells whose counts (or detail levels) changed."""
        cams = sorted(set(new_hits) | set(switched.tolist()))
        new_counted = self.counted.copy()
        new_counted[switched] = counted
        det, levels = self.detail, new_levels or {}
        at: list[np.ndarray] = [np.zeros(0, np.int64)]
        step: list[np.ndarray] = [np.zeros(0, np.int64)]  # +1 / -1 counted, +2 / -2 other
        lv: list[np.ndarray] = [np.zeros(0, np.int8)]
        nt: list[np.ndarray] = [np.zeros(0, bool)]
        for c in cams:
            old, new = self.hits(c), new_hits.get(c, self.hits(c))
            at += [old, new]
            step += [
                np.full(old.size, -1 if self.counted[c] else -2),
                np.full(new.size, 1 if new_counted[c] else 2),
            ]
            if det is not None:
                was = det.pair_levels(c)
                now = levels.get(c, was)
                lv += [was[0], now[0]]
                nt += [was[1], now[1]]
        cells, steps = np.concatenate(at).astype(np.int64), np.concatenate(step)
        touched, inv = np.unique(cells, return_inverse=True)  # a few hundred cells, not all
        blind_before = self._blind(touched)
        on = np.abs(steps) == 1
        d_on = np.bincount(inv[on], weights=np.sign(steps[on]), minlength=touched.size)
        d_off = np.bincount(inv[~on], weights=np.sign(steps[~on]), minlength=touched.size)
        keep = (d_on != 0) | (d_off != 0)
        if det is not None:
            sign = np.where(on, np.sign(steps), 0)
            keep |= det.update(inv, touched, sign, np.concatenate(lv), np.concatenate(nt))
            det.level_new.update(levels)
        changed = touched[keep]
        self.counts[changed] += d_on[keep].astype(self.counts.dtype)
        self.counts_other[changed] += d_off[keep].astype(self.counts_other.dtype)
        self.hit_new.update(new_hits)
        rows = np.unique(switched)
        before = {p: m[rows] for p, m in self._sets()}
        old_status = self.status[switched].copy()
        self.counted = new_counted
        if alive is not None:
            self.alive[switched] = alive
        self.status[switched] = status
        self._recount_cameras(switched, old_status, status)
        flipped = touched[blind_before != self._blind(touched)]
        regrid = changed
        if flipped.size:
            regrid = np.union1d(regrid, self._recluster(flipped))
        if rows.size:
            self._renear(rows, before)
        if regrid.size:
            self._regrid(regrid)
        return changed

    def restore(self, cams: list[int]) -> None:
        """Forget the new hits of camera rows ``cams`` (after ``update_cameras`` set them
        back to their baseline cells: the baseline arrays serve again)."""
        for c in cams:
            self.hit_new.pop(c, None)
            if self.detail is not None:
                self.detail.level_new.pop(c, None)

    def _recount_cameras(self, rows: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        idx = self.st.grid_index
        for r, a, b in zip(rows, old, new, strict=True):
            if a == b:
                continue
            for lv in LEVELS:
                g = idx.at_level(self.cam_grid[[r]], lv)[0]
                if g < 0:
                    continue
                if a in self.cams:
                    self.cams[a][g] -= 1
                if b in self.cams:
                    self.cams[b][g] += 1

    def stat_columns(self) -> dict[str, Any]:
        """The grid statistics table's columns now (copies: later edits leave them be)."""
        st = self.st
        cols = stats_columns(
            st.grid_index,
            st.cells.area_m2,
            {k: v.copy() for k, v in self.sums.items()},
            self.blind_count.copy(),
            {k: v.copy() for k, v in self.cams.items()},
            self.polygon_area,
            st.weights.targets,
        )
        if self.detail is not None:
            cols.update(self.detail.stat_columns())
        return cols

    def pairs(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (cell, camera) covering pair of the camera rows ``rows`` now (cell
        positions, index into ``rows``: the layer's row when ``rows`` lists its cameras)."""
        hits = [self.hits(int(c)) for c in rows]
        sizes = np.fromiter(map(len, hits), np.int64, len(hits))
        cells = np.concatenate(hits) if hits else np.zeros(0, np.int64)
        return cells.astype(np.int64), np.repeat(np.arange(len(hits)), sizes)
