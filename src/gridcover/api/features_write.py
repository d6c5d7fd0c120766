"""Create, edit and delete single features (cameras, sites) and grid attributes.

OGC API - Features Part 4 style: ``POST /collections/{id}/items`` (a GeoJSON Feature in
CRS84), ``PUT`` / ``PATCH`` / ``DELETE /collections/{id}/items/{featureId}``. Cameras and sites
can be created, replaced, patched and deleted; grids only patched (attributes: not the shape,
code, parent code or level; those change by uploading the grids layer, which is checked).

Every new or changed feature passes the foundation's validation (``gis.read_layer`` on the
one feature). A grid chief's scope is checked here: the object before and after the edit
must lie inside his grid's polygon (his grid and its descendants for grid attributes), else
403; on PostGIS the row-level security policies check it again. Each edit is audited in the
same transaction (geometry hashes before/after, the grid it lies in).
"""

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from shapely.geometry.base import BaseGeometry
from starlette.exceptions import HTTPException

from gridcover.api.auth import get_actor
from gridcover.api.deps import get_settings, get_store
from gridcover.api.geojson import GEOJSON
from gridcover.api.openapi import responses_for
from gridcover.api.store import CollectionInfo, ItemsQuery, Store
from gridcover.api.store.audit import entry_for, geometry_hash, write_entry
from gridcover.api.store.edits import (
    Actor,
    EditMode,
    FeatureRow,
    coerce_property,
    editor_for,
    row_of,
)
from gridcover.api.uploads import check_json_depth
from gridcover.errors import InputError, PermissionDenied, ValidationReport
from gridcover.gis.schemas import SCHEMAS
from gridcover.settings import Settings

EDITABLE = ("cameras", "sites")
GRID_FIXED = ("code", "parent_code", "level")
_BODY = {
    "required": True,
    "content": {
        GEOJSON: {"schema": {"type": "object"}},
        "application/json": {"schema": {"type": "object"}},
    },
}


def parse_body(raw: bytes, settings: Settings) -> dict[str, Any]:
    """A JSON object body (depth-checked before parsing); InputError if it is not one."""
    if not raw.strip():
        raise InputError("the request has no body; send a GeoJSON Feature")
    check_json_depth(raw, settings.max_json_depth, "the request body")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError("the request body must be a JSON object (a GeoJSON Feature)")
    return doc


def _geometry(doc: dict[str, Any]) -> BaseGeometry | None:
    raw = doc.get("geometry")
    if raw is None:
        return None
    try:
        return shapely.geometry.shape(raw)
    except Exception as exc:
        raise InputError(f"the feature's geometry is not valid GeoJSON ({exc})") from None


def validate_row(
    info: CollectionInfo, geometry: BaseGeometry | None, properties: dict[str, Any]
) -> FeatureRow:
    """The foundation's checks on one feature; values typed like the stored fields."""
    from gridcover.gis import read_layer

    schema = SCHEMAS[info.kind]
    canonical = set(schema.columns)
    stored = {f.name: f for f in info.fields}
    unknown = sorted(set(properties) - canonical - set(stored))
    if unknown:
        raise InputError(
            f"properties {unknown} are not fields of {info.id}; fields: {sorted(stored)}"
        )
    feature = {
        "type": "Feature",
        "geometry": None if geometry is None else shapely.geometry.mapping(geometry),
        "properties": {k: v for k, v in properties.items() if k in canonical},
    }
    with tempfile.TemporaryDirectory(prefix="gridcover-feature-") as tmp:
        path = Path(tmp) / "feature.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
        try:
            gdf = read_layer(path, info.kind)
        except ValidationReport as exc:
            raise ValidationReport("the feature", exc.problems) from None
        except InputError as exc:
            raise type(exc)(str(exc).replace(str(path), "the feature")) from None
    if len(gdf) != 1:
        raise InputError("the feature's geometry is degenerate and would be dropped; fix it")
    checked = row_of(gdf, 0)
    values = {}
    for name, f in stored.items():
        value = checked.properties[name] if name in canonical else properties.get(name)
        values[name] = coerce_property(value, f.type, name)
    return FeatureRow(checked.geometry, values)


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
            page = self.store.items(c.id, ItemsQuery(bbox=(pt.x, pt.y, pt.x, pt.y), limit=100))
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
            f"{what} lies in grid {scope.grid_of(before.geometry)!r}, outside your grid "
            f"{code!r}; only that grid's chief (or a planner) may change it"
        )
    if after is not None and (after.geometry is None or not area.covers(after.geometry)):
        where = scope.grid_of(after.geometry)
        if before is None:
            raise PermissionDenied(
                f"{what} would lie in grid {where!r}, outside your grid {code!r}; a grid chief "
                "creates cameras and sites only inside his grid"
            )
        raise PermissionDenied(
            f"{what} cannot be moved into grid {where!r}: the new position is outside your "
            f"grid {code!r}"
        )


