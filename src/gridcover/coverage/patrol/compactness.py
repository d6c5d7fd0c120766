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
* **Split.** A zone below the floor, lighter than ``target_ratio`` times the heaviest zone
  of its close posts, or apart from its post's own cell (another post holds it), is merged
  with the zones of the close posts of its group (up to 5, nearest first) and the union
  re-split. Candidates: straight lines (two posts: the line
  through the midpoint of their cells that divides the union's workload most evenly; three
  or four: peeling one post off at a time, every order tried) and sectors around the posts
  (``cuts.sector_cuts``: 120 start angles, every cyclic shift of the posts' angular
  order, around the mean of their cells and of their positions). A post anchored away from
  its own cell because another post holds it starts from the cell of its part next to its
  own cell (``cuts.reanchor``). Each candidate is repaired locally (pieces cut off from
  their post regrown into the adjacent zone of the team) and judged as delivered: the team's
  zones are then contiguous and the plan's last repair leaves them alone. Preference
  (``_key``): team workloads within 1.5x (max/min) and the floor reached with a 0.02 margin
  (the hexagon-side perimeter and the true outline differ by up to 0.01); then posts
  touching their own cell, even workloads (2% steps), the highest lowest Polsby-Popper.
  It is kept when it beats the zones as they are.
* **Out of reach.** When the close posts sit at the edge of the area they share and that
  area is itself far from compact (measured: ``CloseSplit.union_pp``), zones that each hold
  their post are wedges of it and no split reaches the floor; the report says so with that
  figure.

Zones below the floor for another reason (a zone alone in a long boundary region, or whose
nearest post is not close) are left as they are and reported with the measured reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridcover.coverage.patrol.causes import close_limit_m
from gridcover.coverage.patrol.cuts import (
    TeamCut,
    apart,
    judge_team,
    local_graph,
    reanchor,
    sector_cuts,
)
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
_MAX_TEAM = 6  # a zone is re-split with at most its 5 nearest close posts
_MAX_PEEL = 4  # straight peeling cuts are tried for teams of up to 4 posts (4! orders)
_MARGIN = 0.02  # a cut counts as reaching the floor when it clears it by this much
_EVEN = 1.5  # a cut whose team workloads differ by more (max/min) is a last resort


@dataclass(frozen=True)
class CloseSplit:
    """One re-split of the zones of close posts (``posts``: post indices, the zone that was
    below the floor first).

    ``distance_m``: straight-line distance from the first post to the farthest of the
    others (metres, metric CRS); ``limit_m``: the smallest of the distances under which they
    count as close; ``before``/``after``: Polsby-Popper of each post's zone before and after
    the split (after: as delivered, the local repair included); ``method``: "straight"
    (peeling straight cuts) or "sectors" (sectors around the posts); ``union_pp``:
    Polsby-Popper of the area the team's zones cover together (when it is low and the posts
    sit at its edge, zones that each hold their post are wedges of it).
    """

    posts: tuple[int, ...]
    distance_m: float
    limit_m: float
    before: tuple[float, ...]
    after: tuple[float, ...]
    method: str = "straight"
    union_pp: float = float("nan")


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


def _key(cut: TeamCut, floor: float, gap: int) -> tuple[float, ...]:
    """Order of preference of judged cuts, in tiers: workloads within :data:`_EVEN` of each
    other and the floor reached (with :data:`_MARGIN`), then within :data:`_EVEN` below the
    floor, then the rest. Within a tier: the fewest posts whose zone does not touch their
    own cell (``gap``), then the most even workloads (in steps of 2%) and the highest
    lowest Polsby-Popper (the floor tier), the highest lowest Polsby-Popper (the second),
    the most even workloads (the last)."""
    low = float(cut.pp.min())
    steps = -float(np.floor((cut.ratio - 1.0) / 0.02)) if np.isfinite(cut.ratio) else -np.inf
    if cut.ratio > _EVEN:
        return (0.0, -gap, steps, low)
    if low >= floor + _MARGIN:
        return (2.0, -gap, steps, low)
    return (1.0, -gap, low, -cut.ratio)


