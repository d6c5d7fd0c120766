"""One-feature edits on the PostGIS store, run under the caller's database role.

``edit_feature(conn, ...)`` runs inside the caller's transaction: it locks the layer, reads
the row before, switches to the actor's role (``SET LOCAL ROLE`` + ``gridcover.grid_code``),
applies the INSERT/UPDATE/DELETE (row-level security checks it), switches back, refreshes the
collection statistics and calls the audit hook. A policy refusal becomes PermissionDenied.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely

from gridcover.api.store.audit import now_iso
from gridcover.api.store.base import (
    Actor,
    EditHook,
    EditMode,
    EditPlan,
    FeatureEdit,
    FeatureRow,
    FieldInfo,
)
from gridcover.api.store.edits import checked_after
from gridcover.api.store.field_values import decode_row
from gridcover.api.store.postgis import sql as q
from gridcover.errors import Conflict, NotFound, PermissionDenied


def lock_layer(conn: Any, layer: str) -> None:
    """Serialise writers of one layer until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(7274100, hashtext(%s))", (layer,))


def set_role(conn: Any, actor: Actor | None) -> None:
    """Run the rest of the transaction as the actor's database role (None: table owner)."""
    if actor is None:
        return
    role = q.DB_ROLE.get(actor.role, "gridcover_reader")
    conn.execute(f"SET LOCAL ROLE {role}")
    conn.execute("SELECT set_config('gridcover.grid_code', %s, true)", (actor.grid_code or "",))


def refresh_stats(conn: Any, layer: str, geometry_type: str | None = None) -> None:
    """Recompute count and extent of a layer's collections, its geometry type and time.

    ``geometry_type`` given: the layer's type is known (no scan of every row for it).
    """
    views = conn.execute(
        "SELECT id, where_column, where_value FROM gridcover.collections WHERE layer = %s",
        (layer,),
    ).fetchall()
    for cid, wcol, wval in views:
        extra, args = "", [layer]
        if wcol is not None:
            extra, args = " AND props @> %s::jsonb", [layer, json.dumps({wcol: wval})]
        conn.execute(
            f"""UPDATE gridcover.collections SET count = s.n, minx = ST_XMin(s.e),
                miny = ST_YMin(s.e), maxx = ST_XMax(s.e), maxy = ST_YMax(s.e)
                FROM (SELECT count(*) AS n, ST_Extent(geom) AS e FROM gridcover.features
                      WHERE layer = %s{extra}) s WHERE id = %s""",
            [*args, cid],
        )
    gtype = geometry_type
    if gtype is None:
        types = conn.execute(
            "SELECT DISTINCT upper(GeometryType(geom)) FROM gridcover.features "
            "WHERE layer = %s AND geom IS NOT NULL LIMIT 2",
            (layer,),
        ).fetchall()
        gtype = types[0][0] if len(types) == 1 else "GEOMETRY"
    conn.execute(
        "UPDATE gridcover.layers SET geometry_type = %s, updated = %s WHERE name = %s",
        (gtype, now_iso(), layer),
    )


def bump_stats(
    conn: Any, layer: str, before: FeatureRow | None, after: FeatureRow | None, gtype: str
) -> None:
    """Counts and extents of the layer's collections after one edit, without a scan: counts
    move by one, extents grow to hold the new geometry (an extent may enclose more than the
    data after a delete or a move, until the next upload of the layer)."""
    views = conn.execute(
        "SELECT id, where_column, where_value, count, minx, miny, maxx, maxy "
        "FROM gridcover.collections WHERE layer = %s",
        (layer,),
    ).fetchall()
    b = None
    if after is not None and after.geometry is not None and not after.geometry.is_empty:
        b = [float(v) for v in shapely.bounds(after.geometry)]
    for cid, wcol, wval, count, *ext in views:
        now_in = _in_view(after, wcol, wval)
        count = int(count) + int(now_in) - int(_in_view(before, wcol, wval))
        if now_in and b is not None:
            ext = b if ext[0] is None else [min(ext[0], b[0]), min(ext[1], b[1]),
                                            max(ext[2], b[2]), max(ext[3], b[3])]  # fmt: skip
        conn.execute(
            "UPDATE gridcover.collections SET count = %s, minx = %s, miny = %s, maxx = %s, "
            "maxy = %s WHERE id = %s",
            (count, *ext, cid),
        )
    conn.execute(
        "UPDATE gridcover.layers SET geometry_type = %s, updated = %s WHERE name = %s",
        (gtype, now_iso(), layer),
    )


def _in_view(row: FeatureRow | None, column: str | None, value: Any) -> bool:
    return row is not None and (column is None or row.properties.get(column) == value)


