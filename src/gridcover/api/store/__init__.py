"""Storage: the ``Store`` protocol and value types, the backend factory, and the service's own
tables (API keys, audit log) that live beside the layers. No web framework is imported here.

- ``base``: the protocol and its value types; ``factory``: ``open_store`` / ``store_label``;
- ``gpkg/``: the default GeoPackage backend; ``postgis/``: the PostGIS backend;
- ``sql_target``: where the service's own tables live; ``keys``: API keys; ``audit``: the
  append-only audit log; ``edits``: single-feature editors; ``publish``: which collections a
  stored layer publishes, and the first-start sample load.
"""

from gridcover.api.store.base import (
    CollectionInfo,
    FeaturePage,
    FieldInfo,
    ItemsQuery,
    LayerMeta,
    LayerWrite,
    Store,
    StoreBase,
    ViewSpec,
)
from gridcover.api.store.factory import open_store
from gridcover.api.store.sql_target import store_label

__all__ = [
    "CollectionInfo",
    "FeaturePage",
    "FieldInfo",
    "ItemsQuery",
    "LayerMeta",
    "LayerWrite",
    "Store",
    "StoreBase",
    "ViewSpec",
    "open_store",
    "store_label",
]
