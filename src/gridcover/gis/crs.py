"""CRS handling: normalise, cache transformers, pick a local metric CRS, CGCS2000 GK zones.

Conventions (docs/CRS.md has the full story):

- Storage is EPSG:4326 lon/lat. Every transformer here is built with ``always_xy=True``, so
  x is longitude/easting and y is latitude/northing whatever the authority axis order says
  (EPSG:4490 and the CGCS2000 Gauss-Krüger CRSs are northing/latitude-first officially).
- Metre maths happens only in :func:`local_metric_crs`: CGCS2000 3-degree Gauss-Krüger
  (no zone prefix) inside China, WGS84 UTM elsewhere.
- GCJ-02 / BD-09 are offsets, not CRSs: see :mod:`gridcover.gis.chinese_offsets`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray
from pyproj.exceptions import CRSError as _PyprojCRSError

from gridcover.errors import CRSError, UnitsError
from gridcover.gis.chinese_offsets import CHINA_BOX, in_china_box

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "GK_ZONES",
    "GKZone",
    "crs_label",
    "gk_epsg",
    "guess_gk_epsg",
    "local_metric_crs",
    "looks_projected",
    "normalize_crs",
    "require_metric",
    "to_metric",
    "transform_xy",
    "transformer",
    "xy_from_authority",
]

Floats = NDArray[np.float64]

_FRIENDLY: dict[str, int] = {
    "wgs84": 4326,
    "epsg4326": 4326,
    "cgcs2000": 4490,
    "epsg4490": 4490,
    "webmercator": 3857,
    "pseudomercator": 3857,
    "googlemercator": 3857,
    "epsg3857": 3857,
}
_OFFSET_NAMES = {"gcj02", "gcj", "mars", "amap", "bd09", "baidu", "bd09ll"}


@dataclass(frozen=True)
class GKZone:
    """One CGCS2000 Gauss-Krüger CRS: EPSG code, zone width (3 or 6 degrees), zone number,
    central meridian (degrees east) and whether the false easting carries the zone number
    (``zone * 1e6 + 500000``) or is plain 500000 m."""

    epsg: int
    width: int
    zone: int
    central_meridian: int
    prefixed: bool

    @property
    def false_easting(self) -> float:
        return self.zone * 1e6 + 5e5 if self.prefixed else 5e5


def _build_gk_zones() -> tuple[GKZone, ...]:
    zones = []
    for i in range(11):  # 6-degree: zones 13..23, CM 75..135
        zones.append(GKZone(4491 + i, 6, 13 + i, 75 + 6 * i, True))
        zones.append(GKZone(4502 + i, 6, 13 + i, 75 + 6 * i, False))
    for i in range(21):  # 3-degree: zones 25..45, CM 75..135
        zones.append(GKZone(4513 + i, 3, 25 + i, 75 + 3 * i, True))
        zones.append(GKZone(4534 + i, 3, 25 + i, 75 + 3 * i, False))
    return tuple(sorted(zones, key=lambda z: z.epsg))


#: Every CGCS2000 Gauss-Krüger CRS in the EPSG registry (EPSG:4491-4554), by code.
GK_ZONES: tuple[GKZone, ...] = _build_gk_zones()
_GK_BY_EPSG = {z.epsg: z for z in GK_ZONES}


def gk_epsg(lon: float, width: int = 3, prefixed: bool = False) -> int:
    """EPSG code of the CGCS2000 Gauss-Krüger zone whose central meridian is nearest ``lon``
    (degrees east, clamped to China's 75..135 E). ``width`` is 3 or 6 degrees."""
    if width not in (3, 6):
        raise CRSError(f"Gauss-Krüger zone width must be 3 or 6 degrees, not {width}.")
    if width == 3:
        cm = int(np.clip(3 * round(lon / 3), 75, 135))
    else:  # 6-degree central meridians are 3, 9, ..., 75, 81, ..., 135
        cm = int(np.clip(6 * math.floor(lon / 6) + 3, 75, 135))
    return next(
        z.epsg
        for z in GK_ZONES
        if z.width == width and z.central_meridian == cm and z.prefixed == prefixed
    )


def crs_label(crs: pyproj.CRS) -> str:
    """Short human label for messages: ``"EPSG:4490 (China Geodetic Coordinate System 2000)"``."""
    code = crs.to_epsg(min_confidence=90)
    return f"EPSG:{code} ({crs.name})" if code else repr(crs.name)


@lru_cache(maxsize=256)
def _from_hashable(value: int | str) -> pyproj.CRS:
    if isinstance(value, str):
        key = value.strip().lower().replace(" ", "").replace("-", "").replace("_", "")
        key = key.replace(":", "") if key.startswith("epsg:") else key
        if key in _OFFSET_NAMES:
            raise CRSError(
                f"{value!r} is a Chinese web-map offset, not a CRS: read the data as EPSG:4326 "
                "lon/lat and convert it with gridcover.gis.chinese_offsets.convert_geometries"
                "(geoms, 'gcj02' or 'bd09', 'wgs84')."
            )
        if key in _FRIENDLY:
            return pyproj.CRS.from_epsg(_FRIENDLY[key])
    try:
        if isinstance(value, int):
            return pyproj.CRS.from_epsg(value)
        return pyproj.CRS.from_user_input(value.strip())
    except _PyprojCRSError as exc:
        raise CRSError(
            f"Unknown CRS {value!r}: give an EPSG code (4326, 'EPSG:4490', 4547), a WKT or PROJ "
            "string, or one of 'wgs84', 'cgcs2000', 'webmercator'."
        ) from exc


def normalize_crs(value: Any) -> pyproj.CRS:
    """Turn a CRS given in any accepted form into a ``pyproj.CRS``.

    Accepts ``pyproj.CRS``, int EPSG codes, ``"EPSG:4490"``, WKT / PROJ strings, objects with
    ``to_wkt()`` and the names ``"wgs84"``, ``"cgcs2000"``, ``"webmercator"``. Raises
    :class:`gridcover.errors.CRSError` with a sentence for None or anything unknown.
    """
    if isinstance(value, pyproj.CRS):
        return value
    if value is None:
        raise CRSError(
            "No CRS given: declare one (e.g. 'EPSG:4326' for GPS lon/lat, 'EPSG:4490' for "
            "CGCS2000, 'EPSG:4547' for CGCS2000 GK CM 114E)."
        )
    if isinstance(value, bool) or not isinstance(value, int | str | np.integer):
        if hasattr(value, "to_wkt"):
            return _from_hashable(str(value.to_wkt()))
        raise CRSError(
            f"Cannot read a CRS from a {type(value).__name__}: give an EPSG code, a WKT or "
            "PROJ string, or a pyproj.CRS."
        )
    return _from_hashable(int(value) if isinstance(value, np.integer) else value)


@lru_cache(maxsize=128)
def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def transformer(src: Any, dst: Any) -> pyproj.Transformer:
    """Cached ``pyproj.Transformer`` from ``src`` to ``dst`` with ``always_xy=True``
    (x = lon/easting, y = lat/northing on both sides)."""
    return _transformer(normalize_crs(src), normalize_crs(dst))


def transform_xy(x: ArrayLike, y: ArrayLike, src: Any, dst: Any) -> tuple[Floats, Floats]:
    """Transform x/y arrays (lon/lat or easting/northing, always x first) from ``src`` to
    ``dst``. Raises CRSError naming how many points failed and the first one's index."""
    xa, ya = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    src_crs, dst_crs = normalize_crs(src), normalize_crs(dst)
    ox, oy = _transformer(src_crs, dst_crs).transform(xa, ya, errcheck=False)
    ox, oy = np.asarray(ox, dtype=np.float64), np.asarray(oy, dtype=np.float64)
    bad = ~(np.isfinite(ox) & np.isfinite(oy))
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        fx, fy = xa.ravel()[first], ya.ravel()[first]
        raise CRSError(
            f"{int(bad.sum())} of {bad.size} point(s) could not be transformed from "
            f"{crs_label(src_crs)} to {crs_label(dst_crs)} (first at index {first}: "
            f"x={fx!r}, y={fy!r}); check that the coordinates are in the source CRS's units "
            "and x-first order (lon/lat or easting/northing), finite, and inside its area of use."
        )
    return ox, oy


def xy_from_authority(crs: Any, first: ArrayLike, second: ArrayLike) -> tuple[Floats, Floats]:
    """Reorder coordinates given in ``crs``'s authority axis order into (x, y).

    EPSG:4490 and EPSG:4326 are officially (lat, lon) and the CGCS2000 GK CRSs (northing,
    easting); for such CRSs the two inputs are swapped, otherwise returned as they are.
    """
    axes = normalize_crs(crs).axis_info
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    north_first = bool(axes) and axes[0].direction.lower() in ("north", "south")
    return (b, a) if north_first else (a, b)


def looks_projected(x: ArrayLike, y: ArrayLike) -> bool:
    """True when coordinates labelled as degrees cannot be lon/lat: some |x| > 180 or |y| > 90
    (non-finite values are ignored)."""
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return bool(
        np.any(np.abs(xa[np.isfinite(xa)]) > 180) or np.any(np.abs(ya[np.isfinite(ya)]) > 90)
    )


def _centre(lon: ArrayLike, lat: ArrayLike) -> tuple[float, float]:
    lon_a = np.asarray(lon, dtype=np.float64).ravel()
    lat_a = np.asarray(lat, dtype=np.float64).ravel()
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    ok = np.isfinite(lon_a) & np.isfinite(lat_a)
    if not ok.any():
        raise CRSError("No finite coordinates were given, so no local metric CRS can be chosen.")
    lon_a, lat_a = lon_a[ok], lat_a[ok]
    if looks_projected(lon_a, lat_a):
        raise CRSError(
            f"Coordinates up to x={np.abs(lon_a).max():.6g}, y={np.abs(lat_a).max():.6g} are not "
            "lon/lat degrees: they look projected (metres); declare their real CRS "
            "(gridcover.gis.crs.guess_gk_epsg suggests CGCS2000 Gauss-Krüger codes)."
        )
    return (float(lon_a.min() + lon_a.max()) / 2, float(lat_a.min() + lat_a.max()) / 2)


def local_metric_crs(lon: float | ArrayLike, lat: float | ArrayLike) -> pyproj.CRS:
    """Metric CRS for metre maths around WGS84 lon/lat (scalars or arrays; the centre of their
    extent decides): inside the China box the CGCS2000 3-degree Gauss-Krüger zone without zone
    prefix (EPSG:4534-4554, central meridian 75..135 step 3), elsewhere WGS84 UTM
    (EPSG:326xx north / 327xx south) and UPS beyond 84 N / 80 S. Units: metres, x = easting.
    """
    clon, clat = _centre(lon, lat)
    if bool(in_china_box(clon, clat)):
        return _from_hashable(gk_epsg(clon, width=3, prefixed=False))
    if clat > 84.0:
        return _from_hashable(32661)
    if clat < -80.0:
        return _from_hashable(32761)
    zone = min(int((clon + 180.0) // 6.0) + 1, 60)
    return _from_hashable((32600 if clat >= 0 else 32700) + zone)


def require_metric(crs: Any, what: str) -> None:
    """Raise :class:`gridcover.errors.UnitsError` unless ``crs`` is projected in metres.

    ``what`` names the quantity asked for, e.g. ``"camera range"`` or ``"cell area"``.
    """
    crs_obj = normalize_crs(crs)
    if crs_obj.is_geographic:
        raise UnitsError(
            f"The {what} is in metres but {crs_label(crs_obj)} is geographic (degrees): "
            "project first with gridcover.gis.crs.to_metric(gdf) or "
            "gdf.to_crs(gridcover.gis.crs.local_metric_crs(lon, lat))."
        )
    units = {(a.unit_name or "").lower() for a in crs_obj.axis_info[:2]}
    factors = {a.unit_conversion_factor for a in crs_obj.axis_info[:2]}
    if not crs_obj.is_projected or factors != {1.0}:
        raise UnitsError(
            f"The {what} is in metres but {crs_label(crs_obj)} is not projected in metres "
            f"(axis units: {', '.join(sorted(units)) or 'unknown'}): project to "
            "gridcover.gis.crs.local_metric_crs(lon, lat) first."
        )


def metric_crs_for(gdf: gpd.GeoDataFrame) -> pyproj.CRS:
    """The :func:`local_metric_crs` for a GeoDataFrame (any declared CRS), from its extent."""
    if gdf.crs is None:
        raise CRSError(
            "The layer has no CRS: set one (gdf.set_crs('EPSG:4326') for GPS lon/lat) before "
            "measuring in metres."
        )
    bounds = np.asarray(gdf.total_bounds, dtype=np.float64)
    if len(gdf) == 0 or not np.isfinite(bounds).all():
        raise CRSError("The layer has no coordinates, so no local metric CRS can be chosen.")
    src = normalize_crs(gdf.crs)
    if not src.equals(_from_hashable(4326), ignore_axis_order=True):
        bounds = np.asarray(_transformer(src, _from_hashable(4326)).transform_bounds(*bounds))
    return local_metric_crs(bounds[[0, 2]], bounds[[1, 3]])


def to_metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Project a GeoDataFrame (normally EPSG:4326) to its :func:`local_metric_crs`."""
    return gdf.to_crs(metric_crs_for(gdf))


def _implied_lonlat(zone: GKZone, x: float, y: float, use_area: bool) -> float | None:
    """Longitude that (x, y) has in ``zone`` if the point is plausible there, else None."""
    lon, lat = _transformer(_from_hashable(zone.epsg), _from_hashable(4490)).transform(x, y)
    margin = 0.25
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if abs(lon - zone.central_meridian) > zone.width / 2 + margin:
        return None
    if not CHINA_BOX[1] < lat < CHINA_BOX[3]:
        return None
    area = _from_hashable(zone.epsg).area_of_use
    if use_area and area is not None:
        w, s, e, n = area.bounds
        if not (w - margin <= lon <= e + margin and s - margin <= lat <= n + margin):
            return None
    return float(lon)


def guess_gk_epsg(x: ArrayLike, y: ArrayLike, lon_hint: float | None = None) -> list[int]:
    """Suggest CGCS2000 Gauss-Krüger EPSG codes for metre coordinates mislabelled as degrees.

    ``x`` is easting, ``y`` northing (metres); the median point decides. An easting with a
    zone prefix is unambiguous: 25..45 million -> 3-degree zone (EPSG:4513-4533), 13..23
    million -> 6-degree zone (EPSG:4491-4501). Without a prefix (easting ~ 500 km +- zone
    half-width) every no-prefix zone whose area of use holds the point at that northing is
    listed: 3-degree (EPSG:4534-4554) before 6-degree (EPSG:4502-4512), west to east; or,
    when ``lon_hint`` (degrees east, e.g. the city's longitude) is given, the zone that puts
    the point nearest that longitude first. Returns [] when nothing fits.
    """
    xa, ya = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    ok = np.isfinite(xa) & np.isfinite(ya)
    if not ok.any():
        return []
    mx, my = float(np.median(xa[ok])), float(np.median(ya[ok]))
    if mx >= 1e6:
        number = int(mx // 1e6)
        zone = next((z for z in GK_ZONES if z.prefixed and z.zone == number), None)
        if zone is None or _implied_lonlat(zone, mx, my, use_area=False) is None:
            return []
        return [zone.epsg]
    found: list[tuple[float, int, int, int]] = []
    for z in GK_ZONES:
        if z.prefixed:
            continue
        lon = _implied_lonlat(z, mx, my, use_area=True)
        if lon is not None:
            rank = abs(lon - lon_hint) if lon_hint is not None else 0.0
            found.append((rank, z.width, z.central_meridian, z.epsg))
    return [code for *_, code in sorted(found)]
