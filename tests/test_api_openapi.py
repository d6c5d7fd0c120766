"""The API definition is OpenAPI 3.0.3 and valid; the 3.1 -> 3.0 schema conversion is right."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from api_server import build_store
from gridcover.api.app import create_app
from gridcover.api.openapi import to_30_schema
from gridcover.settings import Settings


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("openapi")
    build_store(folder).close()
    with TestClient(
        create_app(Settings(data_dir=folder, load_sample=False, rate_limit_per_minute=0))
    ) as c:
        r = c.get("/api")
        assert r.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
        yield r.json()


def test_document_is_valid_openapi_30(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.0.3"
    validate(doc)  # raises on any violation of the 3.0 schema


def test_validator_rejects_a_31_style_schema(doc: dict[str, Any]) -> None:
    bad = {
        **doc,
        "components": {**doc["components"], "schemas": {"x": {"type": ["string", "null"]}}},
    }
    with pytest.raises(OpenAPIValidationError):
        validate(bad)


def test_items_parameters_follow_ogc_fragments(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/collections/{collectionId}/items"]["get"]
    params = doc["components"]["parameters"]
    refs = {p["$ref"].rsplit("/", 1)[-1] for p in op["parameters"] if "$ref" in p}
    assert {"bbox", "bbox-crs", "crs", "limit", "offset", "datetime"} <= refs
    bbox = params["bbox"]
    assert bbox["in"] == "query" and not bbox["required"]
    assert bbox["style"] == "form" and bbox["explode"] is False
    assert bbox["schema"] == {
        "type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}
    }  # fmt: skip
    limit = params["limit"]
    assert limit["schema"]["type"] == "integer" and limit["style"] == "form"
    assert limit["schema"]["maximum"] >= 1000
    cid = next(p for p in op["parameters"] if p.get("name") == "collectionId")
    assert "cameras" in cid["schema"]["enum"]


def test_no_422_and_400_documented_where_parameters_exist(doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert "422" not in op["responses"], f"{method} {path}"
            if op.get("parameters") or op.get("requestBody"):
                assert "400" in op["responses"], f"{method} {path}"


NULLABLE = {"nullable": True}
CONVERSIONS = [
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, {"type": "string", **NULLABLE}),
    ({"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}, {"allOf": [{"$ref": "#/x"}], **NULLABLE}),
    ({"type": ["integer", "null"]}, {"type": "integer", **NULLABLE}),
    ({"const": "a"}, {"enum": ["a"]}),
    (
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "number", "minimum": 0, "exclusiveMinimum": True},
    ),
    ({"type": "string", "examples": ["x", "y"]}, {"type": "string", "example": "x"}),
    (
        {"type": "array", "prefixItems": [{"type": "number"}] * 2},
        {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    ),
    (
        {"type": "string", "contentMediaType": "application/octet-stream"},
        {"type": "string", "format": "binary"},
    ),
    ({"$ref": "#/x", "description": "d"}, {"description": "d", "allOf": [{"$ref": "#/x"}]}),
    (
        {"type": "object", "properties": {"a": {"type": ["string", "null"]}}},
        {"type": "object", "properties": {"a": {"type": "string", **NULLABLE}}},
    ),
]


@pytest.mark.parametrize(("given", "expected"), CONVERSIONS)
def test_schema_conversion_31_to_30(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert to_30_schema(given) == expected
