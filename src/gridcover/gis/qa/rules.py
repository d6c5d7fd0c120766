"""Grid QA building blocks: thresholds, issue rows, grid units, part measures and the sliver rule.

All functions take shapely geometry arrays already projected to a local metric CRS (metres);
nothing here knows about codes or levels. See docs/GRID_QA.md for why the defaults are what
they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray

from gridcover.errors import InputError

GeomArray = NDArray[np.object_]

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


@dataclass(frozen=True)
class Thresholds:
    """Tolerances of the grid checks, all in metres or square metres.

    - ``sliver_max_area_m2``: a grid smaller than this is a *tiny* grid (sliver warning).
    - ``sliver_thinness``: a grid whose Polsby-Popper compactness 4πA/P² is below this is a
      *thin* grid (sliver warning). A 50:1 rectangle scores 0.06, a square 0.785, a disc 1.
    - ``gap_min_area_m2``: an overlap, gap, outside or uncovered part smaller than this is a
      sliver: reported as a warning, not an error.
    - ``tolerance_m``: likewise for a part whose mean width 2A/P (the width of a strip; half
      the widest point of a wedge) is below this: digitising noise, reported as a warning.
    - ``ignore_below_m2``: parts smaller than this are floating-point residue of the overlay
      and are not reported at all.
    """

    sliver_max_area_m2: float = 100.0
    sliver_thinness: float = 0.05
    gap_min_area_m2: float = 1.0
    tolerance_m: float = 1.0
    ignore_below_m2: float = 0.01

    def __post_init__(self) -> None:
        for name in (
            "sliver_max_area_m2",
            "sliver_thinness",
            "gap_min_area_m2",
            "tolerance_m",
            "ignore_below_m2",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InputError(
                    f"Grid QA threshold {name}={value!r} is not a finite number >= 0; "
                    "pass a value in metres or square metres."
                )
        if self.sliver_thinness > 1:
            raise InputError(
                f"sliver_thinness={self.sliver_thinness} is above 1, the Polsby-Popper score "
                "of a disc; pass a value between 0 and 1 (default 0.05)."
            )


def polygonal(geoms: GeomArray) -> GeomArray:
    """Keep only the polygonal parts of each geometry (invalid ones repaired by make_valid).

    Returns one Polygon/MultiPolygon (possibly empty) per input, same order; None stays None.
    Lines and points produced by overlays or by make_valid are dropped.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    present = ~shapely.is_missing(geoms)
    bad = present & ~shapely.is_valid(geoms)
    if bad.any():
        out[bad] = shapely.make_valid(geoms[bad])
    types = shapely.get_type_id(out)
    mixed = present & ~np.isin(types, _POLYGONAL)
    if mixed.any():
        parts, idx = shapely.get_parts(out[mixed], return_index=True)
        parts, idx = _polygons_of(parts, idx)
        rebuilt = np.full(int(mixed.sum()), None, dtype=object)
        shapely.multipolygons(parts, indices=idx, out=rebuilt)
        empty = shapely.is_missing(rebuilt)
        rebuilt[empty] = shapely.from_wkt("MULTIPOLYGON EMPTY")
        out[mixed] = rebuilt
    return out


def _polygons_of(parts: GeomArray, idx: NDArray[np.intp]) -> tuple[GeomArray, NDArray[np.intp]]:
    """Flatten nested collections and keep only Polygon parts, with their owner index."""
    while True:
        types = shapely.get_type_id(parts)
        nested = np.isin(
            types, (shapely.GeometryType.MULTIPOLYGON, shapely.GeometryType.GEOMETRYCOLLECTION)
        )
        if not nested.any():
            break
        sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sub_idx]])
    keep = (types == shapely.GeometryType.POLYGON) & ~shapely.is_empty(parts)
    order = np.argsort(idx[keep], kind="stable")
    return parts[keep][order], idx[keep][order]


