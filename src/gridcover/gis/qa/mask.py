"""The grid-QA mask: areas that belong to no grid on purpose (water, rail yards, closed areas).

A gap between grids, or a part of a parent its children leave uncovered, is not an error
where it lies inside the mask: ``unmasked`` cuts the mask out of those parts before they are
measured (so a harbour between two districts is no "10.66 km² gap: extend a neighbour"), and
only what remains outside the mask is reported. ``mask_area_m2`` says how much was excluded.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

__all__ = ["mask_geometry", "unmasked"]


def mask_geometry(mask: gpd.GeoDataFrame | None, crs: pyproj.CRS) -> shapely.Geometry | None:
    """The union of the mask's polygons in the metric ``crs`` (None for no mask)."""
    if mask is None or len(mask) == 0:
        return None
    if mask.crs is None:
        from gridcover.errors import CRSError

        raise CRSError("The mask layer has no CRS; give a file with one (or read it with --crs).")
    g = np.asarray(mask.to_crs(crs).geometry.values)
    g = g[shapely.get_type_id(g) >= 3]  # polygons and multipolygons only
    g = g[~shapely.is_empty(g)]
    if g.size == 0:
        return None
    u = shapely.union_all(shapely.make_valid(g))
    shapely.prepare(u)
    return u


def unmasked(parts: np.ndarray, mask: shapely.Geometry | None) -> np.ndarray:
    """The parts with the mask cut out (unchanged without a mask)."""
    if mask is None or len(parts) == 0:
        return parts
    return np.asarray(shapely.difference(parts, mask), dtype=object)
