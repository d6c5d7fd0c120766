"""Single-feature edits: who writes (``Actor``), one feature's row, and the editors.

``editor_for(store)`` returns the store itself when it edits rows in place (PostGIS, where the
row-level security policies also check the actor's grid scope), else a ``GeoPackageEditor``
that edits copy-on-write: it reads the layer, changes one row and atomically replaces the
layer (``Store.replace_layer``), so a crash leaves the old layer. That costs one layer rewrite
per edit (fine for thousands of cameras; use PostGIS for very large edited layers). Edits of
one GeoPackage are serialised by a lock file, across processes too.

Nothing here imports the web framework: the CLI and tests call it directly.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridcover.api.store.base import Store
from gridcover.errors import Conflict, InputError, NotFound

Role = Literal["admin", "planner", "grid_chief", "reader"]
ROLES: tuple[Role, ...] = ("admin", "planner", "grid_chief", "reader")
EditMode = Literal["create", "replace", "delete"]


@dataclass(frozen=True)
class Actor:
    """Who makes a request: key id and name, role, grid scope (grid chiefs), request id."""

    name: str
    role: str
    key_id: str | None = None
    grid_code: str | None = None
    request_id: str | None = None


SYSTEM = Actor(name="system", role="system")
ANONYMOUS = Actor(name="anonymous", role="anonymous")

#: The actor of the current request, set by the auth middleware (copied into worker threads).
current_actor: ContextVar[Actor | None] = ContextVar("gridcover_actor", default=None)


@dataclass(frozen=True)
class FeatureRow:
    """One feature: a shapely geometry in EPSG:4326 (or None) and its attribute values."""

    geometry: BaseGeometry | None
    properties: Mapping[str, Any] = field(default_factory=dict)


#: Runs inside the committing transaction with (connection, row before the edit or None).
EditHook = Callable[[Any, FeatureRow | None], None]


class FeatureEditor(Protocol):
    """Edits one feature of a layer, identified by the layer's id column, atomically."""

    def edit_feature(
        self,
        layer: str,
        feature_id: str,
        after: FeatureRow | None,
        *,
        mode: EditMode,
        actor: Actor | None = None,
        on_commit: EditHook | None = None,
    ) -> FeatureRow | None:
        """Create, replace or delete one feature; returns the row before (None on create).

        Raises NotFound (no such feature), Conflict (create of an existing id) and
        PermissionDenied (the backend's own policy refused the actor).
        """
        ...


