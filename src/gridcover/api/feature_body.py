"""The body of a single-feature write: a JSON object, checked before anything else sees it.

Refused with a sentence (400): an empty body, JSON nested deeper than the limit, bytes that are
not UTF-8, ``NaN``/``Infinity`` (not JSON numbers), strings or keys with lone surrogates, and
geometries whose coordinates are not finite JSON numbers (``["116.4", "39.9"]``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from gridcover.api.store.field_values import check_text
from gridcover.api.uploads import check_json_depth
from gridcover.errors import InputError
from gridcover.settings import Settings


def _no_constant(name: str) -> Any:
    raise InputError(f"the request body holds {name}, which is not a JSON number; send null")


def parse_body(raw: bytes, settings: Settings) -> dict[str, Any]:
    """A JSON object body (depth-checked before parsing); InputError if it is not one, or if
    it holds NaN/Infinity, undecodable bytes or strings with lone surrogates."""
    if not raw.strip():
        raise InputError("the request has no body; send a GeoJSON Feature")
    check_json_depth(raw, settings.max_json_depth, "the request body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the request body is not UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start});"
            " send JSON encoded as UTF-8"
        ) from None
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError("the request body must be a JSON object (a GeoJSON Feature)")
    _check_strings(doc, "the request body")
    return doc


def _check_strings(value: Any, where: str) -> None:
    """Every key and string of a parsed JSON document is UTF-8 text (no lone surrogates)."""
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, dict):
        for k, v in value.items():
            check_text(k, f"a key of {where}")
            _check_strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for v in value:
            _check_strings(v, where)


def _check_coordinates(value: Any) -> None:
    """GeoJSON coordinates are nested arrays of finite JSON numbers (never strings)."""
    if isinstance(value, list):
        for v in value:
            _check_coordinates(v)
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(
            f"the feature's geometry has a coordinate {value!r} that is not a number; "
            "coordinates are JSON numbers such as [116.397, 39.909]"
        )
    if not math.isfinite(float(value)) or abs(value) > 1e15:
        raise InputError(f"the feature's geometry has a coordinate {value!r} out of range")


def geometry_of(doc: dict[str, Any]) -> BaseGeometry | None:
    raw = doc.get("geometry")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InputError("the feature's geometry must be a GeoJSON geometry object or null")
    _check_coordinates(raw.get("coordinates", []))
    try:
        return shapely.geometry.shape(raw)
    except Exception as exc:
        raise InputError(f"the feature's geometry is not valid GeoJSON ({exc})") from None
