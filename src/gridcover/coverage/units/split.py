"""Split blind priority cells into work units a planner can fix (array core, metric CRS).

Every blind cell gets a *seed*, in this order:

1. ``intersection``: within ``intersection_radius_m`` of a road intersection node -> the
   nearest node;
2. ``site``: within ``site_radius_m`` of a key site (point or outline) -> the nearest site;
3. ``road``: within ``road_radius_m`` of a road line -> the nearest line, and on it the
   stretch between two consecutive intersection nodes (by position along the line);
4. ``area``: anything else -> its lowest-level grid.

Cells with the same seed that touch (H3 neighbours) form one unit. A unit larger than the
cap (``max_extent_m``: largest distance across its outline; ``max_area_m2``) is cut in two
along its longest axis at the median cell, and the halves again, until every piece fits.
Each blind cell lands in exactly one unit, so the unit areas add up to the blind area.
"""

from __future__ import annotations

from dataclasses import dataclass

import h3.api.numpy_int as h3n
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = [
    "KINDS",
    "Seeds",
    "cap_units",
    "extent_m",
    "merge_streets",
    "seed_cells",
    "unit_labels",
]

KINDS = ("intersection", "site", "road", "area")


@dataclass(frozen=True, eq=False)
class Seeds:
    """Per blind cell: ``kind`` (index into ``KINDS``), ``ref`` (node / site / line / grid
    index) and ``stretch`` (for roads: which stretch between intersections, else 0)."""

    kind: np.ndarray
    ref: np.ndarray
    stretch: np.ndarray


