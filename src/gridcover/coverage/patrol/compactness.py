"""The compactness floor of patrol zones: zones of close posts are split by straight cuts.

Travel-time zones degenerate when two posts are close: an additively weighted Voronoi diagram
of two nearly co-located sites is a disc around one and a ring around it for the other (two
Chicago stations 70 m apart gave a ring of Polsby-Popper 0.05). The floor is enforced here:

* **Floor.** ``min_compactness`` (default :data:`DEFAULT_MIN_COMPACTNESS`, 0.2): every zone's
  Polsby-Popper (4πA/P², hexagon-side perimeter as in ``figures.zone_table``) should reach it.
* **Close posts.** Two posts of one group (one connected piece of one boundary region, both
  free to trade cells) are *close* when their distance is below ``causes.CLOSE_FRACTION`` (0.5)
  times the radius of a disc of the area their two zones cover together,
  ``d < 0.5 * sqrt((A_a + A_b) / π)``: for two zones of 10 km² each, closer than 1.26 km.
* **Split.** A zone below the floor is merged with the zones of the close posts of its group
  (up to 3, nearest first) and the union re-split by straight lines: two posts by the line
  through the midpoint of their cells that divides the union's workload most evenly, more
  posts by peeling one post off at a time the same way (every order tried; cells by centroid
  side; the posts' cells and exclaves stay where they are). Each part holds its post's cell,
  so no zone can enclose another. The split is kept only if the lowest Polsby-Popper of the
  group rises and each zone keeps 97% of its new workload connected to its post's cell (a
  third close post's zone can cut a part off); the caller repairs contiguity after.

Zones below the floor for another reason (a zone alone in a long boundary region, or whose
nearest post is not close) are left as they are and reported with the measured reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridcover.coverage.cell_graph import label_components
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
_MAX_TEAM = 4  # a zone is re-split with at most its 3 nearest close posts (4! cut orders)
_CONNECTED_SHARE = 0.97  # a half must stay this connected to its post to be kept


@dataclass(frozen=True)
class CloseSplit:
    """One re-split of the zones of close posts (``posts``: post indices, the zone that was
    below the floor first).

    ``distance_m``: straight-line distance from the first post to the farthest of the
    others (metres, metric CRS); ``limit_m``: the smallest of the distances under which they
    count as close; ``before``/``after``: Polsby-Popper of each post's zone before and after
    the split (the split is kept when the lowest value rises).
    """

    posts: tuple[int, ...]
    distance_m: float
    limit_m: float
    before: tuple[float, ...]
    after: tuple[float, ...]


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


def _holds_together(
    nbr: np.ndarray,
    labels: np.ndarray,
    union: np.ndarray,
    workload: np.ndarray,
    zones: tuple[tuple[int, int], ...],
    share: float = _CONNECTED_SHARE,
) -> bool:
    """Whether each (zone, anchor) keeps at least ``share`` of the workload the cut gave it
    among ``union`` cells in the H3-connected piece holding its anchor (a cut whose half is
    cut off from its post, e.g. by a third close post's zone, would be regrown elsewhere)."""
    comp = label_components(nbr, labels)
    for z, anchor in zones:
        cells = union[labels[union] == z]
        got = workload[cells].sum()
        kept = workload[cells[comp[cells] == comp[anchor]]].sum()
        if got > 0 and kept < share * got:
            return False
    return True


def _peel_cuts(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    targets: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
) -> list[np.ndarray]:
    """Ways to split cells among k posts by successive straight cuts: one post is peeled off
    by the straight cut (through the midpoint of its cell and the others' mean cell) whose
    workload on its side is nearest to its target, the rest is split the same way; two posts
    by :func:`_straight_cut`. Returns one array of post positions (0..k-1) per cell for every
    peeling order (k! for k posts; callers keep k small). ``ax``/``ay``: the posts' cells."""
    k = targets.size
    if k == 1:
        return [np.zeros(x.size, dtype=np.int64)]
    out = []
    for a in range(k if k > 2 else 1):
        rest = np.flatnonzero(np.arange(k) != a)
        cx, cy = (ax[a] + ax[rest].mean()) / 2.0, (ay[a] + ay[rest].mean()) / 2.0
        offset = np.array([ax[a] - cx, ay[a] - cy])
        mine = _straight_cut(x, y, w, float(targets[a]), (cx, cy), offset)
        other = np.flatnonzero(~mine)
        for sub in _peel_cuts(x[other], y[other], w[other], targets[rest], ax[rest], ay[rest]):
            pos = np.full(x.size, a, dtype=np.int64)
            pos[other] = rest[sub]
            out.append(pos)
    return out


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
    the piece each may trade cells in, -1 none; ``post_x``/``post_y`` in metres). A zone
    below the floor is re-split with the posts of its group close to it (up to 3, nearest
    first) by successive straight cuts (:func:`_peel_cuts`), the cut order that raises the
    lowest Polsby-Popper most and keeps every zone whole winning. Returns the new labels
    (contiguity not yet repaired) and the splits kept, weakest zones first.
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
        cand = np.flatnonzero((group == group[i]) & ~done)
        cand = cand[cand != i]
        d = np.hypot(post_x[cand] - post_x[i], post_y[cand] - post_y[i])
        limit = np.array([close_limit_m(area[i], area[j]) for j in cand])
        near = d < limit
        if not near.any():
            continue
        sel = np.flatnonzero(near)[np.argsort(d[near])][: _MAX_TEAM - 1]
        team = np.r_[i, cand[sel]]
        in_team = np.isin(labels, team)
        union = np.flatnonzero(in_team & movable)
        if union.size == 0:
            continue
        fixed_load = np.array([workload[(labels == t) & ~movable].sum() for t in team])
        share = workload[in_team].sum() / team.size
        ax, ay = x[anchors[team]], y[anchors[team]]
        best, best_pp = None, pp[team].min()
        for pos in _peel_cuts(x[union], y[union], workload[union], share - fixed_load, ax, ay):
            trial = labels.copy()
            trial[union] = team[pos]
            pp2, _ = zone_compactness(nbr, trial, area_m2, p)
            whole = _holds_together(
                nbr, trial, union, workload, tuple((int(t), int(anchors[t])) for t in team)
            )
            if pp2[team].min() > best_pp and whole:
                best, best_pp = trial, pp2[team].min()
        if best is not None:
            pp2, _ = zone_compactness(nbr, best, area_m2, p)
            splits.append(
                CloseSplit(
                    tuple(int(t) for t in team),
                    float(d[sel].max()),
                    float(limit[sel].min()),
                    tuple(float(v) for v in pp[team]),
                    tuple(float(v) for v in pp2[team]),
                )
            )
            labels = best
            done[team] = True
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
    """One sentence per re-split group of close posts and per zone still below the floor with
    a close post or alone in its region, one sentence for all zones below it without a close
    post; each with the measured reason (p,: ``pp`` final Polsby-Popper, ``nearest``,
    ``nearest_m``, ``close_m`` as in ``causes.ZoneCauses``, ``region_pp`` Polsby-Popper of
    the boundary region the post's zone must stay in, ``where`` its words)."""
    out = []
    for s in splits:
        who = [repr(names[t]) for t in s.posts]
        group = " and ".join(who) if len(who) == 2 else ", ".join(who[:-1]) + " and " + who[-1]
        how = (
            "a straight line between them instead of one zone ringing the other"
            if len(who) == 2
            else "successive straight lines between them instead of zones ringing each other"
        )
        apart = "apart" if len(who) == 2 else "from the first at most"
        before = ", ".join(f"{v:.2f}" for v in s.before)
        after = ", ".join(f"{pp[t]:.2f}" for t in s.posts)
        out.append(
            f"Close posts {group} are {s.distance_m:,.0f} m {apart} (closer than "
            f"{s.limit_m:,.0f} m, half the radius of a disc of their zones' area): they split "
            f"their area by {how} (Polsby-Popper {before} before, {after} after; floor "
            f"{min_compactness:.2f})."
        )
    if min_compactness <= 0:
        return tuple(out)
    split_posts = {t for s in splits for t in s.posts}
    far: list[str] = []
    for i in np.flatnonzero(active & (pp < min_compactness)):
        j = int(nearest[i])
        if j >= 0 and i not in split_posts and not nearest_m[i] < close_m[i]:
            far.append(
                f"{names[i]!r} {pp[i]:.2f} (nearest post {names[j]!r} {nearest_m[i]:,.0f} m "
                f"away, close under {close_m[i]:,.0f} m; {where[i]} scores {region_pp[i]:.2f})"
            )
            continue
        head = (
            f"Compactness: zone {names[i]!r} has Polsby-Popper {pp[i]:.2f}, below the "
            f"{min_compactness:.2f} floor: "
        )
        if i in split_posts:
            why = (
                "its zone was re-split with its close post(s) (above); no straight cut that "
                "keeps every zone of the group whole does better."
            )
        elif j < 0:
            why = f"it is alone in {where[i]}, which itself scores {region_pp[i]:.2f}."
        else:
            why = (
                f"post {names[j]!r} is {nearest_m[i]:,.0f} m away, but no cut between their "
                "zones kept each whole and raised the lowest value."
            )
        out.append(head + why)
    if far:
        out.append(
            f"Compactness: {len(far)} zone(s) below the {min_compactness:.2f} floor have no "
            "close post; they follow travel times and the shape of their area: "
            + "; ".join(far)
            + "."
        )
    return tuple(out)
