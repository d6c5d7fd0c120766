"""A grid chief's scope: grid look-ups through the store's indexed queries and the check that
an edited camera, site or grid lies (and stays) inside his grid.

Used by the feature-editing routes inside the edit's transaction (``Store.edit_feature``), so
the check runs on the row as it is when the edit is written, never on an older copy.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from gridcover.api.store import CollectionInfo, ItemsQuery, Store
from gridcover.api.store.edits import Actor, FeatureRow
from gridcover.errors import PermissionDenied


class Scope:
    """Grid look-ups through the store's indexed queries (never a whole-layer read).

    Works on the collections of the ``grids`` layer (one per level), finest level first.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        grids = [c for c in store.collections() if c.layer == "grids"]
        self.collections = sorted(grids, key=lambda c: -_level(c))

    def _find(self, **query: object) -> list[tuple[str, BaseGeometry, dict[str, Any]]]:
        out = []
        for c in self.collections:
            page = self.store.items(c.id, ItemsQuery(limit=10_000, **query))  # type: ignore[arg-type]
            out += [(c.id, g, p) for g, p in zip(page.geometries, page.properties, strict=True)]
        return out

    def area(self, code: str) -> BaseGeometry | None:
        """The union of the polygons with ``code`` (None if there is none)."""
        hits = [g for _, g, _ in self._find(filters={"code": code}) if g is not None]
        return shapely.union_all(hits) if hits else None

    def codes_under(self, code: str) -> set[str]:
        """``code`` and every descendant code (by parent_code)."""
        out, todo = {code}, [code]
        if not all(c.field("parent_code") for c in self.collections):
            return out
        while todo:
            children = {
                str(p["code"]) for _, _, p in self._find(filters={"parent_code": todo.pop()})
            }
            todo += list(children - out)
            out |= children
        return out

    def grid_of(self, geom: BaseGeometry | None) -> str | None:
        """Code of the finest grid that covers the geometry's representative point."""
        if geom is None or geom.is_empty:
            return None
        pt = geom.representative_point()
        for c in self.collections:
            # a tiny box, not a point: PostGIS makes no polygon of a zero-size envelope
            box = (pt.x - 1e-9, pt.y - 1e-9, pt.x + 1e-9, pt.y + 1e-9)
            page = self.store.items(c.id, ItemsQuery(bbox=box, limit=100))
            for g, p in zip(page.geometries, page.properties, strict=True):
                if g is not None and g.covers(pt):
                    return str(p.get("code"))
        return None


def _level(c: CollectionInfo) -> int:
    value = c.where[1] if c.where and c.where[0] == "level" else 0
    return int(value) if isinstance(value, int | float | str) and str(value).isdigit() else 0


def check_scope(
    actor: Actor,
    info: CollectionInfo,
    scope: Scope,
    before: FeatureRow | None,
    after: FeatureRow | None,
    feature_id: str,
) -> None:
    """403 unless a grid chief's object lies (and stays) inside his grid."""
    if actor.role != "grid_chief":
        return
    code = actor.grid_code or ""
    what = f"{info.kind[:-1]} {feature_id!r}"
    if info.kind == "grids":
        if feature_id not in scope.codes_under(code):
            raise PermissionDenied(
                f"grid {feature_id!r} is not grid {code!r} or one of its sub-grids; a grid "
                "chief edits only his own grids"
            )
        return
    area = scope.area(code)
    if area is None:
        raise PermissionDenied(f"your grid {code!r} is not in the stored grids layer")
    if before is not None and (before.geometry is None or not area.covers(before.geometry)):
        raise PermissionDenied(
            f"{what} lies {_where(scope, before.geometry)}, outside your grid {code!r}; only "
            "that grid's chief (or a planner) may change it"
        )
    if after is not None and (after.geometry is None or not area.covers(after.geometry)):
        where = _where(scope, after.geometry)
        if before is None:
            raise PermissionDenied(
                f"{what} would lie {where}, outside your grid {code!r}; a grid chief creates "
                "cameras and sites only inside his grid"
            )
        raise PermissionDenied(
            f"{what} cannot be moved {where.replace('in grid', 'into grid')}: the new "
            f"position is outside your grid {code!r}"
        )


def _where(scope: Scope, geom: BaseGeometry | None) -> str:
    """'in grid 'B0813'' or, for an object outside every stored grid, says so."""
    code = scope.grid_of(geom)
    if code is None:
        return "outside every stored grid" if geom is not None else "nowhere (no geometry)"
    return f"in grid {code!r}"
