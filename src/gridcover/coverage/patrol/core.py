"""Patrol zones, array core: anchor, priced network Voronoi, repair, balance, smooth, report.

:func:`design_zones` takes cell centroids and areas (metres), the ring-ordered neighbours,
the travel-time matrix and the workload, and returns a :class:`ZoneAssignment`. The steps
are described in :mod:`gridcover.coverage.patrol.zones` and docs/PATROL_SITING.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridcover.coverage.cell_graph import colour_classes, label_components
from gridcover.coverage.patrol.balance import (
    BalanceStats,
    balance_zones,
    exclave_owners,
    priced_labels,
    repair_contiguity,
    smooth_zones,
    voronoi_labels,
)
from gridcover.coverage.patrol.causes import zone_causes
from gridcover.coverage.patrol.compactness import (
    DEFAULT_MIN_COMPACTNESS,
    CloseSplit,
    compactness_notes,
    split_close_posts,
    zone_compactness,
)
from gridcover.coverage.patrol.figures import anchor_posts, explain_balance, zone_table
from gridcover.errors import InputError

__all__ = ["EXCLAVE_CHOICES", "UNASSIGNED_REASONS", "ZoneAssignment", "design_zones"]

UNASSIGNED_REASONS = ("no post in its boundary region", "cut off from every post of its region")
#: What to do with pieces of the area cut off from every post: give each whole to the
#: nearest post as an exclave of its zone (default), or leave their cells unassigned.
EXCLAVE_CHOICES = ("attach", "leave")


@dataclass(frozen=True, eq=False)
class ZoneAssignment:
    """Result of :func:`design_zones` (arrays aligned with the cells / the posts).

    ``labels``: post index per cell (-1 unassigned); ``anchors``: cell position of each post
    (-1: no zone); ``zones``: per-post table (see ``patrol.figures.zone_table``);
    ``balance_ratio``: max/min workload over zones; ``initial_ratio``: the same before
    balancing; ``explanation``: why the ratio is above target ("" when it is not);
    ``problems``: one sentence per post or lock issue; ``unassigned``: reason -> cell count;
    ``exclave``: per cell, the post index of the exclave it belongs to (-1: not in one);
    ``travel_s``: per cell, travel seconds to its zone's post (NaN unassigned; straight line
    at ``access_speed_ms`` for exclave cells the travel method cannot reach);
    ``min_compactness``: the Polsby-Popper floor; ``close``: the zones of close posts that
    were re-split to reach it (``compactness.split_close_posts``); ``compactness``: one
    sentence per split and per zone still below the floor, with the measured reason.
    """

    labels: np.ndarray
    anchors: np.ndarray
    zones: pd.DataFrame
    balance_ratio: float
    initial_ratio: float
    target_ratio: float
    explanation: str
    problems: tuple[str, ...]
    unassigned: dict[str, int]
    stats: BalanceStats
    exclave: np.ndarray
    travel_s: np.ndarray
    min_compactness: float = DEFAULT_MIN_COMPACTNESS
    close: tuple[CloseSplit, ...] = ()
    compactness: tuple[str, ...] = ()


def _ratio(loads: np.ndarray, active: np.ndarray) -> float:
    ld = loads[active]
    if ld.size == 0:
        return float("nan")
    return float(ld.max() / ld.min()) if ld.min() > 0 else float("inf")


def _step_seconds(nbr: np.ndarray, cost: np.ndarray, labels: np.ndarray) -> float:
    """Typical travel time of one step between adjacent cells (the median over cells)."""
    c = np.flatnonzero((labels >= 0) & (nbr[:, 0] >= 0))
    if c.size == 0:
        return 1.0
    q = labels[c]
    d = np.abs(cost[c, q] - cost[nbr[c, 0], q])
    d = d[np.isfinite(d) & (d > 0)]
    return float(np.median(d)) if d.size else 1.0


def _piece_words(
    piece: np.ndarray,
    region: np.ndarray,
    post_piece: np.ndarray,
    post_region: np.ndarray,
    region_names: list[str],
    has_boundary: bool,
) -> list[str]:
    """Words naming the piece of the area each post's zone must stay in (for explanations)."""
    out = []
    for pp, pr in zip(post_piece, post_region, strict=True):
        if pp < 0:
            out.append("no part of the area")
            continue
        ids, sizes = np.unique(piece[region == pr], return_counts=True)
        main = ids.size <= 1 or pp == ids[np.argmax(sizes)]  # the region's largest piece
        if has_boundary:
            name = region_names[pr] if 0 <= pr < len(region_names) else str(pr)
            out.append(
                f"boundary region {name!r}"
                if main
                else f"a part of boundary region {name!r} cut off from the rest of it at this "
                "resolution"
            )
        else:
            out.append(
                "the area"
                if main
                else "a part of the area not connected to the rest at this resolution"
            )
    return out


