"""Coordinate checks: degrees that are really metres, swapped lat/lon, points far outside
the area where their CRS is used, non-finite results of a transform, GCJ-02/BD-09 data
outside China. Each returns ``RowProblem`` values (see :mod:`gridcover.gis.validate`).
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from gridcover.gis.chinese_offsets import in_china_box
from gridcover.gis.crs import crs_label, guess_gk_epsg, looks_projected, transformer
from gridcover.gis.validate import RowProblem


def check_lonlat_range(bounds: np.ndarray, crs: pyproj.CRS, ok: np.ndarray) -> list[RowProblem]:
    """Problems of coordinates declared as geographic degrees (``bounds``: n x 4 in ``crs``).

    Metres labelled as degrees get likely Gauss-Krüger EPSG codes; values valid only when
    swapped get a 'swap?' hint; the rest are out of range.
    """
    xmin, ymin, xmax, ymax = bounds.T
    out_x = (np.abs(xmin) > 180) | (np.abs(xmax) > 180)
    out_y = (np.abs(ymin) > 90) | (np.abs(ymax) > 90)
    bad = ok & (out_x | out_y)
    if not bad.any():
        return _implausible(bounds, ok) or _swapped_by_area(bounds, crs, ok)
    rows = np.flatnonzero(bad)
    if looks_projected(bounds[bad][:, [0, 2]], bounds[bad][:, [1, 3]]) and (
        np.nanmax(np.abs(bounds[bad])) > 1000
    ):
        cx, cy = (xmin[bad] + xmax[bad]) / 2, (ymin[bad] + ymax[bad]) / 2
        codes = guess_gk_epsg(cx, cy)
        hint = (
            "likely CGCS2000 Gauss-Krüger, one of "
            + ", ".join(f"EPSG:{c}" for c in codes)
            + (
                " (the zone's central meridian must be nearest the data's longitude)"
                if len(codes) > 1
                else ""
            )
            if codes
            else "its real projected CRS"
        )
        return [
            RowProblem(
                rows,
                f"has coordinates like x={cx[0]:.1f}, y={cy[0]:.1f}, which are metres, not the "
                f"degrees that {crs_label(crs)} says",
                f"pass the real CRS with crs= ({hint}) or fix the file's CRS (.prj)",
            )
        ]
    swap_ok = (
        (np.abs(ymin) <= 180) & (np.abs(ymax) <= 180) & (np.abs(xmin) <= 90) & (np.abs(xmax) <= 90)
    )
    if swap_ok[bad].all():
        return [
            RowProblem(
                rows,
                "has latitude outside -90..90 but would be valid with x and y exchanged "
                "(latitude/longitude swapped?)",
                "swap? put longitude first (x) and latitude second (y), e.g. exchange the "
                "names of the lon/lat columns, or the coordinate order in the file",
            )
        ]
    return [
        RowProblem(
            rows,
            "lies outside longitude -180..180 / latitude -90..90",
            "correct the coordinates or declare the real CRS with crs=",
        )
    ]


PLAUSIBLE_LAT = (-60.0, 85.0)
"""Latitudes where gridcover data can be: no police grids or cameras south of 60 S."""


def _implausible(bounds: np.ndarray, ok: np.ndarray) -> list[RowProblem]:
    """Rows in Antarctica (legal degrees, implausible data); 'swap?' when swapping helps."""
    lo, hi = PLAUSIBLE_LAT
    out = ok & ((bounds[:, 1] < lo) | (bounds[:, 3] > hi))
    if not out.any():
        return []
    rows = np.flatnonzero(out)
    swapped_fine = (bounds[rows, 0] >= lo) & (bounds[rows, 2] <= hi)
    if swapped_fine.all():
        return [
            RowProblem(
                rows,
                f"has latitude {bounds[rows[0], 1]:.5f}, outside the plausible {lo:g}..{hi:g}, "
                "but would be plausible with x and y exchanged (latitude/longitude swapped?)",
                "swap? put longitude first (x) and latitude second (y), e.g. exchange the "
                "names of the lon/lat columns, or the coordinate order in the file",
            )
        ]
    return [
        RowProblem(
            rows,
            f"lies at latitude {bounds[rows[0], 1]:.5f}, outside the plausible extent of "
            f"gridcover data (latitude {lo:g}..{hi:g})",
            "check the coordinates and the declared CRS",
        )
    ]


def _swapped_by_area(bounds: np.ndarray, crs: pyproj.CRS, ok: np.ndarray) -> list[RowProblem]:
    area = crs.area_of_use
    if area is None or (area.east - area.west) >= 359:
        return []
    w, s, e, n = area.bounds
    inside = (bounds[:, 0] >= w) & (bounds[:, 2] <= e) & (bounds[:, 1] >= s) & (bounds[:, 3] <= n)
    swapped = (bounds[:, 1] >= w) & (bounds[:, 3] <= e) & (bounds[:, 0] >= s) & (bounds[:, 2] <= n)
    rows = np.flatnonzero(ok & ~inside & swapped)
    if len(rows) == 0:
        return []
    return [
        RowProblem(
            rows,
            f"lies outside the area of use of {crs_label(crs)} but inside it with x and y "
            "exchanged (latitude/longitude swapped?)",
            "swap? put longitude first (x) and latitude second (y)",
        )
    ]


def check_null_island(geoms: np.ndarray, ok: np.ndarray) -> list[RowProblem]:
    """Rows of a lon/lat layer with a vertex at exactly (0, 0): the placeholder that failed
    geocodes and blank coordinate cells turn into ('Null Island', open sea off Africa)."""
    if not ok.any():
        return []
    coords, idx = shapely.get_coordinates(geoms[ok], return_index=True)
    zero = (coords[:, 0] == 0) & (coords[:, 1] == 0)
    if not zero.any():
        return []
    rows = np.flatnonzero(ok)[np.unique(idx[zero])]
    return [
        RowProblem(
            rows,
            "has a vertex at exactly lon 0, lat 0 ('Null Island', in the open sea), the "
            "placeholder a missing or failed coordinate turns into",
            "give the real coordinates or delete the row",
        )
    ]


def check_extent(lonlat_bounds: np.ndarray, crs: pyproj.CRS, ok: np.ndarray) -> list[RowProblem]:
    """Rows (bounds in EPSG:4326) far outside the area of use of their source ``crs``.

    The margin is a quarter of the area's size, at least one degree.
    """
    area = crs.area_of_use
    if area is None or (area.east - area.west) >= 359:
        return []
    w, s, e, n = area.bounds
    if w > e:  # crosses the antimeridian: not checked
        return []
    mx, my = max(1.0, (e - w) / 4), max(1.0, (n - s) / 4)
    b = lonlat_bounds
    outside = ok & (
        (b[:, 0] < w - mx) | (b[:, 2] > e + mx) | (b[:, 1] < s - my) | (b[:, 3] > n + my)
    )
    if not outside.any():
        return []
    rows = np.flatnonzero(outside)
    lon, lat = (b[rows[0], 0] + b[rows[0], 2]) / 2, (b[rows[0], 1] + b[rows[0], 3]) / 2
    return [
        RowProblem(
            rows,
            f"lands at lon {lon:.4f}, lat {lat:.4f}, far outside the area where "
            f"{crs_label(crs)} is used ({area.name}: lon {w:g}..{e:g}, lat {s:g}..{n:g})",
            "check the CRS (another zone? metres vs feet?) and pass the right one with crs=",
        )
    ]


def check_axis_swap(geoms: np.ndarray, rows: np.ndarray, crs: pyproj.CRS) -> list[RowProblem]:
    """For ``rows`` of a projected layer (``geoms`` in ``crs``) that failed the transform or
    extent checks: one 'swap?' problem when every one of them lands inside the CRS's area
    of use with x and y exchanged (northing given first, as Chinese survey tables write
    X = 北 northing, Y = 东 easting); else nothing."""
    area = crs.area_of_use
    if len(rows) == 0 or not crs.is_projected or area is None:
        return []
    t = transformer(crs, 4326)

    def swapped(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(t.transform(xy[:, 1], xy[:, 0], errcheck=False))

    w, s, e, n = area.bounds
    if w > e:
        return []
    b = shapely.bounds(shapely.transform(geoms[rows], swapped))
    with np.errstate(invalid="ignore"):
        inside = (b[:, 0] >= w - 0.5) & (b[:, 2] <= e + 0.5) & (b[:, 1] >= s - 0.5)
        inside &= b[:, 3] <= n + 0.5
    if not inside.all():
        return []
    return [
        RowProblem(
            rows,
            f"lies outside the area of {crs_label(crs)} but inside it with x and y exchanged "
            "(easting/northing swapped?)",
            "swap? x must be the easting and y the northing; Chinese survey tables write "
            "X坐标 = northing (北) and Y坐标 = easting (东): name those columns 北坐标 and 东坐标 "
            "(or exchange x and y in the file)",
        )
    ]


def check_finite_after(geoms: np.ndarray, ok: np.ndarray, step: str) -> list[RowProblem]:
    """Rows whose coordinates became NaN/inf after ``step`` (a transform)."""
    coords, idx = shapely.get_coordinates(geoms[ok], return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if not bad.any():
        return []
    rows = np.flatnonzero(ok)[np.unique(idx[bad])]
    return [
        RowProblem(
            rows,
            f"has non-finite coordinates after {step}",
            "the coordinates are outside the CRS's valid area: check the declared CRS",
        )
    ]


def check_offset_area(
    lonlat_bounds: np.ndarray, ok: np.ndarray, coord_sys: str
) -> list[RowProblem]:
    """Rows outside China although ``coord_sys`` (gcj02/bd09) is only used inside China."""
    b = lonlat_bounds
    inside = in_china_box(b[:, 0], b[:, 1]) & in_china_box(b[:, 2], b[:, 3])
    rows = np.flatnonzero(ok & ~inside)
    if len(rows) == 0:
        return []
    return [
        RowProblem(
            rows,
            f"lies outside China, where {coord_sys} coordinates are not used",
            "drop coord_sys= (the data is probably plain WGS84) or check the coordinates",
        )
    ]
