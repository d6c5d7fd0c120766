"""Travel time from posts to cells: along streets, over the cell grid, or in a straight line.

See :mod:`gridcover.coverage.reach.nearest_post` for the three methods and their fallbacks.
Everything is in metres / seconds in one metric CRS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from gridcover.coverage.cell_graph import cell_graph_times
from gridcover.coverage.reach.network import StreetNetwork, shortest_times, travel_mode
from gridcover.errors import InputError

__all__ = ["METHODS", "TravelTimes", "radius_matrix", "travel_times", "within_time_matrix"]

METHODS = ("network", "grid", "straight")


@dataclass(frozen=True, eq=False)
class TravelTimes:
    """Seconds from each post to each cell: ``seconds`` (n_cells, n_posts), inf = unreachable.

    ``fallback``: per cell, True if its times are straight-line / grid estimates rather than
    along streets; ``post_fallback``: the same per post; ``method``: network, grid or straight.
    """

    seconds: np.ndarray
    fallback: np.ndarray
    post_fallback: np.ndarray
    method: str


def _largest_part_nodes(g: sparse.csr_matrix) -> np.ndarray:
    _, comp = csgraph.connected_components(g, directed=False)
    used = np.zeros(g.shape[0], dtype=bool)
    used[g.nonzero()[0]] = True
    used[g.nonzero()[1]] = True
    if not used.any():
        return np.empty(0, np.int64)
    sizes = np.bincount(comp[used])
    return np.flatnonzero(used & (comp == int(np.argmax(sizes))))


def _time_chunks(
    x: np.ndarray,
    y: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    *,
    method: str,
    network: StreetNetwork | None,
    mode: str,
    max_snap_m: float,
    post_cells: np.ndarray | None,
    nbr: np.ndarray | None,
    limit_s: float,
    chunk: int,
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (first post, times (n_cells, chunk), cell fallback, post fallback) per post chunk."""
    speed = travel_mode(mode).default_ms
    n, p = x.size, px.size
    if method == "network":
        if network is None:
            raise InputError("method='network' needs a street network (give the roads layer).")
        g = network.graph(mode)
        nodes = _largest_part_nodes(g)
        if nodes.size == 0:
            raise InputError(f"The street network has no street that mode {mode!r} can use.")
        tree = cKDTree(np.c_[network.node_x[nodes], network.node_y[nodes]])
        cd, ci = tree.query(np.c_[x, y])
        pd_, pi = tree.query(np.c_[px, py])
        cell_fb = cd > max_snap_m
        post_fb = pd_ > max_snap_m
        for s in range(0, p, chunk):
            e = min(s + chunk, p)
            t = shortest_times(g, nodes[pi[s:e]], limit=limit_s).T[nodes[ci]]
            t = t + cd[:, None] / speed + pd_[None, s:e] / speed
            straight = np.hypot(x[:, None] - px[None, s:e], y[:, None] - py[None, s:e]) / speed
            use_line = cell_fb[:, None] | post_fb[None, s:e]
            yield s, np.where(use_line, straight, t), cell_fb, post_fb
    elif method == "grid":
        if nbr is None or post_cells is None:
            raise InputError("method='grid' needs the cell neighbours and each post's cell.")
        anchored = post_cells >= 0
        for s in range(0, p, chunk):
            e = min(s + chunk, p)
            t = np.full((n, e - s), np.inf)
            ok = np.flatnonzero(anchored[s:e])
            if ok.size:
                t[:, ok] = cell_graph_times(nbr, x, y, post_cells[s:e][ok], speed).T
            # The access leg from the post point to its cell's centroid.
            acc = np.hypot(
                px[s:e] - x[np.maximum(post_cells[s:e], 0)],
                py[s:e] - y[np.maximum(post_cells[s:e], 0)],
            )
            yield s, t + acc[None, :] / speed, np.ones(n, bool), np.ones(p, bool)
    elif method == "straight":
        for s in range(0, p, chunk):
            e = min(s + chunk, p)
            t = np.hypot(x[:, None] - px[None, s:e], y[:, None] - py[None, s:e]) / speed
            yield s, t, np.ones(n, bool), np.ones(p, bool)
    else:
        raise InputError(f"Unknown travel method {method!r}: use one of {', '.join(METHODS)}.")