def _check_locks(
    locked: np.ndarray,
    anchors: np.ndarray,
    nbr: np.ndarray,
    names: list[str],
    region: np.ndarray,
    post_region: np.ndarray,
) -> np.ndarray:
    """Validate locked zones; returns the frozen flag per post."""
    p = anchors.size
    frozen = np.zeros(p, dtype=bool)
    frozen[np.unique(locked[locked >= 0])] = True
    comp = label_components(nbr, locked)
    for i in np.flatnonzero(frozen):
        mine = locked == i
        if anchors[i] < 0 or locked[anchors[i]] != i:
            raise InputError(
                f"The locked zone of post {names[i]!r} does not contain the post's cell; "
                "redraw the locked polygon around the post or unlock it."
            )
        if np.unique(comp[mine]).size > 1:
            raise InputError(
                f"The locked zone of post {names[i]!r} is in several pieces at this resolution; "
                "a zone must be one connected piece: redraw it or use a finer resolution."
            )
        if np.any(region[mine] != post_region[i]):
            raise InputError(
                f"The locked zone of post {names[i]!r} crosses the boundary layer; clip it to "
                "the post's boundary region."
            )
    return frozen


def _reanchored(
    problems: list[str],
    before: np.ndarray,
    after: np.ndarray,
    own: np.ndarray,
    nbr: np.ndarray,
    names: list[str],
    dist_m: np.ndarray,
) -> list[str]:
    """The problem sentences with the anchoring of posts the close-post split re-anchored
    (``before``/``after``: cell of each post; ``own``: the cell holding it; ``dist_m``: the
    post's distance to its new cell, metres) told as it ended."""
    out = list(problems)
    for i in np.flatnonzero(before != after):
        head = f"Post {names[i]!r} shares its cell with an earlier post;"
        out = [s for s in out if not s.startswith(head)]
        where = (
            "the cell next to it"
            if own[i] >= 0 and after[i] in nbr[own[i]]
            else "the nearest cell of its part (no free cell next to its own cell could join it)"
        )
        out.append(
            f"{head} its zone starts from {where}, chosen with its close posts' split, "
            f"{dist_m[i]:.0f} m away (use a finer resolution to keep posts apart)."
        )
    return out


