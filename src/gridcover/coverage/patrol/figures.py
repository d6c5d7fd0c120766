"""Patrol-zone bookkeeping: anchoring posts to cells, per-zone figures, balance explanation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridcover.coverage.cell_graph import label_components
from gridcover.coverage.patrol.causes import ZoneCauses, extra_causes, shared_words

__all__ = ["anchor_posts", "explain_balance", "pct_text", "polsby_popper", "zone_table"]


def anchor_posts(
    x: np.ndarray,
    y: np.ndarray,
    region: np.ndarray,
    own: np.ndarray,
    post_x: np.ndarray,
    post_y: np.ndarray,
    post_region: np.ndarray,
    names: list[str],
    max_m: float,
) -> tuple[np.ndarray, list[str]]:
    """The cell that holds each post (its "anchor"), or -1, and one sentence per problem.

    ``own``: position of the cell containing the post (-1 if the post is outside every cell).
    Documented behaviour: a post outside the cells, or whose cell is taken by an earlier post
    or lies in another boundary region, is anchored to the nearest free cell of its own
    region within ``max_m`` metres; otherwise it gets no zone. A post in no boundary region
    (``post_region`` -2) gets no zone. ``region`` -1 = cell outside every boundary polygon.
    """
    p = post_x.size
    anchors = np.full(p, -1, dtype=np.int64)
    taken = np.zeros(x.size, dtype=bool)
    problems: list[str] = []
    for i in range(p):
        name = names[i]
        if post_region[i] == -2:
            problems.append(
                f"Post {name!r} is outside every polygon of the boundary layer, so it gets no "
                "zone; fix its location or extend the boundary layer."
            )
            continue
        c = own[i]
        if c >= 0 and not taken[c] and region[c] == post_region[i]:
            anchors[i] = c
            taken[c] = True
            continue
        cand = np.flatnonzero((region == post_region[i]) & ~taken)
        d = np.hypot(x[cand] - post_x[i], y[cand] - post_y[i]) if cand.size else np.empty(0)
        why = (
            "lies outside every cell of the area"
            if c < 0
            else "shares its cell with an earlier post"
            if taken[c]
            else "lies in a cell whose centre is in another boundary region"
        )
        if d.size and d.min() <= max_m:
            j = int(cand[np.argmin(d)])
            anchors[i] = j
            taken[j] = True
            problems.append(
                f"Post {name!r} {why}; it was anchored to the nearest free cell of its own "
                f"region, {d.min():.0f} m away (use a finer resolution to keep posts apart)."
            )
        else:
            near = (
                f"the nearest free cell of its region is {d.min():.0f} m away"
                if d.size
                else ("its boundary region holds no cell at this resolution")
            )
            problems.append(
                f"Post {name!r} {why} and {near} (more than {max_m:.0f} m), so it gets no zone; "
                "check its location, use a finer resolution or drop the boundary layer."
            )
    return anchors, problems


def pct_text(share: float) -> str:
    """A share (0-1) as a percentage with one decimal, rounded *down* short of the ends: a
    share below 1 never reads "100.0%" and one above 0 never "0.0%" (99.97% -> "99.9%"), so
    the text agrees with counts such as "grids meeting the target: 0 of 1"."""
    if not np.isfinite(share):
        return "n/a"
    tenths = share * 1000.0
    if 0.0 < share < 1.0:
        tenths = min(max(np.floor(tenths + 1e-9), 1.0), 999.0)
    return f"{round(tenths) / 10:.1f}%"


def polsby_popper(area_m2: np.ndarray, perimeter_m: np.ndarray) -> np.ndarray:
    """Compactness 4·π·area / perimeter² (1 = circle; one hexagon ≈ 0.91)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perimeter_m > 0, 4 * np.pi * area_m2 / perimeter_m**2, np.nan)


