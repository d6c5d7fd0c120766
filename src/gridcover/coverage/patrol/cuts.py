"""Sector (pie) cuts of a team of close posts' area, and their judgement after a local repair.

Posts a few tens of metres apart sit near one point of the area they share: straight cuts
peeled one post at a time can leave a post's cell on the wrong side of a later cut, so its
zone is cut off and regrown as a sliver. Sectors of a disc around the posts score 0.71-0.79
Polsby-Popper (``2πα/(2+α)²`` for a sector of angle α from 60° to 180°), so the zones of
close posts are also tried as **sectors around the posts' centre**: the cells are ordered by
bearing from the centre, rotated by every candidate start angle, and cut where the running
workload reaches each post's target, the posts taking the sectors in their own angular order
(every cyclic shift tried). Two entry points:

* :func:`sector_cuts`: the candidate cuts (one post position per cell for each);
* :func:`reanchor`: the cells the posts start from for one candidate (a post whose own
  cell another post holds starts from the cell of its part next to it), :func:`apart` how
  many such posts' zones miss their own cell;
* :func:`judge_team`: one candidate, repaired locally (pieces cut off from their post's cell
  regrown into the adjacent zone of the team they share most sides with), with the team's
  lowest Polsby-Popper and max/min workload, exactly as the final plan will report them
  (the team's zones are contiguous after it, so the plan's last contiguity repair leaves
  them as they are).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridcover.coverage.cell_graph import label_components

__all__ = ["TeamCut", "apart", "judge_team", "local_graph", "reanchor", "sector_cuts"]

ROTATIONS = 120
"""Candidate start angles of the sectors (3° steps over 360°)."""


def sector_cuts(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    targets: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    centre: tuple[float, float],
    rotations: int = ROTATIONS,
) -> list[np.ndarray]:
    """Ways to split cells (centroids ``x``/``y`` in metres, workload ``w``) into sectors
    around ``centre`` holding workloads near ``targets`` (k,), one per post (cells ``ax``/
    ``ay``). Returns one array of post positions (0..k-1) per cell for every start angle
    and cyclic shift of the posts' angular order (``rotations`` x k arrays); a cell belongs
    to the sector where the running workload at its middle falls."""
    k = targets.size
    if k == 1:
        return [np.zeros(x.size, dtype=np.int64)]
    ang = np.mod(np.arctan2(y - centre[1], x - centre[0]), 2 * np.pi)
    order = np.argsort(np.mod(np.arctan2(ay - centre[1], ax - centre[0]), 2 * np.pi))
    out = []
    for theta in np.linspace(0.0, 2 * np.pi, rotations, endpoint=False):
        rel = np.mod(ang - theta, 2 * np.pi)
        srt = np.argsort(rel, kind="stable")
        mid = np.cumsum(w[srt]) - w[srt] / 2.0
        for s in range(k):
            seq = order[(np.arange(k) + s) % k]
            edges = np.cumsum(targets[seq])[:-1]
            sector = np.searchsorted(edges, mid, side="right")
            pos = np.empty(x.size, dtype=np.int64)
            pos[srt] = seq[sector]
            out.append(pos)
    return out


def local_graph(nbr: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Neighbour table of ``cells`` (positions into ``nbr``) renumbered 0..m-1; a neighbour
    outside ``cells`` becomes -1 (an open side, as the area's edge is)."""
    where = np.full(nbr.shape[0] + 1, -1, dtype=np.int64)
    where[cells] = np.arange(cells.size)
    return where[np.where(nbr[cells] >= 0, nbr[cells], nbr.shape[0])]


@dataclass(frozen=True, eq=False)
class TeamCut:
    """A judged cut of a team's cells: ``labels`` team position (0..k-1) per local cell,
    ``pp`` Polsby-Popper per team zone (hexagon-side perimeter, as the plan reports it),
    ``loads`` workload per team zone, ``ratio`` max/min of ``loads``."""

    labels: np.ndarray
    pp: np.ndarray
    loads: np.ndarray
    ratio: float


