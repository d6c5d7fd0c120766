"""Blind spots: priority cells with no counted (online) camera, clustered and ranked.

Two blind cells belong to the same blind spot when they are H3 neighbours (``grid_disk``
k=1); clusters are the connected components of that graph. Each cluster becomes a polygon
(the exact union of its hexagons, ``h3.cells_to_h3shape``) ranked by total priority weight,
with its area, cell count, nearest counted camera, nearest camera that does not count
(offline, or whatever the run leaves out: "repair camera X" rather than "add a camera") and
nearest post (distances in metres from the cluster outline, 0 when inside; between
equally near features, the first in its layer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import h3.api.numpy_int as h3n
import numpy as np
import pyproj
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from shapely.geometry import shape

from gridcover.coverage.cells import Cells
from gridcover.coverage.cover import camera_counted
from gridcover.errors import InputError

__all__ = ["BlindSpots", "add_nearest", "cluster_cells", "find_blind_spots"]


def cluster_cells(cells: np.ndarray) -> np.ndarray:
    """Connected-component label per cell (int64 H3 ids, one resolution) by H3 adjacency.

    Labels are 0..k-1, numbered in order of each component's smallest cell id.
    """
    ids = np.asarray(cells, dtype=np.int64)
    n = ids.size
    if n == 0:
        return np.empty(0, dtype=np.int64)
    order = np.argsort(ids)
    sorted_ids = ids[order]
    disks = [np.asarray(h3n.grid_disk(int(c), 1), dtype=np.uint64) for c in sorted_ids]
    sizes = np.fromiter((d.size for d in disks), np.int64, n)
    nb = np.concatenate(disks).astype(np.int64)
    src = np.repeat(np.arange(n), sizes)
    pos = np.clip(np.searchsorted(sorted_ids, nb), 0, n - 1)
    ok = sorted_ids[pos] == nb
    graph = sparse.coo_matrix((np.ones(ok.sum(), np.int8), (src[ok], pos[ok])), shape=(n, n))
    _, lab_sorted = connected_components(graph, directed=False)
    # renumber by first appearance in sorted order -> deterministic labels
    _, first = np.unique(lab_sorted, return_index=True)
    rank = np.empty(first.size, np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = rank[lab_sorted]
    return labels


@dataclass(frozen=True, eq=False)
class BlindSpots:
    """Blind cells and their clusters. ``cell_cluster``: per cell of the analysed set, the
    rank-ordered blind-spot id (1 = heaviest) or 0 when the cell is not blind."""

    cell_cluster: np.ndarray
    table: gpd.GeoDataFrame


def find_blind_spots(
    cells: Cells,
    blind: np.ndarray,
    weight: np.ndarray,
    *,
    cameras: gpd.GeoDataFrame | None = None,
    posts: gpd.GeoDataFrame | None = None,
    counted: np.ndarray | None = None,
    camera_id: str = "camera_id",
    post_id: str = "post_id",
    camera_points: np.ndarray | None = None,
) -> BlindSpots:
    """Cluster the ``blind`` cells (bool per cell) and rank the clusters by total ``weight``.

    ``cameras``/``posts``: point layers (any CRS, reprojected to ``cells.crs``) for the
    nearest camera / post of each cluster; ``counted``: per camera, True when it counts
    towards coverage (see ``add_nearest``); ``camera_points``: the cameras already in
    ``cells.crs`` (shapely Points aligned with ``cameras``; default: reprojected here).
    """
    blind = np.asarray(blind, dtype=bool)
    idx = np.flatnonzero(blind)
    labels = cluster_cells(cells.h3[idx])
    k = int(labels.max()) + 1 if labels.size else 0
    w = np.bincount(labels, weights=weight[idx], minlength=k)
    area = np.bincount(labels, weights=cells.area_m2[idx], minlength=k)
    count = np.bincount(labels, minlength=k)
    # rank: heaviest first; ties by larger area, then by first cell id (deterministic)
    ranking = np.lexsort((np.arange(k), -area, -w))
    rank_of = np.empty(k, np.int64)
    rank_of[ranking] = np.arange(1, k + 1)
    cell_cluster = np.zeros(len(cells), dtype=np.int64)
    cell_cluster[idx] = rank_of[labels]
    by_rank = np.argsort(rank_of[labels], kind="stable")
    groups = np.split(cells.h3[idx][by_rank], np.cumsum(count[ranking])[:-1]) if k else []
    geoms = np.array([_outline(g) for g in groups], dtype=object)
    table = gpd.GeoDataFrame(
        {
            "blind_spot": np.arange(1, k + 1),
            "weight": w[ranking],
            "area_m2": area[ranking],
            "cells": count[ranking],
        },
        geometry=geoms if k else gpd.GeoSeries([], crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    add_nearest(
        table,
        cameras,
        posts,
        cells.crs,
        counted=counted,
        camera_id=camera_id,
        post_id=post_id,
        camera_points=camera_points,
    )
    return BlindSpots(cell_cluster, table)


def _outline(group: np.ndarray) -> shapely.Geometry:
    geo = h3n.cells_to_h3shape(group.astype(np.uint64))
    return shape(geo.__geo_interface__)  # GeoJSON order: (lng, lat)


def add_nearest(
    table: gpd.GeoDataFrame,
    cameras: gpd.GeoDataFrame | None,
    posts: gpd.GeoDataFrame | None,
    crs: pyproj.CRS,
    *,
    counted: np.ndarray | None = None,
    camera_id: str = "camera_id",
    post_id: str = "post_id",
    camera_points: np.ndarray | None = None,
) -> None:
    """Add ``nearest_camera``, ``nearest_camera_m``, ``nearest_offline_camera``,
    ``nearest_offline_camera_m``, ``nearest_post``, ``nearest_post_m`` to the blind-spot
    ``table`` (EPSG:4326 outlines), in place.

    ``nearest_camera`` is the nearest camera that counts towards coverage,
    ``nearest_offline_camera`` the nearest one that does not (None when every camera
    counts). ``counted``: per camera row, True when it counts (``Coverage.counted`` of the
    run); default: ``cover.camera_counted`` of the ``status`` column with its default rules
    (online and unknown count), every camera when there is no ``status`` column.
    Distances in metres from each outline (0 when inside), measured in the metric ``crs``;
    ids from the ``camera_id`` / ``post_id`` column, else the layer's index; None / NaN when
    the layer (or its counted / not counted part) is missing or empty. Shared by
    ``find_blind_spots`` and the partition merge.
    """
    metric = np.asarray(table.to_crs(crs).geometry.values) if len(table) else np.empty(0, object)
    layers: list[tuple[np.ndarray, np.ndarray, str]] = []
    if cameras is not None:
        mask = _counted_mask(cameras, counted)
        pts, ids = _metric_points(cameras, camera_id, crs, camera_points)
        layers += [(pts[mask], ids[mask], "camera"), (pts[~mask], ids[~mask], "offline_camera")]
    else:
        layers += [
            (np.empty(0, object), np.empty(0, object), p) for p in ("camera", "offline_camera")
        ]
    if posts is not None:
        layers.append((*_metric_points(posts, post_id, crs), "post"))
    else:
        layers.append((np.empty(0, object), np.empty(0, object), "post"))
    for pts, ids, prefix in layers:
        table[f"nearest_{prefix}"], table[f"nearest_{prefix}_m"] = _nearest(metric, pts, ids)


def _counted_mask(cameras: gpd.GeoDataFrame, counted: np.ndarray | None) -> np.ndarray:
    if counted is None:
        if "status" not in cameras.columns:
            return np.ones(len(cameras), dtype=bool)
        return camera_counted(cameras["status"].to_numpy())
    mask = np.asarray(counted, dtype=bool)
    if mask.shape != (len(cameras),):
        raise InputError(
            f"counted has {mask.size} values for {len(cameras)} cameras: give one per camera row."
        )
    return mask


def _metric_points(
    layer: gpd.GeoDataFrame, key: str, crs: pyproj.CRS, known: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The layer's geometries in the metric ``crs`` (``known`` if given, else one vectorised
    reprojection) and ids (the ``key`` column, else the index)."""
    if known is not None and len(known) != len(layer):
        raise InputError(
            f"camera_points has {len(known)} points for {len(layer)} cameras: give one per row."
        )
    geoms = np.asarray(layer.geometry.values) if known is None else np.asarray(known)
    if (
        known is None
        and len(layer)
        and layer.crs is not None
        and not pyproj.CRS(layer.crs).equals(crs)
    ):
        geoms = np.asarray(gpd.GeoSeries(geoms, crs=layer.crs).to_crs(crs).values)
    ids = layer[key].to_numpy() if key in layer.columns else layer.index.to_numpy()
    return geoms, np.asarray(ids, dtype=object)


