"""Patrol-zone assignment steps on the H3 cell graph: Voronoi start, contiguity repair, balancing.

All functions take aligned arrays over n cells and p posts:
``nbr`` (n, 6) ring-ordered neighbour positions (``patrol_cells.neighbours``), ``labels`` (n,)
post index per cell or -1, ``cost`` (n, p) travel seconds post -> cell, ``allowed`` (n, p)
whether cell may belong to post (same boundary region, post active and not frozen),
``anchors`` (p,) the cell position holding each post or -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridcover.coverage.cell_graph import label_components, single_run

__all__ = [
    "BalanceStats",
    "balance_zones",
    "exclave_owners",
    "priced_labels",
    "repair_contiguity",
    "smooth_zones",
    "voronoi_labels",
]

_BIG = 1e15  # stands in for an infinite travel cost when comparing costs


def _finite(cost: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(cost), cost, _BIG)


def voronoi_labels(
    cost: np.ndarray, allowed: np.ndarray, anchors: np.ndarray, locked: np.ndarray
) -> np.ndarray:
    """Each cell to its fastest allowed post (network Voronoi); locked cells and anchors fixed."""
    n, p = cost.shape
    labels = np.full(n, -1, dtype=np.int64)
    if p:
        masked = np.where(allowed, _finite(cost), np.inf)
        best = np.argmin(masked, axis=1)
        labels = np.where(np.isfinite(masked[np.arange(n), best]), best, -1)
    labels = np.where(locked >= 0, locked, labels)
    has = anchors >= 0
    labels[anchors[has]] = np.flatnonzero(has)
    return labels


def _group_ratio(loads: np.ndarray, group: np.ndarray) -> float:
    return _region_ratio(loads, group)


def priced_labels(
    cost: np.ndarray,
    allowed: np.ndarray,
    anchors: np.ndarray,
    locked: np.ndarray,
    weight: np.ndarray,
    group: np.ndarray,
    *,
    iterations: int = 300,
    rate: float = 0.5,
    stop_ratio: float = 1.03,
) -> tuple[np.ndarray, np.ndarray]:
    """Network Voronoi with a price per post, tuned until workloads even out.

    Each cell goes to the allowed post minimising travel time + price (an additively
    weighted Voronoi diagram: each zone stays a union of shortest paths to its post, so
    zones come out compact and, on the cell graph, connected). A zone above its group's
    mean load gets a higher price, one below a lower price; the step shrinks over the
    iterations and the most even assignment seen is returned with its prices (seconds).
    """
    p = cost.shape[1]
    price = np.zeros(p)
    fcost = np.where(allowed, _finite(cost), np.inf)
    ok = allowed & np.isfinite(cost)
    near = np.where(ok, cost, np.inf).min(axis=1, initial=np.inf)
    scale = float(np.mean(near[np.isfinite(near)])) if np.isfinite(near).any() else 1.0
    best = voronoi_labels(fcost, allowed, anchors, locked)
    best_ratio, best_price = np.inf, price.copy()
    step = rate * scale
    for _ in range(iterations):
        labels = voronoi_labels(fcost + price[None, :], allowed, anchors, locked)
        loads = np.bincount(labels[labels >= 0], weights=weight[labels >= 0], minlength=p)
        ratio = _group_ratio(loads, group)
        if ratio < best_ratio:
            best, best_ratio, best_price = labels, ratio, price.copy()
        if ratio <= stop_ratio:
            break
        rel = np.zeros(p)
        for g in np.unique(group[group >= 0]):
            m = group == g
            mean = loads[m].mean()
            if mean > 0:
                rel[m] = (loads[m] - mean) / mean
        price = price + step * np.clip(rel, -1.0, 1.0)
        step *= 0.985
    return best, best_price


def repair_contiguity(
    nbr: np.ndarray,
    labels: np.ndarray,
    anchors: np.ndarray,
    allowed: np.ndarray,
    cost: np.ndarray,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Make every zone one H3-connected piece holding its anchor.

    Cells cut off from their post's anchor are released, then regrown layer by layer from
    the anchored zones: a free cell joins the adjacent allowed zone it is fastest to reach.
    Cells that no allowed zone can reach through neighbours stay -1 (unassigned).
    ``fixed`` (n,): post index of exclave cells (see :func:`exclave_owners`, -1 elsewhere);
    they keep that post although they are not connected to its anchor.
    """
    labels = labels.copy()
    comp = label_components(nbr, labels)
    has = anchors >= 0
    anchored = np.zeros(int(comp.max(initial=-1)) + 1, dtype=bool)
    anchored[comp[anchors[has]]] = True
    orphan = (labels >= 0) & ~anchored[np.maximum(comp, 0)]
    labels[orphan] = -1
    if fixed is not None:
        labels = np.where(fixed >= 0, fixed, labels)
    fcost = _finite(cost)
    free = np.flatnonzero((labels < 0) & allowed.any(axis=1))
    while free.size:
        nb = nbr[free]
        nl = np.where(nb >= 0, labels[np.maximum(nb, 0)], -1)
        safe = np.maximum(nl, 0)
        rows = free[:, None]
        ok = (nl >= 0) & allowed[rows, safe]
        grow = ok.any(axis=1)
        if not grow.any():
            break
        c = np.where(ok, fcost[rows, safe], np.inf)
        pick = nl[np.arange(free.size), np.argmin(c, axis=1)]
        labels[free[grow]] = pick[grow]
        free = free[~grow]
    return labels