def judge_team(
    nbr_loc: np.ndarray,
    labels: np.ndarray,
    fixed: np.ndarray,
    anchors: np.ndarray,
    area_m2: np.ndarray,
    workload: np.ndarray,
) -> TeamCut:
    """Repair one cut locally and measure it. Arrays over the team's m cells (``nbr_loc``
    from :func:`local_graph`, ``labels`` team position per cell, ``fixed`` cells that keep
    their label: the posts' cells and exclaves; ``area_m2``, ``workload``) and its k posts
    (``anchors``: local cell of each). Cells in a piece of their zone without its post's
    cell are released and regrown, layer by layer, into the adjacent team zone they share
    most sides with."""
    k = anchors.size
    lab = labels.copy()
    lab[anchors] = np.arange(k)
    comp = label_components(nbr_loc, lab)
    orphan = (comp != comp[anchors][lab]) & ~fixed
    lab[orphan] = -1
    free = np.flatnonzero(lab < 0)
    while free.size:
        nl = np.where(nbr_loc[free] >= 0, lab[np.maximum(nbr_loc[free], 0)], -1)
        votes = np.stack([(nl == j).sum(axis=1) for j in range(k)], axis=1)
        grow = votes.max(axis=1) > 0
        if not grow.any():  # cannot happen for a team's connected cells; keep them safe
            lab[free] = labels[free]
            break
        lab[free[grow]] = np.argmax(votes[grow], axis=1)
        free = free[~grow]
    nl = np.where(nbr_loc >= 0, lab[np.maximum(nbr_loc, 0)], -1)
    open_sides = (nl != lab[:, None]).sum(axis=1)
    side = np.sqrt(2 * area_m2 / (3 * np.sqrt(3)))
    per = np.bincount(lab, weights=open_sides * side, minlength=k)
    area = np.bincount(lab, weights=area_m2, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = np.where(per > 0, 4 * np.pi * area / per**2, 0.0)
    loads = np.bincount(lab, weights=workload, minlength=k)
    ratio = float(loads.max() / loads.min()) if loads.min() > 0 else float("inf")
    return TeamCut(lab, pp, loads, ratio)


def reanchor(
    trial: np.ndarray,
    anc: np.ndarray,
    loose: np.ndarray,
    own: np.ndarray,
    mov: np.ndarray,
    nbr_loc: np.ndarray,
    dist: np.ndarray,
) -> np.ndarray | None:
    """The posts' cells (local) for one candidate cut ``trial``: a post's cell stays, and
    its part must touch it; a ``loose`` post (its own cell ``own`` taken by another post)
    takes the movable cell of its part next to its own cell nearest to it (``dist``: (m, k)
    metres from each cell to each post). When its part holds no such cell, a movable cell
    next to its own cell that touches its part is moved into it first (``trial`` is changed
    in place); failing that (its own cell has too few free neighbours, or is not the
    team's), the nearest cell of its part. None: a part is empty or does not touch its
    post's cell."""
    out = anc.copy()
    for q in np.flatnonzero(loose & (own >= 0)):
        ring = nbr_loc[own[q]]
        ring = ring[ring >= 0]
        ring = ring[mov[ring]]
        if (trial[ring] == q).any():
            continue
        nb = nbr_loc[ring]
        touch = ((trial[np.maximum(nb, 0)] == q) & (nb >= 0)).any(axis=1)
        if touch.any():
            c = ring[touch][np.argmin(dist[ring[touch], q])]
            trial[c] = q
    for j in range(anc.size):
        if not loose[j]:
            t = nbr_loc[anc[j]]
            if not (trial[t[t >= 0]] == j).any():
                return None
            continue
        cand = np.flatnonzero((trial == j) & mov)
        if own[j] >= 0:
            adj = cand[np.isin(cand, nbr_loc[own[j]])]
            cand = adj if adj.size else cand
        if cand.size == 0:
            return None
        out[j] = cand[np.argmin(dist[cand, j])]
    return out


def apart(lab: np.ndarray, loose: np.ndarray, own: np.ndarray, nbr_loc: np.ndarray) -> int:
    """How many ``loose`` posts' zones (team position per local cell ``lab``) do not touch
    the post's own cell ``own`` (local; -1: not among the team's cells, not counted)."""
    out = 0
    for j in np.flatnonzero(loose & (own >= 0)):
        t = nbr_loc[own[j]]
        out += not (lab[t[t >= 0]] == j).any()
    return out
