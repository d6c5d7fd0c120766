"""The web app's one-time work, done by ``gridcover serve`` before it listens (so the first
page a user opens after a restart is as fast as the next ones):

- the map builder's imports and Leaflet's file list, and the assets' version digest;
- the zoom arrays of the dense layers the first map view aggregates (coverage cells, cameras)
  and, for point layers, their H3 cells at every resolution a map view may ask for (kept on
  disk in the data folder, ``zoom_disk``, so the next start reads them from there);
- the OpenAPI document (the page reads it for feature detection after its first paint).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from fastapi import FastAPI

from gridcover.api.openapi import openapi_document
from gridcover.api.store import Store
from gridcover.api.webapp.routes import assets_version, lib_files
from gridcover.api.webapp.zoom import POINT_RES, ZoomCache

__all__ = ["PRELOAD", "WarmUp", "warm_up"]

log = logging.getLogger("gridcover.api")
#: The dense layers the map's first view aggregates.
PRELOAD = ("coverage_cells", "cameras")


@dataclass(frozen=True)
class WarmUp:
    """What the warm-up did: seconds per step and the layers it read."""

    seconds: dict[str, float]
    layers: tuple[str, ...]

    def line(self) -> str:
        """One line for the serve command's output."""
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())
        return f"web app warmed up in {sum(self.seconds.values()):.2f} s ({steps})"


def warm_up(app: FastAPI, store: Store, cache: ZoomCache) -> WarmUp:
    """Do the one-time work of the app's first requests (see the module docstring)."""
    took: dict[str, float] = {}
    t = time.perf_counter()
    lib_files()
    assets_version()
    took["assets"] = time.perf_counter() - t
    t = time.perf_counter()
    stored = {c.id for c in store.collections()}
    layers = tuple(c for c in PRELOAD if c in stored)
    for cid in layers:
        layer = cache.get(store, cid)
        if layer.kind == "points" and len(layer.by_res) < POINT_RES:
            for res in range(POINT_RES):
                layer.cells_at(res)
            cache.keep(cid)  # with the bins, for the next start
    took["layers"] = time.perf_counter() - t
    t = time.perf_counter()
    openapi_document(app, store.collections())
    took["openapi"] = time.perf_counter() - t
    result = WarmUp(took, layers)
    log.info(result.line())
    return result