def exclave_owners(
    nbr: np.ndarray,
    labels: np.ndarray,
    allowed: np.ndarray,
    region: np.ndarray,
    cost: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    post_x: np.ndarray,
    post_y: np.ndarray,
) -> np.ndarray:
    """Post index for each cell of a piece cut off from every post of its region (-1 else).

    ``labels`` after :func:`repair_contiguity`: a cell still unassigned although some post
    may have it lies in a piece of the area that H3 adjacency does not connect to any
    anchored zone (e.g. an airport joined to the city by a strip narrower than a cell).
    Each such piece (H3-connected, one region) goes whole to one allowed post: the one with
    the least travel time to the piece (``cost``, seconds: along streets or straight line),
    or, when no post has a finite time (grid-adjacency travel cannot cross the gap), the
    one nearest in a straight line (metres, ``x``/``y`` and ``post_x``/``post_y``).
    """
    owner = np.full(labels.size, -1, dtype=np.int64)
    cut = (labels < 0) & allowed.any(axis=1)
    if not cut.any():
        return owner
    comp = label_components(nbr, np.where(cut, np.maximum(region, 0), -1))
    for k in np.unique(comp[cut]):
        cells = np.flatnonzero(comp == k)
        posts = np.flatnonzero(allowed[cells[0]])
        t = cost[np.ix_(cells, posts)]
        best_t = np.where(np.isfinite(t), t, np.inf).min(axis=0)
        if np.isfinite(best_t).any():
            owner[cells] = posts[int(np.argmin(best_t))]
            continue
        d = np.hypot(x[cells][:, None] - post_x[posts], y[cells][:, None] - post_y[posts])
        owner[cells] = posts[int(np.argmin(d.min(axis=0)))]
    return owner


@dataclass(frozen=True)
class BalanceStats:
    """How balancing went: cell moves applied, iterations run, why it stopped."""

    moves: int
    iterations: int
    stopped: str


