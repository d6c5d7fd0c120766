"""The PostGIS store: the ``Store`` protocol on PostgreSQL + PostGIS through psycopg 3.

Chosen when ``GRIDCOVER_DATABASE_URL`` is a ``postgresql://`` URL. Tables, roles and
row-level security policies are in ``postgis_sql.py``. Every read is one REPEATABLE READ
READ ONLY transaction (a consistent snapshot of catalog and rows); every write is one
transaction holding an advisory lock per layer: a layer replace is DELETE + COPY, a feature
edit is one INSERT/UPDATE/DELETE run under the caller's database role (``SET LOCAL ROLE``),
so the policies check a grid chief's scope even if the API's own check were bypassed. A crash
or a killed client at any point rolls the transaction back: the old layer stays.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridcover.api.store import field_values as values
from gridcover.api.store.audit import now_iso
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
    ViewSpec,
)
from gridcover.api.store.postgis import edit as postgis_edit
from gridcover.api.store.postgis import setup as postgis_setup
from gridcover.api.store.postgis import sql as q
from gridcover.api.store.sql_target import SqlTarget, safe_url
from gridcover.api.store.thread_conns import ThreadConnections
from gridcover.errors import GridcoverError, InputError, NotFound

_SELECT = """
SELECT c.id, c.layer, l.kind, c.title, c.description, c.where_column, c.where_value, c.count,
       c.minx, c.miny, c.maxx, c.maxy, l.fields, l.geometry_type, l.id_column, l.params,
       l.updated
