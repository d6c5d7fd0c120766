"""The append-only audit log: one row per write, inserted in the same transaction as the write.

A row records who (actor name, key id, role), what (action, collection, object id), where
(grid code), the content before and after (SHA-256 of the geometry WKB for one feature, of the
whole layer content for a layer), when (UTC) and the request id. The table lives in the
store's own database (``gridcover_audit`` in the GeoPackage, ``gridcover.audit_log`` in
PostgreSQL); triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), and the service
offers no call that changes it. ``AuditedStore`` wraps a store so that every layer write,
also by analysis jobs, adds its row inside the committing transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridcover.api.store.base import (
    Actor,
    CollectionInfo,
    CommitHook,
    EditHook,
    EditMode,
    EditPlan,
    FeatureEdit,
    FeaturePage,
    FeatureRow,
    ItemsQuery,
    LayerMeta,
    LayerWrite,
    Store,
    StoreBase,
)
from gridcover.api.store.edits import SYSTEM, current_actor
from gridcover.api.store.sql_target import SqlTarget, run

COLUMNS = ("at", "request_id", "actor", "key_id", "role", "action", "collection", "object_id",
           "grid", "before_hash", "after_hash", "detail")  # fmt: skip
SQLITE_DDL = (
    """CREATE TABLE IF NOT EXISTS gridcover_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, request_id TEXT,
        actor TEXT NOT NULL, key_id TEXT, role TEXT NOT NULL, action TEXT NOT NULL,
        collection TEXT NOT NULL, object_id TEXT, grid TEXT, before_hash TEXT,
        after_hash TEXT, detail TEXT NOT NULL)""",
    """CREATE TRIGGER IF NOT EXISTS gridcover_audit_no_update BEFORE UPDATE ON gridcover_audit
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be changed'); END""",
    """CREATE TRIGGER IF NOT EXISTS gridcover_audit_no_delete BEFORE DELETE ON gridcover_audit
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted'); END""",
)
POSTGRES_DDL = (
    "SELECT pg_advisory_xact_lock(7274001)",
    "CREATE SCHEMA IF NOT EXISTS gridcover",
    """CREATE TABLE IF NOT EXISTS gridcover.audit_log (
        id bigserial PRIMARY KEY, at timestamptz NOT NULL, request_id text,
        actor text NOT NULL, key_id text, role text NOT NULL, action text NOT NULL,
        collection text NOT NULL, object_id text, grid text, before_hash text,
        after_hash text, detail jsonb NOT NULL)""",
    """CREATE OR REPLACE FUNCTION gridcover.audit_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN
         RAISE EXCEPTION 'the audit log is append-only: % is refused', TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE
       ON gridcover.audit_log FOR EACH ROW EXECUTE FUNCTION gridcover.audit_append_only()""",
    """CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE
       ON gridcover.audit_log FOR EACH STATEMENT EXECUTE FUNCTION gridcover.audit_append_only()""",
)
DIGEST_MAX_ROWS = 200_000  # larger layers get no "before" digest (it needs a full read)


@dataclass(frozen=True)
class AuditEntry:
    """One audit row. ``at`` (UTC ISO 8601) is filled when the row is written."""

    actor: str
    role: str
    action: str
    collection: str
    object_id: str | None = None
    grid: str | None = None
    before_hash: str | None = None
    after_hash: str | None = None
    request_id: str | None = None
    key_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    at: str = ""
    id: int | None = None


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def entry_for(actor: Actor | None, action: str, collection: str, **fields: Any) -> AuditEntry:
    """An entry for ``actor`` (the current request's actor, else ``system``)."""
    who = actor or current_actor.get() or SYSTEM
    return AuditEntry(
        actor=who.name, role=who.role, key_id=who.key_id, request_id=who.request_id,
        action=action, collection=collection, **fields,
    )  # fmt: skip


def geometry_hash(geom: BaseGeometry | None) -> str | None:
    """SHA-256 (hex) of a geometry's 2D little-endian WKB; None for no or empty geometry."""
    if geom is None or geom.is_empty:
        return None
    wkb = shapely.to_wkb(geom, output_dimension=2, byte_order=1)
    return hashlib.sha256(wkb).hexdigest()


