"""The H3 cell graph of an area: ring-ordered neighbours, colour classes, components.

Everything here works on a sorted int64 array of H3 cells (one resolution) and returns
arrays aligned with it. ``neighbours(cells)`` is an (n, 6) int64 array of positions of the
six neighbours in ring order around each cell (-1 where the neighbour is not in the set or
the cell is a pentagon's missing side), which makes two tests cheap and vectorised:

* the *ring test* (``single_run``): removing a cell from a zone keeps the zone connected if
  the zone's cells among its neighbours form one unbroken run around the ring (neighbours
  adjacent in ring order are adjacent to each other on a hexagonal grid);
* *colour classes* (``colour_classes``): cells of one colour are never adjacent, so any set
  of same-coloured moves can be applied at once without breaking that argument.
"""

from __future__ import annotations

import h3.api.numpy_int as h3n
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

__all__ = [
    "adjacency_matrix",
    "cell_graph_times",
    "colour_classes",
    "label_components",
    "neighbours",
    "single_run",
]


def neighbours(cells: np.ndarray) -> np.ndarray:
    """(n, 6) positions in ``cells`` (sorted int64) of each cell's neighbours, in ring order.

    -1 marks a neighbour outside the set (or the missing sixth side of a pentagon).
    """
    cells = np.asarray(cells, dtype=np.int64)
    n = cells.size
    out = np.full((n, 6), -1, dtype=np.int64)
    if n == 0:
        return out
    ring = np.zeros((n, 6), dtype=np.int64)
    for i, c in enumerate(cells.tolist()):
        r = h3n.grid_ring(c, 1)
        ring[i, : r.size] = r.astype(np.int64)
    pos = np.searchsorted(cells, ring)
    pos = np.clip(pos, 0, n - 1)
    hit = (cells[pos] == ring) & (ring != 0)
    out[hit] = pos[hit]
    return out


def adjacency_matrix(nbr: np.ndarray) -> sparse.csr_matrix:
    """Symmetric 0/1 adjacency (CSR) of the cells from :func:`neighbours`."""
    n = nbr.shape[0]
    rows = np.repeat(np.arange(n), nbr.shape[1])
    cols = nbr.reshape(-1)
    ok = cols >= 0
    data = np.ones(int(ok.sum()), dtype=np.int8)
    return sparse.csr_matrix((data, (rows[ok], cols[ok])), shape=(n, n))


def single_run(member: np.ndarray) -> np.ndarray:
    """Per row of an (n, 6) boolean ring: True where the True entries form exactly one run.

    A cell whose same-zone neighbours form one run can leave the zone without splitting it.
    """
    prev = np.roll(member, 1, axis=1)
    starts = (member & ~prev).sum(axis=1)
    return starts == 1


def colour_classes(nbr: np.ndarray, seed: int = 0) -> np.ndarray:
    """A proper colouring (no two adjacent cells share a colour), vectorised Jones-Plassmann.

    Returns an int array of colours 0..k-1 (k is 3-5 on a hexagonal grid).
    """
    n = nbr.shape[0]
    colour = np.full(n, -1, dtype=np.int64)
    prio = np.random.default_rng(seed).permutation(n)
    valid = nbr >= 0
    safe = np.where(valid, nbr, 0)
    while (colour < 0).any():
        open_ = colour < 0
        nb_open = valid & open_[safe]
        nb_prio = np.where(nb_open, prio[safe], -1)
        pick = open_ & (prio > nb_prio.max(axis=1))
        nb_col = np.where(valid, colour[safe], -1)
        used = np.zeros((n, 8), dtype=bool)
        rows, cols = np.nonzero(nb_col >= 0)
        used[rows, nb_col[rows, cols]] = True
        first_free = np.argmin(used, axis=1)
        colour[pick] = first_free[pick]
    return colour


def label_components(nbr: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Connected-component id of each cell within its own label (cells with label < 0: -1).

    Two cells are connected when they are H3 neighbours with the same label.
    """
    n = nbr.shape[0]
    rows = np.repeat(np.arange(n), nbr.shape[1])
    cols = nbr.reshape(-1)
    ok = cols >= 0
    rows, cols = rows[ok], cols[ok]
    same = (labels[rows] == labels[cols]) & (labels[rows] >= 0)
    g = sparse.csr_matrix(
        (np.ones(int(same.sum()), dtype=np.int8), (rows[same], cols[same])), shape=(n, n)
    )
    _, comp = csgraph.connected_components(g, directed=False)
    return np.where(labels >= 0, comp, -1)


def cell_graph_times(
    nbr: np.ndarray, x: np.ndarray, y: np.ndarray, sources: np.ndarray, speed_ms: float
) -> np.ndarray:
    """Travel seconds from each source cell to every cell, moving between adjacent cells.

    The grid-adjacency fallback when there is no street network: a path steps from a cell
    centroid to a neighbour's (metres, metric ``x``/``y``) at ``speed_ms``, so travel goes
    around holes and out-of-area water instead of straight across. Shape (n_sources, n).
    """
    n = nbr.shape[0]
    rows = np.repeat(np.arange(n), nbr.shape[1])
    cols = nbr.reshape(-1)
    ok = (cols >= 0) & (rows < cols)
    rows, cols = rows[ok], cols[ok]
    w = np.hypot(x[rows] - x[cols], y[rows] - y[cols]) / speed_ms
    g = sparse.csr_matrix((w, (rows, cols)), shape=(n, n))
    sources = np.asarray(sources, dtype=np.int64)
    if sources.size == 0:
        return np.empty((0, n))
    return np.atleast_2d(csgraph.dijkstra(g, directed=False, indices=sources))
