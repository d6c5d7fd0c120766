"""True north and grid north: camera azimuths are compass bearings, views are drawn on a grid.

A camera's ``azimuth_deg`` (ledger 朝向) is a bearing from TRUE north (the meridian through
the camera). Views are drawn in a projected metric CRS (UTM or a Gauss-Krüger zone), whose
y axis points to GRID north. The two differ by the meridian convergence ``γ``, here the
true bearing of grid north (degrees, clockwise positive; PROJ's ``meridian_convergence``):
about -1.8° in Helsinki (UTM 35N, 2° west of the central meridian), up to ±1.5° at the edge
of a 6° Gauss-Krüger zone in China, 0 on the central meridian. So

    grid bearing = true bearing - γ        true bearing = grid bearing + γ

The rotation is exact for the conformal CRSs gridcover picks (transverse Mercator); for a
non-conformal CRS given by the user it corrects the direction of north only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray

from gridcover.errors import CRSError
from gridcover.gis.crs import crs_label, normalize_crs

__all__ = ["convergence_deg", "grid_bearing", "grid_bearing_xy", "true_bearing"]

Floats = NDArray[np.float64]


@lru_cache(maxsize=64)
def _proj(crs: pyproj.CRS) -> pyproj.Proj:
    if not crs.is_projected:
        raise CRSError(
            f"{crs_label(crs)} is not a projected CRS, so it has no grid north; pass the "
            "metric CRS the views are drawn in (gridcover.gis.crs.local_metric_crs)."
        )
    return pyproj.Proj(crs)


def convergence_deg(lon: ArrayLike, lat: ArrayLike, crs: Any) -> Floats:
    """Meridian convergence at ``lon``/``lat`` (degrees, in the geodetic CRS of ``crs``,
    which is WGS84 or CGCS2000 for gridcover's metric CRSs) in the projected ``crs``: the
    true bearing of grid north, degrees clockwise (NaN where an input is NaN)."""
    lo, la = np.broadcast_arrays(np.asarray(lon, np.float64), np.asarray(lat, np.float64))
    out = np.full(lo.shape, np.nan)
    ok = np.isfinite(lo) & np.isfinite(la)
    if ok.any():
        factors = _proj(normalize_crs(crs)).get_factors(lo[ok], la[ok], errcheck=False)
        out[ok] = np.asarray(factors.meridian_convergence, np.float64)
    bad = ok & ~np.isfinite(out)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise CRSError(
            f"{int(bad.sum())} point(s) lie outside the area where {crs_label(normalize_crs(crs))}"
            f" is defined (first at index {i}: lon={lo.ravel()[i]!r}, lat={la.ravel()[i]!r}); "
            "draw views in the local metric CRS of the cameras (local_metric_crs)."
        )
    return out


def grid_bearing(true_deg: ArrayLike, lon: ArrayLike, lat: ArrayLike, crs: Any) -> Floats:
    """Grid bearing in ``crs`` (degrees clockwise from grid north, in [0, 360)) of the true
    bearings ``true_deg`` (degrees clockwise from true north) at ``lon``/``lat``; NaN stays
    NaN (a 360° view has no direction)."""
    az = np.asarray(true_deg, np.float64)
    return np.asarray(np.mod(az - convergence_deg(lon, lat, crs), 360.0), np.float64)


def true_bearing(grid_deg: ArrayLike, lon: ArrayLike, lat: ArrayLike, crs: Any) -> Floats:
    """True bearing (degrees clockwise from true north, in [0, 360)) of the grid bearings
    ``grid_deg`` of ``crs`` at ``lon``/``lat``; the inverse of :func:`grid_bearing`."""
    az = np.asarray(grid_deg, np.float64)
    return np.asarray(np.mod(az + convergence_deg(lon, lat, crs), 360.0), np.float64)


def grid_bearing_xy(true_deg: ArrayLike, x: ArrayLike, y: ArrayLike, crs: Any) -> Floats:
    """:func:`grid_bearing` at points given in ``crs`` itself (``x`` easting, ``y``
    northing, metres): how the view builders turn a camera's azimuth into the direction
    its rays are cast in."""
    c = normalize_crs(crs)
    xa, ya = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
    if xa.size == 0:
        return np.asarray(np.mod(np.asarray(true_deg, np.float64), 360.0), np.float64)
    lon, lat = _proj(c)(xa, ya, inverse=True, errcheck=False)
    return grid_bearing(true_deg, lon, lat, c)