def _zone_degree(nbr: np.ndarray, labels: np.ndarray, allowed: np.ndarray, p: int) -> np.ndarray:
    """Number of distinct neighbouring zones of each zone that it may trade cells with."""
    rows = np.repeat(np.arange(nbr.shape[0]), nbr.shape[1])
    cols = nbr.reshape(-1)
    ok = cols >= 0
    a, b = labels[rows[ok]], labels[cols[ok]]
    keep = (a >= 0) & (b >= 0) & (a != b)
    a, b, r = a[keep], b[keep], rows[ok][keep]
    keep = allowed[r, b]
    pairs = np.unique(a[keep] * p + b[keep]) if p else np.empty(0, np.int64)
    return np.bincount(pairs // max(p, 1), minlength=p)


def _region_ratio(loads: np.ndarray, group: np.ndarray) -> float:
    """Largest max/min load ratio within any group of posts that can trade cells."""
    worst = 1.0
    for g in np.unique(group[group >= 0]):
        ld = loads[group == g]
        if ld.size >= 2:
            worst = max(worst, float(ld.max() / ld.min()) if ld.min() > 0 else np.inf)
    return worst


def balance_zones(
    nbr: np.ndarray,
    labels: np.ndarray,
    weight: np.ndarray,
    cost: np.ndarray,
    allowed: np.ndarray,
    movable: np.ndarray,
    colours: np.ndarray,
    group: np.ndarray,
    *,
    stop_ratio: float = 1.02,
    max_iter: int = 20000,
    step_s: float = 1.0,
    compact: float = 1.0,
    min_contact: int = 2,
) -> tuple[np.ndarray, BalanceStats]:
    """Even out zone workloads by moving boundary cells, keeping every zone connected.

    A move takes a ``movable`` cell from a heavier zone A to an adjacent lighter zone B it
    is allowed in, only if the cell passes the ring test (A stays connected) and the move
    shrinks the A-B difference. Each iteration moves cells of one colour class only, so the
    moves of one iteration never touch each other's neighbourhoods. The amount moved from A
    to B per iteration follows first-order diffusion, (L_A - L_B) / (1 + max(deg A, deg B)),
    cells nearest to B's post first (keeps zones compact). ``group`` (p,): posts that can
    trade cells (same boundary region); stops when every group's max/min ratio is at most
    ``stop_ratio``, when a full colour cycle moves nothing, or after ``max_iter`` iterations.
    """
    labels = labels.copy()
    n, p = cost.shape
    if p < 2 or n == 0:
        return labels, BalanceStats(0, 0, "fewer than two posts")
    fcost = _finite(cost)
    n_col = int(colours.max()) + 1
    by_colour = [np.flatnonzero((colours == k) & movable) for k in range(n_col)]
    loads = np.bincount(labels[labels >= 0], weights=weight[labels >= 0], minlength=p)
    moves, idle, it, stopped = 0, 0, 0, "max_iter"
    deg = _zone_degree(nbr, labels, allowed, p)
    while it < max_iter:
        if _region_ratio(loads, group) <= stop_ratio:
            stopped = "balanced"
            break
        if idle >= n_col:
            stopped = "no improving move"
            break
        k = it % n_col
        if k == 0:
            deg = _zone_degree(nbr, labels, allowed, p)
        it += 1
        idx = by_colour[k]
        idx = idx[labels[idx] >= 0]
        a = labels[idx]
        nb = nbr[idx]
        size = np.bincount(labels[movable & (labels >= 0)], minlength=p)
        nl = np.where(nb >= 0, labels[np.maximum(nb, 0)], -1)
        ok_ring = single_run(nl == a[:, None])
        safe = np.maximum(nl, 0)
        rows = idx[:, None]
        w = weight[idx]
        diff = loads[a][:, None] - loads[safe]
        ok = (nl >= 0) & (nl != a[:, None]) & allowed[rows, safe] & (diff > w[:, None])
        ok &= ok_ring[:, None]
        # A cell touching B on one side only would grow a one-cell tentacle: skip it.
        n_a = (nl == a[:, None]).sum(axis=1)
        n_b = (nl[:, :, None] == nl[:, None, :]).sum(axis=2)
        # ... unless B is down to a few movable cells (e.g. a post whose exclave holds most
        # of its load): then it may regrow from any side.
        ok &= (n_b >= min_contact) | (size[safe] < 7)
        has = ok.any(axis=1)
        if not has.any():
            idle += 1
            continue
        # Prefer cells nearly as close to B's post, and cells that shorten the A-B border
        # (more neighbours in B than in A), in units of one cell-to-cell step.
        dt = (fcost[rows, safe] - fcost[idx, a][:, None]) / step_s
        score = np.where(ok, dt + compact * (n_a[:, None] - n_b), np.inf)
        j = np.argmin(score, axis=1)
        sel = np.flatnonzero(has)
        c, src, dst = idx[sel], a[sel], nl[sel, j[sel]]
        sc, wc = score[sel, j[sel]], w[sel]
        pair = src * p + dst
        order = np.lexsort((sc, pair))
        c, src, dst, wc, pair = c[order], src[order], dst[order], wc[order], pair[order]
        start = np.r_[True, pair[1:] != pair[:-1]]
        first_pos = np.maximum.accumulate(np.where(start, np.arange(pair.size), 0))
        csum = np.cumsum(wc)
        before = np.r_[0.0, csum][first_pos]
        within = csum - before
        gap = loads[src] - loads[dst]
        flow = gap / (1.0 + np.maximum(deg[src], deg[dst]))
        take = within <= flow
        take |= start & (wc < gap / 2.0)
        if not take.any():
            idle += 1
            continue
        labels[c[take]] = dst[take]
        loads = np.bincount(labels[labels >= 0], weights=weight[labels >= 0], minlength=p)
        moves += int(take.sum())
        idle = 0
    return labels, BalanceStats(moves, it, stopped)


def smooth_zones(
    nbr: np.ndarray,
    labels: np.ndarray,
    weight: np.ndarray,
    allowed: np.ndarray,
    movable: np.ndarray,
    colours: np.ndarray,
    group: np.ndarray,
    *,
    tolerance: float = 0.03,
    max_iter: int = 400,
) -> tuple[np.ndarray, int]:
    """Shorten zone borders without undoing the balance; returns (labels, moves).

    A movable cell with more neighbours in an adjacent zone B than in its own zone A moves
    to B (each move strictly lowers the number of cell sides on zone borders, so this ends)
    if it passes the ring test and B's load stays within ``tolerance`` x the group's mean
    load of A's. Same colour-class scheme as :func:`balance_zones`.
    """
    labels = labels.copy()
    n, p = allowed.shape
    if p < 2 or n == 0:
        return labels, 0
    n_col = int(colours.max()) + 1
    by_colour = [np.flatnonzero((colours == k) & movable) for k in range(n_col)]
    loads = np.bincount(labels[labels >= 0], weights=weight[labels >= 0], minlength=p)
    mean = np.zeros(p)
    for g in np.unique(group[group >= 0]):
        mean[group == g] = loads[group == g].mean()
    slack = tolerance * mean
    moves, idle = 0, 0
    for it in range(max_iter):
        if idle >= n_col:
            break
        idx = by_colour[it % n_col]
        idx = idx[labels[idx] >= 0]
        a = labels[idx]
        nl = np.where(nbr[idx] >= 0, labels[np.maximum(nbr[idx], 0)], -1)
        safe = np.maximum(nl, 0)
        n_a = (nl == a[:, None]).sum(axis=1)
        n_b = (nl[:, :, None] == nl[:, None, :]).sum(axis=2)
        ok = (nl >= 0) & (nl != a[:, None]) & allowed[idx[:, None], safe] & (n_b > n_a[:, None])
        ok &= single_run(nl == a[:, None])[:, None]
        has = np.flatnonzero(ok.any(axis=1))
        if has.size == 0:
            idle += 1
            continue
        j = np.argmax(np.where(ok, n_b, -1), axis=1)[has]
        c, src, dst = idx[has], a[has], nl[has, j]
        gain = n_b[has, j] - n_a[has]
        pair = src * p + dst
        order = np.lexsort((-gain, pair))
        c, src, dst, pair = c[order], src[order], dst[order], pair[order]
        start = np.r_[True, pair[1:] != pair[:-1]]
        first_pos = np.maximum.accumulate(np.where(start, np.arange(pair.size), 0))
        csum = np.cumsum(weight[c])
        within = csum - np.r_[0.0, csum][first_pos]
        take = loads[dst] + within <= loads[src] - within + slack[src]
        if not take.any():
            idle += 1
            continue
        labels[c[take]] = dst[take]
        loads = np.bincount(labels[labels >= 0], weights=weight[labels >= 0], minlength=p)
        moves += int(take.sum())
        idle = 0
    return labels, moves
