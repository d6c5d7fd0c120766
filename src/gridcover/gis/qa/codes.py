"""Grid QA on codes: duplicate codes, parent links, orphans, level jumps, prefix-code consistency.

Inputs are plain arrays (one entry per row or per unit); geometries are metric and polygonal.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridcover.gis.qa.rules import GeomArray, Issue, Units, fmt_m2

#: Share of parent/child pairs whose child code starts with the parent code above which the
#: dataset is taken to use hierarchical prefix codes (and the other pairs are reported).
PREFIX_SHARE = 0.8
#: Fewest parent/child pairs needed before the prefix scheme is inferred at all.
PREFIX_MIN_PAIRS = 3


def _same(values: Iterable[object]) -> bool:
    return pd.Series(list(values), dtype=object).nunique(dropna=False) <= 1


def duplicate_codes(
    code: NDArray[np.object_],
    level: NDArray[np.int64],
    parent: NDArray[np.object_],
    name: NDArray[np.object_],
    geom: GeomArray,
) -> list[Issue]:
    """One issue per code used by more than one row.

    Rows that agree on level, parent_code and name and whose shapes neither overlap nor touch
    look like the parts of one multi-part grid: a warning (merge them into one MultiPolygon).
    Anything else (different attributes, overlapping or touching shapes) is an error.
    """
    counts = pd.Series(code, dtype=object).value_counts(sort=False)
    issues: list[Issue] = []
    for c in counts.index[counts.to_numpy() > 1]:
        rows = np.flatnonzero(code == c)
        g = geom[rows]
        union = shapely.union_all(g)
        total = float(np.nansum(shapely.area(g)))
        overlap_m2 = max(total - float(shapely.area(union)), 0.0)
        i, j = shapely.STRtree(g).query(g, predicate="intersects")
        touching = bool((i < j).any())
        differ = [
            f"{field} ({', '.join(sorted({str(v) for v in vals}))})"
            for field, vals in (
                ("level", level[rows]),
                ("parent_code", parent[rows]),
                ("name", name[rows]),
            )
            if not _same(vals)
        ]
        lv = int(level[rows[0]]) if _same(level[rows]) else None
        if not differ and not touching:
            issues.append(
                Issue(
                    "warning",
                    "duplicate_code",
                    lv,
                    str(c),
                    None,
                    total,
                    f"Code {c} is used by {len(rows)} rows with the same level, parent and name "
                    f"and separate shapes ({fmt_m2(total)} in total): if they are parts of one "
                    "grid, store them as one MultiPolygon row.",
                    union,
                )
            )
            continue
        why = list(differ)
        if overlap_m2 > 0:
            why.append(f"overlap by {fmt_m2(overlap_m2)}")
        elif touching:
            why.append("touch each other")
        issues.append(
            Issue(
                "error",
                "duplicate_code",
                lv,
                str(c),
                None,
                total,
                f"Code {c} is used by {len(rows)} rows that {' and '.join(why)}; every grid "
                "needs its own code: renumber one of them or merge them.",
                union,
            )
        )
    return issues


def link_parents(
    code: NDArray[np.object_], level: NDArray[np.int64], parent: NDArray[np.object_]
) -> NDArray[np.intp]:
    """Index of each unit's parent unit (-1 if none): the unit whose code is the parent code,
    preferring one exactly one level up; a unit is never its own parent."""
    n = len(code)
    units = pd.DataFrame({"pcode": code, "plevel": level, "pidx": np.arange(n)})
    kids = pd.DataFrame({"pcode": parent, "want": level - 1, "kid": np.arange(n)})
    kids = kids[kids["pcode"].notna()]
    cand = kids.merge(units, on="pcode", how="inner")
    cand = cand[cand["pidx"] != cand["kid"]]
    cand = cand.assign(rank=(cand["plevel"] != cand["want"]).astype(int))
    best = cand.sort_values(["kid", "rank", "pidx"]).drop_duplicates("kid")
    out = np.full(n, -1, dtype=np.intp)
    out[best["kid"].to_numpy()] = best["pidx"].to_numpy()
    return out


def hierarchy(u: Units) -> tuple[list[Issue], set[int]]:
    """Orphans, own-parent codes, level jumps and prefix-code mismatches.

    Returns the issues and the set of levels to be checked as top levels (the lowest level,
    and any level none of whose parents is in the data: the parent level was not supplied).
    Parent codes of the lowest level that are not in the data are not reported: they usually
    name a unit above the grid (e.g. the street office).
    """
    issues: list[Issue] = []
    levels = sorted({int(v) for v in u.level})
    top = {levels[0]} if levels else set()
    found = u.parent_idx >= 0
    has_parent = pd.notna(u.parent)
    own = has_parent & (u.parent == u.code) & ~found
    for k in np.flatnonzero(own):
        issues.append(
            Issue(
                "error",
                "code_mismatch",
                int(u.level[k]),
                str(u.code[k]),
                str(u.parent[k]),
                0.0,
                f"Grid {u.code[k]} (level {u.level[k]}) names itself as its parent; set "
                "parent_code to the code of the grid that contains it.",
                u.geom[k],
            )
        )
    for lv in levels[1:]:
        sel = u.level == lv
        if not found[sel].any():
            top.add(lv)
            issues.append(
                Issue(
                    "warning",
                    "orphan",
                    lv,
                    None,
                    None,
                    0.0,
                    f"None of the {int(sel.sum())} level-{lv} grids names a parent that is in "
                    "the data (parent level not supplied, or parent_code empty); nesting was not "
                    f"checked for level {lv} and its gaps were checked as a top level.",
                    None,
                )
            )
            continue
        for k in np.flatnonzero(sel & ~found & ~own):
            if has_parent[k]:
                msg = (
                    f"Grid {u.code[k]} (level {lv}) names parent {u.parent[k]}, which is not in "
                    f"the data; correct its parent_code or add grid {u.parent[k]}."
                )
            else:
                msg = (
                    f"Grid {u.code[k]} (level {lv}) has no parent_code although level {lv} lies "
                    "below other levels; fill in the code of the grid that contains it."
                )
            pc = str(u.parent[k]) if has_parent[k] else None
            issues.append(Issue("error", "orphan", lv, str(u.code[k]), pc, 0.0, msg, u.geom[k]))
    kids = np.flatnonzero(found)
    plev = u.level[u.parent_idx[kids]]
    for k, pl in zip(kids[plev != u.level[kids] - 1], plev[plev != u.level[kids] - 1], strict=True):
        issues.append(
            Issue(
                "error",
                "level_mismatch",
                int(u.level[k]),
                str(u.code[k]),
                str(u.parent[k]),
                0.0,
                f"Grid {u.code[k]} is level {u.level[k]} but its parent {u.parent[k]} is level "
                f"{pl}; a grid must be exactly one level below its parent: fix the level or the "
                "parent_code.",
                u.geom[k],
            )
        )
    issues.extend(_prefix(u, kids))
    return issues, top


def _prefix(u: Units, kids: NDArray[np.intp]) -> list[Issue]:
    """Report children whose code does not extend the parent code, if the dataset mostly does."""
    if len(kids) < PREFIX_MIN_PAIRS:
        return []
    child = u.code[kids].astype(str)
    par = u.parent[kids].astype(str)
    ok = np.char.startswith(child, par) & (np.char.str_len(child) > np.char.str_len(par))
    share = float(ok.mean())
    if share < PREFIX_SHARE or ok.all():
        return []
    return [
        Issue(
            "error",
            "code_mismatch",
            int(u.level[k]),
            str(u.code[k]),
            str(u.parent[k]),
            0.0,
            f"Grid {u.code[k]} (level {u.level[k]}) does not start with its parent code "
            f"{u.parent[k]}, although {share:.0%} of the grids in this dataset extend their "
            "parent's code; check its code and parent_code.",
            u.geom[k],
        )
        for k in kids[~ok]
    ]
