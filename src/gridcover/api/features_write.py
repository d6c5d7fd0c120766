"""Create, edit and delete single features (cameras, sites) and grid attributes.

OGC API - Features Part 4 style: ``POST /collections/{id}/items`` (a GeoJSON Feature in
CRS84), ``PUT`` / ``PATCH`` / ``DELETE /collections/{id}/items/{featureId}``. Cameras and sites
can be created, replaced, patched and deleted; grids only patched (attributes: not the shape,
code, parent code or level; those change by uploading the grids layer, which is checked).

Every new or changed feature passes the foundation's validation (``gis.read_layer`` on the
one feature; a patch: its changed properties and geometry) and the coordinate sanity check
against the stored layers. Versions: every answer carries the feature's ``ETag``; ``If-Match``
on PUT/PATCH/DELETE is compared with the stored row inside the edit's transaction (412 when
stale). A grid chief's scope is checked there too: the object before and after the edit must
lie inside his grid's polygon (his grid and its descendants for grid attributes), else 403;
on PostGIS the row-level security policies check it again. Each edit is audited in the same
transaction (whole-feature hashes before/after, changed properties, the grid it lies in).
"""

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from shapely.geometry.base import BaseGeometry
from starlette.exceptions import HTTPException

from gridcover.api.auth import get_actor
from gridcover.api.checked_values import CheckedValues
from gridcover.api.coord_sanity import check_not_swapped, stored_extents
from gridcover.api.deps import get_settings, get_store
from gridcover.api.feature_body import geometry_of, parse_body
from gridcover.api.geojson import GEOJSON
from gridcover.api.grid_scope import Scope, check_scope
from gridcover.api.openapi import responses_for
from gridcover.api.store import CollectionInfo, FieldInfo, Store
from gridcover.api.store.audit import changes, entry_for, write_entry
from gridcover.api.store.edits import (
    Actor,
    EditMode,
    FeatureRow,
    check_feature_id,
    coerce_property,
    etag_of,
    matches,
    row_of,
    version_of,
)
from gridcover.errors import InputError, NotFound, PreconditionFailed, ValidationReport
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
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The feature's ETag as last read: the edit is refused (412) if the "
    "feature has changed since",
    "schema": {"type": "string"},
}


def validate_row(
    info: CollectionInfo,
    geometry: BaseGeometry | None,
    properties: dict[str, Any],
    changed: set[str] | None = None,
    *,
    memo: CheckedValues | None = None,
    stored_geometry: bool = False,
) -> FeatureRow:
    """The foundation's checks on one feature; values typed like the stored fields.

    ``changed`` (a patch): only these canonical properties, the required ones and the
    geometry go through the reader's checks; the others are the stored, already checked
    values (a whole-feature check costs a file read per edit). With ``memo``, a patch that
    keeps the stored geometry (``stored_geometry``) and only sends values the reader has
    accepted before, in columns the reader takes independently, skips the reader
    (``checked_values.py``); anything else is read as before.
    """
    from gridcover.gis import read_layer

    schema = SCHEMAS[info.kind]
    canonical = set(schema.columns)
    if changed is not None:
        required = {f.name for f in schema.fields if f.required} | {schema.id_field}
        canonical &= changed | required
    stored = {f.name: f for f in info.fields}
    unknown = sorted(set(properties) - set(schema.columns) - set(stored))
    if unknown:
        raise InputError(
            f"properties {unknown} are not fields of {info.id}; fields: {sorted(stored)}"
        )
    for name, value in properties.items():
        if isinstance(value, int) and not isinstance(value, bool):
            f = stored.get(name)
            wide = f.int64 if f is not None and f.type == "integer" else True
            coerce_property(value, "integer", name, wide=wide)
        elif isinstance(value, dict | list):
            raise InputError(f"property {name!r} is a JSON {type(value).__name__}; send a value")
    sent = canonical - {schema.id_field}
    fresh = {k: properties.get(k) for k in sent & (changed or set())}
    if memo is not None and changed is not None and stored_geometry:
        known = memo.recall(info.kind, fresh) if memo.independent(info.kind, canonical) else None
        if known is not None:
            typed = {n: known.get(n, properties.get(n)) for n in stored}
            return FeatureRow(geometry, _coerced(typed, stored))
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
    if memo is not None and changed is not None and memo.independent(info.kind, canonical):
        memo.remember(info.kind, {k: (v, checked.properties[k]) for k, v in fresh.items()})
    typed = {n: checked.properties[n] if n in canonical else properties.get(n) for n in stored}
    return FeatureRow(checked.geometry, _coerced(typed, stored))