FROM gridcover.collections c JOIN gridcover.layers l ON l.name = c.layer
"""
_ENV = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"


class PostGISStore(StoreBase):
    """Layers in a PostgreSQL + PostGIS database at ``database_url``."""

    def __init__(self, database_url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self.database_url = database_url
        self._threads = ThreadConnections(self._connect)  # closed when their thread ends
        self._init_schema()

    # -- connections -----------------------------------------------------------------------
    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(self.database_url, autocommit=True)
        except self._psycopg.OperationalError as exc:
            raise GridcoverError(
                f"cannot connect to the PostGIS store ({safe_url(self.database_url)}): {exc}"
            ) from exc

    @contextmanager
    def _read(self) -> Iterator[Any]:
        conn = self._threads.get("read", lambda c: not c.closed)
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield conn
            finally:
                if not conn.closed:
                    conn.execute("ROLLBACK")
        except self._psycopg.OperationalError:
            conn.close()  # the next read reconnects
            raise

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction on this thread's write connection (kept open between
        writes: connecting costs more than a one-row edit); dropped after a connection error."""
        conn = self._threads.get(
            "write",
            lambda c: not c.closed and c.info.transaction_status == 0,  # 0: idle
        )
        try:
            with conn.transaction():
                yield conn
        except self._psycopg.OperationalError:
            conn.close()
            raise

    def close(self) -> None:
        self._threads.close_all()

    def _init_schema(self) -> None:
        with self._write() as conn:
            postgis_setup.init_schema(conn, self._psycopg, safe_url(self.database_url))

    # -- catalog ---------------------------------------------------------------------------
    @staticmethod
    def _info(row: Sequence[Any]) -> tuple[CollectionInfo, tuple[FieldInfo, ...]]:
        (cid, layer, kind, title, desc, wcol, wval, count, minx, miny, maxx, maxy, fields,
         gtype, id_column, params, updated) = row  # fmt: skip
        fs = q.fields_from_json(fields)
        info = CollectionInfo(
            id=cid, layer=layer, kind=kind, title=title, description=desc, geometry_type=gtype,
            fields=fs, id_field=id_column, count=int(count),
            bbox=None if minx is None else (minx, miny, maxx, maxy), params=params,
            updated=updated, where=(wcol, wval) if wcol else None,
        )  # fmt: skip
        return info, fs

    def _lookup(self, conn: Any, cid: str) -> CollectionInfo:
        row = conn.execute(_SELECT + " WHERE c.id = %s", (cid,)).fetchone()
        if row is None:
            raise NotFound(
                f"collection {cid!r} does not exist; GET /collections lists the collections"
            )
        return self._info(row)[0]

    def collections(self) -> list[CollectionInfo]:
        with self._read() as conn:
            rows = conn.execute(_SELECT + " ORDER BY c.position, c.id").fetchall()
        return [self._info(r)[0] for r in rows]

    def collection(self, collection_id: str) -> CollectionInfo:
        with self._read() as conn:
            return self._lookup(conn, collection_id)

    def layers(self) -> list[str]:
        with self._read() as conn:
            rows = conn.execute("SELECT name FROM gridcover.layers ORDER BY name").fetchall()
        return [r[0] for r in rows]

    def layer_meta(self, layer: str) -> LayerMeta:
        with self._read() as conn:
            row = conn.execute(
                "SELECT kind, title, description, id_field, params FROM gridcover.layers "
                "WHERE name = %s",
                (layer,),
            ).fetchone()
        if row is None:
            raise NotFound(f"layer {layer!r} is not stored; stored layers: {self.layers()}")
        return LayerMeta(row[0], row[1], row[2], row[3], row[4])

    # -- reads -----------------------------------------------------------------------------
    def items(self, collection_id: str, query: ItemsQuery) -> FeaturePage:
        with self._read() as conn:
            info = self._lookup(conn, collection_id)
            clauses, args = q.where_clauses(info, dict(query.filters))
            if query.bbox is not None:
                clauses += [f"geom && {_ENV}", f"ST_Intersects(geom, {_ENV})"]
                args += [*query.bbox, *query.bbox]
            offset = query.offset
            if query.bbox is None and info.where is None and not query.filters:
                matched = info.count
                top = "SELECT max(fid) FROM gridcover.features WHERE layer = %s"
                if conn.execute(top, (info.layer,)).fetchone()[0] == matched:
                    # fids are exactly 1..n (no deletes since the last replace): seek, not skip
                    clauses.append("fid > %s")
                    args.append(offset)
                    offset = 0
            else:
                sql = f"SELECT count(*) FROM gridcover.features WHERE {' AND '.join(clauses)}"
                matched = int(conn.execute(sql, args).fetchone()[0])
            rows = conn.execute(
                "SELECT fid, ST_AsBinary(geom), props::text FROM gridcover.features WHERE "
                f"{' AND '.join(clauses)} ORDER BY fid LIMIT %s OFFSET %s",
                [*args, query.limit, offset],
            ).fetchall()
        return self._page(rows, info, matched)

    @staticmethod
    def _page(rows: list[Any], info: CollectionInfo, matched: int) -> FeaturePage:
        raw = q.load_props([r[2] for r in rows])
        props = [values.decode_row(p, info.fields) for p in raw]
        ids = [
            r[0] if info.id_field is None else p.get(info.id_field)
            for r, p in zip(rows, props, strict=True)
        ]
        geoms = shapely.from_wkb(np.array([r[1] for r in rows], dtype=object))
        return FeaturePage(ids=ids, geometries=geoms, properties=props, number_matched=matched)

    def feature(self, collection_id: str, feature_id: str) -> FeaturePage:
        with self._read() as conn:
            info = self._lookup(conn, collection_id)
            clauses, args = q.where_clauses(info, {})
            missing = NotFound(
                f"collection {collection_id!r} has no feature with id {feature_id!r}; "
                f"GET /collections/{collection_id}/items lists the features and their ids"
            )
            if info.id_field is not None:
                clauses.append("fkey = %s")
                args.append(str(feature_id))
            else:
                try:
                    args.append(int(feature_id))
                except ValueError:
                    raise missing from None
                clauses.append("fid = %s")
            rows = conn.execute(
                "SELECT fid, ST_AsBinary(geom), props::text FROM gridcover.features WHERE "
                + " AND ".join(clauses)
                + " LIMIT 1",
                args,
            ).fetchall()
        if not rows:
            raise missing
        return self._page(rows, info, 1)

    def read_collection(self, collection_id: str) -> gpd.GeoDataFrame:
        with self._read() as conn:
            info = self._lookup(conn, collection_id)
            clauses, args = q.where_clauses(info, {})
            rows = conn.execute(
                "SELECT ST_AsBinary(geom), props::text FROM gridcover.features WHERE "
                + " AND ".join(clauses)
                + " ORDER BY fid",
                args,
            ).fetchall()
        return q.frame_of(rows, info.fields)

    def read_layer(self, layer: str) -> gpd.GeoDataFrame:
        with self._read() as conn:
            row = conn.execute(
                "SELECT fields FROM gridcover.layers WHERE name = %s", (layer,)
            ).fetchone()
            if row is None:
                raise NotFound(f"layer {layer!r} is not stored; stored layers: {self.layers()}")
            rows = conn.execute(
                "SELECT ST_AsBinary(geom), props::text FROM gridcover.features WHERE layer = %s "
                "ORDER BY fid",
                (layer,),
            ).fetchall()
        return q.frame_of(rows, q.fields_from_json(row[0]))

    # -- layer writes ----------------------------------------------------------------------
    def replace_layers(
        self, writes: Sequence[LayerWrite], on_commit: CommitHook | None = None
    ) -> None:
        prepared = []
        for w in writes:
            if not q.LAYER_NAME.match(w.layer):
                raise InputError(
                    f"layer name {w.layer!r} is not allowed; use lower-case letters, digits and "
                    "underscores, starting with a letter (at most 48 characters)"
                )
            gdf = q.prepare(w.gdf)
            views = (
                list(w.views) if w.views else [ViewSpec(w.layer, w.meta.title, w.meta.description)]
            )
            prepared.append((w, gdf, views, values.id_column(gdf, w.meta.id_field)))
        with self._write() as conn:
            for layer in sorted({w.layer for w in writes}):
                postgis_edit.lock_layer(conn, layer)
            for w, gdf, views, id_column in prepared:
                self._write_one(conn, w, gdf, views, id_column)
            conn.execute("ANALYZE gridcover.features")  # fresh statistics for the planner
            if on_commit is not None:
                on_commit(conn)

    def _write_one(
        self, conn: Any, w: LayerWrite, gdf: gpd.GeoDataFrame, views: list[ViewSpec],
        id_column: str | None,
    ) -> None:  # fmt: skip
        fields = q.field_infos(gdf)
        conn.execute("DELETE FROM gridcover.features WHERE layer = %s", (w.layer,))
        with conn.cursor().copy(
            "COPY gridcover.features (layer, fid, fkey, geom, props) FROM STDIN"
        ) as copy:
            for row in q.copy_rows(w.layer, gdf, fields, id_column):
                copy.write_row(row)
        m = w.meta
        conn.execute(
            """INSERT INTO gridcover.layers VALUES (%s,%s,%s,%s,%s,%s,%s::jsonb,%s::jsonb,%s,%s)
               ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, title = excluded.title,
               description = excluded.description, id_field = excluded.id_field,
               id_column = excluded.id_column, params = excluded.params,
               fields = excluded.fields, geometry_type = excluded.geometry_type,
               updated = excluded.updated""",
            (w.layer, m.kind, m.title, m.description, m.id_field, id_column,
             json.dumps(dict(m.params), default=str), q.fields_json(fields),
             q.geometry_type_name(gdf), now_iso()),
        )  # fmt: skip
        self._write_views(conn, w.layer, views)

    def _write_views(self, conn: Any, layer: str, views: list[ViewSpec]) -> None:
        row = conn.execute(
            "SELECT min(position) FROM gridcover.collections WHERE layer = %s", (layer,)
        ).fetchone()
        if row[0] is None:
            last = conn.execute("SELECT coalesce(max(position), 0) FROM gridcover.collections")
            position = int(last.fetchone()[0]) + 1
        else:
            position = int(row[0])
        conn.execute("DELETE FROM gridcover.collections WHERE layer = %s", (layer,))
        raw = conn.execute("SELECT fields FROM gridcover.layers WHERE name = %s", (layer,))
        fields = {f.name for f in q.fields_from_json(raw.fetchone()[0])}
        for v in views:
            taken = conn.execute(
                "SELECT layer FROM gridcover.collections WHERE id = %s", (v.id,)
            ).fetchone()
            if taken is not None:
                raise InputError(
                    f"collection id {v.id!r} is already published by layer {taken[0]!r}; "
                    "choose another layer name"
                )
            if v.where is not None and v.where[0] not in fields:
                raise InputError(
                    f"view {v.id!r} filters on {v.where[0]!r}, not a column of {layer}"
                )
            where = (v.where[0], json.dumps(v.where[1])) if v.where else (None, None)
            conn.execute(
                "INSERT INTO gridcover.collections VALUES (%s,%s,%s,%s,%s,%s,%s::jsonb,0,"
                "NULL,NULL,NULL,NULL)",
                (v.id, layer, position, v.title, v.description, *where),
            )
        postgis_edit.refresh_stats(conn, layer)

    def delete_layer(self, layer: str, on_commit: CommitHook | None = None) -> None:
        with self._write() as conn:
            postgis_edit.lock_layer(conn, layer)
            gone = conn.execute("DELETE FROM gridcover.layers WHERE name = %s", (layer,))
            if gone.rowcount == 0:
                raise NotFound(f"layer {layer!r} is not stored")
            conn.execute("DELETE FROM gridcover.collections WHERE layer = %s", (layer,))
            conn.execute("DELETE FROM gridcover.features WHERE layer = %s", (layer,))
            if on_commit is not None:
                on_commit(conn)

    # -- feature edits (row-level security applies) ------------------------------------------
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
        """One feature edited as ``actor`` in one transaction (row-level security applies)."""
        with self._write() as conn:
            return postgis_edit.edit_feature(
                conn, self._psycopg.errors, layer, feature_id, plan, mode, actor, on_commit
            )

    def sql_target(self) -> SqlTarget:
        return SqlTarget("postgres", self.database_url)
