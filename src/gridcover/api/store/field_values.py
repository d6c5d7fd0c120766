"""Property values of stored features, written once for every backend.

- ``decode`` / ``typed_column``: a raw stored value (SQLite integer 0/1 for a boolean, JSON
  ``true`` in PostgreSQL, any scalar in a text column) -> the Python value and the pandas
  column every backend returns, so the same stored feature reads the same on both;
- ``coerce_property``: a JSON value from a client -> the field's type, refusing what no
  backend can store faithfully (integers beyond 64 bits, NaN/Infinity, strings that are not
  UTF-8 text, booleans given as numbers) with a sentence naming the property;
- ``id_column``: which column publishes the feature ids of a layer;
- ``feature_hash``: the version of one feature (its ETag and its audit hash).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridcover.api.store.base import FieldInfo
from gridcover.errors import InputError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def decode(value: Any, ftype: str) -> Any:
    """One stored value as the Python value of its field type (None stays None)."""
    if value is None:
        return None
    if ftype == "boolean":
        return bool(value)
    if ftype == "integer":
        return int(value)
    if ftype == "number":
        out = float(value)
        return out if math.isfinite(out) else None
    return value if isinstance(value, str) else str(value)


def decode_row(values: Mapping[str, Any], fields: tuple[FieldInfo, ...]) -> dict[str, Any]:
    """A stored row's properties, every field decoded (missing fields as None)."""
    return {f.name: decode(values.get(f.name), f.type) for f in fields}


def typed_column(values: list[Any], f: FieldInfo) -> Any:
    """A column of a read layer in the field's dtype (nullable where values are missing)."""
    decoded = [decode(v, f.type) for v in values]
    has_null = any(v is None for v in decoded)
    if f.type == "integer":
        return pd.array(decoded, dtype="Int64") if has_null else np.array(decoded, dtype=np.int64)
    if f.type == "number":
        return np.array([np.nan if v is None else v for v in decoded], dtype=float)
    if f.type == "boolean":
        if has_null:
            return pd.array(decoded, dtype="boolean")
        return np.array(decoded, dtype=bool)
    return pd.array(decoded, dtype="str")


def check_text(value: str, what: str) -> str:
    """``value`` if it encodes as UTF-8 (no lone surrogates), else InputError naming ``what``."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"{what} holds a lone surrogate ({value!r}), which is not text; send valid "
            "UTF-8 (a surrogate pair such as \\ud83d\\ude00, or the character itself)"
        ) from None
    return value


def coerce_property(value: Any, ftype: str, name: str, *, wide: bool = True) -> Any:
    """A JSON value converted to a stored field type; InputError names the property and fix.

    None stays None. Refused: booleans for numbers and numbers for booleans, fractions for
    integers, integers outside the signed 64-bit range (32-bit when ``wide`` is False: the
    column is published as a 32-bit integer), NaN and infinities, nested JSON, and strings
    with lone surrogates.
    """
    if value is None:
        return None
    what = f"property {name!r}"
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{what} = {value!r} is not a finite number; send a number or null")
    try:
        if ftype == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            out = int(value)
            lo, hi = (INT64_MIN, INT64_MAX) if wide else (-(2**31), 2**31 - 1)
            if not lo <= out <= hi:
                bits = 64 if wide else 32
                raise InputError(
                    f"{what} = {out} does not fit in this field's signed {bits}-bit integers "
                    f"({lo} .. {hi}); send a smaller integer"
                )
            return out
        if ftype == "number":
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if not math.isfinite(number):
                raise InputError(f"{what} = {value!r} is not a finite number")
            return number
        if ftype == "boolean":
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(
            f"{what} = {value!r} is not a valid {ftype}; send a JSON {ftype}"
        ) from None
    if isinstance(value, dict | list):
        raise InputError(f"{what} is a JSON {type(value).__name__}; send a {ftype}")
    return check_text(value if isinstance(value, str) else str(value), what)


def id_column(gdf: gpd.GeoDataFrame, id_field: str | None) -> str | None:
    """The id column to publish as feature id, if present, complete and unique."""
    if not id_field or id_field not in gdf.columns:
        return None
    col = gdf[id_field]
    if col.isna().any() or not col.is_unique:
        return None
    ok = pd.api.types.is_integer_dtype(col) or pd.api.types.is_string_dtype(col)
    return id_field if ok else None


def feature_hash(geometry: BaseGeometry | None, properties: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of one whole feature: its 2D little-endian WKB and its properties as
    canonical JSON (sorted keys). The feature's version: its ETag and its audit hash."""
    h = hashlib.sha256()
    if geometry is None or geometry.is_empty:
        h.update(b"\x00")
    else:
        h.update(shapely.to_wkb(geometry, output_dimension=2, byte_order=1))
    h.update(json.dumps(dict(properties), sort_keys=True, default=str).encode("utf-8"))
    return h.hexdigest()
