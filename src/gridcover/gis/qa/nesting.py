"""Grid QA across levels: children outside their parent, gaps inside a parent, parents not tiled.

For each parent P with at least one child (by parent_code), with U the union of its children:
- ``outside_parent``: child − P, one issue per child (the part that spills out, and into which
  grid of the parent's level it spills);
- ``gap``: parts of P − U that do not reach P's boundary (holes enclosed by the children);
- ``not_tiled``: parts of P − U along P's boundary (children stop short of the parent's edge).
A parent without any child is not reported: a hierarchy may stop at any level.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import NDArray

from gridcover.gis.qa.mask import unmasked
from gridcover.gis.qa.rules import (
    Issue,
    Thresholds,
    Units,
    aggregate_parts,
    fmt_m,
    fmt_m2,
    is_noise,
    measure,
)
from gridcover.gis.qa.topology import EDGE_SNAP_M, _parts, _region_issues, _sliver_note

#: A foreign grid is named as covering a problem part when it covers more than this share of it.
COVER_SHARE = 0.5

Pairs = Callable[[NDArray[np.intp], NDArray[np.intp]], NDArray[np.bool_]]


def _largest_cover(parts: NDArray[np.object_], u: Units, ok: Pairs) -> list[str | None]:
    """Code of the unit covering the largest share (> COVER_SHARE) of each part, else None.

    ``ok(part_idx, unit_idx) -> bool array`` says which (part, unit) pairs may count.
    """
    out: list[str | None] = [None] * len(parts)
    if not len(parts):
        return out
    pi, gi = shapely.STRtree(u.geom).query(parts, predicate="intersects")
    keep = ok(pi, gi)
    pi, gi = pi[keep], gi[keep]
    area = shapely.area(shapely.intersection(parts[pi], u.geom[gi]))
    order = np.lexsort((area, pi))
    last = np.r_[pi[order][1:] != pi[order][:-1], True] if len(order) else np.zeros(0, bool)
    best = order[last]
    share = area[best] / shapely.area(parts[pi[best]])
    for p, g, s in zip(pi[best], gi[best], share, strict=True):
        if s > COVER_SHARE:
            out[p] = str(u.code[g])
    return out


def nesting(u: Units, th: Thresholds, mask: shapely.Geometry | None = None) -> list[Issue]:
    """outside_parent, gap (inside a parent) and not_tiled issues for every linked child;
    gaps and uncovered edges less the ``mask`` (``qa.mask``)."""
    kids = np.flatnonzero(u.parent_idx >= 0)
    par = u.parent_idx[kids]
    return _outside(u, kids, par, th) + _tiling(u, kids, par, th, mask)


def _outside(
    u: Units, kids: NDArray[np.intp], par: NDArray[np.intp], th: Thresholds
) -> list[Issue]:
    parts, owner = _parts(shapely.difference(u.geom[kids], u.geom[par]), th)
    total, real, big_a, big_w, geoms = aggregate_parts(parts, owner, len(kids), th)
    real_part = ~is_noise(measure(parts), th)
    into = _largest_cover(
        parts,
        u,
        lambda p, g: (u.level[g] == u.level[par[owner[p]]]) & (g != par[owner[p]]),
    )
    into_arr = np.array(into, dtype=object)
    lo = np.searchsorted(owner, np.arange(len(kids)), side="left")  # parts are sorted by owner
    hi = np.searchsorted(owner, np.arange(len(kids)), side="right")
    issues = []
    for k in np.flatnonzero(hi > lo):
        c, p = kids[k], par[k]
        mine = slice(lo[k], hi[k])
        named = into_arr[mine][real_part[mine] | ~real[k]]
        where = sorted({x for x in named if x})
        head = (
            f"Grid {u.code[c]} (level {u.level[c]}) extends {fmt_m2(total[k])} outside its "
            f"parent {u.code[p]}" + (f" into {', '.join(where)}" if where else "")
        )
        if real[k]:
            msg = (
                f"{head} (largest part {fmt_m2(big_a[k])}, mean width {fmt_m(big_w[k])}); "
                "redraw the child or the parent boundary so the child lies inside."
            )
        else:
            msg = f"{head}: {_sliver_note(total[k], big_w[k], th)}."
        issues.append(
            Issue(
                "error" if real[k] else "warning",
                "outside_parent",
                int(u.level[c]),
                str(u.code[c]),
                str(u.code[p]),
                float(total[k]),
                msg,
                geoms[k],
            )
        )
    return issues


def _tiling(
    u: Units,
    kids: NDArray[np.intp],
    par: NDArray[np.intp],
    th: Thresholds,
    mask: shapely.Geometry | None = None,
) -> list[Issue]:
    if not len(kids):
        return []
    order = np.argsort(par, kind="stable")
    parents, starts = np.unique(par[order], return_index=True)
    groups = np.split(kids[order], starts[1:])
    unions = np.array([shapely.union_all(u.geom[g]) for g in groups], dtype=object)
    parts, owner = _parts(unmasked(shapely.difference(u.geom[parents], unions), mask), th)
    edge = shapely.dwithin(parts, shapely.boundary(u.geom[parents[owner]]), EDGE_SNAP_M)
    cover = _largest_cover(
        parts,
        u,
        lambda p, g: (
            (u.parent_idx[g] != parents[owner[p]]) & (u.level[g] > u.level[parents[owner[p]]])
        ),
    )
    cover_arr = np.array(cover, dtype=object)
    lo = np.searchsorted(owner, np.arange(len(parents)), side="left")  # parts sorted by owner
    hi = np.searchsorted(owner, np.arange(len(parents)), side="right")
    issues: list[Issue] = []
    for k in np.flatnonzero(hi > lo):
        p, g = parents[k], groups[k]
        mine = np.arange(lo[k], hi[k])
        for check, sel in (("gap", mine[~edge[mine]]), ("not_tiled", mine[edge[mine]])):
            issues.extend(
                _region_issues(
                    parts[sel],
                    u,
                    g,
                    int(u.level[g[0]]),
                    str(u.code[p]),
                    check,
                    th,
                    list(cover_arr[sel]),
                )
            )
    return issues
