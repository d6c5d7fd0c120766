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
from gridcover.gis.north import grid_bearing_xy

__all__ = [
    "Coverage",
    "Sectors",
    "camera_counted",
    "cover_cells",
    "cover_from_views",
    "cover_pairs",
]

_CHUNK = 4096  # views per task: small enough to balance threads, large enough to amortise


@dataclass(frozen=True, eq=False)
class Sectors:
    """The sector each view lies in: apex x/y (metres, the views' CRS), azimuth (degrees
    clockwise from the views' CRS's grid north, NaN = full circle), full angle ``fov_deg``
    and ``range_m``.

    Used only to drop (cell, view) candidates that cannot be inside the view before the
    exact polygon test; it never changes the result as long as each view lies inside its
    sector (true for ``coverage.views``: occlusion only removes ground from the sector).
    """

    x: np.ndarray
    y: np.ndarray
    azimuth_deg: np.ndarray
    fov_deg: np.ndarray
    range_m: np.ndarray

    @classmethod
    def from_views(cls, views: gpd.GeoDataFrame) -> Sectors | None:
        """From a ``camera_views`` table (x_m, y_m, azimuth_deg, fov_deg, range_m), else None.

        The table's ``azimuth_deg`` is a true bearing; the sector is turned to the grid
        bearing of the views' CRS at (x_m, y_m), as the view builders cast their rays."""
        cols = ("x_m", "y_m", "azimuth_deg", "fov_deg", "range_m")
        if views.crs is None or not views.crs.is_projected or any(c not in views for c in cols):
            return None
        x, y, az, fov, rng = (views[c].to_numpy(dtype=float, na_value=np.nan) for c in cols)
        return cls(x, y, grid_bearing_xy(az, x, y, views.crs), fov, rng)

    def keep(self, cam: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Mask of (camera, point) candidates inside the camera's sector (with a small margin)."""
        dx, dy = x - self.x[cam], y - self.y[cam]
        d2 = dx * dx + dy * dy
        r = self.range_m[cam] * (1 + 1e-9) + 1e-6
        ok = d2 <= r * r
        az = np.radians(self.azimuth_deg[cam])
        half = np.radians(self.fov_deg[cam]) / 2 + 1e-6
        part = np.isfinite(az) & (half < np.pi)
        # inside the angular range iff the angle to the axis is <= half the fov:
        # (d . axis) >= |d| cos(half); valid for any half-angle in [0, pi)
        dot = dx * np.sin(az) + dy * np.cos(az)
        within = dot >= np.sqrt(d2) * np.cos(half) - 1e-9
        return ok & (~part | within)


def _pairs_chunk(
    views: np.ndarray,
    start: int,
    tree: shapely.STRtree,
    x: np.ndarray,
    y: np.ndarray,
    sectors: Sectors | None,
) -> np.ndarray:
    cand = tree.query(views)
    if cand.shape[1] == 0:
        return cand
    if sectors is not None:
        cand = cand[:, sectors.keep(cand[0] + start, x[cand[1]], y[cand[1]])]
    # prepared views index every edge (a few kB a view): prepared a chunk at a time and
    # freed after it, a 100k-camera run never holds ~0.4 GB of them at once
    fresh = views[~shapely.is_prepared(views)]
    shapely.prepare(fresh)
    try:
        inside = shapely.contains_xy(views[cand[0]], x[cand[1]], y[cand[1]])
    finally:
        shapely.destroy_prepared(fresh)
    out = cand[:, inside]
    out[0] += start
    return out


def cover_pairs(
    views: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    threads: int | None = None,
    tree: shapely.STRtree | None = None,
    sectors: Sectors | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(cell index, camera index) pairs where the cell centroid is inside the camera view.

    ``views``: shapely Polygons (None/empty allowed), one per camera, in a metric CRS;
    ``x``/``y``: cell centroids in the same CRS (metres); ``tree``: an STRtree over those
    centroids if already built (``Cells.tree``); ``sectors``: the sector each view lies in,
    to prune candidates cheaply (same result, faster). Returns two int64 arrays, grouped by
    camera in camera order (deterministic, not sorted by cell). ``threads``: worker threads
    (default: CPU count, at most 8).
    """
    views = np.asarray(views, dtype=object)
    x = np.ascontiguousarray(x, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    empty = np.empty(0, dtype=np.int64)
    if views.size == 0 or x.size == 0:
        return empty, empty
    if tree is None:
        tree = shapely.STRtree(shapely.points(x, y))
    starts = range(0, views.size, _CHUNK)
    n_threads = min(threads or os.cpu_count() or 1, 8, len(starts))

    def chunk(s: int) -> np.ndarray:
        return _pairs_chunk(views[s : s + _CHUNK], s, tree, x, y, sectors)

    if n_threads <= 1:
        parts = [chunk(s) for s in starts]
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            parts = list(pool.map(chunk, starts))
    pairs = np.concatenate(parts, axis=1).astype(np.int64, copy=False)
    return pairs[1], pairs[0]


@dataclass(frozen=True, eq=False)
class Coverage:
    """Which cameras cover which cells (arrays aligned with the cells / the cameras).

    ``cell_idx``/``camera_idx``: every covering pair (all cameras, any status; any order);
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
        return np.sort(self.camera_idx[self.cell_idx == cell])


def cover_cells(
    n_cells: int, cell_idx: np.ndarray, camera_idx: np.ndarray, counted: np.ndarray
) -> Coverage:
    """Aggregate covering pairs (any order) into per-cell counts of counted and other cameras."""
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
    sectors = None  # apexes (x_m, y_m) are in the views' own CRS: prune only if it is ours
    if pyproj.CRS.from_user_input(views.crs).equals(cells.crs):
        sectors = Sectors.from_views(views)
    else:
        views = views.to_crs(cells.crs)
    if "status" not in views.columns:
        raise SchemaError("The camera views have no 'status' column (online/offline/unknown).")
    counted = camera_counted(
        views["status"].to_numpy(), include_offline=include_offline, unknown_online=unknown_online
    )
    geoms = np.asarray(views.geometry.values)
    ci, ki = cover_pairs(geoms, cells.x, cells.y, threads=threads, tree=cells.tree, sectors=sectors)
    return cover_cells(len(cells), ci, ki, counted)
