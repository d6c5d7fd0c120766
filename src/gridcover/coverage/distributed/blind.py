"""Blind cells of one partition: local clusters and what is needed to join them across edges.

The clusters are ``gaps.cluster_cells`` of the partition's blind cells; their figures are
computed exactly as ``gaps.find_blind_spots`` does (``np.bincount`` over the cells in
ascending id order, ``h3.cells_to_h3shape`` outlines), so a blind spot that lies in one
partition comes out bit for bit as on one machine. merge.py joins the rest.
"""

from __future__ import annotations

from typing import Any

import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gridcover.coverage.cells import Cells
from gridcover.coverage.distributed.plan import h3_parent
from gridcover.coverage.gaps import cluster_cells

__all__ = ["local_blind_spots", "outline"]


def outline(cells: np.ndarray) -> BaseGeometry:
    """Union of the hexagons of ``cells`` (int64, sorted) as h3 draws it (EPSG:4326)."""
    geo = h3n.cells_to_h3shape(np.asarray(cells).astype(np.uint64))
    return shape(geo.__geo_interface__)  # GeoJSON order: (lng, lat)


def _outside_neighbours(ids: np.ndarray, parent: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``ids``, neighbour cell) for every H3 neighbour owned elsewhere."""
    if ids.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    disks = [h3n.grid_disk(int(c), 1) for c in ids]
    sizes = np.fromiter((d.size for d in disks), np.int64, ids.size)
    nb = np.concatenate(disks).astype(np.uint64).astype(np.int64)
    src = np.repeat(np.arange(ids.size), sizes)
    out = h3_parent(nb, parent[1]) != parent[0]
    return src[out], nb[out]


def local_blind_spots(
    cells: Cells,
    blind: np.ndarray,
    weight: np.ndarray,
    grid: np.ndarray,
    parent: tuple[int, int],
    gather_limit: int,
) -> dict[str, Any]:
    """Local clusters of a partition's ``blind`` cells (bool per cell).

    ``parent``: the partition's (H3 cell, resolution); ``grid``: per cell, its deepest grid
    (global index, -1 if none). Returns tables keyed by the local ``label`` (0..k-1 as
    ``gaps.cluster_cells`` numbers them): ``clusters`` (weight, area m², cells, smallest
    cell id, touches the border, gathered), ``outlines`` (EPSG:4326), ``cluster_grid``
    (area m² per (label, grid), summed as ``analysis`` does), ``border`` (blind cells with
    a neighbour owned by another partition), ``links`` (those neighbours), ``gathered``
    (every cell of the border clusters of at most ``gather_limit`` cells) and
    ``cell_label`` (per cell, its label or -1).
    """
    idx = np.flatnonzero(blind)
    ids = cells.h3[idx]
    labels = cluster_cells(ids)
    k = int(labels.max()) + 1 if labels.size else 0
    area_b = cells.area_m2[idx]
    w = np.bincount(labels, weights=weight[idx], minlength=k)
    area = np.bincount(labels, weights=area_b, minlength=k)
    count = np.bincount(labels, minlength=k)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(labels, kind="stable")
    groups = np.split(ids[order], np.cumsum(count)[:-1]) if k else []
    outlines = np.array([outline(g) for g in groups], dtype=object)
    src, nb = _outside_neighbours(ids, parent)
    b_pos = np.unique(src)
    border = pd.DataFrame({"cell": ids[b_pos], "label": labels[b_pos]})
    links = pd.DataFrame({"label": labels[src], "neighbor": nb})
    touches = np.zeros(k, bool)
    touches[labels[b_pos]] = True
    gathered = touches & (count <= gather_limit)
    sel = gathered[labels] if labels.size else np.zeros(0, bool)
    clusters = pd.DataFrame(
        {
            "label": np.arange(k),
            "weight": w,
            "area": area,
            "cells": count,
            "min_cell": ids[first] if k else np.empty(0, np.int64),
            "border": touches,
            "gathered": gathered,
        }
    )
    g_b = grid[idx]
    gat = pd.DataFrame(
        {
            "label": labels[sel],
            "cell": ids[sel],
            "weight": weight[idx][sel],
            "area": area_b[sel],
            "grid": g_b[sel],
        }
    )
    ok = g_b >= 0
    df = pd.DataFrame({"c": labels[ok], "g": g_b[ok], "a": area_b[ok]})
    cg = df.groupby(["c", "g"], sort=True)["a"].sum().reset_index()
    cell_label = np.full(len(cells), -1, dtype=np.int64)
    cell_label[idx] = labels
    return {
        "clusters": clusters,
        "outlines": outlines,
        "cluster_grid": cg,
        "border": border,
        "links": links,
        "gathered": gat,
        "cell_label": cell_label,
    }