def zone_table(
    nbr: np.ndarray,
    labels: np.ndarray,
    area_m2: np.ndarray,
    weight: np.ndarray,
    cost: np.ndarray,
    anchors: np.ndarray,
    fallback: np.ndarray,
    exclave: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per post: cells, km², workload, max/mean travel minutes, Polsby-Popper, contiguity.

    Perimeters count every hexagon side whose neighbour is in another zone or outside the
    area, each side being the side length of a regular hexagon of the cell's area.
    ``exclave`` (n,): post index of cells in exclaves (pieces of the area cut off from every
    post, attached whole; -1 elsewhere). ``pieces`` counts every H3-connected piece,
    ``exclaves`` the exclave pieces among them; ``contiguous`` means the zone's other cells
    form one H3-connected piece holding the post (true contiguity wherever the area itself
    is connected).
    """
    p = anchors.size
    ok = labels >= 0
    lab = labels[ok]
    n_cells = np.bincount(lab, minlength=p)
    area = np.bincount(lab, weights=area_m2[ok], minlength=p)
    work = np.bincount(lab, weights=weight[ok], minlength=p)
    t = cost[np.flatnonzero(ok), lab]
    tf = np.where(np.isfinite(t), t, np.nan)
    mean_t = np.bincount(lab, weights=np.nan_to_num(tf), minlength=p) / np.maximum(
        np.bincount(lab, weights=np.isfinite(tf).astype(float), minlength=p), 1
    )
    max_t = np.full(p, np.nan)
    finite = np.isfinite(tf)
    if finite.any():
        np.fmax.at(max_t, lab[finite], tf[finite])
    unreach = np.bincount(lab, weights=(~np.isfinite(t)).astype(float), minlength=p)
    nl = np.where(nbr >= 0, labels[np.maximum(nbr, 0)], -1)
    open_sides = (nl != labels[:, None]).sum(axis=1)
    side = np.sqrt(2 * area_m2 / (3 * np.sqrt(3)))
    per = np.bincount(lab, weights=(open_sides * side)[ok], minlength=p)
    comp = label_components(nbr, labels)
    pieces = np.zeros(p, dtype=np.int64)
    if ok.any():
        pairs = np.unique(np.c_[lab, comp[ok]], axis=0)
        pieces = np.bincount(pairs[:, 0], minlength=p)
    holds = np.array([a >= 0 and labels[a] == i for i, a in enumerate(anchors)], dtype=bool)
    fb = np.bincount(lab, weights=fallback[ok].astype(float), minlength=p)
    ex = np.zeros(labels.size, bool) if exclave is None else (exclave >= 0) & (exclave == labels)
    n_ex = np.zeros(p, dtype=np.int64)
    if ex.any():
        ex_pairs = np.unique(np.c_[labels[ex], comp[ex]], axis=0)
        n_ex = np.bincount(ex_pairs[:, 0], minlength=p)
    ex_area = np.bincount(labels[ex], weights=area_m2[ex], minlength=p)
    return pd.DataFrame(
        {
            "cells": n_cells,
            "area_km2": area / 1e6,
            "workload": work,
            "max_travel_min": max_t / 60.0,
            "mean_travel_min": np.where(n_cells > 0, mean_t / 60.0, np.nan),
            "unreachable_cells": unreach.astype(np.int64),
            "polsby_popper": polsby_popper(area, per),
            "pieces": pieces,
            "exclaves": n_ex,
            "exclave_km2": ex_area / 1e6,
            "contiguous": (pieces - n_ex == 1) & holds,
            "holds_post": holds,
            "fallback_share": np.where(n_cells > 0, fb / np.maximum(n_cells, 1), np.nan),
        }
    )


def _even_split(total: float, floor: np.ndarray) -> np.ndarray:
    """Most even loads summing to ``total`` with each load >= its ``floor`` (water-filling)."""
    level = total / floor.size
    for _ in range(floor.size):
        above = floor > level
        if not above.any():
            break
        level = (total - floor[above].sum()) / max(int((~above).sum()), 1)
    return np.maximum(floor, level)


def explain_balance(
    loads: np.ndarray,
    group: np.ndarray,
    fixed: np.ndarray,
    names: list[str],
    where: list[str],
    ratio: float,
    target: float,
    stopped: str,
    floor: np.ndarray | None = None,
    causes: ZoneCauses | None = None,
) -> str:
    """One paragraph saying why the balance ratio is above ``target`` (empty if it is not).

    ``group`` (p,): the connected piece of its boundary region each post's zone must stay
    in (-2: no zone); ``where`` (p,): words naming that piece ("boundary region '04'");
    ``fixed`` (p,): zone frozen (locked). The best ratio any re-drawing could reach is
    bounded by the loads that cannot change: frozen zones, zones alone in their piece, and
    the most even split of each piece's total among its posts given each zone's ``floor``
    (p,; the load of the exclaves it must keep, 0 without). With ``causes`` each reason
    comes with the measured quantity behind it: the nearest post sharing the piece and its
    distance (a close post: "its zone is small because post B is 70 m away and they split
    the same area"), the workload no other post can reach, the heaviest cell.
    """
    active = (group > -2) & (loads > 0)
    if ratio <= target or not active.any():
        return ""
    best = np.zeros(loads.size)
    fl = np.zeros(loads.size) if floor is None else np.asarray(floor, float)
    alone: list[int] = []
    for g in np.unique(group[active]):
        members = np.flatnonzero(active & (group == g) & ~fixed)
        if members.size:
            best[members] = _even_split(float(loads[members].sum()), fl[members])
            if members.size == 1:
                alone.append(int(members[0]))
    best[fixed & active] = loads[fixed & active]
    bound = float(best[active].max() / best[active].min())
    hi = int(np.argmax(np.where(active, loads, -np.inf)))
    lo = int(np.argmin(np.where(active, loads, np.inf)))
    mean = float(loads[active].mean())
    slack = (target - 1.0) * float(loads[lo])  # what the target leaves between hi and lo

    def why(i: int) -> str:
        extra = extra_causes(i, loads, causes, slack) if causes is not None and i == hi else ""
        return reason(i) + extra

    def reason(i: int) -> str:
        if fixed[i]:
            return f"post {names[i]!r} has a locked zone"
        if i in alone:
            extra = f", exclaves included (workload {fl[i]:.2f})" if fl[i] > 0 else ""
            return (
                f"post {names[i]!r} is alone in {where[i]}{extra}, so its zone is limited by "
                f"the edge of {where[i]}"
            )
        if fl[i] > 0 and best[i] > best[active].min() * target:
            return (
                f"post {names[i]!r} must keep its exclave(s), a workload of {fl[i]:.2f} "
                "cut off from every other post"
            )
        if causes is not None and causes.nearest[i] >= 0:
            return shared_words(i, names, where, causes, loads[i] * target < mean)
        return f"post {names[i]!r} shares {where[i]} with other posts"

    text = (
        f"Balance ratio {ratio:.2f} is above the {target:.2f} target. Heaviest zone: "
        f"{why(hi)} (workload {loads[hi]:.2f}, {loads[hi] / mean:.2f}x the mean); lightest: "
        f"{why(lo)} (workload {loads[lo]:.2f}, {loads[lo] / mean:.2f}x the mean). "
    )
    if bound > target:
        text += (
            f"With these boundaries, locks and area pieces no contiguous plan can do better "
            f"than about {bound:.2f} ({len(alone)} post(s) alone in their piece). Move the "
            "boundary lines, unlock zones or add posts to reach the target."
            + (" A finer resolution may join the exclaves to the rest." if fl.any() else "")
        )
    else:
        text += (
            f"Evenly split pieces would allow about {bound:.2f}; balancing stopped "
            f"({stopped}) because the remaining cell moves would split a zone (narrow necks) "
            "or overshoot (cells too coarse: use a finer resolution)."
        )
    return text
