"""Priority weights on one partition, equal to the single machine's.

``priority.priority_from_layers`` widens the road buffer to the inner radius of the *mean*
cell of the set it is given (so a road is never broken into pieces). On one machine that
set is every cell of the area; a partition holds only its own. The distributed run
therefore computes the global mean cell area in a pre-pass (``road_radius``: the same rule
applied to it), passes that buffer as ``road_buffer_m``, and hands priority the
partition's cells plus zero-area padding cells 1e9 m away, so the partition's own mean can
never widen the buffer further (``_padded``); the padding is cut off the result. The
global mean is summed per partition, so it can differ from the single machine's
``np.mean`` in the last bit (a road cell could only flip if its centroid lay within
~1e-15 m of the buffer edge). If priority stops depending on the mean cell (e.g. uses the
resolution's average cell) this module needs no padding: ``_padded`` checks.

Also here: ``make_cells`` (a ``Cells`` from arrays) and the picklable form of ``Weights``.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj

from gridcover.coverage import priority as _priority_mod
from gridcover.coverage.cells import Cells
from gridcover.coverage.priority import Priority, priority_from_layers
from gridcover.coverage.weights import Weights

__all__ = ["make_cells", "partition_priority", "road_radius", "weights_from_state", "weights_state"]

_FAR_M = 1.0e9  # padding cells sit this far away (metres): no feature is ever near them


def weights_state(w: Weights) -> dict[str, Any]:
    """Picklable form of ``Weights`` (its mapping proxies become dicts)."""
    return {
        f.name: dict(v) if isinstance(v := getattr(w, f.name), MappingProxyType) else v
        for f in dataclasses.fields(w)
    }


def weights_from_state(state: dict[str, Any]) -> Weights:
    """Inverse of ``weights_state``."""
    kw: dict[str, Any] = {
        k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in state.items()
    }
    return Weights(**kw)


def make_cells(
    res: int,
    ids: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    area_m2: np.ndarray,
    crs: pyproj.CRS,
) -> Cells:
    """A ``Cells`` with the given arrays (``area_m2`` set whether it is a field or a lazily
    computed property of ``Cells``)."""
    names = {f.name for f in dataclasses.fields(Cells)}
    kw: dict[str, Any] = {"res": res, "h3": ids, "lon": lon, "lat": lat, "x": x, "y": y, "crs": crs}
    if "area_m2" in names:
        kw["area_m2"] = area_m2
    cells = Cells(**kw)
    if "area_m2" not in names:
        cells.__dict__["area_m2"] = np.asarray(area_m2, dtype=float)
    return cells


def _padded(cells: Cells, road_radius_m: float) -> Cells:
    """``cells`` plus far-away zero-area cells, so that priority's road buffer (the larger of
    ``road_buffer_m`` and the inner radius of the *mean* cell of the set it is given) never
    exceeds ``road_radius_m``, the value the single machine derives from all cells."""
    inner = getattr(_priority_mod, "_inner_radius_m", None)
    if inner is None or len(cells) == 0 or inner(cells) <= road_radius_m:
        return cells
    n = len(cells)
    pad = n
    while True:
        area = np.r_[cells.area_m2, np.zeros(pad)]
        z = np.zeros(n + pad)
        far = np.full(n + pad, _FAR_M)
        far[:n] = cells.x
        fy = np.full(n + pad, _FAR_M)
        fy[:n] = cells.y
        padded = make_cells(
            cells.res, np.r_[cells.h3, np.zeros(pad, np.int64)], z, z, far, fy, area, cells.crs
        )
        if inner(padded) <= road_radius_m:
            return padded
        pad *= 2


def partition_priority(
    cells: Cells,
    *,
    roads: gpd.GeoDataFrame | None,
    sites: gpd.GeoDataFrame | None,
    incidents: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame | None,
    weights: Weights,
    road_radius_m: float | None,
) -> Priority:
    """``priority_from_layers`` on a partition's cells (layers: halo subsets, any CRS), with
    the road buffer ``road_radius_m`` the single machine uses (see ``road_radius``)."""
    use = cells
    w = weights
    if roads is not None and road_radius_m is not None:
        w = dataclasses.replace(weights, road_buffer_m=float(road_radius_m))
        use = _padded(cells, float(road_radius_m))
    prio = priority_from_layers(
        use, roads=roads, sites=sites, incidents=incidents, buildings=buildings, weights=w
    )
    if use is cells:
        return prio
    n = len(cells)
    return Priority(
        {k: v[:n] for k, v in prio.components.items()},
        prio.in_building[:n],
        prio.weight[:n],
        prio.priority[:n],
        prio.uniform,
        prio.intersections_xy,
    )


def road_radius(mean_area_m2: float, buffer_m: float, res: int, crs: pyproj.CRS) -> float:
    """The road buffer (metres) the single machine uses when its cells' mean area is
    ``mean_area_m2``: priority's own rule applied to one cell of that area."""
    inner = getattr(_priority_mod, "_inner_radius_m", None)
    if inner is None:
        return buffer_m
    one = np.ones(1)
    cell = make_cells(res, np.zeros(1, np.int64), one, one, one, one, np.array([mean_area_m2]), crs)
    return max(buffer_m, float(inner(cell)))
