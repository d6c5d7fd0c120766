"""The API's coverage job with ``visibility: 3d`` on the bundled sample (real Helsinki OSM
layers): detail levels in the cells collection, the detail bands as a collection, and the
coverage map draws them; the cells agree with the library's 3D run."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pytest
from fastapi.testclient import TestClient

from gridcover.api.app import create_app
from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.settings import Settings
from sample_analysis import SAMPLE, sample_layers


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("api3d"),
        sample_dir=SAMPLE,
        max_cells=500_000,
        rate_limit_per_minute=0,
        sample_analyses=False,
    )
    app = create_app(settings)
    with TestClient(app) as c:
        keys = getattr(app.state, "keys", None)
        if keys is not None:
            c.headers["X-API-Key"] = keys.add("3d tests", "planner").token
        yield c


def test_3d_coverage_job(client: TestClient) -> None:
    r = client.post("/analysis/coverage", json={"res": 12, "visibility": "3d"})
    assert r.status_code == 201, r.text
    client.app.state.jobs.wait(r.json()["jobID"], timeout=300)  # type: ignore[attr-defined]
    job = client.get(r.headers["location"]).json()
    assert job["status"] == "successful", job
    assert "camera_view_bands" in job["collections"]
    get = client.get("/collections/coverage_cells/download?format=geojson")
    cells = gpd.read_file(get.content).sort_values("h3").reset_index(drop=True)
    ref = run_analysis(**sample_layers(), config=AnalysisConfig(res=12, visibility="3d")).cells
    ref = ref.sort_values("h3").reset_index(drop=True)
    np.testing.assert_array_equal(cells["detail_level"], ref["detail_level"])
    np.testing.assert_array_equal(cells["night_detail_level"], ref["night_detail_level"])
    bands = gpd.read_file(
        client.get("/collections/camera_view_bands/download?format=geojson").content
    )
    assert set(bands["level"]) == {1, 2, 3, 4}
    page = client.get("/maps/coverage?lang=en").text
    assert "Detail bands (3D occlusion)" in page
