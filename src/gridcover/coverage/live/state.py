"""The mutable arrays behind ``whatif_session.WhatIfSession`` (private helper).

Per camera its covered cells (CSR of baseline pairs plus edited cameras' new cells); per cell
the counts; per blind spot (internal id, never reused) its cells, sums, smallest H3 id (the
tie-break), outline, main grid and nearest features; per grid every ``stats.cell_values`` sum.
Each update keeps them equal to a full run's, in the same order of floating-point additions.
"""

from __future__ import annotations

from typing import Any

import h3.api.numpy_int as h3n
import numpy as np
import shapely

from gridcover.coverage._tables import main_grid
from gridcover.coverage.analysis import AnalysisResult
from gridcover.coverage.cover import camera_counted
from gridcover.coverage.gaps import _outline, cluster_cells
from gridcover.coverage.live.level_counts import LiveDetail
from gridcover.coverage.live.nearest_cameras import NearestCameras
from gridcover.coverage.priority import COMPONENTS
from gridcover.coverage.stats import LEVELS, camera_counts, cell_values, stats_columns
from gridcover.gis.crs import transformer

NEAR = ("camera", "offline_camera")
# sums of ``stats.cell_values`` that no camera edit changes (areas and weights of cells)
_FIXED = frozenset({"area_m2", "open_area_m2", "weight"} | {f"_{k}_area" for k in COMPONENTS})


