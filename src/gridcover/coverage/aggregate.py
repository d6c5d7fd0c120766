"""Coarser H3 cells for maps that zoom out: parents by bit arithmetic, sums per parent.

A map that shows 456,000 coverage cells or 100,000 cameras cannot draw them one by one at a
city-wide zoom. These functions fold points or fine H3 cells into the parent cells of a
coarser resolution chosen for the zoom (a hexagon a few dozen pixels wide), with counts and
sums per parent, all on int64 numpy arrays (no per-cell Python loop).

H3 index layout (h3 v4, mode 1 cells): bits 52-55 hold the resolution, then 15 digits of 3
bits each, digit 1 highest; digits finer than the resolution are 7. The parent at ``res`` is
the cell with the resolution field set to ``res`` and digits ``res+1..15`` set to 7.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import h3
import numpy as np

__all__ = [
    "CellSums",
    "cells_from_hex",
    "parent_cells",
    "point_cells",
    "res_for_zoom",
    "sum_by_parent",
]

_RES_SHIFT = 52
_RES_MASK = np.int64(0xF) << np.int64(_RES_SHIFT)
#: Mean hexagon edge length in metres per H3 resolution (h3.average_hexagon_edge_length).
EDGE_M = tuple(h3.average_hexagon_edge_length(r, unit="m") for r in range(16))


def parent_cells(cells: np.ndarray, res: int) -> np.ndarray:
    """The parent of each H3 cell (int64 array, any finer or equal resolution) at ``res``.

    Cells already at or coarser than ``res`` are returned unchanged. Exactly
    ``h3.cell_to_parent`` for valid cells, as array arithmetic.
    """
    if not 0 <= res <= 15:
        raise ValueError(f"H3 resolution must be 0..15, got {res}; choose a valid resolution")
    cells = np.asarray(cells, dtype=np.int64)
    own = (cells & _RES_MASK) >> np.int64(_RES_SHIFT)
    low = np.int64((1 << (3 * (15 - res))) - 1)  # digits res+1..15 all set to 7
    parents = (cells & ~_RES_MASK) | (np.int64(res) << np.int64(_RES_SHIFT)) | low
    return np.where(own > res, parents, cells)


def cells_from_hex(hexes: Sequence[str]) -> np.ndarray:
    """H3 cells (int64) from their 15-digit hex strings (``h3.str_to_int`` as array code)."""
    n = len(hexes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    text = "".join(hexes)
    if len(text) != 15 * n:
        return np.array([h3.str_to_int(h) for h in hexes], dtype=np.int64)
    b = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(n, 15).astype(np.int64)
    nibbles = np.where(b >= 97, b - 87, np.where(b >= 65, b - 55, b - 48))
    if ((nibbles < 0) | (nibbles > 15)).any():
        raise ValueError(
            "H3 cells must be hex strings such as '8c1126d06ca05ff'; fix the h3 column"
        )
    out: np.ndarray = nibbles @ (np.int64(16) ** np.arange(14, -1, -1, dtype=np.int64))
    return out


def point_cells(lon: np.ndarray, lat: np.ndarray, res: int) -> np.ndarray:
    """The H3 cell (int64) at ``res`` of each point (longitude, latitude in degrees, WGS 84)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.fromiter(
        (h3.str_to_int(h3.latlng_to_cell(y, x, res)) for x, y in zip(lon, lat, strict=True)),
        dtype=np.int64,
        count=lon.size,
    )
    return out


def res_for_zoom(zoom: float, lat: float, hex_px: float = 28.0, finest: int = 15) -> int:
    """The finest H3 resolution whose hexagons are at least ``hex_px`` pixels wide on a web
    map (256-pixel Web Mercator tiles) at ``zoom`` and latitude ``lat`` (degrees); at most
    ``finest``."""
    metres_per_px = 156_543.033_92 * math.cos(math.radians(lat)) / (2.0**zoom)
    want_edge_m = hex_px * metres_per_px / 2.0  # a hexagon is about two edges wide
    res = 0
    for r in range(min(finest, 15) + 1):
        if EDGE_M[r] >= want_edge_m:
            res = r
    return res


@dataclass(frozen=True)
class CellSums:
    """Per parent cell: the cell ids (int64, at ``res``), how many inputs fell in each, and
    the sum of each value column over them."""

    res: int
    cells: np.ndarray
    count: np.ndarray
    sums: Mapping[str, np.ndarray] = field(default_factory=dict)


def sum_by_parent(
    cells: np.ndarray, res: int, values: Mapping[str, np.ndarray] | None = None
) -> CellSums:
    """Fold ``cells`` (int64 H3 at any finer resolution) into their parents at ``res``.

    ``values``: arrays aligned with ``cells``; each is summed per parent (NaN counts as 0).
    """
    parents = parent_cells(cells, res)
    uniq, inverse = np.unique(parents, return_inverse=True)
    count = np.bincount(inverse, minlength=uniq.size).astype(np.int64)
    sums = {
        name: np.bincount(
            inverse, weights=np.nan_to_num(np.asarray(v, dtype=float)), minlength=uniq.size
        )
        for name, v in (values or {}).items()
    }
    return CellSums(res, uniq, count, sums)
