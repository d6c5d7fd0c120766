"""Cameras as a compact table on the client, and the nearest camera of each blind spot.

The merge needs, of every camera, its id, status and position (grid location, nearest
camera of a blind spot). ``camera_table`` keeps them as plain columns (``camera_id``,
``status``, ``lon``, ``lat`` in EPSG:4326, ``x``, ``y`` in the run's metric CRS): about
50 bytes a camera instead of the ~370 of a GeoDataFrame row with a shapely point.
``add_nearest_cameras`` then answers ``gaps.add_nearest``'s camera question with at most
``chunk`` points alive at a time: per chunk of cameras, the nearest by STRtree; over the
chunks, the smallest distance, equally near cameras resolved to the first in the layer's
order (``gaps.nearest_positions``, the single machine's own rule). The distances are the
same GEOS computations on the same points, so the answers equal the single machine's.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely
from pandas.api.types import infer_dtype

from gridcover.coverage.gaps import nearest_positions

__all__ = ["add_nearest_cameras", "camera_table"]

CHUNK = 50_000


def camera_table(cameras: gpd.GeoDataFrame, crs: pyproj.CRS) -> pd.DataFrame:
    """``camera_id`` and ``status`` (those present), ``lon``/``lat`` (EPSG:4326) and
    ``x``/``y`` (metres in the metric ``crs``) of the ``cameras`` (points, EPSG:4326).

    ``status`` is categorical and string ids are Arrow strings: ≈ 50 bytes a camera in all,
    where Python strings take ≈ 60 bytes each per column."""
    keep = [c for c in ("camera_id", "status") if c in cameras.columns]
    lonlat = shapely.get_coordinates(np.asarray(cameras.geometry.values))
    xy = shapely.get_coordinates(np.asarray(cameras.geometry.to_crs(crs).values))
    table = cameras[keep].reset_index(drop=True)
    if "status" in table.columns:  # a code per camera, not a Python string (≈ 60 bytes)
        table["status"] = table["status"].astype("category")
    if "camera_id" in table.columns and infer_dtype(table["camera_id"], skipna=False) == "string":
        table["camera_id"] = table["camera_id"].astype(pd.ArrowDtype(pa.string()))  # one buffer
    return table.assign(lon=lonlat[:, 0], lat=lonlat[:, 1], x=xy[:, 0], y=xy[:, 1])


def _nearest_chunked(
    metric: np.ndarray, x: np.ndarray, y: np.ndarray, rows: np.ndarray, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per geometry of ``metric``: position in ``rows`` of the nearest point (x, y)[rows],
    first in order among equally near ones (-1 when there is none), and its distance (NaN);
    the points are made ``chunk`` at a time, with no copy of all the coordinates."""
    chunks = (
        (start, shapely.points(x[rows[start : start + chunk]], y[rows[start : start + chunk]]))
        for start in range(0, rows.size, chunk)
    )
    return nearest_positions(metric, chunks)


def add_nearest_cameras(
    table: gpd.GeoDataFrame,
    cameras: pd.DataFrame,
    crs: pyproj.CRS,
    counted: np.ndarray,
    *,
    chunk: int = CHUNK,
) -> None:
    """Set ``nearest_camera`` / ``nearest_camera_m`` (nearest camera that counts) and
    ``nearest_offline_camera`` / ``nearest_offline_camera_m`` (nearest that does not) of the
    blind-spot ``table`` (EPSG:4326 outlines) in place, from a ``camera_table``; distances in
    metres in the metric ``crs`` (0 inside), None / NaN when there is no such camera."""
    metric = np.asarray(table.to_crs(crs).geometry.values) if len(table) else np.empty(0, object)
    mask = np.asarray(counted, dtype=bool)
    x, y = cameras["x"].to_numpy(float), cameras["y"].to_numpy(float)
    for prefix, rows in (
        ("camera", np.flatnonzero(mask)),
        ("offline_camera", np.flatnonzero(~mask)),
    ):
        pos, dist = _nearest_chunked(metric, x, y, rows, chunk)
        out = np.full(len(table), None, dtype=object)
        found = pos >= 0
        picked = rows[pos[found]]
        if "camera_id" in cameras.columns:
            out[found] = cameras["camera_id"].iloc[picked].to_numpy(dtype=object)
        else:
            out[found] = picked
        table[f"nearest_{prefix}"], table[f"nearest_{prefix}_m"] = out, dist