def edit_feature(
    conn: Any,
    errors: Any,
    layer: str,
    feature_id: str,
    plan: EditPlan,
    mode: EditMode,
    actor: Actor | None,
    on_commit: EditHook | None,
) -> FeatureEdit:
    """Create, replace or delete one feature in the open transaction (row read under the
    layer's lock, then ``plan(before)``); what changed.

    ``errors`` is ``psycopg.errors`` (passed in so this module imports without psycopg).
    """
    conn.execute("SET LOCAL lock_timeout = '30s'")
    try:
        lock_layer(conn, layer)
    except errors.LockNotAvailable:
        raise Conflict(
            f"another write held layer {layer!r} for longer than 30 s, so this edit of "
            f"{feature_id!r} was not made; retry it"
        ) from None
    row = conn.execute(
        "SELECT id_column, fields, geometry_type FROM gridcover.layers WHERE name = %s",
        (layer,),
    ).fetchone()
    if row is None:
        raise NotFound(f"layer {layer!r} is not stored; upload it first")
    id_column, fields = row[0], q.fields_from_json(row[1])
    if id_column is None:
        raise Conflict(
            f"layer {layer!r} has no unique id column, so its features cannot be edited one "
            f"by one; upload the whole layer instead (PUT /layers/{layer})"
        )
    old = conn.execute(
        "SELECT fid, ST_AsBinary(geom), props FROM gridcover.features "
        "WHERE layer = %s AND fkey = %s",
        (layer, str(feature_id)),
    ).fetchone()
    before = None if old is None else FeatureRow(_geom(old[1]), decode_row(old[2], fields))
    if mode == "create" and old is not None:
        raise Conflict(f"{layer} already has a feature with {id_column} {feature_id!r}")
    if mode != "create" and old is None:
        raise NotFound(f"{layer} has no feature with {id_column} {feature_id!r}")
    after = checked_after(plan(before), [f.name for f in fields], id_column, feature_id)
    if after is None:
        mode = "delete"
    props, geom = _row_values(after, fields)
    if old is not None:
        fid = old[0]
    else:
        fid = conn.execute(
            "SELECT coalesce(max(fid), 0) + 1 FROM gridcover.features WHERE layer = %s", (layer,)
        ).fetchone()[0]
    set_role(conn, actor)
    try:
        with conn.transaction():
            done = _apply(conn, mode, layer, fid, str(feature_id), geom, props)
    except errors.InsufficientPrivilege as exc:
        raise PermissionDenied(
            f"the database refused to {mode} {layer} {feature_id!r}: {exc.diag.message_primary}"
        ) from None
    if not done:
        raise PermissionDenied(
            f"the database's row-level security refused to {mode} {layer} {feature_id!r}: "
            f"it lies outside grid {getattr(actor, 'grid_code', None)!r}"
        )
    conn.execute("RESET ROLE")
    gtype = row[2]
    if after is not None and after.geometry is not None and gtype != "GEOMETRY":
        gtype = gtype if after.geometry.geom_type.upper() == gtype else "GEOMETRY"
    bump_stats(conn, layer, before, after, gtype)
    if on_commit is not None:
        on_commit(conn, before, after)
    return FeatureEdit(before, after)


def _geom(wkb: bytes | None) -> Any:
    return None if wkb is None else shapely.from_wkb(wkb)


def _row_values(
    after: FeatureRow | None, fields: tuple[FieldInfo, ...]
) -> tuple[str | None, str | None]:
    """(props JSON, hex EWKB) of the new row (``checked_after`` checked fields and id)."""
    if after is None:
        return None, None
    props = {f.name: q.props_value(after.properties.get(f.name), f) for f in fields}
    geom = q.ewkb_hex(np.array([after.geometry], dtype=object))[0]
    return json.dumps(props, ensure_ascii=False), geom


def _apply(
    conn: Any,
    mode: EditMode,
    layer: str,
    fid: int,
    key: str,
    geom: str | None,
    props: str | None,
) -> bool:
    """Run the statement; False when row-level security filtered the row out."""
    if mode == "create":
        conn.execute(
            "INSERT INTO gridcover.features (layer, fid, fkey, geom, props) "
            "VALUES (%s, %s, %s, %s::geometry, %s::jsonb)",
            (layer, fid, key, geom, props),
        )
        return True
    if mode == "delete":
        cur = conn.execute(
            "DELETE FROM gridcover.features WHERE layer = %s AND fid = %s", (layer, fid)
        )
    else:
        cur = conn.execute(
            "UPDATE gridcover.features SET geom = %s::geometry, props = %s::jsonb "
            "WHERE layer = %s AND fid = %s",
            (geom, props, layer, fid),
        )
    return bool(cur.rowcount)