def apply_edit(
    store: Store,
    settings: Settings,
    actor: Actor,
    collection_id: str,
    feature_id: str | None,
    mode: str,
    doc: dict[str, Any] | None,
) -> tuple[str, FeatureRow | None]:
    """Check and apply one edit; (feature id, row after)."""
    info = store.collection(collection_id)
    if info.kind not in (*EDITABLE, "grids") or (info.kind == "grids" and mode != "patch"):
        raise HTTPException(
            405,
            f"{mode} is not offered on collection {collection_id!r}: cameras and sites can be "
            "created, replaced, patched and deleted, grids only patched (attributes); other "
            "layers change by upload (PUT /layers/{layer})",
        )
    if info.id_field is None:
        raise InputError(f"collection {collection_id!r} has no unique id field to edit by")
    before = None
    if feature_id is not None:
        page = store.feature(collection_id, feature_id)
        before = FeatureRow(page.geometries[0], page.properties[0])
    after, feature_id = _after(info, mode, doc, before, feature_id)
    scope = Scope(store)
    check_scope(actor, info, scope, before, after, feature_id)
    grid = (
        feature_id
        if info.kind == "grids"
        else scope.grid_of((after or before or FeatureRow(None)).geometry)
    )
    store_mode: EditMode = {"create": "create", "delete": "delete"}.get(mode, "replace")  # type: ignore[assignment]

    def audit(conn: Any, old: FeatureRow | None) -> None:
        write_entry(
            conn,
            entry_for(
                actor,
                mode,
                collection_id,
                object_id=feature_id,
                grid=grid,
                before_hash=geometry_hash(old.geometry) if old else None,
                after_hash=geometry_hash(after.geometry) if after else None,
                detail={"layer": info.layer},
            ),
        )

    editor_for(store).edit_feature(
        info.layer, feature_id, after, mode=store_mode, actor=actor, on_commit=audit
    )
    return feature_id, after


def _after(
    info: CollectionInfo,
    mode: str,
    doc: dict[str, Any] | None,
    before: FeatureRow | None,
    feature_id: str | None,
) -> tuple[FeatureRow | None, str]:
    """The validated row after the edit and the feature id."""
    id_field = str(info.id_field)
    if mode == "delete":
        return None, str(feature_id)
    assert doc is not None  # create, replace and patch have a body
    props = doc.get("properties") or {}
    if not isinstance(props, dict):
        raise InputError("'properties' must be a JSON object")
    if mode == "patch":
        assert before is not None
        if info.kind == "grids":
            changed = [k for k in GRID_FIXED if k in props and props[k] != before.properties.get(k)]
            if "geometry" in doc or changed:
                raise InputError(
                    f"a grid's shape and {', '.join(GRID_FIXED)} cannot be patched "
                    f"({'geometry' if 'geometry' in doc else changed}); upload the grids layer"
                )
        props = {**before.properties, **props}
        geom = _geometry(doc) if "geometry" in doc else before.geometry
    else:
        if doc.get("type") != "Feature":
            raise InputError("the body must be a GeoJSON Feature ({'type': 'Feature', ...})")
        geom = _geometry(doc)
    fid = feature_id if feature_id is not None else props.get(id_field, doc.get("id"))
    if fid is None or str(fid) == "":
        raise InputError(f"the feature needs its id in properties.{id_field}")
    if str(props.get(id_field, fid)) != str(fid):
        raise InputError(
            f"properties.{id_field} = {props.get(id_field)!r} differs from the feature id "
            f"{fid!r} in the URL; ids cannot be changed"
        )
    props = {**props, id_field: props.get(id_field, fid)}
    return validate_row(info, geom, props), str(fid)