class LiveState:
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
        self.to_metric = transformer("EPSG:4326", st.crs)
        self._clusters_from(base)
        self._grids_from(base)

    def _clusters_from(self, base: AnalysisResult) -> None:
        t = base.blind_spots
        k = len(t)
        self.cell_cid = np.asarray(base.cell_cluster, dtype=np.int64) - 1  # -1: not blind
        blind = np.flatnonzero(self.cell_cid >= 0)
        by = np.argsort(self.cell_cid[blind], kind="stable")
        bounds = np.searchsorted(self.cell_cid[blind][by], np.arange(k + 1))
        self.c_cells: list[np.ndarray] = [blind[by][bounds[i] : bounds[i + 1]] for i in range(k)]
        self.c_w = t["weight"].to_numpy(float).copy()
        self.c_area = t["area_m2"].to_numpy(float).copy()
        self.c_count = t["cells"].to_numpy(np.int64).copy()
        h3 = self.st.cells.h3
        self.c_min = np.array([h3[c[0]] for c in self.c_cells], dtype=np.int64)
        self.c_alive = np.ones(k, bool)
        self.c_geom = np.asarray(t.geometry.values, dtype=object).copy()
        self.c_geom_m = self._metric(self.c_geom)
        self.c_grid = t["grid_code"].to_numpy(dtype=object).copy()
        cam_ids = self.st.cameras["camera_id"].to_numpy(dtype=object)
        index = {v: i for i, v in enumerate(cam_ids)}
        self.near_row: dict[str, np.ndarray] = {}
        self.near_d: dict[str, np.ndarray] = {}
        for p in NEAR:
            ids = t[f"nearest_{p}"].to_numpy(dtype=object)
            self.near_row[p] = np.array([-1 if v is None else index[v] for v in ids], np.int64)
            self.near_d[p] = t[f"nearest_{p}_m"].to_numpy(float).copy()
        self.post_id = t["nearest_post"].to_numpy(dtype=object).copy()
        self.post_d = t["nearest_post_m"].to_numpy(float).copy()
        self.cam_ids = cam_ids

    def _metric(self, geoms: np.ndarray) -> np.ndarray:
        if len(geoms) == 0:
            return np.empty(0, dtype=object)
        return np.asarray(shapely.transform(geoms, self.to_metric.transform, interleaved=False))

    def _blind(self, at: np.ndarray) -> np.ndarray:
        """Whether the cells at ``at`` are blind now: priority and no counted camera (2D) or
        below their required detail level (3D)."""
        seen = self.counts[at] > 0 if self.detail is None else self.detail.seen_enough(at)
        return np.asarray(self.st.priority.priority[at] & ~seen)

    def _recluster(self, flipped: np.ndarray) -> np.ndarray:
        """Re-cluster around the cells whose blind flag flipped; returns the cells whose
        blind spot changed (old or new members of the clusters replaced)."""
        cells, st = self.st.cells, self.st
        now = self._blind(flipped)
        gone, came = flipped[~now], flipped[now]
        touched = set(self.cell_cid[gone][self.cell_cid[gone] >= 0].tolist())
        if came.size:
            ring = np.concatenate([h3n.grid_disk(int(c), 1) for c in cells.h3[came]])
            pos = cells.index_of(np.asarray(ring, dtype=np.uint64).astype(np.int64))
            pos = pos[pos >= 0]
            touched |= set(self.cell_cid[pos][self.cell_cid[pos] >= 0].tolist())
        old = [self.c_cells[c] for c in sorted(touched)]
        region = np.unique(np.concatenate([*old, came]).astype(np.int64))
        region = region[self._blind(region)]
        for c in touched:
            self.c_alive[c] = False
            self.cell_cid[self.c_cells[c]] = -1
        labels = cluster_cells(cells.h3[region])
        k = int(labels.max()) + 1 if labels.size else 0
        if k:
            first = len(self.c_cells)
            w = np.bincount(labels, weights=st.priority.weight[region], minlength=k)
            area = np.bincount(labels, weights=cells.area_m2[region], minlength=k)
            count = np.bincount(labels, minlength=k)
            groups = [region[labels == j] for j in range(k)]
            geoms = np.array([_outline(cells.h3[g]) for g in groups], dtype=object)
            codes = st.grid_index.grids["code"].astype(str).to_numpy()
            grid = main_grid(
                labels + 1, st.grid_index.cell_grid[region], cells.area_m2[region], codes, k
            )
            for j, g in enumerate(groups):
                self.cell_cid[g] = first + j
            self.c_cells += groups
            self.c_w = np.r_[self.c_w, w]
            self.c_area = np.r_[self.c_area, area]
            self.c_count = np.r_[self.c_count, count]
            self.c_min = np.r_[self.c_min, [cells.h3[g[0]] for g in groups]]
            self.c_alive = np.r_[self.c_alive, np.ones(k, bool)]
            self.c_geom = np.r_[self.c_geom, geoms]
            gm = self._metric(geoms)
            self.c_geom_m = np.r_[self.c_geom_m, gm]
            self.c_grid = np.r_[self.c_grid, grid]
            rows: dict[str, list[int]] = {p: [] for p in NEAR}
            dists: dict[str, list[float]] = {p: [] for p in NEAR}
            for shape in gm:
                for p, mask in (("camera", self.counted), ("offline_camera", ~self.counted)):
                    r, d = self.near.nearest_in(shape, mask, 50.0)
                    rows[p].append(r)
                    dists[p].append(d)
            for p in NEAR:
                self.near_row[p] = np.r_[self.near_row[p], np.array(rows[p], np.int64)]
                self.near_d[p] = np.r_[self.near_d[p], np.array(dists[p], float)]
            pid, pd_ = self._post_nearest(gm)
            self.post_id = np.r_[self.post_id, pid]
            self.post_d = np.r_[self.post_d, pd_]
        return np.unique(np.concatenate([*old, region, gone]).astype(np.int64))

    def _post_nearest(self, shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from gridcover.coverage.gaps import _metric_points, _nearest

        posts = self.st.posts
        if posts is None or len(posts) == 0:
            return np.full(len(shapes), None, object), np.full(len(shapes), np.nan)
        if not hasattr(self, "_posts"):
            self._posts = _metric_points(posts, "post_id", self.st.crs)
        return _nearest(shapes, *self._posts)

    def _renear(self, moved: np.ndarray) -> None:
        """Cameras in ``moved`` switched between counted and not counted."""
        alive = np.flatnonzero(self.c_alive)
        for p, mask in (("camera", self.counted), ("offline_camera", ~self.counted)):
            rows = self.near_row[p]
            lost = alive[np.isin(rows[alive], moved[~mask[moved]])]
            for c in lost:  # their nearest left the set: search again (it can only be farther)
                rows[c], self.near_d[p][c] = self.near.nearest_in(
                    self.c_geom_m[c], mask, self.near_d[p][c]
                )
            for k in np.sort(moved[mask[moved]]):  # joined the set: nearer (or tie, lower row)?
                d = shapely.distance(self.c_geom_m[alive], self.cam_pts[k])
                cur, cur_d = rows[alive], self.near_d[p][alive]
                better = (cur < 0) | (d < cur_d) | ((d == cur_d) & (k < cur))
                rows[alive[better]] = k
                self.near_d[p][alive[better]] = d[better]

    def cell_cluster(self) -> np.ndarray:
        """Per cell, the rank of its blind spot (1 = heaviest) or 0."""
        rank = np.zeros(len(self.c_alive) + 1, np.int64)
        alive = np.flatnonzero(self.c_alive)
        order = alive[np.lexsort((self.c_min[alive], -self.c_area[alive], -self.c_w[alive]))]
        rank[order] = np.arange(1, order.size + 1)
        self._order = order
        return rank[self.cell_cid]  # cell_cid -1 -> the last slot, 0

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
        got = self.hit_new.get(cam)
        if got is not None:
            return got
        return self.hit_cells[self.hit_start[cam] : self.hit_start[cam + 1]]

    def update_cameras(
        self,
        new_hits: dict[int, np.ndarray],
        switched: np.ndarray,
        status: np.ndarray,
        counted: np.ndarray,
        new_levels: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> np.ndarray:
        """Apply new covered cells (re-aimed cameras; in 3D with their levels and night
        flags, ``new_levels``) and new status / counted flags; returns the positions of the
        cells whose counts (or detail levels) changed."""
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
        moved = switched[self.counted[switched] != counted]
        old_status = self.status[switched].copy()
        self.counted = new_counted
        self.status[switched] = status
        self._recount_cameras(switched, old_status, status)
        flipped = touched[blind_before != self._blind(touched)]
        regrid = changed
        if flipped.size:
            regrid = np.union1d(regrid, self._recluster(flipped))
        if moved.size:
            self._renear(np.unique(moved))
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
                g = idx.at_level(self.st.camera_grid[[r]], lv)[0]
                if g < 0:
                    continue
                if a in self.cams:
                    self.cams[a][g] -= 1
                if b in self.cams:
                    self.cams[b][g] += 1

    def spot_columns(self) -> dict[str, Any]:
        """The blind-spot table's columns (rank order; ``geometry``: EPSG:4326 outlines)."""
        self.cell_cluster()
        o = self._order
        cols: dict[str, Any] = {
            "blind_spot": np.arange(1, o.size + 1),
            "grid_code": self.c_grid[o],
            "weight": self.c_w[o],
            "area_m2": self.c_area[o],
            "cells": self.c_count[o],
            "geometry": self.c_geom[o],
        }
        for p in NEAR:
            rows = self.near_row[p][o]
            ids = np.full(o.size, None, dtype=object)
            ids[rows >= 0] = self.cam_ids[rows[rows >= 0]]
            cols[f"nearest_{p}"], cols[f"nearest_{p}_m"] = ids, self.near_d[p][o]
        cols["nearest_post"], cols["nearest_post_m"] = self.post_id[o], self.post_d[o]
        return cols

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

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (cell, camera) covering pair now (cell positions, camera rows)."""
        n_cam = len(self.hit_start) - 1
        hits = [self.hits(c) for c in range(n_cam)]
        sizes = np.fromiter(map(len, hits), np.int64, n_cam)
        cells = np.concatenate(hits) if hits else np.zeros(0, np.int64)
        return cells.astype(np.int64), np.repeat(np.arange(n_cam), sizes)
