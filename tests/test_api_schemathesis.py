"""Property-based API testing with schemathesis over the served OpenAPI 3.0 document.

Every operation is called with generated valid and invalid parameters; the answers must
never be a 5xx, must use only documented status codes and content types, and must match the
documented response schemas. Examples per operation are bounded so the run stays short.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from api_server import build_store
from gridcover.api.app import create_app
from gridcover.settings import Settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("schemathesis")
    build_store(folder).close()
    app = create_app(
        Settings(data_dir=folder, load_sample=False, max_limit=200, rate_limit_per_minute=0)
    )
    loaded = schemathesis.openapi.from_asgi("/api", app)
    loaded.config.generation.update(modes=list(schemathesis.GenerationMode))
    yield loaded.include(method="GET")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_only_documented_codes_and_never_5xx(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
