"""GeoDataFrame adapter of the 3D model: camera rows + buildings with heights -> the view
table (with band distances), the per-camera :class:`Optics` and the building prisms.

The view polygon of a camera in 3D is its field between the near blind zone and the
detection distance (or range), minus the buildings' 3D shadows (:mod:`.bands`); the cells it
sees come from the exact per-cell test of :mod:`.sight`. Metric CRS, metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.views.bands import band_distances, cut_rings
from gridcover.coverage.views.camera_rows import validate_cameras
from gridcover.coverage.views.defaults import CameraDefaults
from gridcover.coverage.views.heights import DEFAULT_BUILDING_HEIGHT_M, building_heights
from gridcover.coverage.views.occlusion import Walls
from gridcover.coverage.views.optics import OpticsDefaults, camera_optics
from gridcover.coverage.views.sight import Optics, Prisms
from gridcover.coverage.views.snapping import DEFAULT_SNAP_OFFSET_M, snap_cameras
from gridcover.gis.crs import normalize_crs, require_metric

__all__ = ["DEFAULT_TARGET_HEIGHT_M", "Views3D", "camera_views_3d", "prisms_for"]

DEFAULT_TARGET_HEIGHT_M = 1.5
"""Height of the target above ground (a standing person's face), metres."""

OPTICS_COLUMNS = ("height_m", "tilt_deg", "vfov_deg", "lens_fov_deg", "width_px", "night_m")


@dataclass(frozen=True, eq=False)
class Views3D:
    """The view table (metric CRS), the optics per row and the prisms (None: no buildings)."""

    views: gpd.GeoDataFrame
    optics: Optics
    prisms: Prisms | None


def prisms_for(
    buildings: gpd.GeoDataFrame | None,
    crs: Any,
    *,
    walls: Walls | None = None,
    default_height_m: float = DEFAULT_BUILDING_HEIGHT_M,
) -> Prisms | None:
    """Building prisms in ``crs`` (metres): ``walls`` if already prepared from these
    buildings in that CRS, heights from ``height_m`` / ``levels`` / ``default_height_m``."""
    if buildings is None:
        return None
    if walls is None:
        walls = Walls.from_polygons(np.asarray(buildings.geometry.to_crs(crs).values))
    return Prisms.from_walls(walls, building_heights(buildings, default_height_m))


def camera_views_3d(
    cameras: gpd.GeoDataFrame,
    prisms: Prisms | None,
    *,
    metric_crs: Any,
    target_height_m: float = DEFAULT_TARGET_HEIGHT_M,
    defaults: CameraDefaults | None = None,
    optics_defaults: OpticsDefaults | None = None,
    snap_offset_m: float | None = DEFAULT_SNAP_OFFSET_M,
    draw: bool = True,
) -> Views3D:
    """3D views of canonical camera rows (any CRS) among ``prisms`` (in ``metric_crs``).

    Columns as :func:`gridcover.coverage.views.camera_views` plus ``height_m, tilt_deg,
    vfov_deg, lens_fov_deg, width_px, night_m`` (as used) and the band distances
    ``identify_m, recognise_m, observe_m, detect_m, near_blind_m, far_m`` (NaN = no limit,
    also for ``range_m``). ``draw=False``
    leaves the geometry empty (the per-cell test does not need it).
    """
    rows = validate_cameras(cameras, defaults or CameraDefaults())
    crs = normalize_crs(metric_crs)
    require_metric(crs, "camera range")
    pts = cameras.geometry.to_crs(crs)
    x = np.asarray(pts.x, dtype=np.float64)
    y = np.asarray(pts.y, dtype=np.float64)
    snapped = np.zeros(x.size, dtype=bool)
    if prisms is not None and snap_offset_m is not None:
        snap = snap_cameras(x, y, prisms.walls, offset_m=snap_offset_m)
        x, y, snapped = snap.x, snap.y, snap.snapped
    optics = camera_optics(cameras, rows, x, y, optics_defaults, crs=crs)
    bands = band_distances(optics, target_height_m)
    geoms = np.empty(x.size, dtype=object)
    geoms[:] = None
    if draw and x.size:
        cam = np.arange(x.size)
        outer = bands["detect_m"].to_numpy()
        inner = np.minimum(bands["near_blind_m"].to_numpy(), outer)
        geoms = cut_rings(optics, prisms, target_height_m, cam, inner, outer)
    frame = pd.DataFrame(
        {
            "camera_id": rows.camera_id,
            "type": rows.type,
            "status": rows.status,
            "azimuth_deg": rows.azimuth_deg,
            "fov_deg": rows.fov_deg,
            "range_m": _finite(optics.range_m),
            "snapped": snapped,
            "x_m": x,
            "y_m": y,
            **{c: getattr(optics, c) for c in OPTICS_COLUMNS},
            **{c: _finite(bands[c].to_numpy()) for c in bands.columns},
        },
        index=cameras.index,
    )
    views = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=cameras.index), crs=crs)
    return Views3D(views, optics, prisms)


def _finite(a: np.ndarray) -> np.ndarray:
    """``inf`` (no limit) as NaN in output tables (JSON has no infinity)."""
    return np.where(np.isinf(a), np.nan, a)
