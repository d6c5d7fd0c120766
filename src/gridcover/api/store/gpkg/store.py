"""The default store: one GeoPackage file, layers written by GDAL, pages read with sqlite3.

Atomic replace: every write goes to a new physical table (``cameras__3f9a01bc``); a catalog
table (``gridcover_layers``) maps each layer name to its current physical table. Swapping the
pointer is one SQLite transaction (``on_commit`` runs inside it), so readers see the old or
the new layer and a crash mid-write leaves the old one intact; orphan tables are dropped on
the next start. Every read runs in one transaction (a consistent WAL snapshot).

Pages never load a whole layer: attribute filters and LIMIT/OFFSET run in SQL, bbox queries
use the GeoPackage R-tree, and only features whose envelope straddles the bbox edge are tested
exactly with shapely.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from gridcover.api.store.base import (
    Actor,
    CollectionInfo,
    CommitHook,
    EditHook,
    EditMode,
    EditPlan,
    FeatureEdit,
    FeaturePage,
    FieldInfo,
    ItemsQuery,
    LayerMeta,
    LayerWrite,
    StoreBase,
)
from gridcover.api.store.field_values import decode
from gridcover.api.store.gpkg import sql as g
from gridcover.api.store.gpkg.catalog import prepare_write, write_layer
from gridcover.api.store.gpkg.edit import edit_row
from gridcover.api.store.gpkg.features import init_geopackage, read_feature_table
from gridcover.api.store.sql_target import SqlTarget, exclusive, sqlite_transaction
from gridcover.api.store.thread_conns import ThreadConnections
from gridcover.errors import Conflict, NotFound

_PHYSICAL = re.compile(r"^[a-z][a-z0-9_]{0,47}__[0-9a-f]{8}$")

_CATALOG_SQL = """
CREATE TABLE IF NOT EXISTS gridcover_layers (
    name TEXT PRIMARY KEY, table_name TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL,
    description TEXT NOT NULL, id_field TEXT, id_column TEXT, params TEXT NOT NULL,
    updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gridcover_collections (
    id TEXT PRIMARY KEY, layer TEXT NOT NULL, position INTEGER NOT NULL, title TEXT NOT NULL,
    description TEXT NOT NULL, where_column TEXT, where_value TEXT, count INTEGER NOT NULL,
    minx REAL, miny REAL, maxx REAL, maxy REAL);
"""
_COLLECTION_SELECT = """
SELECT c.id, c.layer, l.kind, c.title, c.description, c.where_column, c.where_value, c.count,
       c.minx, c.miny, c.maxx, c.maxy, l.table_name, l.id_field, l.id_column, l.params, l.updated
FROM gridcover_collections c JOIN gridcover_layers l ON l.name = c.layer
"""


class GeoPackageStore(StoreBase):
    """Layers in one GeoPackage file (``path``), created with an empty catalog if missing."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._threads = ThreadConnections(self._connect)  # closed when their thread ends
        self._write_lock = threading.Lock()
        self._tables: dict[str, tuple[str, str, tuple[FieldInfo, ...]]] = {}
        self._create_if_missing()
        self._collect_orphans()

    # -- connections ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection = self._threads.get("read")
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        self._threads.close_all()

    def _create_if_missing(self) -> None:
        # Processes starting at once (uvicorn --workers N) take turns: SQLite answers
        # "database is locked" without waiting when two switch a new file to WAL together.
        with exclusive(SqlTarget("sqlite", str(self.path)), "create"):
            self._create_locked()

    def _create_locked(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            with sqlite_transaction(conn):
                init_geopackage(conn)
                for statement in _CATALOG_SQL.split(";"):
                    if statement.strip():
                        conn.execute(statement)
        finally:
            conn.close()

    def _collect_orphans(self) -> None:
        """Drop physical tables no layer points to (left by a crash during a write)."""
        with self._write_lock:
            conn = self._connect()
            try:
                with sqlite_transaction(conn):
                    used = {r[0] for r in conn.execute("SELECT table_name FROM gridcover_layers")}
                    for table in g.feature_tables(conn):
                        if _PHYSICAL.match(table) and table not in used:
                            g.drop_feature_table(conn, table)
            finally:
                conn.close()

    # -- catalog -------------------------------------------------------------------------
    def _table(
        self, conn: sqlite3.Connection, table: str
    ) -> tuple[str, str, tuple[FieldInfo, ...]]:
        """(geometry column, geometry type, fields) of a physical table (immutable: cached)."""
        hit = self._tables.get(table)
        if hit is None:
            geom_col, geom_type = g.geometry_column(conn, table)
            hit = (geom_col, geom_type, g.table_columns(conn, table, geom_col))
            self._tables[table] = hit
        return hit

    def _info(self, conn: sqlite3.Connection, row: Sequence[Any]) -> tuple[CollectionInfo, str]:
        (cid, layer, kind, title, desc, wcol, wval, count, minx, miny, maxx, maxy, table,
         _id_field, id_column, params, updated) = row  # fmt: skip
        _, geom_type, fields = self._table(conn, table)
        where = (wcol, json.loads(wval)) if wcol else None
        bbox = None if minx is None else (minx, miny, maxx, maxy)
        info = CollectionInfo(
            id=cid, layer=layer, kind=kind, title=title, description=desc,
            geometry_type=geom_type, fields=fields, id_field=id_column, count=count, bbox=bbox,
            params=json.loads(params), updated=updated, where=where,
        )  # fmt: skip
        return info, table

    def _lookup(self, conn: sqlite3.Connection, cid: str) -> tuple[CollectionInfo, str]:
        row = conn.execute(_COLLECTION_SELECT + " WHERE c.id = ?", (cid,)).fetchone()
        if row is None:
            raise NotFound(
                f"collection {cid!r} does not exist; GET /collections lists the collections"
            )
        return self._info(conn, row)

    def collections(self) -> list[CollectionInfo]:
        with self._read() as conn:
            rows = conn.execute(_COLLECTION_SELECT + " ORDER BY c.position, c.id").fetchall()
            return [self._info(conn, r)[0] for r in rows]

    def collection(self, collection_id: str) -> CollectionInfo:
        with self._read() as conn:
            return self._lookup(conn, collection_id)[0]

    def layers(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM gridcover_layers ORDER BY name")]

    def layer_meta(self, layer: str) -> LayerMeta:
        with self._read() as conn:
            row = conn.execute(
                "SELECT kind, title, description, id_field, params FROM gridcover_layers "
                "WHERE name = ?",
                (layer,),
            ).fetchone()
        if row is None:
            raise NotFound(f"layer {layer!r} is not stored; stored layers: {self.layers()}")
        return LayerMeta(row[0], row[1], row[2], row[3], json.loads(row[4]))

    # -- reads ---------------------------------------------------------------------------
    def _where(
        self, info: CollectionInfo, filters: dict[str, str] | Any
    ) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if info.where is not None:
            clauses.append(f"t.{g.quote(info.where[0])} = ?")
            args.append(info.where[1])
        for name, raw in filters.items():
            _, value = g.filter_value(info, name, raw)
            clauses.append(f"t.{g.quote(name)} = ?")
            args.append(value)
        return clauses, args

    def items(self, collection_id: str, query: ItemsQuery) -> FeaturePage:
        with self._read() as conn:
            info, table = self._lookup(conn, collection_id)
            geom_col, _, fields = self._table(conn, table)
            clauses, args = self._where(info, dict(query.filters))
            src = f"{g.quote(table)} t"
            if query.bbox is not None:
                src, bclauses, bargs = self._bbox_clauses(conn, table, geom_col, query.bbox)
                bclauses += clauses
                clauses, args = bclauses, [*bargs, *args]
            where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
            if query.bbox is None and info.where is None and not query.filters:
                matched = info.count
            else:
                matched = conn.execute(f"SELECT COUNT(*) FROM {src}{where}", args).fetchone()[0]
            sql = (
                f"SELECT t.fid, t.{g.quote(geom_col)}, {self._cols(fields)} FROM {src}{where} "
                "ORDER BY t.fid LIMIT ? OFFSET ?"
            )
            rows = conn.execute(sql, [*args, query.limit, query.offset]).fetchall()
        return self._page(rows, info, fields, matched)

    def _bbox_clauses(
        self,
        conn: sqlite3.Connection,
        table: str,
        geom_col: str,
        bbox: tuple[float, float, float, float],
    ) -> tuple[str, list[str], list[Any]]:
        """FROM and WHERE parts selecting features whose geometry intersects ``bbox``."""
        minx, miny, maxx, maxy = bbox
        rtree = g.quote(f"rtree_{table}_{geom_col}")
        src = f"{rtree} r JOIN {g.quote(table)} t ON t.fid = r.id"
        overlap = "r.maxx >= ? AND r.minx <= ? AND r.maxy >= ? AND r.miny <= ?"
        inside = "r.minx >= ? AND r.maxx <= ? AND r.miny >= ? AND r.maxy <= ?"
        o_args = [minx, maxx, miny, maxy]
        i_args = [minx, maxx, miny, maxy]
        straddle = conn.execute(
            f"SELECT t.fid, t.{g.quote(geom_col)} FROM {src} WHERE {overlap} AND NOT ({inside})",
            [*o_args, *i_args],
        ).fetchall()
        exact: list[int] = []
        if straddle:
            geoms = g.blobs_to_geometries([r[1] for r in straddle])
            hit = shapely.intersects(geoms, shapely.box(minx, miny, maxx, maxy))
            exact = [int(r[0]) for r, h in zip(straddle, hit, strict=True) if h]
        if not exact:
            return src, [overlap, inside], [*o_args, *i_args]
        either = f"(({inside}) OR t.fid IN (SELECT value FROM json_each(?)))"
        return src, [overlap, either], [*o_args, *i_args, json.dumps(exact)]

    @staticmethod
    def _cols(fields: tuple[FieldInfo, ...]) -> str:
        return ", ".join(f"t.{g.quote(f.name)}" for f in fields) or "NULL"

    def _page(
        self,
        rows: list[Any],
        info: CollectionInfo,
        fields: tuple[FieldInfo, ...],
        matched: int,
    ) -> FeaturePage:
        names = [f.name for f in fields]
        types = [f.type for f in fields]
        props: list[dict[str, Any]] = []
        ids: list[Any] = []
        for r in rows:
            row = {n: decode(v, t) for n, v, t in zip(names, r[2:], types, strict=False)}
            props.append(row)
            ids.append(r[0] if info.id_field not in row else row[info.id_field])
        geoms = g.blobs_to_geometries([r[1] for r in rows])
        return FeaturePage(ids=ids, geometries=geoms, properties=props, number_matched=matched)

    def feature(self, collection_id: str, feature_id: str) -> FeaturePage:
        with self._read() as conn:
            info, table = self._lookup(conn, collection_id)
            geom_col, _, fields = self._table(conn, table)
            clauses, args = self._where(info, {})
            missing = NotFound(
                f"collection {collection_id!r} has no feature with id {feature_id!r}; "
                f"GET /collections/{collection_id}/items lists the features and their ids"
            )
            id_field = info.field(info.id_field) if info.id_field else None
            try:
                key: Any = g.coerce_value(feature_id, id_field.type if id_field else "integer")
            except ValueError:
                raise missing from None
            id_col = f"t.{g.quote(info.id_field)}" if info.id_field else "t.fid"
            clauses.append(f"{id_col} = ?")
            sql = (
                f"SELECT t.fid, t.{g.quote(geom_col)}, {self._cols(fields)} "
                f"FROM {g.quote(table)} t WHERE {' AND '.join(clauses)} LIMIT 1"
            )
            rows = conn.execute(sql, [*args, key]).fetchall()
        if not rows:
            raise missing
        return self._page(rows, info, fields, 1)

    def read_collection(self, collection_id: str) -> gpd.GeoDataFrame:
        with self._read() as conn:
            info, table = self._lookup(conn, collection_id)
            _, _, fields = self._table(conn, table)
            clauses, args = self._where(info, {})
            return read_feature_table(conn, table, fields, " AND ".join(clauses), tuple(args))

    def read_layer(self, layer: str) -> gpd.GeoDataFrame:
        with self._read() as conn:
            row = conn.execute(
                "SELECT table_name FROM gridcover_layers WHERE name = ?", (layer,)
            ).fetchone()
            if row is not None:
                _, _, fields = self._table(conn, row[0])
                return read_feature_table(conn, row[0], fields)
        raise NotFound(f"layer {layer!r} is not stored; stored layers: {self.layers()}")

    # -- writes --------------------------------------------------------------------------
    def replace_layers(
        self, writes: Sequence[LayerWrite], on_commit: CommitHook | None = None
    ) -> None:
        prepared = [prepare_write(w) for w in writes]
        with self._write() as conn:
            for pw in prepared:
                write_layer(conn, pw)
            if on_commit is not None:
                on_commit(conn)

    def delete_layer(self, layer: str, on_commit: CommitHook | None = None) -> None:
        with self._write() as conn:
            old = conn.execute(
                "SELECT table_name FROM gridcover_layers WHERE name = ?", (layer,)
            ).fetchone()
            if old is None:
                raise NotFound(f"layer {layer!r} is not stored")
            conn.execute("DELETE FROM gridcover_collections WHERE layer = ?", (layer,))
            conn.execute("DELETE FROM gridcover_layers WHERE name = ?", (layer,))
            if on_commit is not None:
                on_commit(conn)
            g.drop_feature_table(conn, old[0])

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
        """One feature edited in place in one write transaction (``gpkg/edit.py``)."""
        try:
            with self._write() as conn:
                row = conn.execute(
                    "SELECT table_name, id_column FROM gridcover_layers WHERE name = ?", (layer,)
                ).fetchone()
                if row is None:
                    raise NotFound(f"layer {layer!r} is not stored; upload it first")
                table, id_column = str(row[0]), row[1]
                _, _, fields = self._table(conn, table)
                done = edit_row(conn, layer, table, id_column, fields, feature_id, plan, mode)
                if on_commit is not None:
                    on_commit(conn, done.before, done.after)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            raise Conflict(
                f"another write held {self.path.name} for longer than 30 s, so this edit of "
                f"{layer} {feature_id!r} was not made; retry it"
            ) from None
        self._tables.pop(table, None)  # the geometry type may have widened
        return done

    def sql_target(self) -> SqlTarget:
        return SqlTarget("sqlite", str(self.path))

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A new connection in one write transaction (``BEGIN IMMEDIATE``), closed after."""
        with self._write_lock:
            conn = self._connect()
            try:
                with sqlite_transaction(conn):
                    yield conn
            finally:
                conn.close()