def editor_for(store: Store) -> FeatureEditor:
    """The editor of a store: the store itself if it edits rows, else copy-on-write."""
    inner = getattr(store, "inner", store)
    if hasattr(inner, "edit_feature"):
        editor: FeatureEditor = inner  # type: ignore[assignment]
        return editor
    return GeoPackageEditor(inner)


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` + ``.edit-lock``: threads and processes take turns."""
    key = str(path.resolve())
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock, open(key + ".edit-lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextmanager
def layer_write_lock(store: Store) -> Iterator[None]:
    """Hold the GeoPackage edit lock around a layer replace (no-op for PostGIS).

    Copy-on-write edits read a layer and write it back; an upload in between would be lost
    without this lock. PostGIS serialises writers itself (advisory locks per layer).
    """
    inner = getattr(store, "inner", store)
    if hasattr(inner, "edit_feature"):
        yield
        return
    with _file_lock(Path(getattr(inner, "path", "gridcover-store"))):
        yield


def coerce_property(value: Any, ftype: str, name: str) -> Any:
    """A JSON value converted to a stored field type; InputError names the field."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    try:
        if ftype == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if ftype == "number":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if ftype == "boolean":
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
    except (TypeError, ValueError):
        raise InputError(
            f"property {name!r} = {value!r} is not a valid {ftype}; send a JSON {ftype}"
        ) from None
    return value if isinstance(value, str) else str(value)


def row_of(gdf: gpd.GeoDataFrame, i: int) -> FeatureRow:
    """Row ``i`` of a layer as a FeatureRow (missing values as None)."""
    geom = gdf.geometry.iloc[i]
    props: dict[str, Any] = {}
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        v = gdf[col].iloc[i]
        props[col] = None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)
    return FeatureRow(None if geom is None or geom.is_empty else geom, props)


class GeoPackageEditor:
    """Copy-on-write edits over any ``Store`` whose layers are replaced atomically."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.path = Path(getattr(store, "path", "gridcover-store"))

    def edit_feature(
        self,
        layer: str,
        feature_id: str,
        after: FeatureRow | None,
        *,
        mode: EditMode,
        actor: Actor | None = None,
        on_commit: EditHook | None = None,
    ) -> FeatureRow | None:
        from gridcover.api.store.publish import views_for

        with _file_lock(self.path):
            meta = self.store.layer_meta(layer)
            gdf = self.store.read_layer(layer)
            id_col = meta.id_field
            if not id_col or id_col not in gdf.columns:
                raise Conflict(
                    f"layer {layer!r} has no id column, so its features cannot be edited one "
                    "by one; upload the whole layer instead (PUT /layers/" + layer + ")"
                )
            ids = gdf[id_col].astype(str).to_numpy()
            hits = np.flatnonzero(ids == str(feature_id))
            before = row_of(gdf, int(hits[0])) if len(hits) else None
            if mode == "create" and before is not None:
                raise Conflict(f"{layer} already has a feature with {id_col} {feature_id!r}")
            if mode != "create" and before is None:
                raise NotFound(f"{layer} has no feature with {id_col} {feature_id!r}")
            if mode == "delete":
                new = gdf.drop(index=gdf.index[hits]).reset_index(drop=True)
            else:
                assert after is not None  # the callers pass a row for create and replace
                new = _with_row(gdf, hits, after)
            views = views_for(layer, new, meta.title, meta.description)

            def hook(conn: Any) -> None:
                if on_commit is not None:
                    on_commit(conn, before)

            self.store.replace_layer(layer, new, meta, views, on_commit=hook)
            return before


def _with_row(gdf: gpd.GeoDataFrame, hits: np.ndarray, after: FeatureRow) -> gpd.GeoDataFrame:
    """``gdf`` with the rows ``hits`` replaced by ``after`` (or ``after`` appended)."""
    geom_name = gdf.geometry.name
    unknown = set(after.properties) - set(gdf.columns)
    if unknown:
        raise InputError(
            f"properties {sorted(unknown)} are not fields of this layer; fields: "
            f"{[c for c in gdf.columns if c != geom_name]}"
        )
    data: dict[str, Any] = {}
    for col in gdf.columns:
        if col == geom_name:
            continue
        values = gdf[col].astype(object).where(gdf[col].notna(), None).to_numpy().copy()
        value = after.properties.get(col)
        values = np.append(values, [value]) if not len(hits) else values
        if len(hits):
            values[hits] = value
        data[col] = _typed_like(gdf[col], values)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    g = after.geometry if after.geometry is not None else shapely.Point()
    geoms = np.append(geoms, [g]) if not len(hits) else geoms.copy()
    if len(hits):
        geoms[hits] = g
    out = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=gdf.crs), crs=gdf.crs)
    return out.rename_geometry(geom_name) if geom_name != "geometry" else out


def _typed_like(col: pd.Series, values: np.ndarray) -> Any:
    """``values`` (objects, None for missing) in the dtype family of ``col``."""
    missing = np.array([v is None for v in values], dtype=bool)
    if pd.api.types.is_bool_dtype(col.dtype):
        return pd.array(list(values), dtype="boolean")
    if pd.api.types.is_integer_dtype(col.dtype):
        return pd.array(list(values), dtype="Int64") if missing.any() else values.astype(np.int64)
    if pd.api.types.is_float_dtype(col.dtype):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return pd.array([None if v is None else str(v) for v in values], dtype="str")
