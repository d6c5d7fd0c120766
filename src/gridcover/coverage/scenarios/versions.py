"""Versions of input layers: a content digest, the same wherever the layer was read from.

``layer_version(gdf)`` hashes the geometry (EPSG:4326 WKB, coordinates rounded to 1e-7°)
and the canonical attribute columns present (``CANONICAL``; bookkeeping columns such as a
store's row ids are left out), in row order. Two reads of the same file give the same
version; any edit of a geometry or a canonical value gives another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["CANONICAL", "layer_version", "stale_inputs", "versions"]

CANONICAL = {
    "grids": ("code", "parent_code", "level"),
    "cameras": ("camera_id", "type", "status", "azimuth_deg", "fov_deg", "range_m", "height_m",
                "owner"),
    "buildings": ("height_m",),
    "roads": ("class",),
    "sites": ("kind", "weight"),
    "posts": ("post_id",),
    "incidents": ("count",),
}  # fmt: skip


def layer_version(gdf: gpd.GeoDataFrame | None, kind: str) -> str:
    """A 16-hex-digit digest of a canonical layer (see module doc); "" for no layer."""
    if gdf is None:
        return ""
    g = gdf.to_crs("EPSG:4326") if gdf.crs is not None else gdf
    geoms = shapely.set_precision(np.asarray(g.geometry.values), 1e-7)
    h = hashlib.sha256()
    h.update(kind.encode())
    h.update(b"".join(shapely.to_wkb(geoms, hex=False, include_srid=False)))
    for col in CANONICAL.get(kind, ()):
        if col in g.columns:
            vals = pd.Series(g[col].to_numpy(dtype=object)).map(_canon)
            h.update(col.encode() + "\x1f".join(vals).encode())
    return h.hexdigest()[:16]


def _canon(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return ""
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, float | np.floating):
        return repr(round(float(v), 9))
    return str(v)


def versions(layers: Mapping[str, gpd.GeoDataFrame | None]) -> dict[str, str]:
    """Layer kind -> version, for the layers given (None layers left out)."""
    return {k: layer_version(v, k) for k, v in layers.items() if v is not None}


def stale_inputs(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Sentences naming each input whose version differs (added, changed or removed)."""
    out = []
    for k in sorted(set(recorded) | set(current)):
        a, b = recorded.get(k), current.get(k)
        if a == b:
            continue
        if a is None:
            out.append(f"layer '{k}' was added since (now {b})")
        elif b is None:
            out.append(f"layer '{k}' was removed since (was {a})")
        else:
            out.append(f"layer '{k}' changed from version {a} to {b}")
    return out