def design_zones(
    x: np.ndarray,
    y: np.ndarray,
    area_m2: np.ndarray,
    nbr: np.ndarray,
    own_cell: np.ndarray,
    post_x: np.ndarray,
    post_y: np.ndarray,
    cost: np.ndarray,
    workload: np.ndarray,
    *,
    names: list[str] | None = None,
    region: np.ndarray | None = None,
    post_region: np.ndarray | None = None,
    region_names: list[str] | None = None,
    locked: np.ndarray | None = None,
    fallback: np.ndarray | None = None,
    target_ratio: float = 1.15,
    post_snap_m: float = 500.0,
    stop_ratio: float = 1.02,
    max_iter: int = 20000,
    compact: float = 2.0,
    smooth_tolerance: float = 0.03,
    prices: bool = True,
    exclaves: str = "attach",
    access_speed_ms: float | None = None,
    min_compactness: float = DEFAULT_MIN_COMPACTNESS,
) -> ZoneAssignment:
    """Partition n cells into one contiguous zone per post (array core; metres throughout).

    ``x``/``y``/``area_m2``: cell centroids (metric CRS) and areas; ``nbr``: (n, 6) ring-
    ordered neighbours (``patrol_cells.neighbours``); ``own_cell``: position of the cell
    holding each post or -1; ``post_x``/``post_y``: posts (same CRS); ``cost``: (n, p)
    travel seconds post -> cell; ``workload``: per cell; ``region``/``post_region``:
    boundary region per cell (-1 none) and per post (-2 none), omitted = no boundary;
    ``locked``: per cell, post index whose frozen zone it belongs to (-1 free);
    ``exclaves``: "attach" gives each piece of the area that H3 adjacency does not connect
    to any post of its region whole to the nearest allowed post (an exclave of its zone,
    see ``patrol_balance.exclave_owners``), "leave" leaves its cells unassigned;
    ``access_speed_ms``: straight-line speed (m/s) for the travel time of exclave cells the
    travel method cannot reach (None: reported as unreachable); ``min_compactness``: the
    Polsby-Popper floor enforced for zones of close posts (0 = off; see ``compactness``).
    """
    if exclaves not in EXCLAVE_CHOICES:
        raise InputError(f"exclaves must be one of {', '.join(EXCLAVE_CHOICES)}, not {exclaves!r}.")
    n, p = cost.shape
    names = names or [str(i) for i in range(p)]
    has_boundary = region is not None
    region = np.zeros(n, np.int64) if region is None else np.asarray(region, np.int64)
    post_region = np.zeros(p, np.int64) if post_region is None else np.asarray(post_region)
    region_names = region_names or [str(r) for r in range(int(region.max(initial=0)) + 1)]
    locked = np.full(n, -1, np.int64) if locked is None else np.asarray(locked, np.int64)
    fallback = np.zeros(n, bool) if fallback is None else np.asarray(fallback, bool)
    workload = np.asarray(workload, float)
    anchors, problems = anchor_posts(
        x, y, region, own_cell, post_x, post_y, post_region, names, post_snap_m
    )
    clash = (anchors >= 0) & (locked[np.maximum(anchors, 0)] >= 0)
    clash &= locked[np.maximum(anchors, 0)] != np.arange(p)
    for i in np.flatnonzero(clash):
        problems.append(
            f"Post {names[i]!r} lies inside the locked zone of post "
            f"{names[locked[anchors[i]]]!r}, so it gets no zone; unlock or move it."
        )
        anchors[i] = -1
    frozen = _check_locks(locked, anchors, nbr, names, region, post_region)
    active = anchors >= 0
    allowed = (region[:, None] == post_region[None, :]) & (active & ~frozen)[None, :]
    allowed &= (locked < 0)[:, None]
    labels = voronoi_labels(cost, allowed, anchors, locked)
    labels = repair_contiguity(nbr, labels, anchors, allowed, cost)
    exclave = np.full(n, -1, np.int64)
    if exclaves == "attach":
        exclave = exclave_owners(nbr, labels, allowed, region, cost, x, y, post_x, post_y)
        ex = np.flatnonzero(exclave >= 0)
        if ex.size:
            allowed = allowed.copy()
            allowed[ex] = False
            allowed[ex, exclave[ex]] = True
            labels[ex] = exclave[ex]
            unreached = ~np.isfinite(cost[ex, exclave[ex]])
            if access_speed_ms and unreached.any():
                c, q = ex[unreached], exclave[ex][unreached]
                cost = cost.copy()
                cost[c, q] = np.hypot(x[c] - post_x[q], y[c] - post_y[q]) / access_speed_ms
                fallback = fallback.copy()
                fallback[c] = True
    loads0 = np.bincount(labels[labels >= 0], weights=workload[labels >= 0], minlength=p)
    movable = (locked < 0) & (exclave < 0)
    movable[anchors[active]] = False
    # Zones can only trade cells inside one connected piece of one boundary region.
    piece = label_components(nbr, np.where(region >= 0, region, -1))
    post_piece = np.where(active, piece[np.maximum(anchors, 0)], -2)
    group = np.where(active & ~frozen, post_piece, -1)
    if prices:
        labels, _ = priced_labels(cost, allowed, anchors, locked, workload, group)
        labels = repair_contiguity(nbr, labels, anchors, allowed, cost, exclave)
    colours = colour_classes(nbr)
    step = _step_seconds(nbr, cost, labels)

    # Balance, smooth the outlines, then balance again what smoothing moved.
    def balance(labels: np.ndarray) -> tuple[np.ndarray, BalanceStats]:
        return balance_zones(
            nbr,
            labels,
            workload,
            cost,
            allowed,
            movable,
            colours,
            group,
            stop_ratio=stop_ratio,
            max_iter=max_iter,
            step_s=step,
            compact=compact,
        )

    labels, stats = balance(labels)
    labels, smoothed = smooth_zones(
        nbr, labels, workload, allowed, movable, colours, group, tolerance=smooth_tolerance
    )
    labels, stats2 = balance(labels)
    # Close posts: a ring around a disc is re-split by straight cuts (compactness floor).
    labels, moved, close = split_close_posts(
        nbr, labels, x, y, area_m2, workload, movable, anchors, group, post_x, post_y,
        min_compactness, own_cell, target_ratio,
    )  # fmt: skip
    away = np.hypot(x[moved] - post_x, y[moved] - post_y)
    problems = _reanchored(problems, anchors, moved, own_cell, nbr, names, away)
    anchors = moved
    stats = BalanceStats(
        stats.moves + stats2.moves + smoothed, stats.iterations + stats2.iterations, stats2.stopped
    )
    # A last guard: the ring test proves contiguity, the repair makes it unconditional.
    labels = repair_contiguity(
        nbr, labels, anchors, allowed | (locked >= 0)[:, None], cost, exclave
    )
    zones = zone_table(nbr, labels, area_m2, workload, cost, anchors, fallback, exclave)
    zones.insert(0, "post", names)
    zones["region"] = [region_names[r] if r >= 0 else None for r in post_region.astype(np.int64)]
    zones["locked"] = frozen
    loads = zones["workload"].to_numpy()
    ratio = _ratio(loads, active)
    free = labels < 0
    no_post = free & ~allowed.any(axis=1) & (locked < 0)
    unassigned = {
        UNASSIGNED_REASONS[0]: int(no_post.sum()),
        UNASSIGNED_REASONS[1]: int((free & ~no_post).sum()),
    }
    where = _piece_words(piece, region, post_piece, post_region, region_names, has_boundary)
    floor = np.bincount(exclave[exclave >= 0], weights=workload[exclave >= 0], minlength=p)
    causes = zone_causes(
        labels, workload, area_m2, cost, exclave, np.where(frozen, -2, post_piece),
        post_x, post_y, loads,
    )  # fmt: skip
    text = explain_balance(
        loads, post_piece, frozen, names, where, ratio, target_ratio, stats.stopped, floor,
        causes,
    )  # fmt: skip
    n_reg = int(region.max(initial=-1)) + 1
    reg_pp = zone_compactness(nbr, np.where(region >= 0, region, -1), area_m2, n_reg)[0]
    notes = compactness_notes(
        zones["polsby_popper"].to_numpy(), names, close, causes.nearest, causes.nearest_m,
        causes.close_m, np.where(post_region >= 0, reg_pp[np.clip(post_region, 0, None)], np.nan),
        where, active, min_compactness,
    )  # fmt: skip
    lab_ok = labels >= 0
    travel = np.full(n, np.nan)
    travel[lab_ok] = cost[np.flatnonzero(lab_ok), labels[lab_ok]]
    return ZoneAssignment(
        labels=labels,
        anchors=anchors,
        zones=zones,
        balance_ratio=ratio,
        initial_ratio=_ratio(loads0, active),
        target_ratio=target_ratio,
        explanation=text,
        problems=tuple(problems),
        unassigned=unassigned,
        stats=stats,
        exclave=exclave,
        travel_s=travel,
        min_compactness=min_compactness,
        close=close,
        compactness=notes,
    )
