"""The detail levels behind an incremental what-if of a 3D run (private helper of
``live.state.LiveState``).

Per camera the DORI level (1-4) and night flag of every cell it sees (aligned with
``LiveState.hits``); per cell the counted cameras at level >= k, by day and at night, so the
best level of a cell is the number of k with a non-zero count and an edit only adds or
subtracts the edited cameras' pairs; per grid (every level) and over the whole area the
area and priority weight seen at level >= k (day, night) and the cells below their required
level. The sums start as ``detail.level_statistics`` / ``level_summary`` compute them and
then move by the cells whose best level changed (an edit costs what it touches, not the
456k cells of the area): they stay within 1e-9 of a full run's (not bit for bit, unlike
the 2D sums, which ``live.state`` recomputes grid by grid).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridcover.coverage.detail import DetailCoverage, detail_cover
from gridcover.coverage.stats import LEVELS
from gridcover.coverage.views.sight import roof_heights

_KEYS = [(night, k) for night in (False, True) for k in range(1, 5)]


def _name(night: bool, w: bool, k: int) -> str:
    return f"{'night_' if night else ''}{'w' if w else ''}pct_l{k}"


class LiveDetail:
    """Per-pair levels, per-cell level counts and per-grid level sums of a 3D run."""

    def __init__(self, base: Any, order: np.ndarray, start: np.ndarray) -> None:
        """``base``: the 3D ``AnalysisResult``; ``order``: the baseline pairs sorted by
        camera (the order of ``LiveState.hit_cells``), ``start``: each camera's first."""
        st = self.st = base.state
        self.start = start
        det: DetailCoverage = st.detail
        self.level = det.pair_level[order]
        self.night = det.pair_night[order]
        self.level_new: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.required = np.asarray(base.required_level, np.int8)
        cov = st.coverage
        on = cov.counted[cov.camera_idx] & det.pair_night
        n = len(st.cells)
        self.day_by = det.n_by_level.astype(np.int32, copy=True)
        self.night_by = np.zeros((n, 4), np.int32)
        for k in range(4):
            sel = on & (det.pair_level >= k + 1)
            self.night_by[:, k] = np.bincount(cov.cell_idx[sel], minlength=n)
        self.roof_m = roof_heights(st.views3d.prisms, st.cells.x, st.cells.y)
        self.day_best = self._best(self.day_by)
        self.night_best = self._best(self.night_by)
        n_grids = len(st.grid_index.grids)
        self.columns = [_name(night, w, k) for night in (False, True) for w in (False, True)
                        for k in range(1, 5)]  # fmt: skip
        self.sums = {key: np.zeros(n_grids) for key in self.columns}
        self._den(st)
        self._sums_from_cells()
        self._whole_from_cells()

    def _den(self, st: Any) -> None:
        idx, n = st.grid_index, len(st.grid_index.grids)
        self.area = np.zeros(n)
        self.wsum = np.zeros(n)
        for lv in LEVELS:
            g = idx.at_level(idx.cell_grid, lv)
            ok = g >= 0
            self.area += np.bincount(g[ok], weights=st.cells.area_m2[ok], minlength=n)
            self.wsum += np.bincount(g[ok], weights=st.priority.weight[ok], minlength=n)

    def _sums_from_cells(self) -> None:
        st = self.st
        idx, n = st.grid_index, len(st.grid_index.grids)
        area, weight = st.cells.area_m2, st.priority.weight
        for lv in LEVELS:
            g = idx.at_level(idx.cell_grid, lv)
            ok = g >= 0
            for night, k in _KEYS:
                seen = ok & (self.best(None, night) >= k)
                for w, v in ((False, area), (True, weight)):
                    key = _name(night, w, k)
                    self.sums[key] = self.sums[key] + np.bincount(
                        g[seen], weights=v[seen], minlength=n
                    )

    @staticmethod
    def _best(by: np.ndarray) -> np.ndarray:
        return np.asarray((by > 0).sum(axis=1), dtype=np.int8)

    def best(self, at: np.ndarray | None, night: bool = False) -> np.ndarray:
        """Best level (0-4) of the cells at ``at`` (None: all), by day or at night."""
        b = self.night_best if night else self.day_best
        return b if at is None else b[at]

    def _whole_from_cells(self) -> None:
        """Whole-area sums as ``detail.level_summary`` takes them (pairwise, once)."""
        area, weight = self.st.cells.area_m2, self.st.priority.weight
        self.a_total, self.w_total = area.sum(), weight.sum()
        self.whole: dict[tuple[bool, bool, int], float] = {}
        for night, k in _KEYS:
            seen = self.best(None, night) >= k
            self.whole[(night, False, k)] = float(area[seen].sum())
            self.whole[(night, True, k)] = float(weight[seen].sum())
        req = self.required
        self.below = int(((self.day_best < req) & (req > 0)).sum())

    def seen_enough(self, at: np.ndarray) -> np.ndarray:
        """Whether the cells at ``at`` are seen at their required level or better."""
        return np.asarray(self.best(at) >= self.required[at])

    def pair_levels(self, cam: int) -> tuple[np.ndarray, np.ndarray]:
        """Levels and night flags of camera row ``cam``'s pairs (as ``LiveState.hits``)."""
        got = self.level_new.get(cam)
        if got is not None:
            return got
        if cam >= len(self.start) - 1:  # an added camera not yet in the layer
            return np.zeros(0, np.int8), np.zeros(0, bool)
        a, b = self.start[cam], self.start[cam + 1]
        return self.level[a:b], self.night[a:b]

    def update(
        self,
        inv: np.ndarray,
        touched: np.ndarray,
        sign: np.ndarray,
        level: np.ndarray,
        night: np.ndarray,
    ) -> np.ndarray:
        """Add the pairs (``inv``: position in ``touched``; ``sign`` +1 / -1 for a counted
        camera's new / old pair, 0 for others) and move the sums by the cells whose best
        level changed; returns per touched cell whether its level counts changed."""
        changed = np.zeros(touched.size, bool)
        for by, mask in ((self.day_by, np.ones(level.size, bool)), (self.night_by, night)):
            for k in range(4):
                sel = mask & (level >= k + 1)
                d = np.bincount(inv[sel], weights=sign[sel], minlength=touched.size)
                d = d.astype(np.int32)
                by[touched, k] += d
                changed |= d != 0
        at = touched[changed]
        req = self.required[at]
        was = (req > 0) & (self.day_best[at] < req)
        for dark, best, by in ((False, self.day_best, self.day_by),
                               (True, self.night_best, self.night_by)):  # fmt: skip
            old, new = best[at], self._best(by[at])
            best[at] = new
            self._move(at, dark, old, new)
        self.below += int(((req > 0) & (self.day_best[at] < req)).sum() - was.sum())
        return changed

    def _move(self, at: np.ndarray, night: bool, old: np.ndarray, new: np.ndarray) -> None:
        """Move the grid and whole-area sums by cells ``at`` going from ``old`` to ``new``."""
        moved = old != new
        if not moved.any():
            return
        at, old, new = at[moved], old[moved], new[moved]
        idx = self.st.grid_index
        grids = np.stack([idx.at_level(idx.cell_grid[at], lv) for lv in LEVELS])
        area, weight = self.st.cells.area_m2[at], self.st.priority.weight[at]
        for k in range(1, 5):
            step = (new >= k).astype(np.int8) - (old >= k).astype(np.int8)
            if not step.any():
                continue
            for w, v in ((False, area), (True, weight)):
                d = step * v
                self.whole[(night, w, k)] += float(d.sum())
                sums = self.sums[_name(night, w, k)]
                for g in grids:
                    ok = g >= 0
                    np.add.at(sums, g[ok], d[ok])

    def stat_columns(self) -> dict[str, np.ndarray]:
        """The level columns of the grid statistics (``detail.level_statistics``)."""
        out = {}
        for key in self.columns:
            den = self.wsum if "wpct" in key else self.area
            num = self.sums[key]
            out[key] = np.divide(100.0 * num, den, out=np.full(num.shape, np.nan), where=den > 0)
        return out

    def summary(self) -> dict[str, Any]:
        """The 3D figures of the run summary (as ``detail.add_levels`` adds them)."""
        out: dict[str, Any] = {
            "visibility": "3d",
            "target_height_m": float(self.st.config.target_height_m),
        }
        for night in (False, True):
            pre = "night_" if night else ""
            for k, name in enumerate(("detect", "observe", "recognise", "identify"), start=1):
                for w, tot, suf in ((False, self.a_total, "pct"),
                                    (True, self.w_total, "weighted_pct")):  # fmt: skip
                    num = self.whole[(night, w, k)]
                    out[f"{pre}{name}_{suf}"] = float(100 * num / tot) if tot > 0 else np.nan
        out["cells_below_required_level"] = self.below
        return out

    def coverage(
        self, cells: np.ndarray, cams: np.ndarray, counted: np.ndarray, rows: np.ndarray
    ) -> DetailCoverage:
        """The ``DetailCoverage`` of every pair now (``cells``/``cams`` from
        ``LiveState.pairs(rows)``, in the order of the camera rows ``rows``)."""
        both = [self.pair_levels(int(c)) for c in rows]
        level = np.concatenate([b[0] for b in both]) if both else np.zeros(0, np.int8)
        night = np.concatenate([b[1] for b in both]) if both else np.zeros(0, bool)
        return detail_cover(len(self.st.cells), cells, cams, level, night, counted)
