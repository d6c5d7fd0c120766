"""The blind spots of the incremental what-if (private helper of ``live.state.LiveState``).

Per blind spot (internal id, never reused) its cells, sums, smallest H3 id (the tie-break),
outline, main grid and nearest features (counted / not counted camera, post). An edit
re-clusters the blind cells on the H3 cell graph around the cells whose blind flag flipped
(the other spots keep outline and figures) and searches the nearest camera again only where
an edit moved a camera between the two sets.
"""

from __future__ import annotations

from typing import Any

import h3.api.numpy_int as h3n
import numpy as np
import shapely

from gridcover.coverage._tables import main_grid
from gridcover.coverage.analysis import AnalysisResult, AnalysisState
from gridcover.coverage.gaps import _outline, cluster_cells
from gridcover.coverage.live.level_counts import LiveDetail
from gridcover.coverage.live.nearest_cameras import NearestCameras

NEAR = ("camera", "offline_camera")


class LiveSpots:
    """The blind-spot part of ``LiveState`` (its base class): built by ``_clusters_from``,
    changed by ``_recluster`` and ``_renear``, shown by ``spot_columns``."""

    st: AnalysisState
    counts: np.ndarray
    counted: np.ndarray
    alive: np.ndarray  # camera rows in the layer now (an added camera removed: False)
    detail: LiveDetail | None
    near: NearestCameras
    cam_pts: np.ndarray
    to_metric: Any

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
                for p, mask in self._sets():
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

    def _sets(self) -> tuple[tuple[str, np.ndarray], tuple[str, np.ndarray]]:
        """The two sets a blind spot's nearest camera is taken from: the counted cameras and
        the others (cameras of the layer only: removed added cameras are in neither)."""
        return ("camera", self.counted & self.alive), ("offline_camera", ~self.counted & self.alive)

    def _renear(self, rows: np.ndarray, before: dict[str, np.ndarray]) -> None:
        """Cameras ``rows`` (unique) may have left or joined the nearest sets; ``before``:
        per set, whether each of ``rows`` was in it before the edit."""
        alive = np.flatnonzero(self.c_alive)
        for p, mask in self._sets():
            was, now = before[p], mask[rows]
            left, joined = rows[was & ~now], rows[now & ~was]
            near = self.near_row[p]
            lost = alive[np.isin(near[alive], left)]
            for c in lost:  # their nearest left the set: search again (it can only be farther)
                near[c], self.near_d[p][c] = self.near.nearest_in(
                    self.c_geom_m[c], mask, self.near_d[p][c]
                )
            for k in np.sort(joined):  # joined the set: nearer (or tie, lower row)?
                d = shapely.distance(self.c_geom_m[alive], self.cam_pts[k])
                cur, cur_d = near[alive], self.near_d[p][alive]
                better = (cur < 0) | (d < cur_d) | ((d == cur_d) & (k < cur))
                near[alive[better]] = k
                self.near_d[p][alive[better]] = d[better]

    def cell_cluster(self) -> np.ndarray:
        """Per cell, the rank of its blind spot (1 = heaviest) or 0."""
        rank = np.zeros(len(self.c_alive) + 1, np.int64)
        alive = np.flatnonzero(self.c_alive)
        order = alive[np.lexsort((self.c_min[alive], -self.c_area[alive], -self.c_w[alive]))]
        rank[order] = np.arange(1, order.size + 1)
        self._order = order
        return rank[self.cell_cid]  # cell_cid -1 -> the last slot, 0

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
