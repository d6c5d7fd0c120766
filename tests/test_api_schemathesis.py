"""Property-based API testing with schemathesis over the served OpenAPI 3.0 document.

Every operation (GET, and the analysis POSTs behind a tiny cell budget) is called with
generated valid and invalid parameters and bodies; the answers must
never be a 5xx, must use only documented status codes and content types, and must match the
documented response schemas. Examples per operation are bounded so the run stays short.
"""

from __future__ import annotations

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

HEADERS: dict[str, str] = {}
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("schemathesis")
    build_store(folder).close()
    # max_cells=1000: every analysis body that passes validation is refused by the cell
    # budget (400) before a job starts, so POST routes are exercised without running jobs.
    settings = Settings(
        data_dir=folder, load_sample=False, max_limit=200, max_cells=1000, rate_limit_per_minute=0
    )
    app = create_app(settings)
    keys = getattr(app.state, "keys", None)
    if keys is not None:  # analyses are writes: send a planner's key with every call
        HEADERS["X-API-Key"] = keys.add("schemathesis", "planner").token
    loaded = schemathesis.openapi.from_asgi("/api", app, headers=dict(HEADERS))
    loaded.config.generation.update(modes=list(schemathesis.GenerationMode))
    return loaded


# This file covers the read API and the analyses. The write routes of part 2 (layer uploads,
# feature editing) would mutate the fixture store, and grid-check would start real jobs.
schema = (
    schemathesis.pytest.from_fixture("api_schema")
    .exclude(path_regex="^/layers")
    .exclude(method=["PUT", "PATCH", "DELETE"])
    .exclude(method="POST", path_regex="^/collections")
    .exclude(path_regex="grid-check")
)


@schema.exclude(path_regex="^/maps").parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_only_documented_codes_and_never_5xx(case: Any) -> None:
    case.call_and_validate(headers=HEADERS, checks=CHECKS)


# A map page renders a whole Folium map (~0.4 s): fewer examples bound the run; the page
# names are an enum, so a handful of cases still reaches every page and some unknown names.
@schema.include(path_regex="^/maps").parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_map_pages_answer_only_documented_codes_and_never_5xx(case: Any) -> None:
    case.call_and_validate(headers=HEADERS, checks=CHECKS)
