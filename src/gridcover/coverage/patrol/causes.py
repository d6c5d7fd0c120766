"""Measured causes of a patrol zone's workload: close posts, shared pieces, reach, heavy cells.

``explain_balance`` (``figures``) names why the heaviest and the lightest zone are what they
are; every reason comes with the quantity measured here (a distance in metres, a workload),
never a guess. Two posts are *close* when their distance is below :data:`CLOSE_FRACTION`
times the radius of a disc of the area their two zones cover (``close_limit_m``); the
compactness floor (``compactness``) re-splits the zones of close posts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CLOSE_FRACTION",
    "ZoneCauses",
    "close_limit_m",
    "extra_causes",
    "shared_words",
    "zone_causes",
]

CLOSE_FRACTION = 0.5
"""Posts are close below this fraction of the radius of a disc of their two zones' area."""


def close_limit_m(area_a_m2: float, area_b_m2: float) -> float:
    """Distance (metres) under which two posts whose zones cover these areas (m²) are close:
    ``CLOSE_FRACTION * sqrt((A_a + A_b) / π)``, e.g. 1,262 m for two zones of 10 km²."""
    return CLOSE_FRACTION * float(np.sqrt((area_a_m2 + area_b_m2) / np.pi))


@dataclass(frozen=True, eq=False)
class ZoneCauses:
    """Measured quantities per post (p,) that explain a zone's workload.

    ``nearest``: the nearest other post sharing its piece (-1: none) and ``nearest_m`` its
    straight-line distance (metres, NaN: none); ``close_m``: the distance under which that
    pair counts as close (:func:`close_limit_m`); ``sharing``: posts in its piece;
    ``piece_load``: workload of that piece; ``reach_only``: workload of the zone's cells no
    other post with a zone can reach at all (travel time infinite from each; exclaves
    left out);
    ``top_cell``: workload of the zone's heaviest cell.
    """

    nearest: np.ndarray
    nearest_m: np.ndarray
    close_m: np.ndarray
    sharing: np.ndarray
    piece_load: np.ndarray
    reach_only: np.ndarray
    top_cell: np.ndarray


def shared_words(i: int, names: list[str], where: list[str], c: ZoneCauses, light: bool) -> str:
    """Why a zone sharing its piece with other posts is this size, from measured distances:
    a ``light`` zone (below the mean by more than the target allows) with a close post is
    small because of it; otherwise the nearest post and its distance are named."""
    j = int(c.nearest[i])
    d = float(c.nearest_m[i])
    others = int(c.sharing[i]) - 1
    split = f"{where[i]}: workload {c.piece_load[i]:.2f} for {others + 1} posts"
    if d < c.close_m[i] and light:
        return (
            f"the zone of post {names[i]!r} is small because post {names[j]!r} is {d:,.0f} m away "
            f"and they split the same area ({split}; posts closer than {c.close_m[i]:,.0f} m "
            "count as close)"
        )
    return (
        f"post {names[i]!r} shares {where[i]} with {others} other post(s), the nearest "
        f"{names[j]!r} {d:,.0f} m away ({split})"
    )


def extra_causes(i: int, loads: np.ndarray, c: ZoneCauses, slack: float) -> str:
    """Clauses naming measured limits of the heaviest zone: network reach, heavy cells."""
    out = ""
    if c.reach_only[i] > 0:
        out += (
            f"; limited by the network reach: a workload of {c.reach_only[i]:.2f} "
            f"({c.reach_only[i] / loads[i]:.0%} of the zone) lies in cells no other post can "
            "reach"
        )
    if c.top_cell[i] > slack > 0:
        out += (
            f"; the priority workload is concentrated: its heaviest cell alone weighs "
            f"{c.top_cell[i]:.2f}, more than the {slack:.2f} the target leaves between the "
            "heaviest and the lightest zone"
        )
    return out


def zone_causes(
    labels: np.ndarray,
    workload: np.ndarray,
    area_m2: np.ndarray,
    cost: np.ndarray,
    exclave: np.ndarray,
    post_piece: np.ndarray,
    post_x: np.ndarray,
    post_y: np.ndarray,
    loads: np.ndarray,
) -> ZoneCauses:
    """Measured quantities behind each zone's workload (:class:`ZoneCauses`).

    Arrays over n cells (``labels``, ``workload``, ``area_m2``, ``cost`` (n, p) seconds,
    ``exclave``) and p posts (``post_piece``: piece each post's zone stays in, -2 for posts
    without a zone or frozen; ``post_x``/``post_y`` metres; ``loads`` zone workloads).
    """
    p = post_piece.size
    same = (post_piece[:, None] == post_piece[None, :]) & (post_piece >= 0)[:, None]
    np.fill_diagonal(same, False)
    d = np.hypot(post_x[:, None] - post_x[None, :], post_y[:, None] - post_y[None, :])
    d = np.where(same, d, np.inf)
    nearest = np.where(same.any(axis=1), np.argmin(d, axis=1), -1) if p else np.empty(0, int)
    near_m = np.where(nearest >= 0, d.min(axis=1, initial=np.inf), np.nan)
    ok = labels >= 0
    area = np.bincount(labels[ok], weights=area_m2[ok], minlength=p)
    close = np.array(
        [close_limit_m(area[i], area[j]) if j >= 0 else 0.0 for i, j in enumerate(nearest)]
    )
    piece_load = np.array([loads[(post_piece == g)].sum() if g >= 0 else 0.0 for g in post_piece])
    c = np.flatnonzero(ok & (exclave < 0))
    reachable = np.isfinite(cost[c]) & (post_piece > -2)[None, :]
    reachable[np.arange(c.size), labels[c]] = False
    only = c[~reachable.any(axis=1)]
    top = np.zeros(p)
    if ok.any():
        np.maximum.at(top, labels[ok], workload[ok])
    return ZoneCauses(
        nearest=nearest,
        nearest_m=near_m,
        close_m=close,
        sharing=same.sum(axis=1) + 1,
        piece_load=piece_load,
        reach_only=np.bincount(labels[only], weights=workload[only], minlength=p),
        top_cell=top,
    )
