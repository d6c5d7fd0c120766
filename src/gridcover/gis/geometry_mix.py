"""Real-world geometry mixes in optional context layers.

A street extract with a few points or GeometryCollections among thousands of lines, or a
buildings file with a stray line, is normal. Optional context layers (``LENIENT_KINDS``)
keep the parts that fit their kind (lines out of collections, polygons out of mixed
collections), drop rows with nothing that fits, and say how many and why. Required layers
(grids, cameras, posts) stay strict: a wrong geometry there is a row problem.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

LENIENT_KINDS: dict[str, tuple[int, ...]] = {
    "roads": (1, 5),  # LineString, MultiLineString
    "buildings": (3, 6),  # Polygon, MultiPolygon
    "sites": (3, 6, 0),  # polygons first, else points
}
_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
_MULTI = {1: shapely.multilinestrings, 3: shapely.multipolygons, 0: shapely.multipoints}


def keep_fitting_parts(
    geoms: np.ndarray, kind: str, ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Geometries of an optional layer reduced to the parts that fit ``kind``.

    Returns the new geometries, the rows to drop (nothing fits) and the notes saying how
    many rows were reduced or dropped and of which types. Other kinds pass through.
    """
    drop = np.zeros(len(geoms), dtype=bool)
    if kind not in LENIENT_KINDS or not ok.any():
        return geoms, drop, []
    wanted = LENIENT_KINDS[kind]
    out = geoms.copy()
    types = np.asarray(shapely.get_type_id(geoms))
    bad = ok & ~np.isin(types, wanted)
    if not bad.any():
        return geoms, drop, []
    rows = np.flatnonzero(bad)
    parts, idx = shapely.get_parts(geoms[rows], return_index=True)
    parts_again, idx2 = shapely.get_parts(parts, return_index=True)  # nested multi-parts
    ptypes = np.asarray(shapely.get_type_id(parts_again))
    owner = idx[idx2]
    reduced = 0
    for single in (t for t in wanted if t in _MULTI):
        take = ptypes == single
        for k in np.unique(owner[take]):
            r = rows[k]
            if drop[r] or out[r] is not geoms[r]:
                continue
            mine = parts_again[take & (owner == k)]
            out[r] = mine[0] if len(mine) == 1 else _MULTI[single](mine)
            reduced += 1
    left = np.array([out[r] is geoms[r] for r in rows], dtype=bool)
    drop[rows[left]] = True
    notes = []
    if reduced:
        notes.append(
            f"{reduced} mixed geometr(ies) reduced to their {kind}-type parts "
            f"({_names(wanted)}); the other parts were dropped"
        )
    if left.any():
        counts = pd.Series([_NAMES.get(int(t), "?") for t in types[rows[left]]]).value_counts()
        what = ", ".join(f"{n} {t}" for t, n in counts.items())
        notes.append(
            f"{int(left.sum())} feature(s) dropped from this optional {kind} layer: {what} "
            f"holding no {_names(wanted)}"
        )
    return out, drop, notes


def _names(types: tuple[int, ...]) -> str:
    return "/".join(_NAMES[t] for t in types)