def explode(geoms: GeomArray) -> tuple[GeomArray, NDArray[np.intp]]:
    """Polygon parts of polygonal geometries and the index of the geometry each came from."""
    geoms = np.asarray(geoms, dtype=object)
    present = ~shapely.is_missing(geoms)
    parts, idx = shapely.get_parts(geoms[present], return_index=True)
    owner = np.flatnonzero(present)[idx]
    return _polygons_of(parts, owner)


@dataclass(frozen=True)
class Measures:
    """Area (m²), perimeter (m), mean width 2A/P (m) and Polsby-Popper 4πA/P² per geometry."""

    area: NDArray[np.float64]
    perimeter: NDArray[np.float64]
    width: NDArray[np.float64]
    compactness: NDArray[np.float64]


def measure(geoms: GeomArray) -> Measures:
    """Measures of metric geometries; empty geometries get zeros."""
    area = np.nan_to_num(shapely.area(geoms))
    perim = np.nan_to_num(shapely.length(geoms))
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(perim > 0, 2.0 * area / perim, 0.0)
        pp = np.where(perim > 0, 4.0 * math.pi * area / perim**2, 0.0)
    return Measures(area, perim, width, pp)


def is_noise(m: Measures, th: Thresholds) -> NDArray[np.bool_]:
    """True for problem parts that are slivers (too small or too thin to be real errors)."""
    return (m.area < th.gap_min_area_m2) | (m.width < th.tolerance_m)


def fmt_m2(value: float) -> str:
    """Square metres for people: 0.03 m², 140.1 m², 12,345 m², 2.35 km²."""
    if value >= 1e6:
        return f"{value / 1e6:,.2f} km²"
    if value >= 1000:
        return f"{value:,.0f} m²"
    if value >= 1:
        return f"{value:.1f} m²"
    return f"{value:.2g} m²"


def fmt_m(value: float) -> str:
    """Metres for people: 0.02 m, 1.1 m, 35 m."""
    return f"{value:.2g} m" if value < 1 else (f"{value:.1f} m" if value < 10 else f"{value:.0f} m")


class Issue(NamedTuple):
    """One row of the issue table (geometry in the metric CRS until the adapter converts it)."""

    severity: str  # "error" | "warning"
    check: str
    level: int | None
    code: str | None
    other_code: str | None
    area_m2: float
    message: str
    geometry: Any


@dataclass(frozen=True)
class Units:
    """Grids after merging rows that share (code, level): what the topology checks work on.

    ``geom`` is polygonal and in the metric CRS; ``parent_idx`` is the row of the parent unit
    in these arrays, or -1 when the parent is unknown (top level, orphan, own parent).
    """

    code: NDArray[np.object_]
    level: NDArray[np.int64]
    parent: NDArray[np.object_]
    name: NDArray[np.object_]
    geom: GeomArray
    parent_idx: NDArray[np.intp]


def aggregate_parts(
    parts: GeomArray, owner: NDArray[np.intp], n: int, th: Thresholds
) -> tuple[
    NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64], GeomArray
]:
    """Sum the problem parts of each of ``n`` owners.

    Returns per owner: total area (m²), whether any part is real (not a sliver), the area and
    mean width of the largest part, and a MultiPolygon of all parts (None where no part).
    """
    by_owner = np.argsort(owner, kind="stable")
    parts, owner = parts[by_owner], owner[by_owner]
    m = measure(parts)
    real = ~is_noise(m, th)
    total = np.bincount(owner, weights=m.area, minlength=n).astype(np.float64)
    any_real = np.asarray(np.bincount(owner, weights=real.astype(float), minlength=n) > 0)
    big_area = np.zeros(n)
    big_width = np.zeros(n)
    order = np.lexsort((m.area, owner))  # last per owner = largest part
    last = np.r_[owner[order][1:] != owner[order][:-1], True] if len(order) else order.astype(bool)
    sel = order[last]
    big_area[owner[sel]] = m.area[sel]
    big_width[owner[sel]] = m.width[sel]
    geoms = np.full(n, None, dtype=object)
    if len(parts):
        shapely.multipolygons(parts, indices=owner, out=geoms)
    return total, any_real, big_area, big_width, geoms