def _coerced(values: dict[str, Any], stored: dict[str, FieldInfo]) -> dict[str, Any]:
    """Every stored field's value converted to its stored type (InputError names it)."""
    return {n: coerce_property(values.get(n), f.type, n, wide=f.int64) for n, f in stored.items()}


def apply_edit(
    store: Store,
    settings: Settings,
    actor: Actor,
    collection_id: str,
    feature_id: str | None,
    mode: str,
    doc: dict[str, Any] | None,
    if_match: str | None = None,
    memo: CheckedValues | None = None,
) -> tuple[str, FeatureRow | None]:
    """Check and apply one edit; (feature id, row after).

    Create and replace bodies are validated first; the version check (``If-Match``), the
    merge of a patch with the stored row, and the grid-scope check run inside the store's
    edit transaction on the row as it is then (``Store.edit_feature``). ``memo``: values the
    reader accepted before (``checked_values.py``), shared by the app's requests.
    """
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
    ready: FeatureRow | None = None
    seen: FeatureRow | None = None
    if mode in ("create", "replace"):
        ready, feature_id = _after(info, mode, doc, None, feature_id, memo)
    elif mode == "patch":
        # Merge and check against the row as read now, outside the edit's lock; inside it the
        # result is used only if the row is still that version (else merged again there).
        page = store.feature(collection_id, str(feature_id))
        seen = FeatureRow(page.geometries[0], page.properties[0])
        ready = _after(info, mode, doc, seen, feature_id, memo)[0]
    fid = str(feature_id)
    if mode == "create":
        check_feature_id(fid, str(info.id_field))
    if (
        ready is not None
        and ready.geometry is not None
        and (mode != "patch" or "geometry" in (doc or {}))
    ):
        refs = stored_extents(store.collections(), [info.layer, "grids"])
        check_not_swapped(np.array([ready.geometry], dtype=object), refs, "the feature")
    scope = Scope(store)

    def plan(before: FeatureRow | None) -> FeatureRow | None:
        if if_match is not None and not matches(if_match, before):
            raise PreconditionFailed(
                f"{collection_id} {fid!r} changed since you read it (If-Match {if_match} is "
                f"not its current version {etag_of(before) if before else 'none'}); GET it "
                "again, re-apply your change and send the new ETag"
            )
        if info.where is not None and before is not None:
            column, value = info.where
            if before.properties.get(column) != value:
                raise NotFound(f"collection {collection_id!r} has no feature with id {fid!r}")
        after = ready
        if mode == "patch" and (
            seen is None or before is None or version_of(before) != version_of(seen)
        ):
            after = _after(info, mode, doc, before, fid, memo)[0]
        check_scope(actor, info, scope, before, after, fid)
        return after

    def audit(conn: Any, before: FeatureRow | None, after: FeatureRow | None) -> None:
        shown = after or before or FeatureRow(None)
        grid = fid if info.kind == "grids" else scope.grid_of(shown.geometry)
        write_entry(
            conn,
            entry_for(
                actor, mode, collection_id, object_id=fid, grid=grid,
                before_hash=version_of(before) if before else None,
                after_hash=version_of(after) if after else None,
                detail={"layer": info.layer, **changes(before, after)},
            ),
        )  # fmt: skip

    store_mode: EditMode = {"create": "create", "delete": "delete"}.get(mode, "replace")  # type: ignore[assignment]
    done = store.edit_feature(info.layer, fid, plan, mode=store_mode, actor=actor, on_commit=audit)
    return fid, done.after