def _candidates(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    targets: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
) -> list[tuple[str, np.ndarray]]:
    """Straight peeling cuts (teams of up to 4) and sectors around the mean of the posts'
    cells and around the mean of the posts, as (method, post position per cell)."""
    out: list[tuple[str, np.ndarray]] = []
    if targets.size <= _MAX_PEEL:
        out += [("straight", pos) for pos in _peel_cuts(x, y, w, targets, ax, ay)]
    for cx, cy in ((ax.mean(), ay.mean()), (px.mean(), py.mean())):
        out += [
            ("sectors", pos)
            for pos in sector_cuts(x, y, w, targets, ax, ay, (float(cx), float(cy)))
        ]
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
    own_cell: np.ndarray | None = None,
    target_ratio: float = np.inf,
) -> tuple[np.ndarray, np.ndarray, tuple[CloseSplit, ...]]:
    """Re-split the zones of close posts when one falls below ``min_compactness``, is
    lighter than ``target_ratio`` times less than the heaviest of its close posts, or does
    not touch its post's own cell (held by another post).

    Arrays over n cells (``labels`` post index or -1; ``movable``: cells a split may move;
    ``x``/``y`` centroids in metres) and p posts (``anchors`` cell of each post, ``group``
    the piece each may trade cells in, -1 none; ``post_x``/``post_y`` in metres;
    ``own_cell`` the cell holding each post, -1 none). Such a zone is re-split with the
    posts of its group close to it (up to :data:`_MAX_TEAM` - 1, nearest first): straight
    peeling cuts and sectors around the posts are each repaired locally and judged
    (``cuts.judge_team``), the best by :func:`_key` replacing the zones when it beats
    them. A post anchored away from its own cell because another post holds it is
    re-anchored to the cell of its part next to its own cell (:func:`cuts.reanchor`). The
    team's zones come out contiguous, each holding its post's cell (exclaves stay).
    Returns the new labels, the posts' cells and the splits kept, weakest zones first.
    """
    labels, anchors = labels.copy(), anchors.copy()
    p = anchors.size
    if p < 2 or min_compactness <= 0:
        return labels, anchors, ()
    own_cell = anchors if own_cell is None else own_cell
    pp, area = zone_compactness(nbr, labels, area_m2, p)
    ok = labels >= 0
    load = np.bincount(labels[ok], weights=workload[ok], minlength=p)
    done = np.zeros(p, dtype=bool)
    splits: list[CloseSplit] = []
    for i in np.argsort(np.where(np.isfinite(pp), pp, np.inf)):
        if done[i] or group[i] < 0:
            continue
        cand = np.flatnonzero((group == group[i]) & ~done)
        cand = cand[cand != i]
        d = np.hypot(post_x[cand] - post_x[i], post_y[cand] - post_y[i])
        limit = np.array([close_limit_m(area[i], area[j]) for j in cand])
        near = d < limit
        light = near.any() and load[i] * target_ratio < load[cand[near]].max()
        o = own_cell[i]
        astray = o >= 0 and labels[o] != i and not (labels[nbr[o][nbr[o] >= 0]] == i).any()
        if not near.any() or not (pp[i] < min_compactness + _MARGIN or light or astray):
            continue
        sel = np.flatnonzero(near)[np.argsort(d[near])][: _MAX_TEAM - 1]
        team = np.r_[i, cand[sel]]
        cells = np.flatnonzero(np.isin(labels, team))
        # own cell held by a team post (a cell in another region: stays anchored in its own)
        loose = np.isin(own_cell[team], cells) & (own_cell[team] != anchors[team])
        mov = movable[cells] | np.isin(cells, anchors[team][loose])
        if not mov.any():
            continue
        nbr_loc = local_graph(nbr, cells)
        rank = np.full(p, -1, dtype=np.int64)
        rank[team] = np.arange(team.size)
        now = rank[labels[cells]]
        anc = np.searchsorted(cells, anchors[team])
        own = np.full(team.size, -1, dtype=np.int64)
        inside = np.isin(own_cell[team], cells)
        own[inside] = np.searchsorted(cells, own_cell[team][inside])
        w_loc, a_loc, x_loc, y_loc = workload[cells], area_m2[cells], x[cells], y[cells]
        dist = np.hypot(x_loc[:, None] - post_x[team], y_loc[:, None] - post_y[team])
        fixed_load = np.bincount(now[~mov], weights=w_loc[~mov], minlength=team.size)
        targets = np.maximum(w_loc.sum() / team.size - fixed_load, 0.0)
        best = judge_team(nbr_loc, now, ~movable[cells], anc, a_loc, w_loc)
        before, best_anc = best.pp.copy(), anc
        gap = apart(now, loose, own, nbr_loc)
        start, method = _key(best, min_compactness, gap), ""
        for how, pos in _candidates(
            x_loc[mov], y_loc[mov], w_loc[mov], targets, x[anchors[team]], y[anchors[team]],
            post_x[team], post_y[team],
        ):  # fmt: skip
            trial = now.copy()
            trial[mov] = pos
            a_try = reanchor(trial, anc, loose, own, mov, nbr_loc, dist)
            if a_try is None:
                continue
            cut = judge_team(nbr_loc, trial, ~mov, a_try, a_loc, w_loc)
            g = apart(cut.labels, loose, own, nbr_loc)
            if _key(cut, min_compactness, g) > _key(best, min_compactness, gap):
                best, method, best_anc, gap = cut, how, a_try, g
        if method and _key(best, min_compactness, gap) > start:
            labels[cells] = team[best.labels]
            anchors[team] = cells[best_anc]
            splits.append(
                CloseSplit(
                    tuple(int(t) for t in team),
                    float(d[sel].max()),
                    float(limit[sel].min()),
                    tuple(float(v) for v in before),
                    tuple(float(v) for v in best.pp),
                    method,
                    float(
                        judge_team(nbr_loc, np.zeros_like(now), ~mov, anc[:1], a_loc, w_loc).pp[0]
                    ),
                )
            )
            done[team] = True
    return labels, anchors, tuple(splits)


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
            "sectors around them instead of zones ringing each other"
            if s.method == "sectors"
            else "a straight line between them instead of one zone ringing the other"
            if len(who) == 2
            else "successive straight lines between them instead of zones ringing each other"
        )
        span = "apart" if len(who) == 2 else "from the first at most"
        before = ", ".join(f"{v:.2f}" for v in s.before)
        after = ", ".join(f"{pp[t]:.2f}" for t in s.posts)
        out.append(
            f"Close posts {group} are {s.distance_m:,.0f} m {span} (closer than "
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
            s = next(s for s in splits if i in s.posts)
            why = (
                f"its zone was re-split with its close post(s) (above), but the area they "
                f"share scores {s.union_pp:.2f} and no split of it into contiguous zones that "
                "each hold their post (straight cuts, sectors around the posts) does better."
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
