"""Nearest camera of a set to a blind spot, for ``live.state.LiveState`` (private helper)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely


class NearestCameras:
    """The cameras as metric points (``pts``: shapely Points in the run's metric CRS) and an
    STRtree over them; :meth:`nearest_in` finds the nearest of a subset. Cameras added later
    (``add``; a handful in a what-if) are searched one by one after the tree's rows."""

    def __init__(self, pts: np.ndarray) -> None:
        self.pts = pts
        self.tree = shapely.STRtree(pts)
        xy = shapely.get_coordinates(pts)
        self.box = shapely.box(*xy.min(axis=0), *xy.max(axis=0)) if len(xy) else None
        self.reach = float(np.hypot(*np.ptp(xy, axis=0))) + 1.0 if len(xy) else 1.0
        self.extra = np.empty(0, dtype=object)

    def add(self, pts: np.ndarray) -> None:
        """Append cameras (metric Points): rows ``len(pts) + k`` in the order given."""
        self.extra = np.concatenate([self.extra, np.asarray(pts, dtype=object)])

    def nearest_in(self, shape: Any, mask: np.ndarray, start: float) -> tuple[int, float]:
        """Nearest camera of ``mask`` (every row, added ones included) to ``shape``
        (metric): lowest row among the nearest; ``start``: first search radius (metres).
        (-1, NaN) when ``mask`` is empty."""
        n = len(self.pts)
        best, best_d = -1, float("nan")
        if mask[:n].any():
            best, best_d = self._in_tree(shape, mask[:n], start)
        more = np.flatnonzero(mask[n:])
        if more.size:
            d = shapely.distance(shape, self.extra[more])
            m = float(d.min())
            if best < 0 or m < best_d:  # a tie keeps the tree's (lower) row
                best, best_d = n + int(more[np.flatnonzero(d == m)[0]]), m
        return best, best_d

    def _in_tree(self, shape: Any, mask: np.ndarray, start: float) -> tuple[int, float]:
        # every camera is within ``far``: the search radius grows until it finds one
        far = float(shapely.distance(shape, self.box)) + self.reach
        r = max(float(start), 1.0)
        while r < far:
            cand = self.tree.query(shape, predicate="dwithin", distance=r)
            cand = np.sort(cand[mask[cand]])
            if cand.size:
                break
            r *= 4.0
        else:
            cand = np.flatnonzero(mask)
        d = shapely.distance(shape, self.pts[cand])
        m = d.min()
        return int(cand[np.flatnonzero(d == m)[0]]), float(m)
