"""SQL of the PostGIS store: tables, roles, row-level security policies, row encoding.

Layout (schema ``gridcover``): ``layers`` and ``collections`` (the catalog), and one
``features`` table for every layer: ``(layer, fid, fkey, geom geometry(Geometry, 4326),
props jsonb)``. Replacing a layer is DELETE + COPY in one transaction, so readers (each read
is one REPEATABLE READ snapshot) see the old rows or the new ones, and a crash rolls back.

Row-level security (defence in depth behind the API's own checks). A write runs under one
of three NOLOGIN roles chosen per transaction with ``SET LOCAL ROLE`` and, for grid chiefs,
``gridcover.grid_code`` set with ``set_config(..., true)``:
- ``gridcover_reader``: SELECT only (any write: "permission denied").
- ``gridcover_editor`` (admin, planner): every row.
- ``gridcover_grid_chief``: INSERT/UPDATE/DELETE of cameras and sites whose geometry lies
  inside his grid's polygon, checked on the old row (USING) and on the new row (WITH CHECK),
  so an object can neither be edited from outside nor moved out; UPDATE of his grid's and
  its descendants' attributes, while a trigger refuses changes to their shape, code, parent
  code, level and to any feature id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridcover.api.store.base import CollectionInfo, FieldInfo
from gridcover.api.store.field_values import typed_column
from gridcover.api.store.gpkg.sql import filter_value
from gridcover.errors import InputError

SCHEMA_VERSION = "1"
LAYER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
CHIEF_LAYERS = ("cameras", "sites")

TABLES_DDL = (
    "CREATE SCHEMA IF NOT EXISTS gridcover",
    """CREATE TABLE IF NOT EXISTS gridcover.meta (key text PRIMARY KEY, value text NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS gridcover.layers (
        name text PRIMARY KEY, kind text NOT NULL, title text NOT NULL,
        description text NOT NULL, id_field text, id_column text, params jsonb NOT NULL,
        fields jsonb NOT NULL, geometry_type text NOT NULL, updated text NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS gridcover.collections (
        id text PRIMARY KEY, layer text NOT NULL, position integer NOT NULL,
        title text NOT NULL, description text NOT NULL, where_column text,
        where_value jsonb, count bigint NOT NULL,
        minx float8, miny float8, maxx float8, maxy float8)""",
    """CREATE TABLE IF NOT EXISTS gridcover.features (
        layer text NOT NULL, fid bigint NOT NULL, fkey text,
        geom geometry(Geometry, 4326), props jsonb NOT NULL,
        PRIMARY KEY (layer, fid))""",
    "CREATE INDEX IF NOT EXISTS features_fkey ON gridcover.features (layer, fkey)",
    "CREATE INDEX IF NOT EXISTS features_geom ON gridcover.features USING gist (geom)",
)

ROLE_NAMES = ("gridcover_reader", "gridcover_editor", "gridcover_grid_chief")
DB_ROLE = {
    "admin": "gridcover_editor",
    "planner": "gridcover_editor",
    "grid_chief": "gridcover_grid_chief",
    "reader": "gridcover_reader",
}


def security_ddl(postgis_schema: str) -> tuple[str, ...]:
    """Roles, grants, policies, scope functions and the grid-chief guard trigger."""
    path = f"pg_catalog, {_ident(postgis_schema)}, pg_temp"
    roles = ", ".join(ROLE_NAMES)
    create_roles = tuple(
        f"""DO $$ BEGIN CREATE ROLE {r} NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"""
        for r in ROLE_NAMES
    )
    return (
        *create_roles,
        f"""DO $$ BEGIN EXECUTE 'GRANT {roles} TO ' || quote_ident(current_user);
            EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN NULL; END $$""",
        f"GRANT USAGE ON SCHEMA gridcover TO {roles}",
        f"GRANT SELECT ON gridcover.features, gridcover.layers, gridcover.collections TO {roles}",
        "GRANT INSERT, UPDATE, DELETE ON gridcover.features TO gridcover_editor, "
        "gridcover_grid_chief",
        f"""CREATE OR REPLACE FUNCTION gridcover.in_chief_scope(l text, g geometry, p jsonb)
            RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER
            SET search_path = {path} AS $f$
            DECLARE
              scope_code text := NULLIF(current_setting('gridcover.grid_code', true), '');
              area geometry;
            BEGIN
              IF scope_code IS NULL THEN RETURN false; END IF;
              IF l IN ('cameras', 'sites') THEN
                IF g IS NULL OR ST_IsEmpty(g) THEN RETURN false; END IF;
                SELECT ST_Union(f.geom) INTO area FROM gridcover.features f
                  WHERE f.layer = 'grids' AND f.props->>'code' = scope_code;
                RETURN area IS NOT NULL AND ST_Covers(area, g);
              ELSIF l = 'grids' THEN
                RETURN EXISTS (
                  WITH RECURSIVE s(c) AS (
                    SELECT scope_code
                    UNION
                    SELECT f.props->>'code' FROM gridcover.features f JOIN s
                      ON f.props->>'parent_code' = s.c WHERE f.layer = 'grids')
                  SELECT 1 FROM s WHERE s.c = p->>'code');
              END IF;
              RETURN false;
            END $f$""",
        f"""CREATE OR REPLACE FUNCTION gridcover.chief_guard() RETURNS trigger
            LANGUAGE plpgsql SET search_path = {path} AS $f$
            BEGIN
              IF current_user = 'gridcover_grid_chief' AND (
                   NEW.layer IS DISTINCT FROM OLD.layer OR NEW.fid IS DISTINCT FROM OLD.fid
                   OR NEW.fkey IS DISTINCT FROM OLD.fkey
                   OR (OLD.layer = 'grids' AND (
                        ST_AsEWKB(NEW.geom) IS DISTINCT FROM ST_AsEWKB(OLD.geom)
                        OR NEW.props->'code' IS DISTINCT FROM OLD.props->'code'
                        OR NEW.props->'parent_code' IS DISTINCT FROM OLD.props->'parent_code'
                        OR NEW.props->'level' IS DISTINCT FROM OLD.props->'level'))) THEN
                RAISE EXCEPTION 'a grid chief may change the attributes of his grids, not '
                  'their shape, code, parent code or level, nor any feature id'
                  USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END $f$""",
        """CREATE OR REPLACE TRIGGER chief_guard BEFORE UPDATE ON gridcover.features
           FOR EACH ROW EXECUTE FUNCTION gridcover.chief_guard()""",
        "ALTER TABLE gridcover.features ENABLE ROW LEVEL SECURITY",
        *(
            f"DROP POLICY IF EXISTS {p} ON gridcover.features"
            for p in (
                "gc_read",
                "gc_editor",
                "gc_chief_insert",
                "gc_chief_update",
                "gc_chief_delete",
            )
        ),
        f"CREATE POLICY gc_read ON gridcover.features FOR SELECT TO {roles} USING (true)",
        """CREATE POLICY gc_editor ON gridcover.features FOR ALL TO gridcover_editor
           USING (true) WITH CHECK (true)""",
        """CREATE POLICY gc_chief_insert ON gridcover.features FOR INSERT
           TO gridcover_grid_chief WITH CHECK (layer IN ('cameras', 'sites')
           AND gridcover.in_chief_scope(layer, geom, props))""",
        """CREATE POLICY gc_chief_update ON gridcover.features FOR UPDATE
           TO gridcover_grid_chief USING (gridcover.in_chief_scope(layer, geom, props))
           WITH CHECK (gridcover.in_chief_scope(layer, geom, props))""",
        """CREATE POLICY gc_chief_delete ON gridcover.features FOR DELETE
           TO gridcover_grid_chief USING (layer IN ('cameras', 'sites')
           AND gridcover.in_chief_scope(layer, geom, props))""",
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- rows --------------------------------------------------------------------------------------
def prepare(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy in EPSG:4326 with a plain index (raises InputError without a CRS)."""
    if gdf.crs is None:
        raise InputError("the layer has no CRS; set one (e.g. EPSG:4326) before storing it")
    return gdf.to_crs("EPSG:4326").reset_index(drop=True)


def field_infos(gdf: gpd.GeoDataFrame) -> tuple[FieldInfo, ...]:
    """Attribute fields of a layer (every column but the geometry) with their JSON types."""
    out = []
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        dt = gdf[col].dtype
        if pd.api.types.is_bool_dtype(dt):
            out.append(FieldInfo(col, "boolean"))
        elif pd.api.types.is_integer_dtype(dt):
            vals = gdf[col].dropna()
            wide = bool(len(vals)) and (int(vals.min()) < -(2**31) or int(vals.max()) >= 2**31)
            out.append(FieldInfo(col, "integer", wide))
        elif pd.api.types.is_float_dtype(dt):
            out.append(FieldInfo(col, "number"))
        else:
            out.append(FieldInfo(col, "string"))
    return tuple(out)


def column_values(s: pd.Series, f: FieldInfo) -> list[Any]:
    """JSON-ready Python values of a column (None for missing or non-finite)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ts = pd.to_datetime(s, utc=True)
        return [None if pd.isna(v) else v.isoformat().replace("+00:00", "Z") for v in ts]
    values = s.astype(object).where(s.notna(), None).tolist()
    if f.type == "number":
        return [None if v is None or not np.isfinite(v) else float(v) for v in values]
    if f.type == "integer":
        return [None if v is None else int(v) for v in values]
    if f.type == "boolean":
        return [None if v is None else bool(v) for v in values]
    return [v if v is None or isinstance(v, str) else str(v) for v in values]


def ewkb_hex(geoms: np.ndarray) -> list[str | None]:
    """Hex EWKB (SRID 4326, 2D) per geometry; None for missing or empty ones."""
    geoms = np.asarray(geoms, dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    out = shapely.to_wkb(
        shapely.set_srid(_blank(geoms, bad), 4326),
        hex=True, include_srid=True, output_dimension=2,
    )  # fmt: skip
    return [None if w is None else str(w) for w in out]


def _blank(geoms: np.ndarray, bad: np.ndarray) -> np.ndarray:
    out = geoms.copy()
    out[bad] = None
    return out


def copy_rows(
    layer: str, gdf: gpd.GeoDataFrame, fields: tuple[FieldInfo, ...], id_column: str | None
) -> Iterator[tuple[Any, ...]]:
    """Rows for ``COPY gridcover.features (layer, fid, fkey, geom, props)``."""
    names = [f.name for f in fields]
    columns = [column_values(gdf[f.name], f) for f in fields]
    keys = column_values(gdf[id_column], FieldInfo(id_column, "string")) if id_column else None
    geoms = ewkb_hex(np.asarray(gdf.geometry.values, dtype=object))
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    for i, values in enumerate(zip(*columns, strict=True) if columns else ((),) * len(gdf)):
        props = dumps(dict(zip(names, values, strict=True)))
        yield layer, i + 1, None if keys is None else keys[i], geoms[i], props


def props_value(value: Any, f: FieldInfo) -> Any:
    """A property value for JSON storage in the field's type (None for missing or
    non-finite): ``column_values`` of one value, without building a pandas Series (one
    feature's edit stores ~30 of them)."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if f.type == "number":
        return float(value) if np.isfinite(value) else None
    if f.type == "integer":
        return int(value)
    if f.type == "boolean":
        return bool(value)
    return value if isinstance(value, str) else str(value)


def geometry_type_name(gdf: gpd.GeoDataFrame) -> str:
    """One upper-case geometry type if the layer has one, else ``GEOMETRY``."""
    types = set(gdf.geometry.dropna().geom_type.str.upper())
    return types.pop() if len(types) == 1 else "GEOMETRY"


def load_props(texts: list[str]) -> list[dict[str, Any]]:
    """Many ``props::text`` values decoded in one JSON parse (much faster than one each)."""
    return json.loads("[" + ",".join(texts) + "]") if texts else []


def frame_of(rows: list[Any], fields: tuple[FieldInfo, ...]) -> gpd.GeoDataFrame:
    """Rows ``(wkb, props text)`` -> a GeoDataFrame in EPSG:4326 with typed columns."""
    geoms = shapely.from_wkb(np.array([r[0] for r in rows], dtype=object))
    props = load_props([r[1] for r in rows])
    data = {f.name: typed_column([p.get(f.name) for p in props], f) for f in fields}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))


def fields_json(fields: tuple[FieldInfo, ...]) -> str:
    return json.dumps([[f.name, f.type, f.int64] for f in fields])


def fields_from_json(raw: Any) -> tuple[FieldInfo, ...]:
    items = json.loads(raw) if isinstance(raw, str) else raw
    return tuple(FieldInfo(str(n), t, bool(w)) for n, t, w in items)


def where_clauses(info: CollectionInfo, filters: dict[str, str]) -> tuple[list[str], list[Any]]:
    """SQL conditions (and arguments) selecting a collection's rows with equality filters."""
    clauses, args = ["layer = %s"], [info.layer]
    match: dict[str, Any] = {}
    if info.where is not None:
        match[info.where[0]] = info.where[1]
    for name, raw in filters.items():
        f, value = filter_value(info, name, raw)
        match[name] = bool(value) if f.type == "boolean" else value
    if match:
        clauses.append("props @> %s::jsonb")
        args.append(json.dumps(match))
    return clauses, args