def layer_digest(gdf: gpd.GeoDataFrame) -> str:
    """SHA-256 of a layer's content: column names, values (as JSON) and geometries, in order.

    The same content gives the same digest whatever the backend's integer widths.
    """
    h = hashlib.sha256()
    geom_name = gdf.geometry.name
    cols = sorted(c for c in gdf.columns if c != geom_name)
    h.update(json.dumps(cols).encode())
    h.update(str(len(gdf)).encode())
    for c in cols:
        s = gdf[c]
        values = s.astype(object).where(s.notna(), None).tolist()
        if pd.api.types.is_float_dtype(s.dtype):
            values = [None if v is None or not np.isfinite(v) else float(v) for v in values]
        elif pd.api.types.is_integer_dtype(s.dtype):
            values = [None if v is None else int(v) for v in values]
        h.update(json.dumps(values, default=str, ensure_ascii=False).encode())
    geoms = np.array(gdf.geometry.values, dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    geoms[empty] = None
    wkb = shapely.to_wkb(geoms, output_dimension=2, byte_order=1)
    for w in wkb:
        h.update(b"\x00" if w is None else len(w).to_bytes(4, "little") + w)
    return h.hexdigest()


# -- writing and reading rows ----------------------------------------------------------------
def write_entry(conn: Any, entry: AuditEntry) -> None:
    """Insert ``entry`` with ``conn`` (sqlite3 or psycopg), inside the caller's transaction."""
    values = [
        entry.at or now_iso(), entry.request_id, entry.actor, entry.key_id, entry.role,
        entry.action, entry.collection, entry.object_id, entry.grid, entry.before_hash,
        entry.after_hash, json.dumps(dict(entry.detail), default=str, ensure_ascii=False),
    ]  # fmt: skip
    table = "gridcover_audit" if isinstance(conn, sqlite3.Connection) else "gridcover.audit_log"
    marks = ", ".join("?" * len(COLUMNS))
    run(conn, f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks})", values)


def ensure_audit_schema(target: SqlTarget) -> None:
    """Create the audit table and its append-only triggers if missing (idempotent)."""
    with target.transaction() as conn:
        for statement in SQLITE_DDL if target.kind == "sqlite" else POSTGRES_DDL:
            run(conn, statement)


class AuditedTable:
    """A table of the service's own (API keys, QA reviews) in one database (``SqlTarget``),
    created with the audit log beside it on first use. Subclasses name the table per backend
    (``SQLITE_TABLE`` / ``POSTGRES_TABLE``) and give its DDL (``SQLITE_DDL``, a statement;
    ``POSTGRES_DDL``, statements)."""

    SQLITE_TABLE: str
    POSTGRES_TABLE: str
    SQLITE_DDL: str
    POSTGRES_DDL: Sequence[str]

    def __init__(self, target: SqlTarget) -> None:
        self.target = target
        self.table = self.SQLITE_TABLE if target.kind == "sqlite" else self.POSTGRES_TABLE
        self._ready = False

    def ensure_schema(self) -> None:
        if self._ready:
            return
        with self.target.transaction() as conn:
            ddl = (self.SQLITE_DDL,) if self.target.kind == "sqlite" else self.POSTGRES_DDL
            for statement in ddl:
                run(conn, statement)
        ensure_audit_schema(self.target)
        self._ready = True


def read_entries(
    target: SqlTarget,
    *,
    limit: int = 50,
    collection: str | None = None,
    actor: str | None = None,
) -> list[AuditEntry]:
    """The newest ``limit`` entries (newest first), optionally of one collection or actor."""
    table = "gridcover_audit" if target.kind == "sqlite" else "gridcover.audit_log"
    clauses, args = [], []
    if collection:
        clauses.append("collection = ?")
        args.append(collection)
    if actor:
        clauses.append("(actor = ? OR key_id = ?)")
        args += [actor, actor]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"SELECT id, {', '.join(COLUMNS)} FROM {table}{where} ORDER BY id DESC LIMIT ?"
    with target.transaction(write=False) as conn:
        if not _has_audit_table(conn, target):
            return []
        rows = run(conn, sql, [*args, limit]).fetchall()
    out = []
    for r in rows:
        at = r[1]
        if isinstance(at, datetime):
            at = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        detail = r[12] if isinstance(r[12], dict) else json.loads(r[12] or "{}")
        out.append(
            AuditEntry(
                id=int(r[0]),
                at=str(at),
                request_id=r[2],
                actor=r[3],
                key_id=r[4],
                role=r[5],
                action=r[6],
                collection=r[7],
                object_id=r[8],
                grid=r[9],
                before_hash=r[10],
                after_hash=r[11],
                detail=detail,
            )
        )
    return out


def _has_audit_table(conn: Any, target: SqlTarget) -> bool:
    if target.kind == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gridcover_audit'"
    else:
        sql = "SELECT to_regclass('gridcover.audit_log') IS NOT NULL WHERE true"
    row = run(conn, sql).fetchone()
    return bool(row and row[0])


