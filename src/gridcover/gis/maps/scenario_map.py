"""The map of a scenario comparison: grids, the cameras of both scenarios, the changed cells.

``comparison_map(grids=..., changed=..., cameras_a=..., cameras_b=..., a=..., b=...)`` builds
the usual offline map (``build_map``: grids, B's cameras with their status, the cameras B
adds to A as "proposed") and adds one overlay of the cells whose coverage changes: green
where B gains coverage, red where it loses it (tooltip: H3 cell, change, weight).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from gridcover.gis.maps.builder import GridcoverMap, build_map
from gridcover.gis.maps.i18n import check_lang, label
from gridcover.gis.maps.layers import _frame
from gridcover.gis.maps.overlay import GeoJsonOverlay, feature_collection

__all__ = ["comparison_map"]

CHANGE_COLOURS = {
    "gained": "#31a354",
    "lost": "#de2d26",
    "level_up": "#3182bd",
    "level_down": "#e6550d",
    "more_cameras": "#a1d99b",
    "fewer_cameras": "#fcae91",
}


def comparison_map(
    *,
    grids: gpd.GeoDataFrame | None,
    changed: gpd.GeoDataFrame,
    cameras_a: gpd.GeoDataFrame,
    cameras_b: gpd.GeoDataFrame,
    a: str,
    b: str,
    lang: str = "zh",
) -> GridcoverMap:
    """The comparison map (layers in any CRS; ``changed`` with ``h3``, ``change``, ``weight``)."""
    lang = check_lang(lang)
    ids_a = set(cameras_a["camera_id"].astype(str))
    new = cameras_b[~cameras_b["camera_id"].astype(str).isin(ids_a)]
    m = build_map(
        grids=grids,
        cameras=cameras_b,
        siting=new if len(new) else None,
        lang=lang,
        title=label("report.compare", lang, a=a, b=b),
    )
    c = changed.to_crs("EPSG:4326")
    change = c["change"].astype(str).to_numpy()
    words = np.array([label(f"value.{x}", lang) for x in change], dtype=object)
    cols = {"h3": c["h3"].astype(str).to_numpy(), "change": words}
    if "weight" in c.columns:
        cols["weight"] = np.round(c["weight"].to_numpy(float), 1).astype(str)
    frame = _frame(c, cols, np.array([CHANGE_COLOURS.get(x, "#888888") for x in change]))
    ov = GeoJsonOverlay(
        feature_collection(frame, tuple(cols)),
        name=label("layer.changed_cells", lang),
        fields=tuple(cols),
        aliases=tuple(label(f"field.{k}", lang) for k in cols),
        style={"weight": 0.3, "fillOpacity": 0.6, "opacity": 0.8},
        key="changed",
    )
    ov.add_to(m.map)
    return GridcoverMap(m.map, (*m.overlays, ov), m.notes, m.basemap, m.lang, m._assets)
