"""Which collections a stored layer publishes, and loading the bundled sample on first start.

Input layers (``gis.schemas`` kinds) and analysis results are stored under fixed layer names;
grids publish one collection per level (``grids_level1`` ...), other layers one collection
named like the layer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd

from gridcover.api.store.base import LayerMeta, Store, ViewSpec
from gridcover.api.store.sql_target import exclusive, store_label
from gridcover.gis.schemas import SCHEMAS
from gridcover.settings import Settings

log = logging.getLogger("gridcover.api")

GRID_LEVEL_TITLES = {
    1: "community grids 社区网格",
    2: "block grids 街区网格",
    3: "lane grids 巷道网格",
}
TITLES: dict[str, str] = {
    "grids": "Grids 网格",
    "cameras": "Cameras 摄像机",
    "posts": "Police posts 警务点位",
    "buildings": "Buildings 建筑物",
    "roads": "Roads 道路",
    "sites": "Key sites 重点部位",
    "incidents": "Incident counts 警情统计",
    "camera_views": "Camera views 摄像机视域",
    "coverage_cells": "Coverage cells 覆盖单元",
    "blind_spots": "Blind spots 盲区",
    "grid_stats": "Per-grid statistics 网格统计",
    "grid_issues": "Grid QA issues 网格质检问题",
    "patrol_zones": "Patrol zones 巡逻责任区",
    "siting_proposals": "Camera siting proposals 新增点位建议",
}
INPUT_KINDS = ("grids", "cameras", "posts", "buildings", "roads", "sites", "incidents")


def views_for(layer: str, gdf: gpd.GeoDataFrame, title: str, description: str) -> list[ViewSpec]:
    """The collections a layer publishes: one per grid level for grids, else one."""
    if layer in ("grids", "grid_stats") and "level" in gdf.columns:
        levels = sorted({int(v) for v in gdf["level"].dropna().unique()})
        what = "Grid polygons" if layer == "grids" else "Statistics of the grids"
        return [
            ViewSpec(
                id=f"{layer}_level{lv}",
                title=f"{title}, level {lv}: {GRID_LEVEL_TITLES.get(lv, 'grids')}",
                description=f"{what} of level {lv}. {description}".strip(),
                where=("level", lv),
            )
            for lv in levels
        ]
    return [ViewSpec(id=layer, title=title, description=description)]


def store_layer(
    store: Store,
    layer: str,
    gdf: gpd.GeoDataFrame,
    *,
    kind: str | None = None,
    params: Mapping[str, Any] | None = None,
    description: str = "",
) -> None:
    """Store (atomically replace) a layer with its collections and recorded parameters."""
    kind = kind or layer
    schema = SCHEMAS.get(kind)
    title = TITLES.get(layer, layer.replace("_", " ").title())
    meta = LayerMeta(
        kind=kind,
        title=title,
        description=description,
        id_field=schema.id_field if schema else _guess_id(gdf),
        params=dict(params or {}),
    )
    store.replace_layer(layer, gdf, meta, views_for(layer, gdf, title, description))


def _guess_id(gdf: gpd.GeoDataFrame) -> str | None:
    for name in ("id", "cell", "issue_id", "code", "zone_id", "proposal_id", "camera_id"):
        if name in gdf.columns:
            return name
    return None


def bundled_sample_dir(settings: Settings) -> Path | None:
    """The folder of sample layers: ``settings.sample_dir`` or the one shipped with gridcover."""
    if settings.sample_dir is not None:
        return settings.sample_dir
    from gridcover.sample import bundled_sample_dir as shipped

    return shipped()


def _read_input(path: Path, kind: str) -> gpd.GeoDataFrame:
    """Read and validate one input layer with the foundation's reader."""
    from gridcover.gis import read_layer

    # Grids keep repeated codes: the grid check reports them, loading must not refuse them.
    dup: Literal["raise", "keep"] = "keep" if kind == "grids" else "raise"
    result: gpd.GeoDataFrame = read_layer(path, kind, duplicates=dup)
    return result


def load_input_layers(store: Store, folder: Path) -> list[str]:
    """Store every ``<kind>*.geojson`` of ``folder`` as that input layer; returns layer names."""
    loaded = []
    for kind in INPUT_KINDS:
        files = sorted(folder.glob(f"{kind}*.geojson")) + sorted(folder.glob(f"{kind}*.gpkg"))
        if not files:
            continue
        gdf = _read_input(files[0], kind)
        store_layer(store, kind, gdf, params={"source": files[0].name})
        loaded.append(kind)
    return loaded


def load_sample_if_new(store: Store, settings: Settings) -> list[str]:
    """On first start (empty store) load the bundled sample, if enabled and found.

    Several server processes starting at once (``uvicorn --workers N``) take turns: the
    check and the load run under an exclusive lock on the store's database, and the check is
    repeated inside it, so exactly one process loads the sample and the others return ``[]``.
    """
    if not settings.load_sample or not store.is_new():
        return []
    folder = bundled_sample_dir(settings)
    if folder is None:
        log.warning("no sample layers found; the store starts empty")
        return []
    with exclusive(store.sql_target(), "sample-load"):
        if not store.is_new():  # another process loaded it while this one waited
            return []
        loaded = load_input_layers(store, folder)
    log.info("loaded sample layers %s from %s into %s", loaded, folder, store_label(settings))
    return loaded