# -- a store that audits every layer write ---------------------------------------------------
class AuditedStore(StoreBase):
    """A ``Store`` whose layer writes add an audit row inside the committing transaction."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.target = inner.sql_target()
        ensure_audit_schema(self.target)

    # reads: plain delegation
    def collections(self) -> list[CollectionInfo]:
        return self.inner.collections()

    def collection(self, collection_id: str) -> CollectionInfo:
        return self.inner.collection(collection_id)

    def items(self, collection_id: str, query: ItemsQuery) -> FeaturePage:
        return self.inner.items(collection_id, query)

    def feature(self, collection_id: str, feature_id: str) -> FeaturePage:
        return self.inner.feature(collection_id, feature_id)

    def read_collection(self, collection_id: str) -> gpd.GeoDataFrame:
        return self.inner.read_collection(collection_id)

    def layers(self) -> list[str]:
        return self.inner.layers()

    def has_layer(self, layer: str) -> bool:
        return self.inner.has_layer(layer)

    def read_layer(self, layer: str) -> gpd.GeoDataFrame:
        return self.inner.read_layer(layer)

    def layer_meta(self, layer: str) -> LayerMeta:
        return self.inner.layer_meta(layer)

    def is_new(self) -> bool:
        return self.inner.is_new()

    def close(self) -> None:
        self.inner.close()

    def sql_target(self) -> SqlTarget:
        return self.target

    def __getattr__(self, name: str) -> Any:  # backend extras (path, database_url, ...)
        return getattr(self.inner, name)

    def edit_feature(
        self,
        layer: str,
        feature_id: str,
        plan: EditPlan,
        *,
        mode: EditMode,
        actor: Actor | None = None,
        on_commit: EditHook | None = None,
    ) -> FeatureEdit:
        """The backend's edit; the caller's ``on_commit`` writes the edit's audit row."""
        return self.inner.edit_feature(
            layer, feature_id, plan, mode=mode, actor=actor, on_commit=on_commit
        )

    # writes: audited
    def replace_layers(
        self, writes: Sequence[LayerWrite], on_commit: CommitHook | None = None
    ) -> None:
        entries = [self._replace_entry(w) for w in writes]

        def hook(conn: Any) -> None:
            for entry in entries:
                write_entry(conn, entry)
            if on_commit is not None:
                on_commit(conn)

        self.inner.replace_layers(writes, on_commit=hook)

    def delete_layer(self, layer: str, on_commit: CommitHook | None = None) -> None:
        before, rows_before = self._digest_of(layer)
        entry = entry_for(
            None, "delete_layer", layer, before_hash=before, detail={"rows_before": rows_before}
        )

        def hook(conn: Any) -> None:
            write_entry(conn, entry)
            if on_commit is not None:
                on_commit(conn)

        self.inner.delete_layer(layer, on_commit=hook)

    def _replace_entry(self, w: LayerWrite) -> AuditEntry:
        before, rows_before = self._digest_of(w.layer)
        action = "replace_layer" if rows_before is not None else "create_layer"
        detail = {"rows": len(w.gdf), "kind": w.meta.kind, "rows_before": rows_before}
        if "source" in w.meta.params:
            detail["source"] = w.meta.params["source"]
        return entry_for(
            None, action, w.layer, before_hash=before, after_hash=layer_digest(w.gdf),
            detail=detail,
        )  # fmt: skip

    def _digest_of(self, layer: str) -> tuple[str | None, int | None]:
        """(content digest, rows) of a stored layer; (None, None) if it is not stored."""
        if not self.inner.has_layer(layer):
            return None, None
        rows = sum(c.count for c in self.inner.collections() if c.layer == layer)
        if rows > DIGEST_MAX_ROWS:
            return None, rows
        gdf = self.inner.read_layer(layer)
        return layer_digest(gdf), len(gdf)


def with_audit(store: Store) -> Store:
    """``store`` wrapped so that every layer write is audited (idempotent)."""
    if isinstance(store, AuditedStore):
        return store
    audited: Store = AuditedStore(store)
    return audited


def changes(before: FeatureRow | None, after: FeatureRow | None) -> dict[str, Any]:
    """What an edit changed, for the audit row's detail: ``changed`` maps each property whose
    value differs to ``[before, after]``; ``geometry`` is ``[WKT before, WKT after]`` when
    the geometry changed (WKT with at most 7 decimals)."""
    old = dict(before.properties) if before else {}
    new = dict(after.properties) if after else {}
    changed = {
        k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    }
    out: dict[str, Any] = {"changed": changed}
    g0 = before.geometry if before else None
    g1 = after.geometry if after else None
    if geometry_hash(g0) != geometry_hash(g1):
        out["geometry"] = [None if g is None else shapely.to_wkt(g, rounding_precision=7)
                           for g in (g0, g1)]  # fmt: skip
    return out
