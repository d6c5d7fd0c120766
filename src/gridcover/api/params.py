"""Query parameters of the OGC routes as typed dependencies that raise domain errors.

Each dependency reads ``request.query_params``, checks every name and value and returns a
frozen value; a bad or unknown parameter raises ``InputError`` (400 with a JSON body). Names
other than the standard ones are property equality filters, checked against the collection's
properties by the store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from gridcover.api.ogc_crs import CRS84, OfferedCRS, bbox_to_storage, parse_crs
from gridcover.api.store import ItemsQuery
from gridcover.errors import InputError

F_VALUES = ("json", "geojson", "application/json", "application/geo+json")
ITEMS_PARAMS = ("bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "f")
_DT = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?"
_DATETIME = re.compile(rf"^(({_DT})|(({_DT})|\.\.)?/(({_DT})|\.\.)?)$", re.IGNORECASE)


@dataclass(frozen=True)
class ItemsParams:
    """Parsed /items parameters: the store query (bbox in CRS84), output CRS, limit asked."""

    query: ItemsQuery
    crs: OfferedCRS
    bbox: tuple[float, ...] | None
    bbox_crs: OfferedCRS | None


@dataclass(frozen=True)
class FeatureParams:
    """Parsed single-feature parameters: the output CRS."""

    crs: OfferedCRS


def _single(request: Request, allowed: tuple[str, ...], filters_allowed: bool) -> dict[str, str]:
    """The query parameters as a dict; 400 on repeated names and (optionally) unknown names."""
    out: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in out:
            raise InputError(f"query parameter {name!r} is given more than once; give it once")
        if not filters_allowed and name not in allowed:
            raise InputError(
                f"unknown query parameter {name!r} on {request.url.path}; "
                f"allowed: {', '.join(allowed)}"
            )
        out[name] = value
    f = out.get("f")
    if f is not None and f.lower() not in F_VALUES:
        raise InputError(f"f={f!r} is not offered; use f=json (the only format)")
    return out


def plain_params(*allowed: str) -> Callable[[Request], None]:
    """A dependency that allows only ``f`` and the given names (landing page, collections)."""
    names = ("f", *allowed)

    def dependency(request: Request) -> None:
        _single(request, names, filters_allowed=False)

    return dependency


def _int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r} is not an integer; give a whole number") from None
    if value < minimum:
        raise InputError(f"{name}={value} is below {minimum}; give {minimum} or more")
    return value


def parse_bbox(raw: str) -> tuple[float, ...]:
    """``minx,miny,maxx,maxy`` (or 6 numbers with heights) in the bbox-crs axis order."""
    parts = raw.split(",")
    try:
        nums = tuple(float(p) for p in parts)
    except ValueError:
        nums = ()
    if len(parts) not in (4, 6) or len(nums) != len(parts) or not all(map(math.isfinite, nums)):
        raise InputError(
            f"bbox={raw!r} is not 4 (or 6) comma-separated numbers; give "
            "bbox=minx,miny,maxx,maxy in the axis order of bbox-crs (default CRS84 lon,lat)"
        )
    return nums


def _bbox_2d(nums: tuple[float, ...]) -> tuple[float, float, float, float]:
    if len(nums) == 6:
        return (nums[0], nums[1], nums[3], nums[4])
    return (nums[0], nums[1], nums[2], nums[3])


def items_params(settings_limit: int, max_limit: int) -> Callable[[Request], ItemsParams]:
    """The dependency of /collections/{collectionId}/items (limit default and maximum)."""

    def dependency(request: Request) -> ItemsParams:
        q = _single(request, ITEMS_PARAMS, filters_allowed=True)
        crs = parse_crs(q["crs"], "crs") if "crs" in q else parse_crs(CRS84, "crs")
        bbox_crs = parse_crs(q["bbox-crs"], "bbox-crs") if "bbox-crs" in q else None
        if bbox_crs is not None and "bbox" not in q:
            raise InputError("bbox-crs is given without bbox; give both or neither")
        limit = _int("limit", q["limit"], 1) if "limit" in q else settings_limit
        offset = _int("offset", q["offset"], 0) if "offset" in q else 0
        offset = min(offset, 2**62)  # past any layer's end: an empty page, never an overflow
        if "datetime" in q and not _DATETIME.match(q["datetime"].strip()):
            raise InputError(
                f"datetime={q['datetime']!r} is not an RFC 3339 date-time or interval "
                "(e.g. 2024-01-01T00:00:00Z or 2024-01-01/..)"
            )
        bbox_nums = parse_bbox(q["bbox"]) if "bbox" in q else None
        bbox84 = None
        if bbox_nums is not None:
            in_crs = bbox_crs or parse_crs(CRS84, "bbox-crs")
            b = _bbox_2d(bbox_nums)
            if b[0] > b[2] or b[1] > b[3]:
                raise InputError(
                    f"bbox={q['bbox']!r}: the lower corner is above or right of the upper corner "
                    f"(in the axis order of {in_crs.uri}); boxes across the antimeridian are not "
                    "supported"
                )
            bbox84 = bbox_to_storage(b, in_crs)
            if in_crs.epsg in (None, 4490, 4326) and not (-90 <= bbox84[1] <= bbox84[3] <= 90):
                if in_crs.lat_first:
                    order = "latitude first: bbox=minlat,minlon,maxlat,maxlon"
                else:
                    order = "longitude first: bbox=minlon,minlat,maxlon,maxlat"
                raise InputError(
                    f"bbox={q['bbox']!r} gives latitudes {bbox84[1]:g}..{bbox84[3]:g}, outside "
                    f"-90..90; the axis order of {in_crs.uri} is {order}"
                )
        filters = {k: v for k, v in q.items() if k not in ITEMS_PARAMS}
        query = ItemsQuery(bbox=bbox84, filters=filters, limit=min(limit, max_limit), offset=offset)
        return ItemsParams(query=query, crs=crs, bbox=bbox_nums, bbox_crs=bbox_crs)

    return dependency


def feature_params(request: Request) -> FeatureParams:
    """The dependency of /collections/{collectionId}/items/{featureId}."""
    q = _single(request, ("crs", "f"), filters_allowed=False)
    crs = parse_crs(q["crs"], "crs") if "crs" in q else parse_crs(CRS84, "crs")
    return FeatureParams(crs=crs)
