"""``/app/zoom/{collectionId}``: points or H3 cells of a bbox, folded into coarser H3 cells for
the zoom, so a map never draws more than a few thousand shapes (e.g. 456,000 coverage cells or
100,000 cameras over a city).

The first request of a collection reads it once (cell ids, centres and values as numpy
arrays, kept while the collection's update stamp and size stay the same, and at most
``ZoomCache.ttl`` seconds, so single-feature edits show within that time); each request then
is a bbox mask and a ``bincount`` over the parents (``coverage.aggregate``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import h3
import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gridcover.api.deps import get_store
from gridcover.api.openapi import responses_for
from gridcover.api.params import parse_bbox
from gridcover.api.store import CollectionInfo, Store
from gridcover.api.webapp.routes import object_response
from gridcover.api.webapp.zoom_disk import load_copy, save_copy
from gridcover.coverage.aggregate import (
    cells_from_hex,
    parent_cells,
    point_cells,
    res_for_zoom,
    sum_by_parent,
)
from gridcover.errors import InputError

log = logging.getLogger("gridcover.api")
POINT_RES = 13  # finest resolution points are binned at (zoomed in further: drawn one by one)
MAX_SHAPES = 3000  # default and upper bound of the shapes one answer may hold


@dataclass(frozen=True)
class LayerCells:
    """A collection as arrays: H3 cell (int64) and centre (degrees) of each row, values.

    Cell layers are folded into parent cells (the H3 hierarchy). Points are binned into the
    cell that contains them at each resolution asked for (H3 children do not tile their parent
    exactly, so a point's cell at res r is not always the parent of its finer cell); those
    arrays are computed on first use and kept in ``by_res``.
    """

    kind: str  # "points" or "cells"
    res: int
    cells: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    values: dict[str, np.ndarray]
    stamp: tuple[str, int]
    loaded: float
    by_res: dict[int, np.ndarray] = field(default_factory=dict)

    def cells_at(self, res: int) -> np.ndarray:
        """Each row's H3 cell at ``res`` (int64): the parent for cells, the containing cell
        for points."""
        if self.kind == "cells":
            return parent_cells(self.cells, res)
        if res not in self.by_res:
            self.by_res[res] = point_cells(self.lon, self.lat, res)
        return self.by_res[res]


def _load(store: Store, info: CollectionInfo) -> LayerCells:
    gdf = store.read_collection(info.id)
    stamp = (info.updated, info.count)
    values: dict[str, np.ndarray] = {}
    if info.field("h3") is not None:
        hexes = gdf["h3"].astype(str).tolist()
        cells = cells_from_hex(hexes)
        res = int(h3.get_resolution(hexes[0])) if hexes else 12
        # centres: the stored cell shapes' centroids (polygons or points), else from H3
        geoms = gdf.geometry.to_numpy()
        points = bool((shapely.get_type_id(geoms) == 0).all())
        xy = shapely.get_coordinates(geoms if points else shapely.centroid(geoms))
        if len(xy) == len(gdf):
            lon, lat = xy[:, 0].copy(), xy[:, 1].copy()
        else:
            centres = np.array([h3.cell_to_latlng(h) for h in hexes], dtype=float).reshape(-1, 2)
            lat, lon = centres[:, 0].copy(), centres[:, 1].copy()
        covered = gdf["covered"].astype(bool).to_numpy() if "covered" in gdf else None
        weight = gdf["weight"].astype(float).to_numpy() if "weight" in gdf else None
        if covered is not None:
            values["covered"] = covered.astype(float)
        if weight is not None:
            values["weight"] = weight
            if covered is not None:
                values["weight_covered"] = weight * covered
        return LayerCells("cells", res, cells, lon, lat, values, stamp, time.monotonic())
    if info.geometry_type.upper() != "POINT":
        raise InputError(
            f"collection {info.id!r} holds {info.geometry_type} features without an h3 field; "
            "zoom aggregates are offered for point layers and H3 cell layers only, read it "
            f"through /collections/{info.id}/items?bbox=...&limit=..."
        )
    pts = gdf.geometry
    lon = pts.x.to_numpy(dtype=float)
    lat = pts.y.to_numpy(dtype=float)
    if "status" in gdf:
        status = gdf["status"].astype(str).to_numpy()
        for s in ("online", "offline", "unknown"):
            values[s] = (status == s).astype(float)
    cells = np.zeros(lon.size, dtype=np.int64)  # binned per resolution on demand (cells_at)
    return LayerCells("points", POINT_RES, cells, lon, lat, values, stamp, time.monotonic())


class ZoomCache:
    """Arrays of the collections asked for, per collection id (see the module docstring)."""

    def __init__(self, ttl: float = 30.0, folder: Path | None = None) -> None:
        self.ttl = ttl
        self.folder = folder  # where the arrays are kept on disk (zoom_disk), if anywhere
        self._lock = threading.Lock()
        self._layers: dict[str, LayerCells] = {}
        self._read_at: dict[str, float] = {}  # epoch seconds the stored layer was asked for

    def get(self, store: Store, collection_id: str) -> LayerCells:
        asked = time.time()  # before the stamp is read: see zoom_disk
        info = store.collection(collection_id)
        with self._lock:
            hit = self._layers.get(collection_id)
            fresh = hit is not None and time.monotonic() - hit.loaded < self.ttl
            if hit is not None and fresh and hit.stamp == (info.updated, info.count):
                return hit
            stamp = (info.updated, info.count)
            copy = None if self.folder is None else load_copy(self.folder, collection_id, stamp)
            if copy is not None:
                layer = LayerCells(stamp=stamp, loaded=time.monotonic(), **copy)
            else:
                layer = _load(store, info)
                self._read_at[collection_id] = asked
                if self.folder is not None:
                    save_copy(self.folder, collection_id, layer, asked)
            self._layers[collection_id] = layer
            return layer

    def keep(self, collection_id: str) -> None:
        """Write the arrays of ``collection_id`` (with the point bins made so far) to disk."""
        layer = self._layers.get(collection_id)
        read_at = self._read_at.get(collection_id)
        if layer is not None and read_at is not None and self.folder is not None:
            save_copy(self.folder, collection_id, layer, read_at)

    def prewarm(self, store: Store, collection_ids: tuple[str, ...]) -> None:
        """Load the stored ones of ``collection_ids`` (meant for a background thread: the app's
        page asks for it, so the first map view finds the arrays ready)."""
        stored = {c.id for c in store.collections()}
        for cid in collection_ids:
            if cid in stored:
                try:
                    self.get(store, cid)
                except Exception:  # the real request reports it properly
                    log.exception("preloading %s for the web app failed", cid)


def zoom_bbox(raw: str) -> tuple[float, float, float, float]:
    """The ``bbox`` query parameter of a zoom route: 4 numbers, CRS84 degrees."""
    nums = parse_bbox(raw)
    if len(nums) != 4:
        raise InputError("bbox takes 4 numbers here: minLon,minLat,maxLon,maxLat (CRS84)")
    return (nums[0], nums[1], nums[2], nums[3])


def aggregate(
    layer: LayerCells, bbox: tuple[float, float, float, float], zoom: float, max_shapes: int
) -> dict[str, Any]:
    """The GeoJSON answer: parent hexagons (CRS84) with counts, sums and percentages."""
    x0, y0, x1, y1 = bbox
    inside = (layer.lon >= x0) & (layer.lon <= x1) & (layer.lat >= y0) & (layer.lat <= y1)
    matched = int(inside.sum())
    base: dict[str, Any] = {"type": "FeatureCollection", "numberMatched": matched}
    finest = layer.res if layer.kind == "cells" else POINT_RES - 1
    res = min(res_for_zoom(zoom, (y0 + y1) / 2), finest)
    if layer.kind == "points" and matched <= max_shapes and zoom >= 15:
        # few enough to draw one by one: the client reads them from the OGC items route
        return {**base, "features": [], "numberReturned": 0, "gridcover:aggregated": False}
    values = {k: v[inside] for k, v in layer.values.items()}
    while res > 0 and np.unique(layer.cells_at(res)[inside]).size > max_shapes:
        res -= 1
    sums = sum_by_parent(layer.cells_at(res)[inside], res, values)
    features = []
    for i, cell in enumerate(sums.cells.tolist()):
        hexid = h3.int_to_str(cell)
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(hexid)]
        props: dict[str, Any] = {"h3": hexid, "n": int(sums.count[i])}
        for name, arr in sums.sums.items():
            props[name] = round(float(arr[i]), 6)
        if "covered" in props:
            props["covered_pct"] = round(100.0 * props["covered"] / props["n"], 2)
        if props.get("weight"):
            props["priority_weighted_pct"] = round(
                100.0 * props["weight_covered"] / props["weight"], 2
            )
        features.append(
            {
                "type": "Feature",
                "id": hexid,
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                "properties": props,
            }
        )
    return {
        **base,
        "features": features,
        "numberReturned": len(features),
        "gridcover:aggregated": res < layer.res or layer.kind == "points",
        "gridcover:res": res,
    }


def zoom_router(cache: ZoomCache) -> APIRouter:
    """The aggregate route over ``cache``."""
    router = APIRouter(tags=["Web app"])

    @router.get(
        "/app/zoom/{collectionId}",
        summary="Points or H3 cells of a bbox folded into H3 cells sized for a map zoom",
        description=(
            "bbox: min lon, min lat, max lon, max lat (CRS84). zoom: web map zoom level; the "
            "H3 resolution is chosen so hexagons are ~28 px wide and coarsened until at most "
            "max shapes remain. Point layers with at most max points in the bbox at zoom >= 15 "
            "answer no shapes and gridcover:aggregated false: read them from the items route."
        ),
        responses={
            200: object_response("hexagons with counts", "application/geo+json"),
            **responses_for(None, 400, 404),
        },
    )
    async def zoom_cells(
        collectionId: str,
        store: Annotated[Store, Depends(get_store)],
        bbox: Annotated[str, Query(description="minLon,minLat,maxLon,maxLat (CRS84)")],
        zoom: Annotated[float, Query(ge=0, le=24, description="web map zoom level")],
        max_shapes: Annotated[
            int, Query(alias="max", ge=10, le=MAX_SHAPES, description="most shapes")
        ] = MAX_SHAPES,
    ) -> JSONResponse:
        box = zoom_bbox(bbox)

        def work() -> dict[str, Any]:
            return aggregate(cache.get(store, collectionId), box, zoom, max_shapes)

        return JSONResponse(await run_in_threadpool(work), media_type="application/geo+json")

    return router
