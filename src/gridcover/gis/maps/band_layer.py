"""Detail-band map layer of a 3D run: identify / recognise / observe / detect rings, coloured
by level (see ``coverage.views.bands``)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from gridcover.gis.maps.budget import FEATURE_BUDGET, dissolve_by
from gridcover.gis.maps.i18n import label
from gridcover.gis.maps.layers import (
    DETAIL_COLOURS,
    MapLayer,
    _fmt,
    _frame,
    _level_text,
    _opt,
    _require,
)

__all__ = ["DETAIL_COLOURS", "bands_layer"]


def bands_layer(
    bands: gpd.GeoDataFrame, lang: str = "zh", budget: int = FEATURE_BUDGET
) -> MapLayer:
    """Detail bands of a 3D run (identify / recognise / observe / detect rings cut by 3D
    occlusion). Columns: ``camera_id``, ``level`` (1-4); optional ``level_name``,
    ``inner_m``, ``outer_m``, ``counted``. Above ``budget`` merged into one shape per level."""
    b = _require(bands, ("camera_id", "level"), "view bands")
    b = b[~(b.geometry.is_empty | b.geometry.isna())].sort_values("level", kind="stable")
    notes: tuple[str, ...] = ()
    if len(b) > budget:
        b = dissolve_by(b, "level")
        n = len(bands)
        notes = (label("note.dissolved", lang, layer=label("layer.bands", lang), n=n,
                       budget=budget, m=len(b)),)  # fmt: skip
        cols = {"level": _level_text(b["level"], lang), "cells": _fmt(b["count"])}
    else:
        cols = {"camera_id": b["camera_id"].astype(str).to_numpy(),
                "level": _level_text(b["level"], lang)}  # fmt: skip
        cols |= _opt(b, "inner_m", lambda s: _fmt(s, 1))
        cols |= _opt(b, "outer_m", lambda s: _fmt(s, 1))
    colours = np.array([DETAIL_COLOURS.get(int(v), "#bdbdbd") for v in b["level"]], dtype=object)
    style = {"stroke": False, "fillOpacity": 0.35}
    return MapLayer("bands", label("layer.bands", lang), _frame(b, cols, colours), tuple(cols),
                    style, show=False, notes=notes)  # fmt: skip
