"""One-feature edits of the GeoPackage store, in place, in the caller's write transaction.

The row is found through the layer's id index, updated (or inserted, or deleted) with its
R-tree entry, and the catalog's counts and extents are adjusted: O(log n) work whatever the
layer's size. The caller holds ``BEGIN IMMEDIATE`` (the SQLite write lock, across processes)
from before the read until the commit, so readers (WAL snapshots) see the old row or the new
one, and two edits of one feature are never interleaved. Extents only grow with edits (a
deleted or moved feature may leave the stored extent larger than the data until the next
upload of the layer; an extent is allowed to enclose more than the data).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np
import shapely

from gridcover.api.store.base import (
    EditMode,
    EditPlan,
    FeatureEdit,
    FeatureRow,
    FieldInfo,
)
from gridcover.api.store.edits import checked_after
from gridcover.api.store.field_values import decode_row
from gridcover.api.store.gpkg import sql as g
from gridcover.api.store.gpkg.catalog import now
from gridcover.api.store.gpkg.features import geometry_blobs
from gridcover.errors import Conflict, NotFound


def edit_row(
    conn: sqlite3.Connection,
    layer: str,
    table: str,
    id_column: str | None,
    fields: tuple[FieldInfo, ...],
    feature_id: str,
    plan: EditPlan,
    mode: EditMode,
) -> FeatureEdit:
    """Read, plan and write one feature of ``table`` (inside the caller's transaction)."""
    if id_column is None:
        raise Conflict(
            f"layer {layer!r} has no unique id column, so its features cannot be edited one "
            f"by one; upload the whole layer instead (PUT /layers/{layer})"
        )
    id_field = next(f for f in fields if f.name == id_column)
    names = [f.name for f in fields]
    cols = ", ".join(g.quote(n) for n in names)
    old = None
    try:
        key = g.coerce_value(feature_id, id_field.type)
    except ValueError:
        key = None
    if key is not None:
        old = conn.execute(
            f"SELECT fid, geom, {cols} FROM {g.quote(table)} WHERE {g.quote(id_column)} = ? "
            "LIMIT 1",
            (key,),
        ).fetchone()
    before = None
    if old is not None:
        geom = g.blobs_to_geometries([old[1]])[0]
        before = FeatureRow(geom, decode_row(dict(zip(names, old[2:], strict=True)), fields))
    if mode == "create" and before is not None:
        raise Conflict(f"{layer} already has a feature with {id_column} {feature_id!r}")
    if mode != "create" and before is None:
        raise NotFound(f"{layer} has no feature with {id_column} {feature_id!r}")
    after = checked_after(plan(before), names, id_column, feature_id)
    if mode == "delete" or after is None:
        fid = int(old[0])  # type: ignore[index]
        conn.execute(f"DELETE FROM {g.quote(table)} WHERE fid = ?", (fid,))
        conn.execute(f"DELETE FROM {g.quote(_rtree(table))} WHERE id = ?", (fid,))
        _update_catalog(conn, layer, table, before, None)
        return FeatureEdit(before, None)
    blob = geometry_blobs(np.array([after.geometry], dtype=object))[0]
    values = [_sql_value(after.properties.get(f.name), f) for f in fields]
    if old is None:
        marks = ", ".join("?" * (len(fields) + 1))
        cur = conn.execute(
            f"INSERT INTO {g.quote(table)} (geom{', ' + cols if cols else ''}) VALUES ({marks})",
            (blob, *values),
        )
        fid = int(cur.lastrowid or 0)
    else:
        fid = int(old[0])
        sets = ", ".join(f"{g.quote(n)} = ?" for n in ["geom", *names])
        conn.execute(f"UPDATE {g.quote(table)} SET {sets} WHERE fid = ?", (blob, *values, fid))
        conn.execute(f"DELETE FROM {g.quote(_rtree(table))} WHERE id = ?", (fid,))
    bounds = _bounds(after)
    if bounds is not None:
        conn.execute(
            f"INSERT INTO {g.quote(_rtree(table))} VALUES (?, ?, ?, ?, ?)",
            (fid, bounds[0], bounds[2], bounds[1], bounds[3]),
        )
    _update_catalog(conn, layer, table, before, after)
    return FeatureEdit(before, after)


def _rtree(table: str) -> str:
    return f"rtree_{table}_geom"


def _sql_value(value: Any, f: FieldInfo) -> Any:
    """A typed property value as SQLite stores it (booleans as 0/1)."""
    if value is None:
        return None
    if f.type == "boolean":
        return int(bool(value))
    return value


def _bounds(row: FeatureRow | None) -> tuple[float, float, float, float] | None:
    if row is None or row.geometry is None or row.geometry.is_empty:
        return None
    b = shapely.bounds(row.geometry)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _in_view(row: FeatureRow | None, where_column: str | None, where_value: str | None) -> bool:
    if row is None:
        return False
    if where_column is None:
        return True
    return bool(row.properties.get(where_column) == json.loads(str(where_value)))


def _update_catalog(
    conn: sqlite3.Connection,
    layer: str,
    table: str,
    before: FeatureRow | None,
    after: FeatureRow | None,
) -> None:
    """Counts and extents of the layer's collections, the table's extent and geometry type,
    and the layer's update time, after one edit."""
    views = conn.execute(
        "SELECT id, where_column, where_value, count, minx, miny, maxx, maxy "
        "FROM gridcover_collections WHERE layer = ?",
        (layer,),
    ).fetchall()
    bounds = _bounds(after)
    for cid, wcol, wval, count, *ext in views:
        was, now_in = _in_view(before, wcol, wval), _in_view(after, wcol, wval)
        count = int(count) + int(now_in) - int(was)
        if now_in and bounds is not None:
            ext = _grow(ext, bounds)
        conn.execute(
            "UPDATE gridcover_collections SET count = ?, minx = ?, miny = ?, maxx = ?, "
            "maxy = ? WHERE id = ?",
            (count, *ext, cid),
        )
    if bounds is not None:
        row = conn.execute(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?",
            (table,),
        ).fetchone()
        conn.execute(
            "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, "
            "last_change = ? WHERE table_name = ?",
            (*_grow(list(row), bounds), now(), table),
        )
        gtype = g.geometry_column(conn, table)[1]
        new_type = after.geometry.geom_type.upper() if after and after.geometry else gtype
        if gtype != "GEOMETRY" and new_type != gtype:
            conn.execute(
                "UPDATE gpkg_geometry_columns SET geometry_type_name = 'GEOMETRY' "
                "WHERE table_name = ?",
                (table,),
            )
    conn.execute("UPDATE gridcover_layers SET updated = ? WHERE name = ?", (now(), layer))


def _grow(ext: list[Any], b: tuple[float, float, float, float]) -> list[float]:
    if ext[0] is None:
        return list(b)
    return [min(ext[0], b[0]), min(ext[1], b[1]), max(ext[2], b[2]), max(ext[3], b[3])]
