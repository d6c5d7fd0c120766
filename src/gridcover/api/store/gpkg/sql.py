"""Low-level GeoPackage access with sqlite3: geometry blobs, column types, dropping tables.

Reads use the standard library ``sqlite3`` (fast, per-thread connections); tables are
written by GDAL through pyogrio, which maintains the GeoPackage metadata and R-tree.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from gridcover.api.store.base import CollectionInfo, FieldInfo, FieldType
from gridcover.errors import InputError

# Envelope size in bytes by the envelope indicator bits of the GeoPackage binary header.
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_INTEGER_TYPES = ("INTEGER", "INT", "MEDIUMINT", "SMALLINT", "TINYINT", "BIGINT")
_NUMBER_TYPES = ("REAL", "DOUBLE", "FLOAT", "NUMERIC")


def quote(name: str) -> str:
    """An SQL identifier in double quotes (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def check_table_name(name: str) -> str:
    """Return ``name`` if it is a plain identifier, else raise ValueError (never user text)."""
    if not _SAFE_NAME.match(name):
        raise ValueError(f"internal table name {name!r} is not a plain identifier")
    return name


def blobs_to_geometries(blobs: Sequence[bytes | None]) -> np.ndarray:
    """GeoPackage geometry blobs -> shapely geometries (``None`` for NULL blobs)."""
    wkb: list[bytes | None] = []
    for b in blobs:
        if b is None:
            wkb.append(None)
            continue
        flags = b[3]
        if flags & 0b10000:  # empty-geometry flag
            wkb.append(None)
            continue
        start = 8 + _ENVELOPE_BYTES.get((flags >> 1) & 0b111, 0)
        wkb.append(b[start:])
    return shapely.from_wkb(np.array(wkb, dtype=object))


def field_type(sql_type: str) -> FieldType:
    """JSON type of a GeoPackage column type (``TEXT``, ``INTEGER``, ``REAL``, ``BOOLEAN``...)."""
    t = sql_type.upper().split("(")[0].strip()
    if t == "BOOLEAN":
        return "boolean"
    if t in _INTEGER_TYPES:
        return "integer"
    if t in _NUMBER_TYPES:
        return "number"
    return "string"


def table_columns(conn: sqlite3.Connection, table: str, geom_col: str) -> tuple[FieldInfo, ...]:
    """Attribute columns of a feature table (without fid and geometry), in table order."""
    rows = conn.execute(f"PRAGMA table_info({quote(table)})").fetchall()
    return tuple(
        FieldInfo(
            name=r[1],
            type=field_type(r[2] or "TEXT"),
            int64=(r[2] or "").upper() in ("INTEGER", "INT", "BIGINT"),
        )
        for r in rows
        if not r[5] and r[1] != geom_col  # r[5]: part of the primary key (fid)
    )


def geometry_column(conn: sqlite3.Connection, table: str) -> tuple[str, str]:
    """(geometry column name, geometry type name) of a GeoPackage feature table."""
    row = conn.execute(
        "SELECT column_name, geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ?",
        (table,),
    ).fetchone()
    if row is None:
        raise LookupError(f"table {table!r} has no geometry column in gpkg_geometry_columns")
    return str(row[0]), str(row[1])


def drop_feature_table(conn: sqlite3.Connection, table: str) -> None:
    """Drop a feature table, its R-tree and every GeoPackage metadata row naming it.

    Runs inside the caller's transaction. Triggers on the table are dropped with it.
    """
    check_table_name(table)
    try:
        geom_col, _ = geometry_column(conn, table)
    except LookupError:
        geom_col = "geom"
    conn.execute(f"DROP TABLE IF EXISTS {quote(f'rtree_{table}_{geom_col}')}")
    conn.execute(f"DROP TABLE IF EXISTS {quote(table)}")
    for meta in ("gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents", "gpkg_contents"):
        if _has_table(conn, meta):
            conn.execute(f"DELETE FROM {meta} WHERE table_name = ?", (table,))


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def feature_tables(conn: sqlite3.Connection) -> list[str]:
    """Names of every feature table registered in gpkg_contents."""
    if not _has_table(conn, "gpkg_contents"):
        return []
    rows = conn.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")
    return [str(r[0]) for r in rows]


def coerce_value(value: str, ftype: FieldType) -> Any:
    """A query-string value converted to the column's type; ValueError if it does not parse."""
    if ftype == "integer":
        out_int = int(value)
        # beyond SQLite's 64 bits: compare as a number (matches nothing), never overflow
        return out_int if -(2**63) <= out_int < 2**63 else float(out_int)
    if ftype == "number":
        out = float(value)
        if not np.isfinite(out):
            raise ValueError(value)
        return out
    if ftype == "boolean":
        low = value.strip().lower()
        if low in ("true", "1"):
            return 1
        if low in ("false", "0"):
            return 0
        raise ValueError(value)
    return value


def filter_value(info: CollectionInfo, name: str, raw: str) -> tuple[FieldInfo, Any]:
    """The property ``name`` of a collection and the query-string filter value ``raw`` in its
    type (``coerce_value``); InputError naming the collection, property and fix otherwise."""
    f = info.field(name)
    if f is None:
        raise InputError(
            f"collection {info.id!r} has no property {name!r}; "
            f"filter on one of {[x.name for x in info.fields]}"
        )
    try:
        return f, coerce_value(raw, f.type)
    except ValueError:
        raise InputError(
            f"filter {name}={raw!r}: property {name!r} of collection {info.id!r} is "
            f"of type {f.type}; give a value of that type"
        ) from None
