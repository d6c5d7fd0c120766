"""Priority areas that cameras declare: GB/T 28181 PositionType 8, 9 and 10.

A camera ledger (or a platform's Catalog answer) says where a camera stands; three of the
ten PositionType codes name a kind of place the priority model weighs (the others, 1-7,
name places such as 党政机关 or 商业中心 that add no priority):

====  ==============  ===================  ============  ======================================
code  class           meaning              component     weight
====  ==============  ===================  ============  ======================================
8     school          校园周边              ``sites``     ``sites.kind_weights.school``
9     complex         治安复杂区域          ``incidents`` ``positions.complex_weight``
10    trunk           交通干线              ``roads``     ``roads.class_weights.trunk``
====  ==============  ===================  ============  ======================================

Every cell whose centroid is within the class's radius (``[positions] school_radius_m``,
``complex_radius_m``, ``trunk_radius_m``; metres, in the cells' metric CRS) of such a camera
gets the class's weight in that component (the largest one where several apply, as for
sites and roads); the components then combine by the weights' rule (``[cells] combine``).
The camera's status does not matter: the ledger describes the place, not the picture.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.coverage.weights import Weights
from gridcover.errors import CRSError

__all__ = [
    "DECLARED_CODES",
    "declared_cameras",
    "declared_components",
    "declared_note",
    "declared_points",
    "declared_reach_m",
]

DECLARED_CODES: dict[int, tuple[str, str, str]] = {
    8: ("school surroundings", "sites", "校园周边"),
    9: ("complex public-security areas", "incidents", "治安复杂区域"),
    10: ("trunk roads", "roads", "交通干线"),
}
"""PositionType code -> (class in words, priority component, 中文)."""


def _codes(cameras: gpd.GeoDataFrame | pd.DataFrame | None) -> np.ndarray:
    """Per camera, its PositionType as int64 (0 where missing or not a number)."""
    if cameras is None or "position_type" not in cameras.columns:
        return np.zeros(0 if cameras is None else len(cameras), np.int64)
    raw = pd.to_numeric(cameras["position_type"], errors="coerce").to_numpy(float, na_value=0.0)
    return np.where(np.isfinite(raw), raw, 0.0).astype(np.int64)


def declared_cameras(cameras: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The rows of ``cameras`` that declare PositionType 8/9/10 (geometry and code), or
    None: what a partition of a distributed run needs of them."""
    codes = _codes(cameras)
    keep = np.isin(codes, list(DECLARED_CODES))
    if cameras is None or not keep.any():
        return None
    return cameras.loc[keep, ["position_type", cameras.geometry.name]]


def declared_points(
    cameras: gpd.GeoDataFrame | None, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray] | None:
    """(points in the metric ``crs``, PositionType codes) of the cameras declaring 8/9/10,
    or None when none does. ``cameras``: a canonical cameras layer (any CRS)."""
    codes = _codes(cameras)
    keep = np.isin(codes, list(DECLARED_CODES))
    if cameras is None or not keep.any():
        return None
    if cameras.crs is None:
        raise CRSError("The cameras layer has no CRS; read it with gis.read_layer.")
    pts = cameras.geometry[keep].to_crs(crs)
    ok = ~(pts.isna() | pts.is_empty).to_numpy()
    return np.asarray(pts.values)[ok], codes[keep][ok]


def _radius(code: int, w: Weights) -> float:
    return {8: w.school_radius_m, 9: w.complex_radius_m, 10: w.trunk_radius_m}[code]


def _weight(code: int, w: Weights) -> float:
    if code == 8:
        return float(w.site_kinds.get("school", w.site_kinds.get("other", 0.0)))
    if code == 9:
        return w.complex_weight
    return w.road_weight("trunk")


def declared_reach_m(w: Weights) -> float:
    """The largest declared-area radius (metres): how far a declaring camera weighs."""
    return max(w.school_radius_m, w.complex_radius_m, w.trunk_radius_m)


def declared_components(
    tree: shapely.STRtree, n_cells: int, points: np.ndarray, codes: np.ndarray, w: Weights
) -> dict[str, np.ndarray]:
    """Per priority component ("sites", "incidents", "roads"), the per-cell weight the
    declaring cameras give: the class weight on cells whose centroid (``tree``, metric) is
    within the class radius of a camera ``points`` (metric), 0 elsewhere."""
    out: dict[str, np.ndarray] = {}
    for code, (_, comp, _) in DECLARED_CODES.items():
        sel = codes == code
        arr = np.zeros(n_cells)
        if sel.any():
            hit = np.unique(
                tree.query(points[sel], predicate="dwithin", distance=_radius(code, w))[1]
            )
            arr[hit] = _weight(code, w)
        out[comp] = arr
    return out


def declared_note(cameras: gpd.GeoDataFrame | None, w: Weights) -> tuple[str, ...]:
    """The run note: how many cameras declare PositionType 8/9/10 and of which class."""
    codes = _codes(cameras)
    counts = {c: int((codes == c).sum()) for c in DECLARED_CODES}
    total = sum(counts.values())
    if total == 0:
        return ()
    parts = ", ".join(
        f"{counts[c]} {DECLARED_CODES[c][0]} ({DECLARED_CODES[c][2]}, {_radius(c, w):g} m)"
        for c in DECLARED_CODES
    )
    return (
        f"{total} camera{'s' if total != 1 else ''} declare PositionType 8/9/10: {parts} "
        "added as priority areas (weights [positions]).",
    )
