"""Patrol-zone map layer: the figures of ``coverage.patrol.patrol_zones`` in tooltips, and
colours chosen so that zones sharing a border never share a colour."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridcover.gis.maps.i18n import label
from gridcover.gis.maps.layers import MapLayer, _fmt, _frame, _opt, _require, _text

__all__ = ["ZONE_COLOURS", "zone_colours", "zones_layer"]

#: Qualitative colours (ColorBrewer Dark2); a planar map of zones never needs all eight.
ZONE_COLOURS = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
)


def zone_colours(geoms: np.ndarray) -> np.ndarray:
    """Index into :data:`ZONE_COLOURS` per polygon such that touching polygons differ.

    Greedy colouring of the touch graph (STRtree ``intersects``), most-connected first;
    falls back to cycling the palette only if a zone touches more zones than there are
    colours minus one, which a planar partition of hexagon cells does not produce in practice.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = geoms.size
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = (a != b) & ok[a] & ok[b]
    a, b = a[keep], b[keep]
    degree = np.bincount(a, minlength=n)
    for i in np.argsort(-degree, kind="stable"):
        used = set(out[b[a == i]].tolist())
        free = [k for k in range(len(ZONE_COLOURS)) if k not in used]
        out[i] = free[0] if free else i % len(ZONE_COLOURS)
    return out


def zones_layer(zones: gpd.GeoDataFrame, lang: str = "zh", show: bool = True) -> MapLayer:
    """Patrol zones, neighbours in different colours. Columns: ``post_id``; optional
    ``name``, ``cells``, ``area_km2``, ``workload``, ``max_travel_min``, ``mean_travel_min``,
    ``polsby_popper``, ``contiguous``, ``exclaves`` (a ``patrol_zones(...).zones`` table has
    them all; ``area_m2`` / ``travel_max_min`` are read too). ``show``: visible at start."""
    z = _require(zones, ("post_id",), "patrol zones")
    z = z[~(z.geometry.is_empty | z.geometry.isna())]
    cols: dict[str, Any] = {"post_id": z["post_id"].astype(str).to_numpy()}
    cols |= _opt(z, "name", lambda s: _text(s, lang))
    cols |= _opt(z, "area_km2", lambda s: _fmt(s, 2))
    cols |= _opt(z, "area_m2", _fmt)
    cols |= _opt(z, "workload", lambda s: _fmt(s, 1))
    for c in ("max_travel_min", "mean_travel_min", "travel_max_min"):
        cols |= _opt(z, c, lambda s: _fmt(s, 1))
    cols |= _opt(z, "polsby_popper", lambda s: _fmt(s, 2))
    cols |= _opt(z, "contiguous", lambda s: _text(s.astype(bool), lang))
    cols |= _opt(z, "exclaves", _fmt)
    idx = zone_colours(np.asarray(z.geometry.values))
    colours = np.array([ZONE_COLOURS[k] for k in idx], dtype=object)
    style = {"weight": 2, "fillOpacity": 0.3, "opacity": 0.9}
    return MapLayer(
        "zones",
        label("layer.zones", lang),
        _frame(z, cols, colours),
        tuple(cols),
        style,
        show=show,
    )
