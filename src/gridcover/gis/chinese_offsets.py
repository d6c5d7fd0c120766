"""GCJ-02 (AMap, Tencent, Google China) and BD-09 (Baidu) offsets, vectorised over numpy.

GCJ-02 and BD-09 are not coordinate reference systems: they are WGS84 lon/lat with an
obfuscating, position-dependent shift of a few hundred metres added. They live only at the
edges of gridcover (input from Chinese web maps, basemap alignment); everything inside is WGS84.

Forward shifts come from the ``coordtransform`` library (MIT; C batch functions over arrays).
Its own inverse is the classic one-step approximation (error up to ~5 m), so the inverses here
solve ``forward(w) = target`` by fixed-point iteration on numpy arrays around the library's
forward transform; they invert it to ~1e-6 m (docs/CRS.md compares the candidate libraries).

Rule outside China: a point whose input position lies outside the China box
(73.66 < lon < 135.05 and 3.86 < lat < 53.55, the box ``coordtransform`` uses) is returned
unchanged by every function. An inverse whose target lies inside the box but has no preimage
inside it (a band a few hundred metres wide along the box's edge, where the forward shift
would have to start outside China) is also returned unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import coordTransform as _ct
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from gridcover.errors import CRSError, InputError

__all__ = [
    "CHINA_BOX",
    "OFFSET_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_geometries",
    "convert_lonlat",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china_box",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

Floats = NDArray[np.float64]
CoordSys = Literal["wgs84", "gcj02", "bd09"]
InverseMethod = Literal["exact", "one_step"]
OFFSET_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

#: (min lon, min lat, max lon, max lat), open interval: where the offsets apply.
CHINA_BOX: tuple[float, float, float, float] = (73.66, 3.86, 135.05, 53.55)

# Fixed-point inverse: stop when every residual is below this (degrees, ~1e-6 m) ...
_TOL_DEG = 1e-11
# ... or after this many forward evaluations (each gains ~2 digits; 4-5 are typical).
_MAX_ITER = 12

_Batch = Callable[[Floats, Floats], tuple[Floats, Floats]]


def in_china_box(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where (lon, lat) in degrees lies inside :data:`CHINA_BOX` (NaN gives False)."""
    lon_a, lat_a = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    x0, y0, x1, y1 = CHINA_BOX
    return (lon_a > x0) & (lon_a < x1) & (lat_a > y0) & (lat_a < y1)


def _library(name: str) -> _Batch:
    """Wrap one ``coordtransform`` batch function: float64 arrays in, float64 arrays out."""
    func = getattr(_ct, name)

    def call(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
        if lon.size == 0:
            return lon.copy(), lat.copy()
        out_lon, out_lat = func(np.ascontiguousarray(lon), np.ascontiguousarray(lat))
        return np.asarray(out_lon, dtype=np.float64), np.asarray(out_lat, dtype=np.float64)

    return call


_LIB_WGS_GCJ = _library("wgs84_to_gcj02")
_LIB_GCJ_WGS = _library("gcj02_to_wgs84")
_LIB_GCJ_BD = _library("gcj02_to_bd09")
_LIB_BD_GCJ = _library("bd09_to_gcj02")
_LIB_BD_WGS = _library("bd09_to_wgs84")


def _prepare(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats, tuple[int, ...]]:
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon_a.ravel().copy(), lat_a.ravel().copy(), lon_a.shape


def _masked(func: _Batch, lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Apply ``func`` inside the China box only; other points pass through unchanged."""
    x, y, shape = _prepare(lon, lat)
    inside = in_china_box(x, y)
    x[inside], y[inside] = func(x[inside], y[inside])
    return x.reshape(shape), y.reshape(shape)


def _inverse(
    forward: Callable[[Floats, Floats], tuple[Floats, Floats]],
    first_guess: _Batch,
    lon: ArrayLike,
    lat: ArrayLike,
) -> tuple[Floats, Floats]:
    """Solve ``forward(w) = target`` for every target inside the China box.

    Fixed point ``w <- w - (forward(w) - target)``: the shifts change by < 3 % per unit of
    position, so each step gains ~1.5 digits. Targets without a solution (edge band) or NaN
    come back unchanged.
    """
    tx, ty, shape = _prepare(lon, lat)
    out_x, out_y = tx.copy(), ty.copy()
    todo = np.flatnonzero(in_china_box(tx, ty))
    wx, wy = first_guess(tx[todo], ty[todo])
    for _ in range(_MAX_ITER):
        if todo.size == 0:
            break
        fx, fy = forward(wx, wy)
        rx, ry = fx - tx[todo], fy - ty[todo]
        done = (np.abs(rx) < _TOL_DEG) & (np.abs(ry) < _TOL_DEG)
        out_x[todo[done]], out_y[todo[done]] = wx[done], wy[done]
        keep = ~done
        todo, wx, wy = todo[keep], wx[keep] - rx[keep], wy[keep] - ry[keep]
    return out_x.reshape(shape), out_y.reshape(shape)


def _check_method(method: str) -> InverseMethod:
    if method not in ("exact", "one_step"):
        raise InputError(f"Unknown inverse method {method!r}: use 'exact' or 'one_step'.")
    return "one_step" if method == "one_step" else "exact"


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """WGS84 lon/lat (degrees) to GCJ-02 lon/lat; unchanged outside the China box."""
    return _masked(_LIB_WGS_GCJ, lon, lat)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, method: InverseMethod = "exact"
) -> tuple[Floats, Floats]:
    """GCJ-02 lon/lat (degrees) to WGS84 lon/lat, exact inverse of :func:`wgs84_to_gcj02`.

    ``method="one_step"`` gives the library's closed-form approximation instead (metre-level
    error; what most tools, e.g. cnmaps, produce), to reproduce their output.
    """
    if _check_method(method) == "one_step":
        return _masked(_LIB_GCJ_WGS, lon, lat)
    return _inverse(wgs84_to_gcj02, _LIB_GCJ_WGS, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """GCJ-02 lon/lat (degrees) to BD-09 lon/lat; unchanged outside the China box."""
    return _masked(_LIB_GCJ_BD, lon, lat)


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, method: InverseMethod = "exact"
) -> tuple[Floats, Floats]:
    """BD-09 lon/lat (degrees) to GCJ-02 lon/lat, exact inverse of :func:`gcj02_to_bd09`.

    ``method="one_step"`` gives the library's closed-form approximation instead (metre-level
    error; what most tools, e.g. cnmaps, produce), to reproduce their output.
    """
    if _check_method(method) == "one_step":
        return _masked(_LIB_BD_GCJ, lon, lat)
    return _inverse(gcj02_to_bd09, _LIB_BD_GCJ, lon, lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """WGS84 lon/lat (degrees) to BD-09 lon/lat (GCJ-02 shift, then Baidu's)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, method: InverseMethod = "exact"
) -> tuple[Floats, Floats]:
    """BD-09 lon/lat (degrees) to WGS84 lon/lat, exact inverse of :func:`wgs84_to_bd09`.

    ``method="one_step"`` gives the library's closed-form approximation instead (metre-level
    error; what most tools, e.g. cnmaps, produce), to reproduce their output.
    """
    if _check_method(method) == "one_step":
        return _masked(_LIB_BD_WGS, lon, lat)
    return _inverse(wgs84_to_bd09, _LIB_BD_WGS, lon, lat)


