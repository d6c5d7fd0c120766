"""Map layers from plain GeoDataFrames: display columns, colours and budget per layer kind.

Each ``*_layer`` function takes a GeoDataFrame (any CRS; reprojected to EPSG:4326) with the
columns documented on it (extra columns are ignored, optional ones may be absent) and returns
a :class:`MapLayer`: the features to draw with formatted tooltip columns and a ``_c`` colour
column, plus the notes the budget produced. ``builder.build_map`` turns them into Leaflet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.errors import SchemaError
from gridcover.gis.maps.budget import FEATURE_BUDGET, aggregate_cells, dissolve_by
from gridcover.gis.maps.i18n import label, value_label

__all__ = [
    "CAMERA_CLASSES",
    "DETAIL_COLOURS",
    "MapLayer",
    "blind_spots_layer",
    "cameras_layer",
    "cells_layer",
    "grid_layers",
    "posts_layer",
    "qa_layer",
    "siting_layer",
    "views_layer",
]

#: Cameras-per-cell classes: (lower bound, colour); a cell's mean is rounded, 0 only if 0.
CAMERA_CLASSES: tuple[tuple[int, str], ...] = (
    (0, "#d9d9d9"),
    (1, "#c7e9b4"),
    (2, "#7fcdbb"),
    (3, "#41b6c4"),
    (4, "#225ea8"),
)
#: Detail levels 1-4 (detect, observe, recognise, identify), light to dark; 0 as no camera.
DETAIL_COLOURS = {1: "#fee391", 2: "#fe9929", 3: "#cc4c02", 4: "#662506"}
GRID_WEIGHT = {1: 3.0, 2: 1.8, 3: 0.8}
GRID_COLOUR = {1: "#252525", 2: "#525252", 3: "#969696"}


@dataclass(frozen=True)
class MapLayer:
    """One overlay: ``frame`` (EPSG:4326; tooltip columns as text, colour in ``_c``),
    ``fields`` shown in tooltips, Leaflet path ``style``, ``radius`` for points (pixels)."""

    key: str
    name: str
    frame: gpd.GeoDataFrame
    fields: tuple[str, ...]
    style: dict[str, Any]
    radius: float | None = None
    show: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)


def _require(gdf: gpd.GeoDataFrame, cols: Sequence[str], what: str) -> gpd.GeoDataFrame:
    missing = [c for c in cols if c not in gdf.columns]
    if missing and len(gdf) == 0:
        # An empty GeoJSON carries no field names (e.g. a clean grid check): nothing to draw.
        gdf = gdf.assign(**{c: [] for c in missing})
        missing = []
    if missing:
        raise SchemaError(
            f"The {what} layer has no column {', '.join(repr(c) for c in missing)}; "
            "see docs/MAPS.md for the columns each map layer needs."
        )
    if gdf.crs is None:
        raise SchemaError(f"The {what} layer has no CRS; give EPSG:4326 lon/lat data.")
    return gdf.to_crs("EPSG:4326").reset_index(drop=True)


def _fmt(values: Any, decimals: int = 0) -> np.ndarray:
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return np.array(["—" if not np.isfinite(x) else f"{x:,.{decimals}f}" for x in v], dtype=object)


def _text(values: Any, lang: str) -> np.ndarray:
    return np.array(
        [
            "—" if v is None or (isinstance(v, float) and np.isnan(v)) else value_label(v, lang)
            for v in values
        ],
        dtype=object,
    )


def _frame(gdf: gpd.GeoDataFrame, columns: dict[str, np.ndarray], colour: Any) -> gpd.GeoDataFrame:
    data = dict(columns)
    data["_c"] = np.broadcast_to(np.asarray(colour, dtype=object), (len(gdf),))
    return gpd.GeoDataFrame(data, geometry=gdf.geometry.to_numpy(), crs="EPSG:4326")


def _opt(gdf: gpd.GeoDataFrame, col: str, fmt: Callable[[Any], np.ndarray]) -> dict[str, Any]:
    return {col: fmt(gdf[col])} if col in gdf.columns else {}


def _thin(gdf: gpd.GeoDataFrame, key: str, budget: int, lang: str) -> tuple[Any, tuple[str, ...]]:
    if len(gdf) <= budget:
        return gdf, ()
    note = label("note.thinned", lang, layer=label(f"layer.{key}", lang), n=len(gdf), budget=budget)
    return gdf.iloc[:budget], (note,)


def camera_class(values: Any) -> np.ndarray:
    """Index into :data:`CAMERA_CLASSES` of each cameras-per-cell value (mean allowed)."""
    v = np.nan_to_num(np.asarray(values, dtype=float))
    cls = np.clip(np.rint(v), 0, len(CAMERA_CLASSES) - 1).astype(int)
    return np.where(v > 0, np.maximum(cls, 1), 0)


def grid_layers(
    grids: gpd.GeoDataFrame, lang: str = "zh", budget: int = FEATURE_BUDGET
) -> list[MapLayer]:
    """One outline layer per level. Columns: ``code``, ``level`` (1-3); optional ``name``,
    ``covered_pct``, ``priority_weighted_pct``, ``cameras_online``, ``blind_spots``,
    ``targets_met`` (a ``grid_stats`` table has them all). A level with more than ``budget``
    grids keeps the ``budget`` of lowest coverage (or the first rows without coverage)."""
    g = _require(grids, ("code", "level"), "grids")
    out = []
    for lv in sorted(int(x) for x in pd.unique(g["level"])):
        sub = g[g["level"].to_numpy() == lv]
        notes: tuple[str, ...] = ()
        if len(sub) > budget:
            if "covered_pct" in sub.columns:
                sub = sub.iloc[np.argsort(sub["covered_pct"].to_numpy(float), kind="stable")]
            sub, notes = _thin(sub, f"grids.{lv}", budget, lang)
        cols: dict[str, Any] = {"code": sub["code"].astype(str).to_numpy()}
        cols |= _opt(sub, "name", lambda s: _text(s, lang))
        for c in ("covered_pct", "priority_weighted_pct"):
            cols |= _opt(sub, c, lambda s: _fmt(s, 1))
        for c in ("cameras_online", "blind_spots"):
            cols |= _opt(sub, c, _fmt)
        cols |= _opt(sub, "targets_met", lambda s: _text(s.astype(bool), lang))
        w = GRID_WEIGHT.get(lv, 1.0)
        colour = GRID_COLOUR.get(lv, "#969696")
        style = {"color": colour, "weight": w, "fill": False, "opacity": 0.9}
        out.append(
            MapLayer(
                f"grids.{lv}",
                label(f"layer.grids.{lv}", lang),
                _frame(sub, cols, colour),
                tuple(cols),
                style,
                notes=notes,
            )
        )
    return out


def cells_layer(
    cells: gpd.GeoDataFrame, lang: str = "zh", budget: int = FEATURE_BUDGET
) -> MapLayer:
    """Cells coloured by cameras per cell, or by ``detail_level`` (3D runs) when present.
    Columns: ``cell`` (int64) or ``h3`` (hex), ``cameras``; optional ``covered``, ``area_m2``,
    ``weight``, ``blind_spot``, ``grid_code``, ``detail_level``, ``night_detail_level``.
    Above ``budget`` the cells are aggregated to a coarser H3 resolution."""
    c = _require(cells, ("cameras",), "cells")
    if "cell" not in c.columns and "h3" not in c.columns:
        raise SchemaError("The cells layer needs a 'cell' (int64) or 'h3' (hex) column.")
    agg = aggregate_cells(c, budget)
    f = agg.frame
    notes: tuple[str, ...] = ()
    if agg.aggregated:
        notes = (
            label(
                "note.aggregated",
                lang,
                layer=label("layer.cells", lang),
                n=agg.source_count,
                budget=budget,
                res=agg.res,
                m=len(f),
            ),
        )
        value = f["cameras_mean"].to_numpy(float)
        cols = {
            "h3": f["h3"].to_numpy(),
            "res": _fmt(f["res"]),
            "cells": _fmt(f["cells"]),
            "cameras_mean": _fmt(value, 2),
            "covered_share": _fmt(f["covered_share"], 0),
            "weight": _fmt(f["weight"], 1),
        } | _opt(f, "detail_level", lambda s: _level_text(s, lang))
    else:
        value = f["cameras"].to_numpy(float)
        ids = f["h3"] if "h3" in f.columns else f["cell"].map(lambda x: f"{int(x):x}")
        cols = {"h3": np.asarray(ids, dtype=object), "cameras": _fmt(value)}
        cols |= _opt(f, "weight", lambda s: _fmt(s, 1))
        cols |= _opt(f, "grid_code", lambda s: _text(s, lang))
        cols |= _opt(f, "detail_level", lambda s: _level_text(s, lang))
        cols |= _opt(f, "night_detail_level", lambda s: _level_text(s, lang))
    colours = np.array([CAMERA_CLASSES[k][1] for k in camera_class(value)], dtype=object)
    if "detail_level" in f.columns:  # 3D run: the best detail level, not the camera count
        lv = f["detail_level"].to_numpy(int)
        colours = np.array([DETAIL_COLOURS.get(k, CAMERA_CLASSES[0][1]) for k in lv], object)
    style = {"stroke": False, "fillOpacity": 0.55}
    return MapLayer(
        "cells",
        label("layer.cells", lang),
        _frame(f, cols, colours),
        tuple(cols),
        style,
        notes=notes,
    )


def blind_spots_layer(
    spots: gpd.GeoDataFrame, lang: str = "zh", budget: int = FEATURE_BUDGET
) -> MapLayer:
    """Blind spots in rank order. Columns: ``blind_spot`` (rank, 1 = heaviest), ``weight``;
    optional ``area_m2``, ``cells``, ``grid_code``, ``nearest_camera(_m)`` (counted camera),
    ``nearest_offline_camera(_m)`` (camera that does not count), ``nearest_post(_m)``."""
    s = _require(spots, ("blind_spot", "weight"), "blind spots").sort_values("blind_spot")
    s, notes = _thin(s, "blind_spots", budget, lang)
    cols: dict[str, Any] = {"blind_spot": _fmt(s["blind_spot"]), "weight": _fmt(s["weight"], 1)}
    cols |= _opt(s, "area_m2", _fmt)
    cols |= _opt(s, "grid_code", lambda v: _text(v, lang))
    for c in ("nearest_camera", "nearest_offline_camera", "nearest_post"):
        cols |= _opt(s, c, lambda v: _text(v, lang))
        cols |= _opt(s, f"{c}_m", _fmt)
    style = {"color": "#b10026", "weight": 1.5, "fillColor": "#e31a1c", "fillOpacity": 0.45}
    return MapLayer(
        "blind_spots",
        label("layer.blind_spots", lang),
        _frame(s, cols, "#e31a1c"),
        tuple(cols),
        style,
        notes=notes,
    )


def views_layer(
    views: gpd.GeoDataFrame, lang: str = "zh", budget: int = FEATURE_BUDGET
) -> MapLayer:
    """View polygons (named "occluded by buildings" only when ``views.attrs["occlusion"]``
    is true: the run used buildings). Columns: ``camera_id``, ``status``; optional ``counted``,
    ``type``, ``view_area_m2``. Above ``budget`` they are merged into one shape per status."""
    v = _require(views, ("camera_id", "status"), "views")
    # claim occlusion only when the run used buildings (attrs set from the run's summary)
    name = label("layer.views_occluded" if views.attrs.get("occlusion") else "layer.views", lang)
    v = v[~(v.geometry.is_empty | v.geometry.isna())]
    counted = (
        v["counted"].to_numpy(bool) if "counted" in v else (v["status"] == "online").to_numpy()
    )
    notes: tuple[str, ...] = ()
    if len(v) > budget:
        d = dissolve_by(v.assign(status=np.where(counted, "online", "offline")), "status")
        notes = (
            label(
                "note.dissolved",
                lang,
                layer=name,
                n=len(v),
                budget=budget,
                m=len(d),
            ),
        )
        cols = {"status": _text(d["status"], lang), "cells": _fmt(d["count"])}
        colours = np.where(d["status"] == "online", "#3182bd", "#969696")
        return MapLayer(
            "views",
            name,
            _frame(d, cols, colours),
            tuple(cols),
            _VIEW_STYLE,
            notes=notes,
        )
    cols = {"camera_id": v["camera_id"].astype(str).to_numpy(), "status": _text(v["status"], lang)}
    cols |= _opt(v, "type", lambda s: _text(s, lang))
    cols |= _opt(v, "view_area_m2", _fmt)
    colours = np.where(counted, "#3182bd", "#969696")
    return MapLayer("views", name, _frame(v, cols, colours), tuple(cols), _VIEW_STYLE)


_VIEW_STYLE = {"weight": 0.6, "fillOpacity": 0.18, "opacity": 0.6}


def _level_text(levels: Any, lang: str) -> np.ndarray:
    return np.array([label(f"value.level{int(v)}", lang) for v in levels], dtype=object)


def cameras_layer(
    cameras: gpd.GeoDataFrame, lang: str = "zh", budget: int = FEATURE_BUDGET
) -> MapLayer:
    """Camera points. Columns: ``camera_id``; optional ``status``, ``type``, ``fov_deg``,
    ``range_m`` (a views table with point geometry works too)."""
    c = _require(cameras, ("camera_id",), "cameras")
    c, notes = _thin(c, "cameras", budget, lang)
    status = c["status"].astype(str) if "status" in c else pd.Series(["unknown"] * len(c))
    cols: dict[str, Any] = {
        "camera_id": c["camera_id"].astype(str).to_numpy(),
        "status": _text(status, lang),
    }
    cols |= _opt(c, "type", lambda s: _text(s, lang))
    colours = np.where(status.to_numpy() == "offline", "#737373", "#08519c")
    style = {"color": "#ffffff", "weight": 1, "fillOpacity": 0.95}
    return MapLayer(
        "cameras",
        label("layer.cameras", lang),
        _frame(c, cols, colours),
        tuple(cols),
        style,
        radius=3.5,
        notes=notes,
    )


def posts_layer(posts: gpd.GeoDataFrame, lang: str = "zh") -> MapLayer:
    """Police posts. Columns: ``post_id``; optional ``name``, ``kind``."""
    p = _require(posts, ("post_id",), "posts")
    cols: dict[str, Any] = {"post_id": p["post_id"].astype(str).to_numpy()}
    cols |= _opt(p, "name", lambda s: _text(s, lang))
    cols |= _opt(p, "kind", lambda s: _text(s, lang))
    style = {"color": "#000000", "weight": 2, "fillOpacity": 1.0}
    return MapLayer(
        "posts",
        label("layer.posts", lang),
        _frame(p, cols, "#ffd92f"),
        tuple(cols),
        style,
        radius=7,
    )


def siting_layer(
    sites: gpd.GeoDataFrame, lang: str = "zh", budget: int = FEATURE_BUDGET
) -> MapLayer:
    """Proposed new cameras or posts (``coverage.siting`` cameras / posts output: points,
    or their view polygons). Optional columns: ``rank``, ``camera_id``, ``site_id``,
    ``marginal_gain`` (weight gained), ``removal_loss``, ``azimuth_deg``, ``fov_deg``,
    ``range_m``; 3D proposals also ``model``, ``resolution``, ``height_m``, ``tilt_deg``.
    Named as cameras when it has ``camera_id``, else as police posts."""
    s = _require(sites, (), "siting")
    kind = "siting" if "camera_id" in s.columns else "siting_posts"
    if "rank" in s.columns:
        s = s.sort_values("rank")
    s, notes = _thin(s, "siting", budget, lang)
    cols: dict[str, Any] = {}
    cols |= _opt(s, "rank", _fmt)
    cols |= _opt(s, "camera_id", lambda v: _text(v, lang))
    cols |= _opt(s, "site_id", lambda v: _text(v, lang))
    cols |= _opt(s, "marginal_gain", lambda v: _fmt(v, 1))
    cols |= _opt(s, "removal_loss", lambda v: _fmt(v, 1))
    for c in ("model", "resolution"):  # 3D siting: which camera to buy (names as written)
        cols |= _opt(s, c, lambda v: v.astype(str).to_numpy(dtype=object))
    for c in ("azimuth_deg", "fov_deg", "range_m", "tilt_deg"):
        cols |= _opt(s, c, _fmt)
    cols |= _opt(s, "height_m", lambda v: _fmt(v, 1))
    style = {"color": "#54278f", "weight": 2, "fillOpacity": 0.8}
    return MapLayer(
        "siting",
        label(f"layer.{kind}", lang),
        _frame(s, cols, "#9e9ac8"),
        tuple(cols),
        style,
        radius=6,
        notes=notes,
    )


def qa_layer(issues: gpd.GeoDataFrame, lang: str = "zh", budget: int = FEATURE_BUDGET) -> MapLayer:
    """Grid QA issues (``gis.qa.check.check_grids(...).issues``): ``severity``, ``check``;
    optional ``code``, ``other_code``, ``area_m2``, ``message``. Errors first."""
    q = _require(issues, ("severity", "check"), "QA issues")
    q = q[~(q.geometry.is_empty | q.geometry.isna())]
    q = q.iloc[np.argsort((q["severity"] != "error").to_numpy(), kind="stable")]
    q, notes = _thin(q, "qa", budget, lang)
    cols: dict[str, Any] = {
        "severity": _text(q["severity"], lang),
        "check": _text(q["check"], lang),
    }
    cols |= _opt(q, "code", lambda v: _text(v, lang))
    cols |= _opt(q, "area_m2", lambda v: _fmt(v, 1))
    cols |= _opt(q, "message", lambda v: _text(v, lang))
    colours = np.where(q["severity"].to_numpy() == "error", "#c51b8a", "#fdae6b")
    style = {"weight": 2.5, "fillOpacity": 0.5, "dashArray": "4 3"}
    return MapLayer(
        "qa",
        label("layer.qa", lang),
        _frame(q, cols, colours),
        tuple(cols),
        style,
        radius=6,
        notes=notes,
    )