def _after(
    info: CollectionInfo,
    mode: str,
    doc: dict[str, Any] | None,
    before: FeatureRow | None,
    feature_id: str | None,
    memo: CheckedValues | None = None,
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
        patched: set[str] | None = set(props)
        props = {**before.properties, **props}
        geom = geometry_of(doc) if "geometry" in doc else before.geometry
    else:
        if doc.get("type") != "Feature":
            raise InputError("the body must be a GeoJSON Feature ({'type': 'Feature', ...})")
        geom, patched = geometry_of(doc), None
    fid = feature_id if feature_id is not None else props.get(id_field, doc.get("id"))
    if fid is None or str(fid) == "":
        raise InputError(f"the feature needs its id in properties.{id_field}")
    if str(props.get(id_field, fid)) != str(fid):
        raise InputError(
            f"properties.{id_field} = {props.get(id_field)!r} differs from the feature id "
            f"{fid!r} in the URL; ids cannot be changed"
        )
    props = {**props, id_field: props.get(id_field, fid)}
    kept = mode == "patch" and "geometry" not in doc
    return validate_row(info, geom, props, patched, memo=memo, stored_geometry=kept), str(fid)


def _feature_doc(fid: str, row: FeatureRow) -> dict[str, Any]:
    geom = None if row.geometry is None else shapely.geometry.mapping(row.geometry)
    return {"type": "Feature", "id": fid, "geometry": geom, "properties": dict(row.properties)}


def features_write_router() -> APIRouter:
    """The write routes on ``/collections/{collectionId}/items`` (OGC API - Features Part 4:
    create, replace, update, delete, with optimistic locking by ETag / If-Match)."""
    router = APIRouter(tags=["Feature editing"])
    StoreDep = Annotated[Store, Depends(get_store)]
    SettingsDep = Annotated[Settings, Depends(get_settings)]
    errors = responses_for(None, 400, 401, 403, 404, 405, 409, 412, 413, 429)
    versioned = {"requestBody": _BODY, "parameters": [_IF_MATCH]}
    memo = CheckedValues()

    async def run(
        request: Request, store: Store, settings: Settings, cid: str, fid: str | None, mode: str
    ) -> tuple[str, FeatureRow | None]:
        doc = None if mode == "delete" else parse_body(await request.body(), settings)
        actor = get_actor(request)
        if_match = request.headers.get("if-match")
        return await run_in_threadpool(
            apply_edit, store, settings, actor, cid, fid, mode, doc, if_match, memo
        )

    def answer(cid: str, fid: str, row: FeatureRow | None, status: int) -> Response:
        row = row or FeatureRow(None)
        body = json.dumps(_feature_doc(fid, row), default=str, ensure_ascii=False)
        headers = {"ETag": etag_of(row)}
        if status == 201:
            headers["Location"] = f"/collections/{quote(cid, safe='')}/items/{quote(fid, safe='')}"
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
        return answer(collectionId, fid, row, 201)

    @router.put(
        "/collections/{collectionId}/items/{featureId}",
        responses=errors,
        openapi_extra=versioned,
        summary="Replace a feature",
    )
    async def replace(
        collectionId: str, featureId: str, request: Request, store: StoreDep, settings: SettingsDep
    ) -> Response:
        fid, row = await run(request, store, settings, collectionId, featureId, "replace")
        return answer(collectionId, fid, row, 200)

    @router.patch(
        "/collections/{collectionId}/items/{featureId}",
        responses=errors,
        openapi_extra=versioned,
        summary="Change some properties or the geometry",
    )
    async def patch(
        collectionId: str, featureId: str, request: Request, store: StoreDep, settings: SettingsDep
    ) -> Response:
        fid, row = await run(request, store, settings, collectionId, featureId, "patch")
        return answer(collectionId, fid, row, 200)

    @router.delete(
        "/collections/{collectionId}/items/{featureId}",
        status_code=204,
        responses=errors,
        openapi_extra={"parameters": [_IF_MATCH]},
        summary="Delete a feature",
    )
    async def delete(
        collectionId: str, featureId: str, request: Request, store: StoreDep, settings: SettingsDep
    ) -> Response:
        await run(request, store, settings, collectionId, featureId, "delete")
        return Response(status_code=204)

    return router