def _identity(
    lon: ArrayLike, lat: ArrayLike, method: InverseMethod = "exact"
) -> tuple[Floats, Floats]:
    x, y, shape = _prepare(lon, lat)
    return x.reshape(shape), y.reshape(shape)


_Converter = Callable[[ArrayLike, ArrayLike, InverseMethod], tuple[Floats, Floats]]
_CONVERTERS: dict[tuple[str, str], _Converter] = {
    ("wgs84", "gcj02"): lambda x, y, m: wgs84_to_gcj02(x, y),
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): lambda x, y, m: gcj02_to_bd09(x, y),
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): lambda x, y, m: wgs84_to_bd09(x, y),
    ("bd09", "wgs84"): bd09_to_wgs84,
}


def _converter(from_sys: str, to_sys: str) -> _Converter:
    src, dst = str(from_sys).strip().lower(), str(to_sys).strip().lower()
    for name in (src, dst):
        if name not in OFFSET_SYSTEMS:
            raise CRSError(
                f"Unknown coordinate system {name!r}: use one of {', '.join(OFFSET_SYSTEMS)} "
                "(gcj02 for AMap/Tencent lon/lat, bd09 for Baidu lon/lat, wgs84 for GPS/OSM)."
            )
    return _identity if src == dst else _CONVERTERS[(src, dst)]


def convert_lonlat(
    lon: ArrayLike,
    lat: ArrayLike,
    from_sys: str,
    to_sys: str,
    method: InverseMethod = "exact",
) -> tuple[Floats, Floats]:
    """Convert lon/lat degrees between ``"wgs84"``, ``"gcj02"`` and ``"bd09"`` (``method``:
    see :func:`gcj02_to_wgs84`)."""
    return _converter(from_sys, to_sys)(lon, lat, _check_method(method))


def convert_geometries(
    geoms: ArrayLike, from_sys: str, to_sys: str, method: InverseMethod = "exact"
) -> NDArray[np.object_]:
    """Convert shapely geometries (lon/lat degrees) between wgs84, gcj02 and bd09.

    Every vertex is shifted independently (shapely.transform; z is dropped); None and empty
    stay as they are. ``method``: see :func:`gcj02_to_wgs84`. Returns a new object array of
    the input's shape.
    """
    func = _converter(from_sys, to_sys)
    how = _check_method(method)

    def shift(coords: Floats) -> Floats:
        x, y = func(coords[:, 0], coords[:, 1], how)
        return np.column_stack([x, y])

    arr = np.asarray(geoms, dtype=object)
    return np.asarray(shapely.transform(arr, shift), dtype=object)
