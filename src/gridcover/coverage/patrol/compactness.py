"""The compactness floor of patrol zones: zones of close posts are split by a straight cut.

Travel-time zones degenerate when two posts are close: an additively weighted Voronoi diagram
of two nearly co-located sites is a disc around one and a ring around it for the other (two
Chicago stations 70 m apart gave a ring of Polsby-Popper 0.05). The floor is enforced here:

* **Floor.** ``min_compactness`` (default :data:`DEFAULT_MIN_COMPACTNESS`, 0.2): every zone's
  Polsby-Popper (4πA/P², hexagon-side perimeter as in ``figures.zone_table``) should reach it.
* **Close posts.** Two posts of one group (one connected piece of one boundary region, both
  free to trade cells) are *close* when their distance is below ``causes.CLOSE_FRACTION`` (0.5)
  times the radius of a disc of the area their two zones cover together,
  ``d < 0.5 * sqrt((A_a + A_b) / π)``: for two zones of 10 km² each, closer than 1.26 km.
* **Split.** A zone below the floor with a close neighbouring post in its group is merged with
  that post's zone and the union re-split by the straight line through the midpoint of the
  two posts' cells that divides the union's workload most evenly (cells by centroid side;
  the posts' cells and exclaves stay where they are). Of two halves of one area each holds
  its post's cell, so neither can enclose the other. The split is kept only if the lower of
  the two zones' Polsby-Popper values rises; the caller repairs contiguity and balances after.

Zones below the floor for another reason (a zone alone in a long boundary region, or whose
nearest post is not close) are left as they are and reported with the measured reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridcover.coverage.patrol.causes import close_limit_m
from gridcover.coverage.patrol.figures import polsby_popper

__all__ = [
    "DEFAULT_MIN_COMPACTNESS",
    "CloseSplit",
    "compactness_notes",
    "split_close_posts",
    "zone_compactness",
]

DEFAULT_MIN_COMPACTNESS = 0.2
"""Polsby-Popper floor of every zone (1 = disc; a single hexagon scores 0.91)."""

_DIRECTIONS = 360  # candidate cut directions (half-degree steps over 180°)


@dataclass(frozen=True)
class CloseSplit:
    """One re-split of the zones of two close posts ``a`` and ``b`` (post indices).

    ``distance_m``: straight-line distance of the posts (metres, metric CRS); ``limit_m``:
    the distance under which they count as close; ``before``/``after``: Polsby-Popper of
    the two zones (a, b) before and after the split (the split is kept: after > before).
    """

    a: int
    b: int
    distance_m: float
    limit_m: float
    before: tuple[float, float]
    after: tuple[float, float]


def zone_compactness(
    nbr: np.ndarray, labels: np.ndarray, area_m2: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray]:
    """Polsby-Popper and area (m²) per zone label 0..p-1 (NaN / 0 for empty zones).

    A zone's perimeter counts every hexagon side facing another label or the area's edge,
    each side being that of a regular hexagon of the cell's area (as ``zone_table``).
    """
    ok = labels >= 0
    nl = np.where(nbr >= 0, labels[np.maximum(nbr, 0)], -1)
    open_sides = (nl != labels[:, None]).sum(axis=1)
    side = np.sqrt(2 * area_m2 / (3 * np.sqrt(3)))
    per = np.bincount(labels[ok], weights=(open_sides * side)[ok], minlength=p)
    area = np.bincount(labels[ok], weights=area_m2[ok], minlength=p)
    return polsby_popper(area, per), area


def _touching(nbr: np.ndarray, labels: np.ndarray, i: int) -> np.ndarray:
    """Labels of the zones sharing a border with zone ``i``."""
    nl = nbr[labels == i]
    nl = labels[nl[nl >= 0]]
    return np.unique(nl[(nl >= 0) & (nl != i)])


def _straight_cut(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    target: float,
    centre: tuple[float, float],
    a_side: np.ndarray,
) -> np.ndarray:
    """Cells (by centroid ``x``/``y``) on post a's side of the straight cut through
    ``centre`` whose workload on that side (``w`` per cell) is nearest to ``target``;
    ``a_side`` (2,): the offset of post a's cell from the centre.

    The line with normal angle φ puts on its positive side the cells whose bearing from the
    centre lies within 90° of φ: with bearings sorted and summed once, each candidate's load
    is two binary searches (O((n + directions) log n), no n x directions matrix)."""
    phi = np.linspace(0.0, np.pi, _DIRECTIONS, endpoint=False)
    s_a = a_side[0] * np.cos(phi) + a_side[1] * np.sin(phi)  # post a's side of each line
    valid = np.abs(s_a) > 1e-9
    ang = np.arctan2(y - centre[1], x - centre[0])
    order = np.argsort(ang)
    a2 = np.r_[ang[order], ang[order] + 2 * np.pi]
    cum = np.r_[0.0, np.cumsum(np.r_[w[order], w[order]])]
    lo = np.mod(phi - np.pi / 2 + np.pi, 2 * np.pi) - np.pi  # in [-π, π)
    positive = cum[np.searchsorted(a2, lo + np.pi)] - cum[np.searchsorted(a2, lo, "right")]
    load = np.where(s_a > 0, positive, w.sum() - positive)
    err = np.where(valid, np.abs(load - target), np.inf)
    k = int(np.argmin(err))
    side = (x - centre[0]) * np.cos(phi[k]) + (y - centre[1]) * np.sin(phi[k])
    return np.asarray(side * np.sign(s_a[k]) > 0)


def split_close_posts(
    nbr: np.ndarray,
    labels: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    area_m2: np.ndarray,
    workload: np.ndarray,
    movable: np.ndarray,
    anchors: np.ndarray,
    group: np.ndarray,
    post_x: np.ndarray,
    post_y: np.ndarray,
    min_compactness: float = DEFAULT_MIN_COMPACTNESS,
) -> tuple[np.ndarray, tuple[CloseSplit, ...]]:
    """Re-split the zones of close posts whose zones fall below ``min_compactness``.

    Arrays over n cells (``labels`` post index or -1; ``movable``: cells a split may move;
    ``x``/``y`` centroids in metres) and p posts (``anchors`` cell of each post, ``group``
    the piece each may trade cells in, -1 none; ``post_x``/``post_y`` in metres). Returns the
    new labels (contiguity not yet repaired) and the splits kept, weakest zones first.
    """
    labels = labels.copy()
    p = anchors.size
    if p < 2 or min_compactness <= 0:
        return labels, ()
    pp, area = zone_compactness(nbr, labels, area_m2, p)
    done = np.zeros(p, dtype=bool)
    splits: list[CloseSplit] = []
    for i in np.argsort(np.where(np.isfinite(pp), pp, np.inf)):
        if done[i] or group[i] < 0 or not pp[i] < min_compactness:
            continue
        nb = _touching(nbr, labels, int(i))
        nb = nb[(group[nb] == group[i]) & ~done[nb]]
        if nb.size == 0:
            continue
        d = np.hypot(post_x[nb] - post_x[i], post_y[nb] - post_y[i])
        j = int(nb[np.argmin(d)])
        limit = close_limit_m(area[i], area[j])
        if not d.min() < limit:
            continue
        union = np.flatnonzero(((labels == i) | (labels == j)) & movable)
        if union.size == 0:
            continue
        fixed = ((labels == i) | (labels == j)) & ~movable
        load_i = workload[fixed & (labels == i)].sum()
        total = workload[(labels == i) | (labels == j)].sum()
        ai, aj = anchors[i], anchors[j]
        centre = ((x[ai] + x[aj]) / 2.0, (y[ai] + y[aj]) / 2.0)
        offset = np.array([x[ai] - centre[0], y[ai] - centre[1]])
        mine = _straight_cut(
            x[union], y[union], workload[union], total / 2.0 - load_i, centre, offset
        )
        trial = labels.copy()
        trial[union] = np.where(mine, i, j)
        pp2, _ = zone_compactness(nbr, trial, area_m2, p)
        if min(pp2[i], pp2[j]) > min(pp[i], pp[j]):
            splits.append(
                CloseSplit(int(i), j, float(d.min()), limit, (pp[i], pp[j]), (pp2[i], pp2[j]))
            )
            labels = trial
            done[[i, j]] = True
    return labels, tuple(splits)


def compactness_notes(
    pp: np.ndarray,
    names: list[str],
    splits: tuple[CloseSplit, ...],
    nearest: np.ndarray,
    nearest_m: np.ndarray,
    close_m: np.ndarray,
    region_pp: np.ndarray,
    where: list[str],
    active: np.ndarray,
    min_compactness: float,
) -> tuple[str, ...]:
    """One sentence per re-split pair and per zone still below the floor, with the measured
    reason (p,: ``pp`` final Polsby-Popper, ``nearest``/``nearest_m``/``close_m`` as in
    ``figures.ZoneCauses``, ``region_pp`` Polsby-Popper of the boundary region the post's
    zone must stay in, ``where`` its words)."""
    out = []
    for s in splits:
        out.append(
            f"Close posts {names[s.a]!r} and {names[s.b]!r} are {s.distance_m:,.0f} m apart "
            f"(closer than {s.limit_m:,.0f} m, half the radius of a disc of their two zones' "
            "area): they split their area by a straight line between them instead of one "
            f"zone ringing the other (Polsby-Popper {s.before[0]:.2f} and {s.before[1]:.2f} "
            f"before, {pp[s.a]:.2f} and {pp[s.b]:.2f} after; floor {min_compactness:.2f})."
        )
    if min_compactness <= 0:
        return tuple(out)
    for i in np.flatnonzero(active & (pp < min_compactness)):
        head = (
            f"Compactness: zone {names[i]!r} has Polsby-Popper {pp[i]:.2f}, below the "
            f"{min_compactness:.2f} floor: "
        )
        j = int(nearest[i])
        if j < 0:
            why = f"it is alone in {where[i]}, which itself scores {region_pp[i]:.2f}."
        elif nearest_m[i] < close_m[i]:
            why = (
                f"post {names[j]!r} is {nearest_m[i]:,.0f} m away, but no straight cut "
                "between them raised the lower of the two zones' values."
            )
        else:
            why = (
                f"its nearest post {names[j]!r} is {nearest_m[i]:,.0f} m away, not close "
                f"(under {close_m[i]:,.0f} m), so the zone follows travel times and the shape "
                f"of {where[i]} (which scores {region_pp[i]:.2f})."
            )
        out.append(head + why)
    return tuple(out)