def _nearest_within(
    geoms: np.ndarray, pts: np.ndarray, radius: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """(point index, geometry index) of the nearest geometry within ``radius`` metres."""
    if len(geoms) == 0 or len(pts) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    tree = shapely.STRtree(geoms)
    (pi, gi), d = tree.query_nearest(pts, return_distance=True, all_matches=False)
    r = np.broadcast_to(np.asarray(radius, float), (len(pts),))
    ok = d <= r[pi] + 1e-9
    return pi[ok], gi[ok]


def merge_streets(
    lines: np.ndarray, names: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Join the pieces of each named street (same name) end to end (``line_merge``), so a
    stretch between intersections is one line even where the source splits its ways.

    Returns (lines, source line index of each new line: its heaviest piece, name).
    Unnamed lines are kept as they are.
    """
    lines = np.asarray(lines, dtype=object)
    names = np.asarray(names, dtype=object)
    if lines.size == 0:
        return lines, np.empty(0, np.int64), names
    named = np.array([isinstance(n, str) and n.strip() != "" for n in names])
    out_l: list[shapely.Geometry] = []
    out_src: list[int] = []
    out_n: list[str] = []
    for i in np.flatnonzero(~named):
        out_l.append(lines[i])
        out_src.append(int(i))
        out_n.append("")
    keys = np.array([str(n).strip() if ok else "" for n, ok in zip(names, named, strict=True)])
    for nm in np.unique(keys[named]):
        idx = np.flatnonzero(keys == nm)
        heavy = int(idx[np.argmax(weight[idx])])
        merged = shapely.line_merge(shapely.union_all(lines[idx]))
        for part in shapely.get_parts(merged):
            if shapely.get_type_id(part) == 1:
                out_l.append(part)
                out_src.append(heavy)
                out_n.append(nm)
    return (
        np.array(out_l, dtype=object),
        np.array(out_src, np.int64),
        np.array(out_n, dtype=object),
    )


def _heaviest_within(
    lines: np.ndarray, weight: np.ndarray, pts: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(point index, line index) of the heaviest line within ``radius`` (ties: nearest)."""
    if len(lines) == 0 or len(pts) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pi, li = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=radius)
    d = shapely.distance(pts[pi], lines[li])
    order = np.lexsort((li, d, -weight[li], pi))
    pi, li = pi[order], li[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    return pi[first], li[first]


def stretch_of(
    lines: np.ndarray, nodes_xy: np.ndarray, line_of: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Per point, the stretch number of its ``line_of`` line between intersection nodes
    lying on that line (within 0.5 m): 0 before the first node, 1 after it, ..."""
    out = np.zeros(len(line_of), np.int64)
    if len(nodes_xy) == 0 or len(line_of) == 0:
        return out
    nodes = shapely.points(nodes_xy)
    ni, li = shapely.STRtree(lines).query(nodes, predicate="dwithin", distance=0.5)
    node_pos = shapely.line_locate_point(lines[li], nodes[ni])
    pt_pos = shapely.line_locate_point(lines[line_of], shapely.points(x, y))
    order = np.lexsort((node_pos, li))
    li, node_pos = li[order], node_pos[order]
    starts = np.searchsorted(li, line_of, side="left")
    ends = np.searchsorted(li, line_of, side="right")
    for i in np.flatnonzero(ends > starts):
        out[i] = np.searchsorted(node_pos[starts[i] : ends[i]], pt_pos[i])
    return out


def seed_cells(
    x: np.ndarray,
    y: np.ndarray,
    *,
    nodes_xy: np.ndarray,
    intersection_radius_m: float,
    sites: np.ndarray,
    site_radius_m: float,
    roads: np.ndarray,
    road_radius_m: np.ndarray,
    road_weight: np.ndarray,
    grid: np.ndarray,
) -> Seeds:
    """Seeds of the blind cells (centroids ``x``/``y``, metres); see the module doc.

    ``sites``/``roads``: shapely geometries in the same metric CRS; ``road_radius_m``: per
    cell, the road band radius of the priority step; ``road_weight``: per line, its class
    weight (a cell goes to the heaviest line within its radius, the street rather than
    the pavement beside it; ties: the nearest); ``grid``: per cell, its lowest-level
    grid index (-1 outside).
    """
    n = len(x)
    kind = np.full(n, KINDS.index("area"), np.int64)
    ref = np.asarray(grid, np.int64).copy()
    stretch = np.zeros(n, np.int64)
    free = np.ones(n, bool)
    if len(nodes_xy):
        d, j = cKDTree(nodes_xy).query(np.c_[x, y])
        hit = d <= intersection_radius_m
        kind[hit], ref[hit], free[hit] = KINDS.index("intersection"), j[hit], False
    pts = shapely.points(x, y)
    idx = np.flatnonzero(free)
    pi, si = _nearest_within(np.asarray(sites), pts[idx], site_radius_m)
    kind[idx[pi]], ref[idx[pi]], free[idx[pi]] = KINDS.index("site"), si, False
    idx = np.flatnonzero(free)
    pi, li = _heaviest_within(
        np.asarray(roads), np.asarray(road_weight, float), pts[idx], np.asarray(road_radius_m)[idx]
    )
    sel = idx[pi]
    kind[sel], ref[sel] = KINDS.index("road"), li
    stretch[sel] = stretch_of(np.asarray(roads), nodes_xy, li, x[sel], y[sel])
    return Seeds(kind, ref, stretch)


def unit_labels(h3_ids: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Connected components of H3-adjacent cells that share the same ``key`` (int64 per
    cell): label 0..k-1 per cell, numbered by each component's smallest cell id."""
    ids = np.asarray(h3_ids, np.int64)
    n = ids.size
    if n == 0:
        return np.empty(0, np.int64)
    order = np.argsort(ids)
    sid = ids[order]
    disks = [np.asarray(h3n.grid_disk(int(c), 1), np.int64) for c in sid]
    sizes = np.fromiter((d.size for d in disks), np.int64, n)
    nb = np.concatenate(disks)
    src = np.repeat(np.arange(n), sizes)
    pos = np.clip(np.searchsorted(sid, nb), 0, n - 1)
    k_sorted = np.asarray(key)[order]
    ok = (sid[pos] == nb) & (k_sorted[src] == k_sorted[pos])
    g = sparse.coo_matrix((np.ones(int(ok.sum()), np.int8), (src[ok], pos[ok])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    _, first = np.unique(lab, return_index=True)
    rank = np.empty(first.size, np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    out = np.empty(n, np.int64)
    out[order] = rank[lab]
    return out


def extent_m(x: np.ndarray, y: np.ndarray, edge_m: float) -> float:
    """Largest distance across a set of hexagons (centroids ``x``/``y``, edge ``edge_m``):
    the centroids' diameter plus one hexagon diameter (2 x edge): an upper bound of the
    outline's own diameter."""
    if len(x) <= 1:
        return 2.0 * edge_m
    hull = shapely.convex_hull(shapely.multipoints(np.c_[x, y]))
    c = shapely.get_coordinates(hull)
    d = np.hypot(c[:, None, 0] - c[None, :, 0], c[:, None, 1] - c[None, :, 1])
    return float(d.max()) + 2.0 * edge_m


def _cut(idx: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of ``idx`` across the principal axis, at the median."""
    px, py = x[idx] - x[idx].mean(), y[idx] - y[idx].mean()
    cov = np.cov(np.vstack([px, py])) if len(idx) > 1 else np.eye(2)
    _, vecs = np.linalg.eigh(cov)
    proj = px * vecs[0, -1] + py * vecs[1, -1]
    order = np.argsort(proj, kind="stable")
    half = len(idx) // 2
    return idx[order[:half]], idx[order[half:]]


def cap_units(
    labels: np.ndarray,
    h3_ids: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    area_m2: np.ndarray,
    edge_m: float,
    *,
    max_extent_m: float | np.ndarray,
    max_area_m2: float | np.ndarray,
) -> np.ndarray:
    """Relabel so that no unit exceeds ``max_extent_m`` (``extent_m``) or ``max_area_m2``
    (one value, or one per cell: a unit's cap is then the smallest of its cells').

    Oversized units are cut in two across their longest axis; each half is split into its
    connected pieces again, recursively. A single cell is never cut (a cap below one cell
    leaves one-cell units). Labels are renumbered 0..k-1 by each unit's smallest cell id.
    """
    out = np.asarray(labels, np.int64).copy()
    cap_ext = np.broadcast_to(np.asarray(max_extent_m, float), out.shape)
    cap_area = np.broadcast_to(np.asarray(max_area_m2, float), out.shape)
    order = np.argsort(out, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(out))]
    nxt = int(out.max()) + 1 if out.size else 0
    stack = [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    while stack:
        idx = stack.pop()
        if len(idx) <= 1:
            continue
        ext, area = cap_ext[idx].min(), cap_area[idx].min()
        if area_m2[idx].sum() <= area and extent_m(x[idx], y[idx], edge_m) <= ext:
            continue
        for half in _cut(idx, x, y):
            sub = unit_labels(h3_ids[half], np.zeros(len(half), np.int64))
            for s in range(int(sub.max()) + 1):
                part = half[sub == s]
                out[part] = nxt
                nxt += 1
                stack.append(part)
    # renumber by smallest cell id
    uniq, inv = np.unique(out, return_inverse=True)
    first = np.full(uniq.size, np.iinfo(np.int64).max)
    np.minimum.at(first, inv, np.asarray(h3_ids, np.int64))
    rank = np.empty(uniq.size, np.int64)
    rank[np.argsort(first)] = np.arange(uniq.size)
    return rank[inv]
