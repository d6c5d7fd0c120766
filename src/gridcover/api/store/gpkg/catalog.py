"""Catalog writes of the GeoPackage store: new tables, the layer pointer, published views.

``replace_layers`` in ``store_gpkg.py`` runs these inside one SQLite transaction: a layer's
new physical table (``cameras__3f9a01bc``), its id index, the ``gridcover_layers`` row that
points at it, its ``gridcover_collections`` rows (one per view), and the drop of the table it
replaces.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np

from gridcover.api.store import field_values as values
from gridcover.api.store.base import LayerWrite, ViewSpec
from gridcover.api.store.gpkg import sql as g
from gridcover.api.store.gpkg.features import write_feature_table
from gridcover.errors import InputError

LAYER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


@dataclass(frozen=True)
class PreparedWrite:
    """A checked layer write: the request, its frame in EPSG:4326, views and id column."""

    write: LayerWrite
    gdf: gpd.GeoDataFrame
    views: list[ViewSpec]
    id_column: str | None


def prepare_write(w: LayerWrite) -> PreparedWrite:
    """Check the layer name and prepare the frame (outside the write lock)."""
    if not LAYER_NAME.match(w.layer):
        raise InputError(
            f"layer name {w.layer!r} is not allowed; use lower-case letters, digits and "
            "underscores, starting with a letter (at most 48 characters)"
        )
    gdf = prepare_frame(w.gdf)
    views = list(w.views) if w.views else [ViewSpec(w.layer, w.meta.title, w.meta.description)]
    return PreparedWrite(w, gdf, views, values.id_column(gdf, w.meta.id_field))


def write_layer(conn: sqlite3.Connection, pw: PreparedWrite) -> None:
    """Write one layer's new table and point the catalog at it (caller's transaction)."""
    w, gdf, views, id_column = pw.write, pw.gdf, pw.views, pw.id_column
    table = f"{w.layer}__{uuid.uuid4().hex[:8]}"
    meta = w.meta
    write_feature_table(conn, table, gdf, meta.description)
    if id_column is not None:
        conn.execute(
            f"CREATE INDEX {g.quote('idx_' + table + '_id')} "
            f"ON {g.quote(table)} ({g.quote(id_column)})"
        )
    old = conn.execute(
        "SELECT table_name FROM gridcover_layers WHERE name = ?", (w.layer,)
    ).fetchone()
    conn.execute(
        "INSERT OR REPLACE INTO gridcover_layers VALUES (?,?,?,?,?,?,?,?,?)",
        (
            w.layer, table, meta.kind, meta.title, meta.description, meta.id_field,
            id_column, json.dumps(dict(meta.params), default=str), now(),
        ),
    )  # fmt: skip
    write_views(conn, w.layer, gdf, views)
    if old is not None:
        g.drop_feature_table(conn, old[0])


def write_views(
    conn: sqlite3.Connection, layer: str, gdf: gpd.GeoDataFrame, views: list[ViewSpec]
) -> None:
    """Replace the published collections of ``layer`` (keeps its place in the listing)."""
    row = conn.execute(
        "SELECT MIN(position) FROM gridcover_collections WHERE layer = ?", (layer,)
    ).fetchone()
    if row[0] is None:
        last = conn.execute("SELECT COALESCE(MAX(position), 0) FROM gridcover_collections")
        position = int(last.fetchone()[0]) + 1
    else:
        position = int(row[0])
    conn.execute("DELETE FROM gridcover_collections WHERE layer = ?", (layer,))
    for v in views:
        taken = conn.execute(
            "SELECT layer FROM gridcover_collections WHERE id = ?", (v.id,)
        ).fetchone()
        if taken is not None:
            raise InputError(
                f"collection id {v.id!r} is already published by layer {taken[0]!r}; "
                "choose another layer name"
            )
        part = gdf
        if v.where is not None:
            col, value = v.where
            if col not in gdf.columns:
                raise InputError(f"view {v.id!r} filters on {col!r}, not a column of {layer}")
            part = gdf[gdf[col] == value]
        valid = part.geometry[~(part.geometry.isna() | part.geometry.is_empty)]
        bounds = [float(x) for x in valid.total_bounds] if len(valid) else [None] * 4
        where = (v.where[0], json.dumps(v.where[1])) if v.where else (None, None)
        conn.execute(
            "INSERT OR REPLACE INTO gridcover_collections VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (v.id, layer, position, v.title, v.description, *where, len(part), *bounds),
        )


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def prepare_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy in EPSG:4326 with a plain index and no reserved column names."""
    if gdf.crs is None:
        raise InputError("the layer has no CRS; set one (e.g. EPSG:4326) before storing it")
    out = gdf.to_crs("EPSG:4326").reset_index(drop=True)
    if "fid" in out.columns:
        out = out.rename(columns={"fid": "fid_"})
    for col in out.columns:
        # int64 columns that fit in 32 bits are stored as 32-bit integers, so clients that
        # guess field types from a first page (GDAL) do not overflow on the wide ones.
        if col != out.geometry.name and out[col].dtype == np.int64 and len(out):
            lo, hi = int(out[col].min()), int(out[col].max())
            if lo >= -(2**31) and hi < 2**31:
                out[col] = out[col].astype(np.int32)
    return out
