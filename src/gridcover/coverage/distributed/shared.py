"""Helpers the distributed run shares between client and workers: ``make_cells`` (a
``Cells`` from arrays, e.g. cells cached by the pre-pass) and the picklable form of
``Weights`` (``weights_state`` / ``weights_from_state``).

Priority itself needs nothing here: a cell's weight depends only on that cell and the
layers near it (``priority.road_radius_m``), so a partition calls
``priority.priority_from_layers`` on its own cells and halo and gets the single machine's
weights.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import numpy as np
import pyproj

from gridcover.coverage.cells import Cells
from gridcover.coverage.weights import Weights

__all__ = ["make_cells", "weights_from_state", "weights_state"]


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