def _feature_doc(info: CollectionInfo, fid: str, row: FeatureRow) -> dict[str, Any]:
    geom = None if row.geometry is None else shapely.geometry.mapping(row.geometry)
    return {"type": "Feature", "id": fid, "geometry": geom, "properties": dict(row.properties)}


def features_write_router() -> APIRouter:
    """The write routes on ``/collections/{collectionId}/items``."""
    router = APIRouter(tags=["Feature editing"])
    StoreDep = Annotated[Store, Depends(get_store)]
    SettingsDep = Annotated[Settings, Depends(get_settings)]
    errors = responses_for(None, 400, 401, 403, 404, 405, 409, 413, 429)

    async def run(
        request: Request, store: Store, settings: Settings, cid: str, fid: str | None, mode: str
    ) -> tuple[str, FeatureRow | None]:
        doc = None if mode == "delete" else parse_body(await request.body(), settings)
        actor = get_actor(request)
        return await run_in_threadpool(apply_edit, store, settings, actor, cid, fid, mode, doc)

    def answer(store: Store, cid: str, fid: str, row: FeatureRow | None, status: int) -> Response:
        info = store.collection(cid)
        body = json.dumps(_feature_doc(info, fid, row or FeatureRow(None)), default=str)
        headers = {"Location": f"/collections/{cid}/items/{fid}"} if status == 201 else {}
        return Response(body, status_code=status, media_type=GEOJSON, headers=headers)

    @router.post(
        "/collections/{collectionId}/items",
        status_code=201,
        responses=errors,
        openapi_extra={"requestBody": _BODY},
        summary="Create a feature",
    )
    async def create(
        collectionId: str, request: Request, store: StoreDep, settings: SettingsDep
    ) -> Response:
        fid, row = await run(request, store, settings, collectionId, None, "create")
        return answer(store, collectionId, fid, row, 201)

    @router.put(
        "/collections/{collectionId}/items/{featureId}",
        responses=errors,
        openapi_extra={"requestBody": _BODY},
        summary="Replace a feature",
    )
    async def replace(
        collectionId: str, featureId: str, request: Request, store: StoreDep, settings: SettingsDep
    ) -> Response:
        fid, row = await run(request, store, settings, collectionId, featureId, "replace")
        return answer(store, collectionId, fid, row, 200)

    @router.patch(
        "/collections/{collectionId}/items/{featureId}",
        responses=errors,
        openapi_extra={"requestBody": _BODY},
        summary="Change some properties or the geometry",
    )
    async def patch(
        collectionId: str, featureId: str, request: Request, store: StoreDep, settings: SettingsDep
    ) -> Response:
        fid, row = await run(request, store, settings, collectionId, featureId, "patch")
        return answer(store, collectionId, fid, row, 200)

    @router.delete(
        "/collections/{collectionId}/items/{featureId}",
        status_code=204,
        responses=errors,
        summary="Delete a feature",
    )
    async def delete(
        collectionId: str, featureId: str, request: Request, store: StoreDep, settings: SettingsDep
    ) -> Response:
        await run(request, store, settings, collectionId, featureId, "delete")
        return Response(status_code=204)

    return router
