"""OGC API - Features routes: Part 1 Core + GeoJSON + OpenAPI 3.0, and Part 2 CRS.

Handlers are short: parameters arrive parsed (``params.py``), the store answers a page,
``geojson.py`` encodes it. Links are absolute, built from ``settings.public_url`` or the
request's base URL. (No ``from __future__ import annotations`` here: FastAPI resolves the
local dependency annotations of the handlers at definition time.)
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from gridcover.api.deps import get_store, links_base
from gridcover.api.geojson import GEOJSON, feature_collection, geojson_response, single_feature
from gridcover.api.ogc_crs import CRS84, OFFERED_URIS
from gridcover.api.openapi import OPENAPI_MEDIA, openapi_document, responses_for
from gridcover.api.params import (
    FeatureParams,
    ItemsParams,
    feature_params,
    items_params,
    plain_params,
)
from gridcover.api.store import CollectionInfo, Store
from gridcover.api.store.edits import FeatureRow, etag_of
from gridcover.settings import Settings

JSON = "application/json"
SCHEMA_JSON = "application/schema+json"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
)
ITEMS_PARAMETER_REFS = [
    {"$ref": f"#/components/parameters/{p}"}
    for p in ("bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "f")
]
StoreDep = Annotated[Store, Depends(get_store)]
BaseDep = Annotated[str, Depends(links_base)]


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def collection_doc(info: CollectionInfo, base: str) -> dict[str, Any]:
    """The JSON description of one collection (identical in /collections and /collections/id)."""
    href = f"{base}/collections/{quote(info.id, safe='')}"
    doc: dict[str, Any] = {
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "links": [
            _link(href, "self", JSON, "this collection"),
            _link(f"{href}/items", "items", GEOJSON, "the features (GeoJSON)"),
            _link(f"{href}/feature-schema", "describedby", SCHEMA_JSON, "JSON Schema of a feature"),
            _link(
                f"{href}/download?format=gpkg",
                "enclosure",
                "application/geopackage+sqlite3",
                "download as GeoPackage",
            ),
        ],
        "crs": list(OFFERED_URIS),
        "storageCrs": CRS84,
        "gridcover:kind": info.kind,
        "gridcover:layer": info.layer,
        "gridcover:geometryType": info.geometry_type,
        "gridcover:numberOfFeatures": info.count,
        "gridcover:updated": info.updated,
    }
    if info.bbox is not None:
        doc["extent"] = {"spatial": {"bbox": [list(info.bbox)], "crs": CRS84}}
    if info.params:
        doc["gridcover:params"] = dict(info.params)
    return doc


def feature_schema(info: CollectionInfo, base: str) -> dict[str, Any]:
    """JSON Schema of one GeoJSON feature of the collection (GDAL reads field types from it).

    Integers that may exceed 32 bits are declared ``number`` so that clients which map
    ``integer`` to a 32-bit field (GDAL) keep every value exactly (up to 2**53).
    """
    props: dict[str, Any] = {}
    for f in info.fields:
        kind = "number" if f.type == "integer" and f.int64 else f.type
        props[f.name] = {"type": kind, "title": f.name}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{quote(info.id, safe='')}/feature-schema",
        "title": info.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer" if info.id_field is None else "string"},
            "geometry": {"type": "object", "title": info.geometry_type},
            "properties": {"type": "object", "properties": props},
        },
    }


def _items_links(
    request: Request, base: str, cid: str, p: ItemsParams, returned: int, matched: int
) -> list[dict[str, str]]:
    href = f"{base}/collections/{quote(cid, safe='')}/items"
    args = dict(request.query_params)

    def url(**over: Any) -> str:
        merged = {**args, **{k: str(v) for k, v in over.items()}}
        return f"{href}?{urlencode(merged)}" if merged else href

    links = [
        _link(url(), "self", GEOJSON, "this page"),
        _link(f"{base}/collections/{quote(cid, safe='')}", "collection", JSON, "the collection"),
    ]
    limit, offset = p.query.limit, p.query.offset
    if offset + returned < matched:
        links.append(_link(url(offset=offset + limit, limit=limit), "next", GEOJSON, "next page"))
    if offset > 0:
        links.append(
            _link(url(offset=max(0, offset - limit), limit=limit), "prev", GEOJSON, "previous")
        )
    return links


def ogc_router(settings: Settings) -> APIRouter:
    """Routes of OGC API - Features over the app's store."""
    router = APIRouter(tags=["OGC API - Features"])
    items_dep = items_params(settings.default_limit, settings.max_limit)

    @router.get(
        "/",
        summary="Landing page",
        responses=responses_for("landingPage", 400),
        openapi_extra={"parameters": [{"$ref": "#/components/parameters/f"}]},
        dependencies=[Depends(plain_params())],
    )
    def landing(base: BaseDep) -> JSONResponse:
        return JSONResponse(
            {
                "title": settings.title,
                "description": settings.description,
                "links": [
                    _link(f"{base}/", "self", JSON, "this document"),
                    _link(f"{base}/api", "service-desc", OPENAPI_MEDIA, "the API definition"),
                    _link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
                    _link(f"{base}/collections", "data", JSON, "the collections"),
                    _link(
                        f"{base}/jobs",
                        "http://www.opengis.net/def/rel/ogc/1.0/job-list",
                        JSON,
                        "analysis jobs",
                    ),
                ],
            }
        )

    @router.get(
        "/conformance",
        summary="Conformance classes",
        responses=responses_for("confClasses", 400),
        openapi_extra={"parameters": [{"$ref": "#/components/parameters/f"}]},
        dependencies=[Depends(plain_params())],
    )
    def conformance() -> JSONResponse:
        return JSONResponse({"conformsTo": list(CONFORMANCE)})

    @router.get(
        "/api",
        summary="This API definition (OpenAPI 3.0)",
        responses={
            200: {"description": "OpenAPI 3.0 document", "content": {OPENAPI_MEDIA: {}}},
            **responses_for(None, 400),
        },
        openapi_extra={"parameters": [{"$ref": "#/components/parameters/f"}]},
        dependencies=[Depends(plain_params())],
    )
    def api(request: Request, store: StoreDep) -> Response:
        doc = openapi_document(request.app, store.collections())
        return JSONResponse(doc, media_type=OPENAPI_MEDIA)

    @router.get(
        "/collections",
        summary="The feature collections",
        responses=responses_for("collections", 400),
        openapi_extra={"parameters": [{"$ref": "#/components/parameters/f"}]},
        dependencies=[Depends(plain_params())],
    )
    def collections(store: StoreDep, base: BaseDep) -> JSONResponse:
        return JSONResponse(
            {
                "links": [_link(f"{base}/collections", "self", JSON, "this document")],
                "collections": [collection_doc(c, base) for c in store.collections()],
                "crs": list(OFFERED_URIS),
            }
        )

    @router.get(
        "/collections/{collectionId}",
        summary="One feature collection",
        responses=responses_for("collection", 400, 404),
        openapi_extra={"parameters": [{"$ref": "#/components/parameters/f"}]},
        dependencies=[Depends(plain_params())],
    )
    def collection(collectionId: str, store: StoreDep, base: BaseDep) -> JSONResponse:
        return JSONResponse(collection_doc(store.collection(collectionId), base))

    @router.get(
        "/collections/{collectionId}/feature-schema",
        summary="JSON Schema of a feature of the collection (field names and types)",
        responses=responses_for(None, 400, 404)
        | {200: {"description": "JSON Schema", "content": {JSON: {"schema": {"type": "object"}}}}},
        openapi_extra={"parameters": [{"$ref": "#/components/parameters/f"}]},
        dependencies=[Depends(plain_params())],
    )
    def schema(collectionId: str, store: StoreDep, base: BaseDep) -> JSONResponse:
        return JSONResponse(feature_schema(store.collection(collectionId), base))

    @router.get(
        "/collections/{collectionId}/items",
        summary="Features of a collection (paged; bbox, crs, property filters)",
        description=(
            "Any other query parameter NAME=VALUE is an equality filter on the property NAME "
            "(unknown names answer 400). limit above the server maximum is clamped, not refused."
        ),
        responses=responses_for("featureCollectionGeoJSON", 400, 404, media=GEOJSON),
        openapi_extra={"parameters": ITEMS_PARAMETER_REFS},
    )
    def items(
        collectionId: str,
        request: Request,
        store: StoreDep,
        base: BaseDep,
        p: Annotated[ItemsParams, Depends(items_dep)],
    ) -> Response:
        page = store.items(collectionId, p.query)
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        links = _items_links(request, base, collectionId, p, len(page.ids), page.number_matched)
        return geojson_response(feature_collection(page, p.crs, links, stamp), p.crs)

    @router.get(
        "/collections/{collectionId}/items/{featureId}",
        summary="One feature",
        responses=responses_for("featureGeoJSON", 400, 404, media=GEOJSON),
        openapi_extra={
            "parameters": [
                {"$ref": "#/components/parameters/crs"},
                {"$ref": "#/components/parameters/f"},
            ]
        },
    )
    def feature(
        collectionId: str,
        featureId: str,
        store: StoreDep,
        base: BaseDep,
        p: Annotated[FeatureParams, Depends(feature_params)],
    ) -> Response:
        page = store.feature(collectionId, featureId)
        chref = f"{base}/collections/{quote(collectionId, safe='')}"
        links = [
            _link(f"{chref}/items/{quote(str(featureId), safe='')}", "self", GEOJSON, "this"),
            _link(chref, "collection", JSON, "the collection"),
        ]
        etag = etag_of(FeatureRow(page.geometries[0], page.properties[0]))
        return geojson_response(single_feature(page, p.crs, links), p.crs, {"ETag": etag})

    return router
