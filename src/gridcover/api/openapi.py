"""The API definition as OpenAPI 3.0.3 (FastAPI emits 3.1; OGC API - Features asks for 3.0).

``openapi_document`` takes FastAPI's document, converts every schema from JSON Schema 2020-12
(3.1) to the OpenAPI 3.0 dialect, adds the OGC parameters and response schemas, answers 400
where FastAPI would say 422, and lists the current collection ids as the ``collectionId``
enum. ``tests/test_api_openapi.py`` validates the result with openapi-spec-validator.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gridcover import __version__
from gridcover.api.errors import EXCEPTION_SCHEMA
from gridcover.api.ogc_crs import CRS84, OFFERED_URIS
from gridcover.api.openapi_schemas import OGC_SCHEMAS
from gridcover.api.store import CollectionInfo

OPENAPI_MEDIA = "application/vnd.oai.openapi+json;version=3.0"
_JSON = "application/json"
_ERROR_TEXT = {
    400: "Bad request: a parameter or the body is invalid",
    401: "No valid API key (writes, or reads when they are closed)",
    403: "The key's role or grid scope does not allow this",
    404: "Not found",
    409: "Conflict with the current state",
    412: "If-Match names an older version of the feature (ETag); read it again",
    413: "Request body too large",
    429: "Too many requests for this key (see Retry-After)",
}
_WRITE_METHODS = ("post", "put", "patch", "delete")
_lock = threading.Lock()


def responses_for(
    schema: str | None, *errors: int, media: str = _JSON
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: 200 with a named component schema, and error answers."""
    out: dict[int | str, dict[str, Any]] = {}
    if schema is not None:
        out[200] = {
            "description": "Success",
            "content": {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    for code in errors:
        out[code] = {
            "description": _ERROR_TEXT.get(code, "Error"),
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/exception"}}},
        }
    return out


def _parameters(app: FastAPI) -> dict[str, Any]:
    settings = app.state.settings
    crs_schema = {"type": "string", "format": "uri", "enum": list(OFFERED_URIS), "default": CRS84}
    return {
        "bbox": {
            "name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "minx,miny,maxx,maxy (or 6 numbers) in the axis order of bbox-crs.",
            "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        },
        "bbox-crs": {
            "name": "bbox-crs", "in": "query", "required": False, "style": "form",
            "explode": False, "description": "CRS of bbox (EPSG:4490/4326: latitude first).",
            "schema": crs_schema,
        },
        "crs": {
            "name": "crs", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "CRS of the response geometries (EPSG:4490/4326: latitude first).",
            "schema": crs_schema,
        },
        "limit": {
            "name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "Features per page; above the maximum it is clamped, not refused.",
            "schema": {"type": "integer", "minimum": 1, "maximum": settings.max_limit,
                       "default": settings.default_limit},
        },
        "offset": {
            "name": "offset", "in": "query", "required": False, "style": "form",
            "explode": False, "description": "Features to skip (paging; see the next link).",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "datetime": {
            "name": "datetime", "in": "query", "required": False, "style": "form",
            "explode": False, "description": "RFC 3339 instant or interval (layers are not "
            "temporal: every feature matches a valid value).",
            "schema": {"type": "string"},
        },
        "f": {
            "name": "f", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "Output format (JSON only).",
            "schema": {"type": "string", "enum": ["json", "geojson"]},
        },
    }  # fmt: skip


# -- JSON Schema 2020-12 (OpenAPI 3.1) -> OpenAPI 3.0 schema objects ---------------------------
_DROP = ("$schema", "$id", "$defs", "unevaluatedProperties", "propertyNames", "dependentRequired",
         "dependentSchemas", "if", "then", "else", "contains", "contentEncoding")  # fmt: skip


def to_30_schema(s: Any) -> Any:
    """One schema object converted to the OpenAPI 3.0 dialect (a new object)."""
    if not isinstance(s, dict):
        return s
    s = {k: v for k, v in s.items() if k not in _DROP}
    for key in ("properties", "patternProperties"):
        if key in s:
            s[key] = {k: to_30_schema(v) for k, v in s[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(s.get(key), dict):
            s[key] = to_30_schema(s[key])
    if "prefixItems" in s:
        parts = [to_30_schema(p) for p in s.pop("prefixItems")]
        s.setdefault("items", parts[0] if all(p == parts[0] for p in parts) else {})
        s.setdefault("minItems", len(parts))
        s.setdefault("maxItems", len(parts))
    if s.get("type") == "array" and "items" not in s:
        s["items"] = {}
    for key in ("anyOf", "oneOf"):
        if key in s and any(p == {"type": "null"} for p in s[key]):
            rest = [to_30_schema(p) for p in s[key] if p != {"type": "null"}]
            del s[key]
            s["nullable"] = True
            if len(rest) == 1 and "$ref" in rest[0]:
                s["allOf"] = rest
            elif len(rest) == 1:
                s.update({k: v for k, v in rest[0].items() if k not in s})
            elif rest:
                s[key] = rest
    for key in ("allOf", "anyOf", "oneOf"):
        if key in s:
            s[key] = [to_30_schema(p) for p in s[key]]
    if isinstance(s.get("type"), list):
        types = [t for t in s["type"] if t != "null"]
        if len(types) < len(s["type"]):
            s["nullable"] = True
        s["type"] = types[0] if len(types) == 1 else "string"
    if s.get("type") == "null":
        del s["type"]
        s["nullable"] = True
    if "const" in s:
        s["enum"] = [s.pop("const")]
    if "examples" in s:
        ex = s.pop("examples")
        if isinstance(ex, list) and ex:
            s.setdefault("example", ex[0])
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(s.get(bound), int | float) and not isinstance(s[bound], bool):
            s[plain] = s.pop(bound)
            s[bound] = True
    if "contentMediaType" in s:
        s.pop("contentMediaType")
        s.setdefault("format", "binary")
    if "$ref" in s and len(s) > 1:
        ref = s.pop("$ref")
        s["allOf"] = [{"$ref": ref}, *s.get("allOf", [])]
    return s


def _convert_operation(op: dict[str, Any]) -> None:
    for p in op.get("parameters", []):
        if "schema" in p:
            p["schema"] = to_30_schema(p["schema"])
    for media in op.get("requestBody", {}).get("content", {}).values():
        if "schema" in media:
            media["schema"] = to_30_schema(media["schema"])
    responses = op.get("responses", {})
    if "422" in responses:
        del responses["422"]
        responses.setdefault("400", responses_for(None, 400)[400])
    if op.get("parameters") or op.get("requestBody"):
        responses.setdefault("400", responses_for(None, 400)[400])
    for code, resp in responses.items():
        content = resp.get("content", {})
        if (
            code == "200"
            and len(content) > 1
            and content.get(_JSON, {}).get("schema") in ({}, None)
        ):
            del content[_JSON]
        for media in content.values():
            if "schema" in media:
                media["schema"] = to_30_schema(media["schema"])


def to_openapi_30(doc: dict[str, Any]) -> dict[str, Any]:
    """A FastAPI (3.1) document converted to OpenAPI 3.0.3 (a new object)."""
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    out.get("info", {}).pop("summary", None)
    out.get("info", {}).get("license", {}).pop("identifier", None)
    out.pop("webhooks", None)
    out.pop("jsonSchemaDialect", None)
    for path in out.get("paths", {}).values():
        for method, op in path.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                _convert_operation(op)
    comps = out.setdefault("components", {})
    comps["schemas"] = {k: to_30_schema(v) for k, v in comps.get("schemas", {}).items()}
    return out


def _security_responses(doc: dict[str, Any]) -> None:
    """With API keys installed every operation may answer 401 and 429, writes also 403."""
    for item in doc["paths"].values():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            codes = (401, 403, 429) if method in _WRITE_METHODS else (401, 429)
            for code in codes:
                op["responses"].setdefault(str(code), responses_for(None, code)[code])


def _per_collection_items(doc: dict[str, Any], infos: Sequence[CollectionInfo]) -> None:
    """A concrete ``/collections/<id>/items`` path per collection, with its property filters.

    Concrete paths take precedence over the template (OpenAPI 3.0 path matching); they let
    clients and test suites see each collection's queryable properties and their types.
    """
    template = doc["paths"].get("/collections/{collectionId}/items", {}).get("get")
    if template is None:
        return
    reserved = {"bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "f"}
    for info in infos:
        op = copy.deepcopy(template)
        op["operationId"] = f"{template.get('operationId', 'items')}__{info.id}"
        op["summary"] = f"Features of {info.id}"
        op["parameters"] = [p for p in op["parameters"] if p.get("name") != "collectionId"]
        for f in info.fields:
            if f.name in reserved:
                continue
            kind = "number" if f.type == "integer" and f.int64 else f.type
            op["parameters"].append(
                {
                    "name": f.name, "in": "query", "required": False, "style": "form",
                    "explode": False, "schema": {"type": kind},
                    "description": f"Equality filter on the property {f.name!r}.",
                }
            )  # fmt: skip
        doc["paths"][f"/collections/{info.id}/items"] = {"get": op}


def openapi_document(app: FastAPI, infos: Sequence[CollectionInfo]) -> dict[str, Any]:
    """The app's OpenAPI 3.0.3 document (cached per state of the collections)."""
    key = tuple((c.id, c.updated) for c in infos)
    with _lock:
        cache: dict[tuple[tuple[str, str], ...], dict[str, Any]] = app.state.openapi_cache
        if key in cache:
            return cache[key]
        settings = app.state.settings
        raw = get_openapi(
            title=settings.title, version=__version__, description=settings.description,
            routes=app.routes,
        )  # fmt: skip
        doc = to_openapi_30(raw)
        comps = doc.setdefault("components", {})
        comps["parameters"] = _parameters(app)
        comps["schemas"].update(copy.deepcopy(OGC_SCHEMAS))
        comps["schemas"]["exception"] = copy.deepcopy(EXCEPTION_SCHEMA)
        ids = [c.id for c in infos]
        for item in doc["paths"].values():
            for op in item.values():
                for p in op.get("parameters", []):
                    if p.get("name") == "collectionId" and p.get("in") == "path" and ids:
                        p["schema"] = {"type": "string", "enum": ids}
        if getattr(app.state, "keys", None) is not None:
            _security_responses(doc)
        _per_collection_items(doc, infos)
        cache.clear()
        cache[key] = doc
        return doc
