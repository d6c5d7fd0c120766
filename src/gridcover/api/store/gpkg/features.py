"""Write and read GeoPackage feature tables with the standard library ``sqlite3`` only.

Why not GDAL here: pyogrio's GDAL carries its own copy of SQLite. Two SQLite libraries that
open the same file in one process break each other's POSIX locks (closing a descriptor in
one drops the locks of the other; see "How To Corrupt An SQLite Database File", 2.2), which
corrupted the store under concurrent reads in testing. So the server process touches the
store with one SQLite library only; GDAL is used just for separate download files.

Tables follow GeoPackage 1.2 (binary geometry header, gpkg_contents, gpkg_geometry_columns,
an R-tree per table registered as gpkg_rtree_index). Store tables are written once and never
edited in place, so the R-tree maintenance triggers are not created; GDAL and QGIS read the
file as usual.
"""

from __future__ import annotations

import sqlite3
import struct
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridcover.api.store.base import FieldInfo
from gridcover.api.store.field_values import typed_column
from gridcover.api.store.gpkg.sql import blobs_to_geometries, quote

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10200
_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
_CORE_SQL = f"""
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
    srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
    organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES
    ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian'),
    ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic'),
    ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{_WGS84_WKT}', 'longitude/latitude WGS 84');
CREATE TABLE IF NOT EXISTS gpkg_contents (
    table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
    description TEXT DEFAULT '', last_change DATETIME NOT NULL
    DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE,
    max_y DOUBLE, srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
    table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
    srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
    CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
    CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
    CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE IF NOT EXISTS gpkg_extensions (
    table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
    definition TEXT NOT NULL, scope TEXT NOT NULL,
    CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
"""
_RTREE_EXT = "http://www.geopackage.org/spec120/#extension_rtree"
_HEADER = struct.Struct("<2sBBi")
_ENVELOPE = struct.Struct("<4d")


def init_geopackage(conn: sqlite3.Connection) -> None:
    """Make an empty SQLite file a GeoPackage (idempotent)."""
    conn.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
    for statement in _CORE_SQL.split(";\n"):
        if statement.strip():
            conn.execute(statement)


def _sql_type(s: pd.Series) -> str:
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dt):
        return "MEDIUMINT" if dt.itemsize <= 4 else "INTEGER"
    if pd.api.types.is_float_dtype(dt):
        return "REAL"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "DATETIME"
    return "TEXT"


def _column_values(s: pd.Series, sql_type: str) -> list[Any]:
    """Python values of a column for sqlite (None for missing)."""
    if sql_type == "DATETIME":
        ts = pd.to_datetime(s, utc=True)
        text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        return [None if pd.isna(v) else t for v, t in zip(ts, text, strict=True)]
    values = s.astype(object).where(s.notna(), None).tolist()
    if sql_type == "TEXT":
        return [v if v is None or isinstance(v, str) else str(v) for v in values]
    if sql_type == "BOOLEAN":
        return [None if v is None else int(bool(v)) for v in values]
    if sql_type == "REAL":
        return [None if v is None or not np.isfinite(v) else float(v) for v in values]
    return [None if v is None else int(v) for v in values]


def geometry_blobs(geoms: np.ndarray, srs_id: int = 4326) -> list[bytes | None]:
    """Shapely geometries -> GeoPackage binary blobs (envelope for non-points)."""
    wkb = shapely.to_wkb(geoms, byte_order=1, output_dimension=2)
    bounds = shapely.bounds(geoms)
    empty = shapely.is_empty(geoms)
    points = shapely.get_type_id(geoms) == 0
    out: list[bytes | None] = []
    for i, w in enumerate(wkb):
        if w is None:
            out.append(None)
        elif empty[i]:
            out.append(_HEADER.pack(b"GP", 0, 0b10001, srs_id) + w)
        elif points[i]:
            out.append(_HEADER.pack(b"GP", 0, 0b00001, srs_id) + w)
        else:
            b = bounds[i]
            env = _ENVELOPE.pack(b[0], b[2], b[1], b[3])
            out.append(_HEADER.pack(b"GP", 0, 0b00011, srs_id) + env + w)
    return out


def _geometry_type_name(geoms: gpd.GeoSeries) -> str:
    types = set(geoms.dropna().geom_type.str.upper())
    return types.pop() if len(types) == 1 else "GEOMETRY"


def write_feature_table(
    conn: sqlite3.Connection, table: str, gdf: gpd.GeoDataFrame, description: str = ""
) -> None:
    """Create ``table`` from a GeoDataFrame in EPSG:4326 inside the caller's transaction."""
    geom_name = gdf.geometry.name
    cols = [c for c in gdf.columns if c != geom_name]
    types = {c: _sql_type(gdf[c]) for c in cols}
    ddl = ", ".join(f"{quote(c)} {types[c]}" for c in cols)
    conn.execute(
        f"CREATE TABLE {quote(table)} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom GEOMETRY"
        + (f", {ddl})" if ddl else ")")
    )
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    blobs = geometry_blobs(geoms)
    columns = [_column_values(gdf[c], types[c]) for c in cols]
    rows = zip(range(1, len(gdf) + 1), blobs, *columns, strict=True)
    marks = ", ".join("?" * (len(cols) + 2))
    conn.executemany(f"INSERT INTO {quote(table)} VALUES ({marks})", rows)
    rtree = quote(f"rtree_{table}_geom")
    conn.execute(f"CREATE VIRTUAL TABLE {rtree} USING rtree(id, minx, maxx, miny, maxy)")
    bounds = shapely.bounds(geoms)
    ok = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    conn.executemany(
        f"INSERT INTO {rtree} VALUES (?, ?, ?, ?, ?)",
        ((int(i) + 1, *map(float, bounds[i][[0, 2, 1, 3]])) for i in ok),
    )
    ext = bounds[ok]
    extent = (
        [float(ext[:, 0].min()), float(ext[:, 1].min()), float(ext[:, 2].max()),
         float(ext[:, 3].max())] if len(ext) else [None] * 4
    )  # fmt: skip
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    conn.execute(
        "INSERT INTO gpkg_contents VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?, 4326)",
        (table, table, description, now, *extent),
    )
    conn.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)",
        (table, _geometry_type_name(gdf.geometry)),
    )
    conn.execute(
        "INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', ?, 'write-only')",
        (table, _RTREE_EXT),
    )


def read_feature_table(
    conn: sqlite3.Connection,
    table: str,
    fields: tuple[FieldInfo, ...],
    where: str = "",
    args: tuple[Any, ...] = (),
) -> gpd.GeoDataFrame:
    """A whole feature table (optionally filtered) as a GeoDataFrame in EPSG:4326."""
    names = [f.name for f in fields]
    cols = ", ".join(quote(n) for n in names)
    sql = f"SELECT geom{', ' + cols if cols else ''} FROM {quote(table)} t"
    rows = conn.execute(sql + (f" WHERE {where}" if where else "") + " ORDER BY fid", args)
    data = rows.fetchall()
    geoms = blobs_to_geometries([r[0] for r in data])
    frame: dict[str, Any] = {}
    for j, f in enumerate(fields, start=1):
        values = [r[j] for r in data]
        frame[f.name] = typed_column(values, f)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))
