"""Camera view polygons: sectors from azimuth, field of view and range, occluded by buildings.

Two entry points:

* :func:`view_polygons` - the array core: camera coordinates in a metric CRS (metres) ->
  one shapely Polygon per camera (the 2D visibility polygon).
* :func:`camera_views` - the GeoDataFrame adapter: canonical camera rows (any CRS, usually
  EPSG:4326) and optional building footprints -> a GeoDataFrame of views in a local metric
  CRS, with the parameters actually used. Bad rows are reported all at once.

Conventions: azimuth in degrees clockwise from north (true north in camera rows, grid
north of the metric CRS in the array core), the centre of the view; ``fov_deg``
is the full horizontal angle (``0 < fov <= 360``); an unknown azimuth (NaN) means a 360°
view; azimuths are normalised modulo 360 (400 -> 40, -90 -> 270). The arc of a view is a
polygon with a vertex at least every ``angular_step_deg`` degrees (by default chosen per
camera so the chord never falls more than ``arc_tolerance_m`` inside the true arc, and at
most 5°). See docs/VIEWS.md.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from gridcover.coverage.views.camera_rows import validate_cameras
from gridcover.coverage.views.defaults import CameraDefaults
from gridcover.coverage.views.occlusion import (
    F64,
    TWO_PI,
    Geoms,
    RayFan,
    Walls,
    cast_rays,
    uniform_counts,
)
from gridcover.coverage.views.snapping import DEFAULT_SNAP_OFFSET_M, snap_cameras
from gridcover.errors import CRSError, InputError
from gridcover.gis.crs import metric_crs_for, normalize_crs, require_metric
from gridcover.gis.north import grid_bearing_xy

MAX_STEP_DEG = 5.0
MIN_STEP_DEG = 0.05
DEFAULT_ARC_TOLERANCE_M = 0.1


def view_polygons(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    azimuth_deg: npt.ArrayLike,
    fov_deg: npt.ArrayLike,
    range_m: npt.ArrayLike,
    walls: Walls | npt.ArrayLike | None = None,
    *,
    angular_step_deg: float | None = None,
    arc_tolerance_m: float = DEFAULT_ARC_TOLERANCE_M,
    snap_offset_m: float | None = DEFAULT_SNAP_OFFSET_M,
    chunk_rays: int = 200_000,
    threads: int | None = None,
) -> Geoms:
    """View polygon of each camera, in the metric CRS of ``x``/``y`` (metres).

    ``azimuth_deg``: view centre, degrees clockwise from the GRID north of the metric CRS
    (NaN = 360° view, any finite value taken modulo 360; :func:`camera_views` converts a
    camera's true bearing with :func:`gridcover.gis.north.grid_bearing_xy`).
    ``fov_deg``: full horizontal angle in (0, 360]. ``range_m``: radius in metres (>= 0;
    0 gives an empty polygon). Scalars broadcast.
    ``walls``: building footprints in the same CRS, as a :class:`Walls` (reuse it across
    calls) or an array of (Multi)Polygons; ``None`` gives exact sectors. With walls, cameras
    inside or within ``snap_offset_m`` of a building are first moved that far outside it
    (:func:`gridcover.coverage.views.snapping.snap_cameras`); pass ``None`` to cast from the given
    points as they are. Returns an object array of Polygons (star-shaped around the camera).

    Cameras are processed in chunks of about ``chunk_rays`` uniform rays (bounding memory),
    on ``threads`` worker threads (default: CPU count, at most 8, as in ``cover``; numpy
    and GEOS release the GIL in the heavy steps: 1.7x on 2 idle cores, less when busy).
    """
    xs, ys, az, fov, rng = _broadcast(x, y, azimuth_deg, fov_deg, range_m)
    _check_core(xs, ys, az, fov, rng)
    if walls is not None and not isinstance(walls, Walls):
        walls = Walls.from_polygons(walls)
    if walls is not None and snap_offset_m is not None:
        snap = snap_cameras(xs, ys, walls, offset_m=snap_offset_m)
        xs, ys = snap.x, snap.y
    fov_rad = np.where(np.isnan(az), TWO_PI, np.radians(fov))
    fov_rad = np.where(fov_rad >= TWO_PI - 1e-9, TWO_PI, fov_rad)
    start = np.radians(np.mod(np.nan_to_num(az, nan=0.0), 360.0)) - fov_rad / 2.0
    step = _steps(rng, angular_step_deg, arc_tolerance_m)
    out = np.empty(xs.size, dtype=object)
    out[:] = shapely.Polygon()
    todo = np.flatnonzero(rng > 0)
    if todo.size == 0:
        return out
    full = fov_rad >= TWO_PI
    per_cam = uniform_counts(fov_rad[todo], step[todo], full[todo])
    edges = np.searchsorted(np.cumsum(per_cam), np.arange(chunk_rays, per_cam.sum(), chunk_rays))
    parts = [p for p in np.split(todo, np.unique(edges)) if p.size]

    def one(part: npt.NDArray[np.intp]) -> None:
        fan = cast_rays(
            xs[part], ys[part], start[part], fov_rad[part], rng[part], step[part], walls
        )
        out[part] = _assemble(xs[part], ys[part], start[part], full[part], fan)

    n_threads = min(threads or os.cpu_count() or 1, 8, len(parts))
    if n_threads <= 1:
        for part in parts:
            one(part)
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(one, parts))
    return out


def _broadcast(*arrays: npt.ArrayLike) -> tuple[F64, F64, F64, F64, F64]:
    try:
        b = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in arrays])
    except ValueError as exc:
        raise InputError(
            "view_polygons: x, y, azimuth_deg, fov_deg and range_m must have the same length "
            f"(or be scalars): {exc}."
        ) from None
    xs, ys, az, fov, rng = (np.ascontiguousarray(a.ravel()) for a in b)
    return xs, ys, az, fov, rng


def _check_core(xs: F64, ys: F64, az: F64, fov: F64, rng: F64) -> None:
    checks = (
        (~(np.isfinite(xs) & np.isfinite(ys)), "has a non-finite coordinate"),
        (np.isinf(az), "has an infinite azimuth_deg (use NaN for an unknown direction)"),
        (~((fov > 0) & (fov <= 360)) & ~np.isnan(az), "has fov_deg outside (0, 360]"),
        (~(np.isfinite(rng) & (rng >= 0)), "has a negative or non-finite range_m"),
    )
    for bad, what in checks:
        if bad.any():
            i = np.flatnonzero(bad)
            raise InputError(
                f"view_polygons: {i.size} camera(s) {what} (first at position {int(i[0])}); "
                "fix the input values (camera_views reports every bad row by name)."
            )


def _steps(rng: F64, angular_step_deg: float | None, tol: float) -> F64:
    """Largest angle between uniform rays per camera (radians)."""
    if angular_step_deg is not None:
        if not (MIN_STEP_DEG <= angular_step_deg <= 45.0):
            raise InputError(
                f"view_polygons: angular_step_deg is {angular_step_deg}; "
                f"use a value between {MIN_STEP_DEG} and 45 degrees."
            )
        return np.full(rng.size, np.radians(angular_step_deg))
    if not tol > 0:
        raise InputError(f"view_polygons: arc_tolerance_m is {tol}; use a positive number.")
    # Sagitta of a chord spanning angle a on radius r: r * (1 - cos(a / 2)) <= tol.
    ratio = np.clip(1.0 - tol / np.maximum(rng, 1e-9), -1.0, 1.0)
    step = 2.0 * np.arccos(ratio)
    return np.clip(step, np.radians(MIN_STEP_DEG), np.radians(MAX_STEP_DEG))


def _assemble(x: F64, y: F64, start: F64, full: npt.NDArray[np.bool_], fan: RayFan) -> Geoms:
    """Rings ``[camera, ray ends..., camera]`` (partial views) or ``[ray ends...]`` (360°)."""
    m = x.size
    nrays = np.diff(fan.offsets)
    apex = (~full).astype(np.int64)
    size = nrays + apex
    out_start = np.cumsum(size) - size
    coords = np.empty((int(size.sum()), 2), dtype=np.float64)
    bear = start[fan.cam] + fan.rel
    pos = out_start[fan.cam] + apex[fan.cam] + (np.arange(fan.cam.size) - fan.offsets[fan.cam])
    coords[pos, 0] = x[fan.cam] + fan.dist * np.sin(bear)
    coords[pos, 1] = y[fan.cam] + fan.dist * np.cos(bear)
    tip = np.flatnonzero(~full)
    coords[out_start[tip], 0] = x[tip]
    coords[out_start[tip], 1] = y[tip]
    rings = shapely.linearrings(coords, indices=np.repeat(np.arange(m), size))
    return shapely.polygons(rings)


def camera_views(
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | Walls | None = None,
    *,
    defaults: CameraDefaults | None = None,
    metric_crs: Any = None,
    angular_step_deg: float | None = None,
    arc_tolerance_m: float = DEFAULT_ARC_TOLERANCE_M,
    snap_offset_m: float | None = DEFAULT_SNAP_OFFSET_M,
    threads: int | None = None,
) -> gpd.GeoDataFrame:
    """View polygons of canonical camera rows, occluded by ``buildings`` when given.

    ``cameras``: points with the canonical camera columns (``camera_id`` required; ``type``
    missing -> ``other``, ``status`` missing -> ``unknown``; empty ``fov_deg``/``range_m``
    take the type defaults of ``defaults``; empty ``azimuth_deg`` -> 360° view), any CRS
    (normally EPSG:4326). ``buildings``: footprint polygons in any CRS, or a :class:`Walls`
    already built in ``metric_crs`` (reused as is: what-if scenarios prepare the walls once).
    ``metric_crs``: the metric CRS to work in (default: ``gridcover.gis.crs.local_metric_crs``
    of the cameras; required with a ``Walls``).
    Every bad row is reported in one :class:`gridcover.errors.ValidationReport`. The other
    keywords are those of :func:`view_polygons`.

    ``azimuth_deg`` is a bearing from TRUE north; the rays are cast at the matching grid
    bearing of the metric CRS at the camera (minus the meridian convergence, gis.north).

    Returns a GeoDataFrame in the metric CRS, same index as ``cameras``, with columns
    ``camera_id, type, status, azimuth_deg`` (true bearing as given, normalised to
    [0, 360), NaN if unknown),
    ``fov_deg, range_m`` (as used), ``snapped`` (moved off a wall), ``x_m, y_m`` (position
    the rays were cast from, metres) and ``geometry`` (the view polygon).
    """
    rows = validate_cameras(cameras, defaults or CameraDefaults())
    if isinstance(buildings, Walls) and metric_crs is None:
        raise InputError(
            "camera_views: prepared Walls carry no CRS; pass the metric_crs they were built in."
        )
    if metric_crs is None:
        crs = metric_crs_for(cameras)
    else:
        crs = normalize_crs(metric_crs)
        require_metric(crs, "camera range")
    pts = cameras.geometry.to_crs(crs)
    x = np.asarray(pts.x, dtype=np.float64)
    y = np.asarray(pts.y, dtype=np.float64)
    walls: Walls | None = None
    snapped = np.zeros(x.size, dtype=bool)
    if isinstance(buildings, Walls):
        walls = buildings
    elif buildings is not None:
        walls = Walls.from_polygons(_building_polygons(buildings, crs))
    if walls is not None and snap_offset_m is not None:
        snap = snap_cameras(x, y, walls, offset_m=snap_offset_m)
        x, y, snapped = snap.x, snap.y, snap.snapped
    geoms = view_polygons(
        x,
        y,
        grid_bearing_xy(rows.azimuth_deg, x, y, crs),  # true -> grid north (gis.north)
        rows.fov_deg,
        rows.range_m,
        walls,
        angular_step_deg=angular_step_deg,
        arc_tolerance_m=arc_tolerance_m,
        snap_offset_m=None,
        threads=threads,
    )
    frame = pd.DataFrame(
        {
            "camera_id": rows.camera_id,
            "type": rows.type,
            "status": rows.status,
            "azimuth_deg": rows.azimuth_deg,
            "fov_deg": rows.fov_deg,
            "range_m": rows.range_m,
            "snapped": snapped,
            "x_m": x,
            "y_m": y,
        },
        index=cameras.index,
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=cameras.index), crs=crs)


def _building_polygons(buildings: gpd.GeoDataFrame, crs: pyproj.CRS) -> Geoms:
    if not isinstance(buildings, gpd.GeoDataFrame | gpd.GeoSeries):
        raise InputError(
            "buildings must be a GeoDataFrame of footprint polygons, not "
            f"{type(buildings).__name__}."
        )
    if buildings.crs is None:
        raise CRSError(
            "The buildings have no CRS: set one (buildings.set_crs('EPSG:4326') for lon/lat)."
        )
    return np.asarray(buildings.geometry.to_crs(crs).values, dtype=object)
