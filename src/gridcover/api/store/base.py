"""Storage of layers and published collections: the ``Store`` protocol and its value types.

A *layer* is one stored table (``cameras``, ``grids``, ``coverage_cells``...). A *collection*
is what the OGC API publishes: a layer, optionally restricted by one fixed equality filter
(``grids`` level 1, 2 and 3 are three collections over one layer). Geometries are stored in
EPSG:4326 longitude/latitude; CRS conversion happens in the web layer.

``GeoPackageStore`` (``gpkg/store.py``) is the default backend; a PostGIS backend implements
the same protocol. Replacing a layer is atomic: readers see the old layer or the new one,
never a mix, and a crash during the write leaves the old layer intact. ``replace_layer``
takes an ``on_commit`` hook that runs inside the committing transaction (for an audit row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
from shapely.geometry.base import BaseGeometry

from gridcover.api.store.sql_target import SqlTarget

FieldType = Literal["string", "integer", "number", "boolean"]
EditMode = Literal["create", "replace", "delete"]
Scalar = str | int | float | bool


@dataclass(frozen=True)
class FieldInfo:
    """One attribute column of a collection: its name and JSON type."""

    name: str
    type: FieldType
    int64: bool = False  # an integer column that may exceed 32 bits


@dataclass(frozen=True)
class ViewSpec:
    """A published collection over a layer: id, title and an optional fixed filter."""

    id: str
    title: str
    description: str = ""
    where: tuple[str, Scalar] | None = None


@dataclass(frozen=True)
class LayerMeta:
    """What is recorded with a stored layer: kind, title and the parameters that made it."""

    kind: str
    title: str
    description: str = ""
    id_field: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectionInfo:
    """A published collection: metadata, attribute fields, feature count and extent.

    ``bbox`` is (min lon, min lat, max lon, max lat) in CRS84, ``None`` when empty.
    ``params`` are the parameters recorded with the layer (an analysis run's config).
    """

    id: str
    layer: str
    kind: str
    title: str
    description: str
    geometry_type: str
    fields: tuple[FieldInfo, ...]
    id_field: str | None
    count: int
    bbox: tuple[float, float, float, float] | None
    params: Mapping[str, Any]
    updated: str
    where: tuple[str, Scalar] | None = None

    def field(self, name: str) -> FieldInfo | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True)
class FeaturePage:
    """Features of one page: ids, shapely geometries (CRS84), attribute dicts, total matched."""

    ids: list[Any]
    geometries: np.ndarray
    properties: list[dict[str, Any]]
    number_matched: int


@dataclass(frozen=True)
class ItemsQuery:
    """A page request on a collection; ``bbox`` in CRS84 (min lon, min lat, max lon, max lat)."""

    bbox: tuple[float, float, float, float] | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True)
class LayerWrite:
    """One layer of a batch write: name, data (any CRS), metadata and published views."""

    layer: str
    gdf: gpd.GeoDataFrame
    meta: LayerMeta
    views: Sequence[ViewSpec] | None = None


CommitHook = Callable[[Any], None]


@dataclass(frozen=True)
class Actor:
    """Who makes a request: key id and name, role, grid scope (grid chiefs), request id."""

    name: str
    role: str
    key_id: str | None = None
    grid_code: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class FeatureRow:
    """One feature: a shapely geometry in EPSG:4326 (or None) and its attribute values."""

    geometry: BaseGeometry | None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureEdit:
    """What one committed single-feature edit changed: the row before (None on create) and
    after (None on delete)."""

    before: FeatureRow | None
    after: FeatureRow | None


#: Decides the row after an edit from the row before, read under the edit's lock (None: the
#: feature does not exist yet). Raises to refuse (stale version, scope, invalid values).
EditPlan = Callable[[FeatureRow | None], FeatureRow | None]
#: Runs inside the committing transaction with (connection, row before, row after).
EditHook = Callable[[Any, FeatureRow | None, FeatureRow | None], None]


@runtime_checkable
class Store(Protocol):
    """What the web layer needs from storage. Methods raise ``NotFound`` / ``InputError``."""

    def collections(self) -> list[CollectionInfo]:
        """Every published collection, in a stable order."""
        ...

    def collection(self, collection_id: str) -> CollectionInfo:
        """One collection; raises ``NotFound`` if it does not exist."""
        ...

    def items(self, collection_id: str, query: ItemsQuery) -> FeaturePage:
        """One page of features matching ``query`` (bbox intersects, equality filters)."""
        ...

    def feature(self, collection_id: str, feature_id: str) -> FeaturePage:
        """The single feature with this id; raises ``NotFound``."""
        ...

    def read_collection(self, collection_id: str) -> gpd.GeoDataFrame:
        """The whole collection as a GeoDataFrame in EPSG:4326 (downloads)."""
        ...

    def layers(self) -> list[str]:
        """Names of the stored layers."""
        ...

    def has_layer(self, layer: str) -> bool:
        """True if the layer is stored."""
        ...

    def read_layer(self, layer: str) -> gpd.GeoDataFrame:
        """A whole stored layer as a GeoDataFrame in EPSG:4326 (analysis input)."""
        ...

    def layer_meta(self, layer: str) -> LayerMeta:
        """What was recorded with the layer (kind, title, run parameters)."""
        ...

    def replace_layer(
        self,
        layer: str,
        gdf: gpd.GeoDataFrame,
        meta: LayerMeta,
        views: Sequence[ViewSpec] | None = None,
        on_commit: CommitHook | None = None,
    ) -> None:
        """Create or atomically replace a layer and its published collections."""
        ...

    def replace_layers(
        self, writes: Sequence[LayerWrite], on_commit: CommitHook | None = None
    ) -> None:
        """Create or replace several layers in one atomic step (analysis results)."""
        ...

    def delete_layer(self, layer: str, on_commit: CommitHook | None = None) -> None:
        """Remove a layer and its collections; raises ``NotFound``."""
        ...

    def is_new(self) -> bool:
        """True if the store holds no layer yet (first start)."""
        ...

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
        """Create, replace or delete one feature of ``layer`` (found by its id column) in one
        transaction: lock, read the row, ``plan(before)`` -> row after, write, ``on_commit``.

        Raises NotFound (no such feature), Conflict (create of an existing id; another edit
        held the layer too long) and PermissionDenied (the backend's own policy refused).
        """
        ...

    def sql_target(self) -> SqlTarget:
        """The database that holds the service's own tables (keys, audit log, jobs)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class StoreBase:
    """The ``Store`` methods every backend derives the same way from its other methods:
    ``replace_layer`` is a batch of one, ``has_layer`` and ``is_new`` read ``layers()``."""

    def replace_layer(
        self: Store,
        layer: str,
        gdf: gpd.GeoDataFrame,
        meta: LayerMeta,
        views: Sequence[ViewSpec] | None = None,
        on_commit: CommitHook | None = None,
    ) -> None:
        self.replace_layers([LayerWrite(layer, gdf, meta, views)], on_commit=on_commit)

    def has_layer(self: Store, layer: str) -> bool:
        return layer in self.layers()

    def is_new(self: Store) -> bool:
        return not self.layers()
