"""A cells part as the Arrow table GeoPandas would write, built from arrays.

A Dask partition writes up to ≈ 117,649 cells as points. Through GeoPandas that means a
shapely Point per cell, their WKB, their bounds for the bbox covering column, and a
GeoDataFrame around them: the largest part of a partition's write step. Here the points are
encoded straight from the lon/lat arrays (ISO WKB, little-endian, 21 bytes a point, the
bytes ``shapely.to_wkb(..., flavor="iso")`` writes), the bbox covering struct is lon/lat
itself, and the attribute columns go through ``pyarrow.Table.from_pandas`` exactly as in
GeoPandas' ``_geopandas_to_arrow``; the GeoParquet ``geo`` metadata is that of a one-point
GeoDataFrame with the full table's bbox. The table equals GeoPandas' (data, schema and
metadata; checked in tests/test_staged.py), so the parts stay readable by GeoPandas, pyogrio
and GDAL. No shapely object is made per cell.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

__all__ = ["points_table", "wkb_points"]

_WKB_POINT = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])


def wkb_points(x: np.ndarray, y: np.ndarray) -> pa.Array:
    """ISO WKB points (Arrow binary, 21 bytes each) of coordinates ``x``, ``y`` (any CRS;
    for GeoParquet lon/lat degrees in EPSG:4326)."""
    n = int(np.size(x))
    rec = np.empty(n, dtype=_WKB_POINT)
    rec["order"] = 1  # little-endian
    rec["kind"] = 1  # Point, 2D
    rec["x"] = x
    rec["y"] = y
    offsets = np.arange(0, 21 * (n + 1), 21, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())]
    )


def _geo_template(lon: float, lat: float) -> tuple[pa.Field, dict[str, Any]]:
    """Geometry field and ``geo`` metadata GeoPandas writes for points in EPSG:4326."""
    from geopandas.io.arrow import _geopandas_to_arrow

    one = gpd.GeoDataFrame(geometry=shapely.points([lon], [lat]), crs="EPSG:4326")
    table = _geopandas_to_arrow(one, index=False, write_covering_bbox=True)
    meta: dict[str, Any] = json.loads(table.schema.metadata[b"geo"])
    return table.schema.field("geometry"), meta


def points_table(
    before: dict[str, Any], lon: np.ndarray, lat: np.ndarray, after: dict[str, Any] | None = None
) -> pa.Table:
    """Arrow table of ``before`` columns, a ``geometry`` column of points (``lon``, ``lat``
    in EPSG:4326 degrees), ``after`` columns and the ``bbox`` covering column, with the
    GeoParquet metadata: what ``gdf.to_parquet(index=False, write_covering_bbox=True)``
    writes for the GeoDataFrame of those columns (``geometry`` after ``before``).

    ``lon`` and ``lat`` must be finite and hold at least one point.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.size == 0 or not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise ValueError("points_table needs at least one point and finite lon/lat")
    attrs = pd.DataFrame({**before, "geometry": None, **(after or {})})
    table = pa.Table.from_pandas(attrs, preserve_index=False)
    field, geo = _geo_template(float(lon[0]), float(lat[0]))
    geo["columns"]["geometry"]["bbox"] = [
        float(lon.min()),
        float(lat.min()),
        float(lon.max()),
        float(lat.max()),
    ]
    i = table.schema.get_field_index("geometry")
    table = table.set_column(i, field, wkb_points(lon, lat))
    bbox = pa.StructArray.from_arrays([lon, lat, lon, lat], names=["xmin", "ymin", "xmax", "ymax"])
    table = table.append_column("bbox", bbox)
    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = json.dumps(geo).encode("utf-8")
    return table.replace_schema_metadata(meta)
