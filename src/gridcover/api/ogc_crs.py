"""CRS of OGC API - Features Part 2: the CRS the service offers, axis order, conversions.

Storage is CRS84 (longitude, latitude). EPSG:4490 (CGCS2000) and EPSG:4326 (WGS 84) are
offered with their authority axis order, latitude first, in responses and in ``bbox-crs``.
CGCS2000 and WGS 84 agree to within a few centimetres, below the accuracy of the data, so
the service treats them as the same datum: an EPSG:4490 response is the CRS84 response with
the two axes swapped, exactly. EPSG:3857 (Web Mercator, metres) is converted with pyproj.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from gridcover.errors import CRSError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"


@dataclass(frozen=True)
class OfferedCRS:
    """One CRS of the service: its URI, whether latitude comes first, its EPSG code."""

    uri: str
    lat_first: bool
    epsg: int | None  # None: CRS84 itself

    @property
    def is_storage(self) -> bool:
        return self.epsg is None


OFFERED: tuple[OfferedCRS, ...] = (
    OfferedCRS(CRS84, lat_first=False, epsg=None),
    OfferedCRS(EPSG_URI.format(code=4490), lat_first=True, epsg=4490),
    OfferedCRS(EPSG_URI.format(code=4326), lat_first=True, epsg=4326),
    OfferedCRS(EPSG_URI.format(code=3857), lat_first=False, epsg=3857),
)
OFFERED_URIS: tuple[str, ...] = tuple(c.uri for c in OFFERED)
_GEOGRAPHIC = (None, 4490, 4326)


def parse_crs(value: str, parameter: str) -> OfferedCRS:
    """The offered CRS named by a URI (also ``EPSG:4490``, ``[EPSG:4490]``, ``CRS84``)."""
    text = value.strip().strip("[]")
    short = text.upper()
    for c in OFFERED:
        aliases = {c.uri.upper()}
        if c.epsg is None:
            aliases |= {"CRS84", "OGC:CRS84", "HTTPS://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84"}
        else:
            aliases |= {f"EPSG:{c.epsg}", c.uri.upper().replace("HTTP://", "HTTPS://")}
        if short in aliases:
            return c
    raise CRSError(f"{parameter}={value!r} is not offered; use one of: {', '.join(OFFERED_URIS)}")


@lru_cache(maxsize=8)
def _transformer(epsg: int, inverse: bool) -> Transformer:
    src, dst = ("OGC:CRS84", f"EPSG:{epsg}")
    if inverse:
        src, dst = dst, src
    return Transformer.from_crs(src, dst, always_xy=True)


def from_storage(geoms: np.ndarray, crs: OfferedCRS) -> np.ndarray:
    """Geometries in CRS84 -> the coordinates of ``crs`` in its axis order."""
    if crs.is_storage or len(geoms) == 0:
        return geoms
    if crs.epsg in _GEOGRAPHIC:
        return shapely.transform(geoms, lambda xy: xy[:, ::-1])
    tr = _transformer(int(crs.epsg or 0), inverse=False)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)


def bbox_to_storage(
    bbox: tuple[float, float, float, float], crs: OfferedCRS
) -> tuple[float, float, float, float]:
    """A bbox given in ``crs`` (its axis order) -> (min lon, min lat, max lon, max lat)."""
    a, b, c, d = bbox
    if crs.is_storage:
        return bbox
    if crs.epsg in _GEOGRAPHIC:
        return (b, a, d, c)  # (min lat, min lon, max lat, max lon) -> lon/lat
    tr = _transformer(int(crs.epsg or 0), inverse=True)
    out = tr.transform_bounds(a, b, c, d, densify_pts=21)
    if not np.all(np.isfinite(out)):
        raise CRSError(f"bbox {list(bbox)} lies outside the area of {crs.uri}")
    return (float(out[0]), float(out[1]), float(out[2]), float(out[3]))


def bbox_from_storage(
    bbox: tuple[float, float, float, float], crs: OfferedCRS
) -> tuple[float, float, float, float]:
    """A CRS84 bbox expressed in ``crs`` with its axis order (for extents)."""
    if crs.is_storage:
        return bbox
    if crs.epsg in _GEOGRAPHIC:
        return (bbox[1], bbox[0], bbox[3], bbox[2])
    tr = _transformer(int(crs.epsg or 0), inverse=False)
    out = tr.transform_bounds(*bbox, densify_pts=21)
    return (float(out[0]), float(out[1]), float(out[2]), float(out[3]))
