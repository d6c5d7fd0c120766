"""Coordinate sanity of writes and uploads, against what the store already holds.

The foundation's reader catches impossible coordinates (a latitude of 116). Two mistakes it
cannot see alone, because the wrong values are still possible places:

- **swapped lon/lat**: Helsinki's (24.94, 60.17) written as (60.17, 24.94) is a valid point in
  Kazakhstan. Compared with the stored layers (the same layer before the write, the grids),
  the points lie far outside their extent while the swapped points lie inside it: refused.
- **degrees declared as a projected CRS**: ``crs=EPSG:3857`` on a file holding degrees puts
  everything within a few hundred metres of Null Island. Read back in the declared CRS, every
  coordinate is degree-sized (|x| <= 180, |y| <= 90), which no real metre grid of a city is:
  refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyproj
import shapely

from gridcover.errors import CRSError

Extent = tuple[float, float, float, float]


def _points(geoms: np.ndarray) -> np.ndarray:
    """(n, 2) lon/lat of a representative point per non-empty geometry."""
    geoms = np.asarray(geoms, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return np.empty((0, 2))
    pts = shapely.point_on_surface(geoms[ok])
    return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])


def _inside(xy: np.ndarray, extent: Extent) -> np.ndarray:
    minx, miny, maxx, maxy = extent
    # a margin of half the extent (at least 0.05 degrees, ~5 km): new places near the edge
    mx = max(0.5 * (maxx - minx), 0.05)
    my = max(0.5 * (maxy - miny), 0.05)
    return (
        (xy[:, 0] >= minx - mx)
        & (xy[:, 0] <= maxx + mx)
        & (xy[:, 1] >= miny - my)
        & (xy[:, 1] <= maxy + my)
    )


def check_not_swapped(
    geoms: np.ndarray, references: Sequence[tuple[str, Extent]], what: str
) -> None:
    """CRSError if the geometries lie outside every reference extent but their swapped
    (lat, lon) points lie inside one: the coordinates were given latitude first.

    ``references``: (name, lon/lat extent) of stored layers to compare with.
    """
    xy = _points(geoms)
    if not len(xy):
        return
    for name, extent in references:
        inside = _inside(xy, extent).mean()
        swapped = _inside(xy[:, ::-1], extent).mean()
        if inside < 0.5 and swapped >= 0.9:
            x, y = xy[0]
            raise CRSError(
                f"{what}: the coordinates look swapped: (lon {x:.5f}, lat {y:.5f}) lies far "
                f"outside the stored {name} ({extent[0]:.3f}..{extent[2]:.3f} E, "
                f"{extent[1]:.3f}..{extent[3]:.3f} N), while the swapped point (lon {y:.5f}, "
                f"lat {x:.5f}) lies inside it; send longitude first ([lon, lat], as GeoJSON "
                "requires) or swap the columns"
            )


def stored_extents(collections: Sequence[Any], layers: Sequence[str]) -> list[tuple[str, Extent]]:
    """(layer, lon/lat extent) of each of ``layers`` that is stored and not empty (the union
    of its collections' extents)."""
    out = []
    for layer in layers:
        boxes = [c.bbox for c in collections if c.layer == layer and c.bbox and c.count]
        if boxes:
            b = np.array(boxes, dtype=float)
            out.append((layer, (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())))
    return out


def check_declared_crs(geoms: np.ndarray, declared: Any, what: str) -> None:
    """CRSError if ``declared`` is projected but the data, read back in it, is degree-sized.

    ``geoms`` are the stored geometries (EPSG:4326) made with ``declared`` as source CRS.
    """
    if declared is None:
        return
    crs = pyproj.CRS.from_user_input(declared)
    if not crs.is_projected:
        return
    xy = _points(geoms)
    if not len(xy):
        return
    back = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = back.transform(xy[:, 0], xy[:, 1])
    if np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
        raise CRSError(
            f"{what}: crs={declared} is a projected CRS in metres, but every coordinate is "
            f"between -180 and 180 (e.g. {x[0]:.5f}, {y[0]:.5f}): these are degrees, which "
            "would put the layer next to Null Island; leave crs empty (or give EPSG:4326 / "
            "EPSG:4490) for longitude/latitude data"
        )
