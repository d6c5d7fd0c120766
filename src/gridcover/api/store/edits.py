"""Single-feature edits: who writes (``Actor``), one feature's row, versions and id rules.

Every backend edits one feature in place through ``Store.edit_feature`` (GeoPackage: one
SQLite write transaction that updates the row and its R-tree entry; PostGIS: one transaction
under a per-layer advisory lock and the actor's database role). The caller's ``plan`` runs
inside that transaction with the row as it is now, so a version check, a grid-scope check and
a merge can never act on a row another writer has just changed.

A feature's version is ``feature_hash`` of its geometry and properties; the web layer sends
it as the ``ETag`` and compares ``If-Match`` with it (``matches``).

Nothing here imports the web framework: the CLI and tests call it directly.
"""

from __future__ import annotations

import unicodedata
from contextvars import ContextVar
from typing import Any

import geopandas as gpd
import pandas as pd

from gridcover.api.store.base import (
    Actor,
    EditHook,
    EditMode,
    EditPlan,
    FeatureEdit,
    FeatureRow,
)
from gridcover.api.store.field_values import coerce_property, feature_hash
from gridcover.errors import InputError

__all__ = [
    "ANONYMOUS",
    "ROLES",
    "SYSTEM",
    "Actor",
    "EditHook",
    "EditMode",
    "EditPlan",
    "FeatureEdit",
    "FeatureRow",
    "becomes",
    "check_feature_id",
    "checked_after",
    "coerce_property",
    "current_actor",
    "etag_of",
    "matches",
    "row_of",
    "version_of",
]

ROLES = ("admin", "planner", "grid_chief", "reader")

SYSTEM = Actor(name="system", role="system")
ANONYMOUS = Actor(name="anonymous", role="anonymous")

#: The actor of the current request, set by the auth middleware (copied into worker threads).
current_actor: ContextVar[Actor | None] = ContextVar("gridcover_actor", default=None)

MAX_ID_LENGTH = 200


def check_feature_id(value: Any, field: str) -> str:
    """A new feature's id as text, or InputError naming the rule it breaks.

    Ids become one segment of a URL path (``/collections/{c}/items/{id}``), so they may not
    contain ``/`` or ``\\``, control characters (NUL, CR, LF, TAB...) or lone surrogates, may not
    be ``.`` or ``..``, and are at most 200 characters. Any other text (Chinese included) is
    fine: links percent-encode it.
    """
    text = str(value)
    rule = (
        f"properties.{field} = {text[:60]!r} cannot be a feature id: ids are one URL path "
        "segment of at most 200 characters without '/', '\\', control characters or "
        "surrogates, and not '.' or '..'"
    )
    bad = any(c in "/\\" or unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in text)
    if not text.strip() or bad or text in (".", "..") or len(text) > MAX_ID_LENGTH:
        raise InputError(rule + "; choose another id")
    return text


def becomes(row: FeatureRow | None) -> EditPlan:
    """The plan of an unconditional edit: whatever the row is now, it becomes ``row``."""

    def plan(_before: FeatureRow | None) -> FeatureRow | None:
        return row

    return plan


def version_of(row: FeatureRow) -> str:
    """The version of a feature (SHA-256 hex of geometry and properties)."""
    return feature_hash(row.geometry, row.properties)


def etag_of(row: FeatureRow) -> str:
    """The strong HTTP entity tag of a feature's version (quoted)."""
    return f'"{version_of(row)}"'


def matches(if_match: str, row: FeatureRow | None) -> bool:
    """True if an ``If-Match`` header value names the current version of ``row``.

    ``*`` matches any existing feature; weak tags (``W/"..."``) never match (RFC 9110 13.1.1).
    """
    if row is None:
        return False
    tags = [t.strip() for t in if_match.split(",") if t.strip()]
    if "*" in tags:
        return True
    current = etag_of(row)
    return any(t == current for t in tags)


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


def checked_after(
    after: FeatureRow | None, field_names: list[str], id_column: str, feature_id: str
) -> FeatureRow | None:
    """``after`` with every field present, refusing unknown fields and a changed id."""
    if after is None:
        return None
    unknown = set(after.properties) - set(field_names)
    if unknown:
        raise InputError(
            f"properties {sorted(unknown)} are not fields of this layer; fields: {field_names}"
        )
    if str(after.properties.get(id_column)) != str(feature_id):
        raise InputError(f"{id_column} must stay {feature_id!r}; ids cannot be changed")
    return FeatureRow(after.geometry, {n: after.properties.get(n) for n in field_names})