def travel_times(
    x: np.ndarray,
    y: np.ndarray,
    post_x: np.ndarray,
    post_y: np.ndarray,
    *,
    method: str = "network",
    network: StreetNetwork | None = None,
    mode: str = "car",
    max_snap_m: float = 250.0,
    post_cells: np.ndarray | None = None,
    nbr: np.ndarray | None = None,
) -> TravelTimes:
    """Dense travel seconds from every post to every cell (see the module doc for methods).

    ``x``/``y``: cell centroids, ``post_x``/``post_y``: posts, all in metres in the network's
    (or the cells') metric CRS. ``post_cells``/``nbr``: each post's cell position and the
    cell neighbours (:func:`~gridcover.coverage.cell_graph.neighbours`), for ``"grid"``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    px, py = np.asarray(post_x, float), np.asarray(post_y, float)
    out = np.full((x.size, px.size), np.inf)
    cell_fb, post_fb = np.zeros(x.size, bool), np.zeros(px.size, bool)
    pc = None if post_cells is None else np.asarray(post_cells, np.int64)
    for s, t, cfb, pfb in _time_chunks(
        x,
        y,
        px,
        py,
        method=method,
        network=network,
        mode=mode,
        max_snap_m=max_snap_m,
        post_cells=pc,
        nbr=nbr,
        limit_s=np.inf,
        chunk=64,
    ):
        out[:, s : s + t.shape[1]] = t
        cell_fb, post_fb = cfb, pfb
    return TravelTimes(out, cell_fb, post_fb, method)


def within_time_matrix(
    x: np.ndarray,
    y: np.ndarray,
    post_x: np.ndarray,
    post_y: np.ndarray,
    limit_s: float,
    *,
    method: str = "network",
    network: StreetNetwork | None = None,
    mode: str = "car",
    max_snap_m: float = 250.0,
    post_cells: np.ndarray | None = None,
    nbr: np.ndarray | None = None,
) -> sparse.csc_matrix:
    """Sparse (n_cells, n_posts) boolean: the post reaches the cell within ``limit_s`` seconds.

    Works on many posts (candidate sites) at once: searches stop at the limit and run in
    chunks, so memory stays at the reached pairs.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    px, py = np.asarray(post_x, float), np.asarray(post_y, float)
    blocks = []
    pc = None if post_cells is None else np.asarray(post_cells, np.int64)
    for _, t, _, _ in _time_chunks(
        x,
        y,
        px,
        py,
        method=method,
        network=network,
        mode=mode,
        max_snap_m=max_snap_m,
        post_cells=pc,
        nbr=nbr,
        limit_s=limit_s,
        chunk=128,
    ):
        blocks.append(sparse.csc_matrix(t <= limit_s))
    if not blocks:
        return sparse.csc_matrix((x.size, 0), dtype=bool)
    return sparse.hstack(blocks, format="csc").astype(bool)


def radius_matrix(
    x: np.ndarray, y: np.ndarray, post_x: np.ndarray, post_y: np.ndarray, radius_m: float
) -> sparse.csc_matrix:
    """Sparse (n_cells, n_posts) boolean: cell centroid within ``radius_m`` metres of the post."""
    cells = cKDTree(np.c_[np.asarray(x, float), np.asarray(y, float)])
    posts = cKDTree(np.c_[np.asarray(post_x, float), np.asarray(post_y, float)])
    m = cells.sparse_distance_matrix(posts, radius_m, output_type="coo_matrix")
    # sparse_distance_matrix omits exact zero distances; add them back.
    d0, i0 = posts.query(np.c_[x, y], distance_upper_bound=1e-9)
    hit = np.isfinite(d0)
    rows = np.r_[m.row, np.flatnonzero(hit)]
    cols = np.r_[m.col, i0[hit]]
    out = sparse.csc_matrix(
        (np.ones(rows.size, bool), (rows, cols)), shape=(np.size(x), np.size(post_x))
    )
    out.data[:] = True
    return out
