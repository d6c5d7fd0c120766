"""Grid QA on shapes: sliver grids, sibling overlaps, gaps, children outside or not tiling parents.

Works on :class:`~gridcover.gis.qa.rules.Units` (metric, polygonal geometries). Problem parts
(overlaps, gaps, outside and uncovered parts) below ``ignore_below_m2`` are dropped; parts that
are smaller than ``gap_min_area_m2`` or narrower than ``tolerance_m`` are slivers (warnings).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from gridcover.gis.qa.mask import unmasked
from gridcover.gis.qa.rules import (
    GeomArray,
    Issue,
    Thresholds,
    Units,
    aggregate_parts,
    explode,
    fmt_m,
    fmt_m2,
    is_noise,
    measure,
    polygonal,
)

#: A part lying within this distance (m) of its parent's boundary counts as along the edge.
EDGE_SNAP_M = 1e-3


def _parts(geoms: GeomArray, th: Thresholds) -> tuple[GeomArray, NDArray[np.intp]]:
    parts, owner = explode(polygonal(geoms))
    keep = shapely.area(parts) >= th.ignore_below_m2
    return parts[keep], owner[keep]


def _sliver_note(area: float, width: float, th: Thresholds) -> str:
    return (
        f"a sliver ({fmt_m2(area)}, mean width {fmt_m(width)}; below {fmt_m2(th.gap_min_area_m2)} "
        f"or {fmt_m(th.tolerance_m)}): likely digitising noise, snap the shared edges"
    )


def sliver_grids(u: Units, th: Thresholds) -> list[Issue]:
    """Grids that are tiny (area < sliver_max_area_m2) or thin (Polsby-Popper < sliver_thinness)."""
    m = measure(u.geom)
    tiny = m.area < th.sliver_max_area_m2
    thin = m.compactness < th.sliver_thinness
    issues = []
    present = ~shapely.is_missing(u.geom) & ~shapely.is_empty(u.geom)
    for k in np.flatnonzero((tiny | thin) & present):
        what = " and ".join(
            w
            for w, on in (
                (f"tiny (under {fmt_m2(th.sliver_max_area_m2)})", tiny[k]),
                (f"thin (compactness {m.compactness[k]:.3f} < {th.sliver_thinness})", thin[k]),
            )
            if on
        )
        issues.append(
            Issue(
                "warning",
                "sliver",
                int(u.level[k]),
                str(u.code[k]),
                None,
                float(m.area[k]),
                f"Grid {u.code[k]} (level {u.level[k]}) is a sliver, {what}: "
                f"{fmt_m2(m.area[k])}, mean width {fmt_m(m.width[k])}; merge it into a "
                "neighbour or redraw it.",
                u.geom[k],
            )
        )
    return issues


def overlaps(u: Units, th: Thresholds) -> list[Issue]:
    """One issue per pair of same-level grids whose interiors overlap (each pair once)."""
    fast_ok = {
        int(lv)
        for lv in np.unique(u.level)
        if bool(shapely.coverage_is_valid(u.geom[u.level == lv]))
    }
    i, j = shapely.STRtree(u.geom).query(u.geom, predicate="intersects")
    keep = (i < j) & (u.level[i] == u.level[j]) & ~np.isin(u.level[i], list(fast_ok))
    i, j = i[keep], j[keep]
    inner = shapely.relate_pattern(u.geom[i], u.geom[j], "2********")
    i, j = i[inner], j[inner]
    parts, pair = _parts(shapely.intersection(u.geom[i], u.geom[j]), th)
    total, real, big_a, big_w, geoms = aggregate_parts(parts, pair, len(i), th)
    issues = []
    for p in np.unique(pair):
        a, b = sorted((str(u.code[i[p]]), str(u.code[j[p]])))
        head = f"Grids {a} and {b} (level {u.level[i[p]]}) overlap by {fmt_m2(total[p])}"
        if real[p]:
            msg = f"{head} (largest part {fmt_m2(big_a[p])}); give the shared area to one of them."
        else:
            msg = f"{head}: {_sliver_note(total[p], big_w[p], th)}."
        issues.append(
            Issue(
                "error" if real[p] else "warning",
                "overlap",
                int(u.level[i[p]]),
                a,
                b,
                float(total[p]),
                msg,
                geoms[p],
            )
        )
    return issues


def _neighbours(parts: GeomArray, u: Units, idx: NDArray[np.intp]) -> list[list[str]]:
    """Codes of the grids (rows ``idx`` of ``u``) touching each part."""
    if not len(parts) or not len(idx):
        return [[] for _ in parts]
    pi, gi = shapely.STRtree(u.geom[idx]).query(parts, predicate="dwithin", distance=EDGE_SNAP_M)
    out: list[list[str]] = [[] for _ in parts]
    for p, g in zip(pi, gi, strict=True):
        out[p].append(str(u.code[idx[g]]))
    return [sorted(set(x)) for x in out]


def _list(codes: list[str], limit: int = 5) -> str:
    return ", ".join(codes[:limit]) + (
        f" and {len(codes) - limit} more" if len(codes) > limit else ""
    )


def top_gaps(
    u: Units, top_levels: set[int], th: Thresholds, mask: shapely.Geometry | None = None
) -> list[Issue]:
    """Holes in the union of each top level (areas enclosed by grids but covered by none),
    less the ``mask`` (water, closed areas: see ``qa.mask``)."""
    issues: list[Issue] = []
    for lv in sorted(top_levels):
        sel = u.level == lv
        g = u.geom[sel]
        union = (
            shapely.coverage_union_all(g) if shapely.coverage_is_valid(g) else shapely.union_all(g)
        )
        polys, _ = explode(np.array([union], dtype=object))
        n_holes = shapely.get_num_interior_rings(polys)
        rings = shapely.get_interior_ring(np.repeat(polys, n_holes), _ring_numbers(n_holes))
        holes = unmasked(shapely.difference(shapely.polygons(rings), union), mask)
        parts, _ = _parts(holes, th)
        issues.extend(_region_issues(parts, u, np.flatnonzero(sel), lv, None, "gap", th))
    return issues


def _ring_numbers(counts: NDArray[np.int_]) -> NDArray[np.intp]:
    """0..n-1 for each entry of ``counts`` concatenated (ring number within its polygon)."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def _region_issues(
    parts: GeomArray,
    u: Units,
    among: NDArray[np.intp],
    level: int,
    parent: str | None,
    check: str,
    th: Thresholds,
    cover: list[str | None] | None = None,
) -> list[Issue]:
    """Gap / not_tiled rows: one error per real part, one warning summing the sliver parts."""
    if not len(parts):
        return []
    m = measure(parts)
    noise = is_noise(m, th)
    near = _neighbours(parts, u, among)
    cover = cover or [None] * len(parts)
    where = f"inside parent {parent}" if parent is not None else f"between level-{level} grids"
    issues = []
    for k in np.flatnonzero(~noise):
        by = f"; it lies in {cover[k]}, which has another parent" if cover[k] else ""
        if check == "gap":
            what = f"There is a gap of {fmt_m2(m.area[k])} {where}, covered by no grid"
            tail = f" (next to {_list(near[k])}){by}: extend a neighbour or add a grid."
        else:
            what = (
                f"Parent {parent} is not covered by its children: {fmt_m2(m.area[k])} along its "
                "edge is in none of them"
            )
            tail = f" (next to {_list(near[k])}){by}: redraw the children to fill the parent."
        issues.append(
            Issue("error", check, level, parent, cover[k], float(m.area[k]), what + tail, parts[k])
        )
    if noise.any():
        area = float(m.area[noise].sum())
        kind = "gap" if check == "gap" else "uncovered edge"
        label = f"inside parent {parent}" if check == "gap" else f"of parent {parent}"
        if parent is None:
            label = where
        issues.append(
            Issue(
                "warning",
                check,
                level,
                parent,
                None,
                area,
                f"{int(noise.sum())} {kind} sliver(s) {label}, {fmt_m2(area)} in total, each "
                f"smaller than {fmt_m2(th.gap_min_area_m2)} or narrower than "
                f"{fmt_m(th.tolerance_m)}: likely digitising noise, snap the shared edges.",
                shapely.multipolygons(parts[noise]),
            )
        )
    return issues
