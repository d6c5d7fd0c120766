"""Views x cells -> which cameras cover which cells.

**Covering rule.** A camera covers a cell iff the cell's centroid lies strictly inside the
camera's (occluded) view polygon. A cell is *covered* when at least one counted camera
covers it. Counted cameras are the online ones by default (status ``online``, and
``unknown`` unless told otherwise); offline cameras are counted separately, so a planner
sees what repairing them would add.

Core: ``cover_pairs`` (shapely view polygons + centroid x/y in the same metric CRS ->
(cell, camera) index pairs: a bounding-box STRtree query, then prepared point-in-polygon
tests, split over threads since shapely releases the GIL). ``cover_cells`` aggregates the
pairs with ``np.bincount``. Adapter: ``cover_from_views`` (views GeoDataFrame + ``Cells``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy import sparse

from gridcover.coverage.cells import Cells
from gridcover.errors import CRSError, SchemaError

__all__ = ["Coverage", "camera_counted", "cover_cells", "cover_from_views", "cover_pairs"]

_CHUNK = 4096  # views per task: small enough to balance threads, large enough to amortise


def _pairs_chunk(
    views: np.ndarray, start: int, tree: shapely.STRtree, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    cand = tree.query(views)
    if cand.shape[1] == 0:
        return cand
    inside = shapely.contains_xy(views[cand[0]], x[cand[1]], y[cand[1]])
    out = cand[:, inside]
    out[0] += start
    return out


def cover_pairs(
    views: np.ndarray, x: np.ndarray, y: np.ndarray, *, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(cell index, camera index) pairs where the cell centroid is inside the camera view.

    ``views``: shapely Polygons (None/empty allowed), one per camera, in a metric CRS;
    ``x``/``y``: cell centroids in the same CRS (metres). Returns two int64 arrays sorted by
    cell then camera. ``threads``: worker threads (default: CPU count, at most 8).
    """
    views = np.asarray(views, dtype=object)
    x = np.ascontiguousarray(x, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    empty = np.empty(0, dtype=np.int64)
    if views.size == 0 or x.size == 0:
        return empty, empty
    tree = shapely.STRtree(shapely.points(x, y))
    shapely.prepare(views)
    starts = range(0, views.size, _CHUNK)
    n_threads = min(threads or os.cpu_count() or 1, 8, len(starts))
    if n_threads <= 1:
        parts = [_pairs_chunk(views[s : s + _CHUNK], s, tree, x, y) for s in starts]
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            parts = list(
                pool.map(lambda s: _pairs_chunk(views[s : s + _CHUNK], s, tree, x, y), starts)
            )
    pairs = np.concatenate(parts, axis=1).astype(np.int64, copy=False)
    order = np.lexsort((pairs[0], pairs[1]))
    return pairs[1][order], pairs[0][order]


@dataclass(frozen=True, eq=False)
class Coverage:
    """Which cameras cover which cells (arrays aligned with the cells / the cameras).

    ``cell_idx``/``camera_idx``: every covering pair (all cameras, any status);
    ``counted``: per camera, True if it counts towards coverage (online by default);
    ``counts``: counted cameras per cell; ``counts_other``: not-counted (offline) cameras
    per cell; ``covered``: counts > 0.
    """

    n_cells: int
    cell_idx: np.ndarray
    camera_idx: np.ndarray
    counted: np.ndarray
    counts: np.ndarray
    counts_other: np.ndarray

    @property
    def n_cameras(self) -> int:
        return int(self.counted.size)

    @property
    def covered(self) -> np.ndarray:
        return self.counts > 0

    def matrix(self, counted_only: bool = False) -> sparse.csr_matrix:
        """Sparse cell x camera matrix (CSR, int8 ones); optionally counted cameras only."""
        keep = self.counted[self.camera_idx] if counted_only else slice(None)
        rows, cols = self.cell_idx[keep], self.camera_idx[keep]
        data = np.ones(rows.size, dtype=np.int8)
        return sparse.csr_matrix((data, (rows, cols)), shape=(self.n_cells, self.n_cameras))

    def cells_seen_per_camera(self) -> np.ndarray:
        """Number of cells each camera covers (whatever its status)."""
        return np.bincount(self.camera_idx, minlength=self.n_cameras)

    def cameras_of(self, cell: int) -> np.ndarray:
        """Indexes of the cameras (any status) covering cell position ``cell``."""
        lo, hi = np.searchsorted(self.cell_idx, [cell, cell + 1])
        return self.camera_idx[lo:hi]


def cover_cells(
    n_cells: int, cell_idx: np.ndarray, camera_idx: np.ndarray, counted: np.ndarray
) -> Coverage:
    """Aggregate covering pairs into per-cell counts of counted and other cameras."""
    counted = np.asarray(counted, dtype=bool)
    cell_idx = np.asarray(cell_idx, dtype=np.int64)
    camera_idx = np.asarray(camera_idx, dtype=np.int64)
    on = counted[camera_idx] if camera_idx.size else np.zeros(0, bool)
    counts = np.bincount(cell_idx[on], minlength=n_cells).astype(np.int32)
    other = np.bincount(cell_idx[~on], minlength=n_cells).astype(np.int32)
    return Coverage(n_cells, cell_idx, camera_idx, counted, counts, other)


def camera_counted(
    status: np.ndarray, *, include_offline: bool = False, unknown_online: bool = True
) -> np.ndarray:
    """Which cameras count towards coverage, from their ``status`` (online/offline/unknown).

    ``unknown`` counts as online by default (most open data has no status); ``offline``
    counts only with ``include_offline``.
    """
    s = np.asarray(status, dtype=object).astype(str)
    counted = s == "online"
    if unknown_online:
        counted |= ~np.isin(s, ["online", "offline"])
    if include_offline:
        counted |= s == "offline"
    return counted


def cover_from_views(
    views: gpd.GeoDataFrame,
    cells: Cells,
    *,
    include_offline: bool = False,
    unknown_online: bool = True,
    threads: int | None = None,
) -> Coverage:
    """Coverage of ``cells`` by the camera ``views`` (GeoDataFrame with a ``status`` column).

    Views in another CRS than ``cells.crs`` are reprojected to it first, so the
    point-in-polygon test always runs in the cells' metric CRS.
    """
    if views.crs is None:
        raise CRSError("The camera views have no CRS; build them with coverage.views.camera_views.")
    if not pyproj.CRS.from_user_input(views.crs).equals(cells.crs):
        views = views.to_crs(cells.crs)
    if "status" not in views.columns:
        raise SchemaError("The camera views have no 'status' column (online/offline/unknown).")
    counted = camera_counted(
        views["status"].to_numpy(), include_offline=include_offline, unknown_online=unknown_online
    )
    ci, ki = cover_pairs(np.asarray(views.geometry.values), cells.x, cells.y, threads=threads)
    return cover_cells(len(cells), ci, ki, counted)
