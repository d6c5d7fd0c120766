"""Row-by-row validation of camera tables before views are built.

Every problem found becomes one sentence naming the row, the camera id, the field, the bad
value and the fix; all of them are raised together in a
:class:`gridcover.errors.ValidationReport`, so a planner fixes a file in one pass.

Normalisations (documented in docs/VIEWS.md, not errors): azimuth taken modulo 360
(400 -> 40, -90 -> 270); empty azimuth -> 360° view; empty ``fov_deg`` / ``range_m`` ->
the type's default from :class:`CameraDefaults`; empty ``type`` -> ``other``; empty
``status`` -> ``unknown``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridcover.coverage.views.defaults import CameraDefaults
from gridcover.errors import CRSError, InputError, SchemaError, ValidationReport
from gridcover.gis.schemas import CAMERA_STATUS, CAMERA_TYPES

F64 = npt.NDArray[np.float64]
Objs = npt.NDArray[np.object_]


@dataclass(frozen=True)
class CameraRows:
    """Validated camera parameters, one entry per input row (degrees, metres)."""

    camera_id: Objs
    type: Objs
    status: Objs
    azimuth_deg: F64  # in [0, 360), NaN = unknown (360° view)
    fov_deg: F64  # as used: 360 when the azimuth is unknown
    range_m: F64


def validate_cameras(cameras: gpd.GeoDataFrame, defaults: CameraDefaults) -> CameraRows:
    """Check canonical camera rows; raise one ValidationReport listing every bad row."""
    if not isinstance(cameras, gpd.GeoDataFrame):
        raise InputError(
            f"cameras must be a GeoDataFrame of points, not {type(cameras).__name__}; read the "
            "file with gridcover.gis.read_layer(path, 'cameras')."
        )
    if cameras.crs is None:
        raise CRSError(
            "The cameras have no CRS: set one (cameras.set_crs('EPSG:4326') for GPS lon/lat)."
        )
    if "camera_id" not in cameras.columns:
        raise SchemaError(
            "The cameras have no 'camera_id' column; add one (a unique id per camera) or read "
            "the file with gridcover.gis.read_layer(path, 'cameras'), which maps common names."
        )
    n = len(cameras)
    ids = cameras["camera_id"].to_numpy(dtype=object)
    problems: list[str] = []

    # Rows are named by their index label when it is an integer (the 0-based row of a layer
    # read with read_layer, kept when a subset is passed, e.g. the cameras of a what-if).
    rows = cameras.index.to_numpy() if pd.api.types.is_integer_dtype(cameras.index) else None

    def where(i: Any) -> str:
        return f"row {int(i if rows is None else rows[i])} (camera_id {ids[i]!r})"

    kinds = _text(cameras, "type", "other")
    status = _text(cameras, "status", "unknown")
    for i in np.flatnonzero(~np.isin(kinds, CAMERA_TYPES)):
        problems.append(
            f"{where(i)}: type is {kinds[i]!r}; use one of {', '.join(CAMERA_TYPES)} "
            "(or leave it empty for 'other')."
        )
    for i in np.flatnonzero(~np.isin(status, CAMERA_STATUS)):
        problems.append(
            f"{where(i)}: status is {status[i]!r}; use one of {', '.join(CAMERA_STATUS)}."
        )
    geoms = np.asarray(cameras.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        problems.append(f"{where(i)}: the geometry is empty; give the camera's location.")
    not_point = ~missing & (shapely.get_type_id(geoms) != 0)
    for i in np.flatnonzero(not_point):
        problems.append(
            f"{where(i)}: the geometry is a {geoms[i].geom_type}; "
            "a camera must be a Point (use its mounting position)."
        )
    pt = ~missing & ~not_point
    gx = np.full(n, np.nan)
    gy = np.full(n, np.nan)
    gx[pt], gy[pt] = shapely.get_x(geoms[pt]), shapely.get_y(geoms[pt])
    for i in np.flatnonzero(pt & ~(np.isfinite(gx) & np.isfinite(gy))):
        problems.append(f"{where(i)}: the point has a non-finite coordinate; fix the location.")

    az = _number(cameras, "azimuth_deg", problems, where)
    fov = _number(cameras, "fov_deg", problems, where)
    rng = _number(cameras, "range_m", problems, where)
    for i in np.flatnonzero(np.isinf(az)):
        problems.append(
            f"{where(i)}: azimuth_deg is {az[i]}; give degrees clockwise from north "
            "(0-360) or leave it empty for a 360° view."
        )
    bad_fov = ~np.isnan(fov) & ~((fov > 0) & (fov <= 360))
    for i in np.flatnonzero(bad_fov):
        problems.append(
            f"{where(i)}: fov_deg is {fov[i]:g}; a field of view must be more than 0 and at most "
            f"360 degrees. Fix it, or leave it empty for the {kinds[i]} default "
            f"({defaults.fov_deg(str(kinds[i])):g}°)."
        )
    bad_rng = ~np.isnan(rng) & ~(np.isfinite(rng) & (rng >= 0))
    for i in np.flatnonzero(bad_rng):
        problems.append(
            f"{where(i)}: range_m is {rng[i]:g}; a range must be a distance of 0 metres or "
            f"more. Fix it, or leave it empty for the {kinds[i]} default "
            f"({defaults.range_m(str(kinds[i])):g} m)."
        )
    if problems:
        raise ValidationReport("cameras", problems)

    unknown_az = np.isnan(az)
    fov_used = np.where(np.isnan(fov), defaults.fov_for(kinds), fov)
    fov_used = np.where(unknown_az, 360.0, fov_used)
    rng_used = np.where(np.isnan(rng), defaults.range_for(kinds), rng)
    return CameraRows(
        camera_id=ids,
        type=kinds,
        status=status,
        azimuth_deg=np.mod(az, 360.0),
        fov_deg=fov_used.astype(np.float64),
        range_m=rng_used.astype(np.float64),
    )


def _text(cameras: pd.DataFrame, name: str, empty: str) -> Objs:
    if name not in cameras.columns:
        return np.full(len(cameras), empty, dtype=object)
    col = cameras[name]
    out = col.astype(object).where(col.notna(), empty).to_numpy(dtype=object)
    return np.array([str(v).strip().lower() or empty for v in out], dtype=object)


def _number(
    cameras: pd.DataFrame, name: str, problems: list[str], where: Callable[[Any], str]
) -> F64:
    """Column as float64 (NaN where empty); a non-numeric entry is a problem."""
    if name not in cameras.columns:
        return np.full(len(cameras), np.nan)
    raw = cameras[name]
    num = np.array(pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
    blank = raw.isna().to_numpy() | raw.astype(str).str.strip().eq("").to_numpy()
    for i in np.flatnonzero(np.isnan(num) & ~blank):
        problems.append(f"{where(i)}: {name} is {raw.iloc[i]!r}, not a number; give a number.")
    num[blank] = np.nan
    return num