def _nearest(metric: np.ndarray, pts: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(metric)
    out = np.full(n, None, dtype=object)
    if len(pts) == 0 or n == 0:
        return out, np.full(n, np.nan)
    pos, dist = nearest_positions(metric, [(0, pts)])
    found = pos >= 0
    out[found] = ids[pos[found]]
    return out, dist


def nearest_positions(
    metric: np.ndarray, chunks: Iterable[tuple[int, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per geometry of ``metric``: the position of its nearest point and the distance (same
    CRS units), over ``chunks`` of (offset of the chunk's first point, its points) so that
    few points need be alive at a time; -1 / NaN when there is none. Equally near points:
    the first in order (not whichever the tree's packing returns first), so an edit of
    another feature never changes the answer."""
    n = len(metric)
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    for start, pts in chunks:
        tree = shapely.STRtree(pts)
        (src, dst), d = tree.query_nearest(metric, return_distance=True, all_matches=True)
        first = np.lexsort((dst, src))
        src, dst, d = src[first], dst[first], d[first]
        head = np.r_[True, src[1:] != src[:-1]] if src.size else np.zeros(0, bool)
        src, dst, d = src[head], dst[head] + start, d[head]
        better = d < dist[src]  # a tie keeps the earlier chunk's point: first in order
        best[src[better]], dist[src[better]] = dst[better], d[better]
        del tree
    dist[best < 0] = np.nan
    return best, dist
