"""Map pages: ``/maps/{name}`` renders the stored layers with the same builder as the CLI.

Leaflet is served by the service itself under ``/static/maps/`` (files of the installed
xstatic-leaflet package, see ``gridcover.gis.maps.asset_files``), so the pages work on a
network with no internet. The builder's feature budget keeps large layers light.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, HTMLResponse

from gridcover.api.deps import get_store
from gridcover.api.params import plain_params
from gridcover.api.store import Store
from gridcover.errors import NotFound

ASSET_BASE = "/static/maps"

# map name -> {builder argument: stored layer}; a layer that is not stored is left out.
MAPS: dict[str, dict[str, str]] = {
    "coverage": {
        "grids": "grid_stats",
        "cells": "coverage_cells",
        "blind_spots": "blind_spots",
        "views": "camera_views",
        "bands": "camera_view_bands",
        "cameras": "cameras",
        "posts": "posts",
    },
    "grids": {"grids": "grids", "qa_issues": "grid_issues"},
    "patrol": {"grids": "grids", "zones": "patrol_zones", "posts": "posts"},
    "siting": {
        "cells": "coverage_cells",
        "siting": "siting_proposals",
        "cameras": "cameras",
        "blind_spots": "blind_spots",
    },
}


def maps_router() -> APIRouter:
    """Routes of the map pages and of their local Leaflet assets."""
    router = APIRouter(tags=["maps"])

    @router.get(ASSET_BASE + "/{path:path}", include_in_schema=False)
    def asset(path: str) -> FileResponse:
        from gridcover.gis.maps import asset_files

        files = asset_files()
        if path not in files:
            raise NotFound(f"No map asset '{path}'; the maps use: {', '.join(sorted(files))}.")
        return FileResponse(files[path])

    @router.get(
        "/maps/{name}",
        response_class=HTMLResponse,
        summary="An interactive map of stored layers (Leaflet served locally)",
        responses={404: {"description": "Unknown map or no stored layer for it"}},
        dependencies=[Depends(plain_params("lang"))],
    )
    def map_page(
        name: Literal["coverage", "grids", "patrol", "siting"],
        store: Annotated[Store, Depends(get_store)],
        lang: Annotated[Literal["zh", "en"], Query(description="Labels")] = "zh",
    ) -> HTMLResponse:
        from gridcover.gis.maps import build_map

        layers: dict[str, Any] = {
            arg: store.read_layer(layer)
            for arg, layer in MAPS[name].items()
            if store.has_layer(layer)
        }
        if name == "coverage" and "grids" not in layers and store.has_layer("grids"):
            layers["grids"] = store.read_layer("grids")
        if not layers:
            raise NotFound(
                f"Nothing to draw for the '{name}' map yet: run the analysis first "
                "(POST /analysis/coverage, /analysis/patrol or /analysis/siting)."
            )
        if "views" in layers:  # "occluded by buildings" only when the run used buildings
            summary = store.layer_meta(MAPS[name]["views"]).params.get("summary", {})
            layers["views"].attrs["occlusion"] = bool(summary.get("occlusion", False))
        m = build_map(**layers, lang=lang)
        return HTMLResponse(m.html(asset_base=ASSET_BASE))

    return router
