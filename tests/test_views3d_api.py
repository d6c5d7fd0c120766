"""The API's coverage job with ``visibility: 3d`` on the bundled sample (real Helsinki OSM
layers): detail levels in the cells collection, the detail bands as a collection, and the
coverage map draws them; the cells agree with the library's 3D run."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pytest
from fastapi.testclient import TestClient

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from sample_analysis import sample_layers
from sample_api import sample_planner_client


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_planner_client(tmp_path_factory.mktemp("api3d"), "3d tests") as c:
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


def test_3d_whatif_through_the_api_equals_full_3d_runs(client: TestClient) -> None:
    """POST /analysis/whatif on a 3D baseline (the incremental session behind it): two
    scenarios in a row, the second setting the first one's re-aimed camera back, each equal
    to a full 3D ``run_analysis`` of the changed camera layer; then a scenario changing a
    camera's mounting height, tilt and resolution (the 3D optics)."""
    from gridcover.coverage.whatif import Scenario, apply_scenario

    layers = sample_layers()
    cfg = AnalysisConfig(res=12, visibility="3d")
    base = run_analysis(**layers, config=cfg)
    busy = base.views.sort_values("cells_seen", ascending=False)["camera_id"].astype(str)
    a, b, c = busy.to_numpy()[:3]
    bodies = [
        {"disabled": [a], "reaimed": {b: {"azimuth_deg": 45.0, "fov_deg": 60.0}}},
        {"disabled": [c], "reaimed": {}},
        # the 3D optics of a camera: mounting height, tilt, resolution
        {
            "disabled": [c],
            "reaimed": {a: {"height_m": 9.0, "tilt_deg": 35.0, "resolution_px": 1280}},
        },
    ]
    for body in bodies:
        r = client.post("/analysis/whatif", json={"config": {"res": 12, "visibility": "3d"},
                                                  **body})  # fmt: skip
        assert r.status_code == 200, r.text
        got = r.json()
        sc = Scenario(disabled=tuple(body["disabled"]), reaimed=body["reaimed"])
        full_layers = dict(layers, cameras=apply_scenario(layers["cameras"], sc))
        full = run_analysis(**full_layers, config=cfg)
        for key in ("covered_m2", "blind_spots", "identify_pct", "night_detect_pct",
                    "cells_below_required_level", "cameras_counted"):  # fmt: skip
            assert got["scenario"][key] == pytest.approx(full.summary[key], rel=1e-9), key
            assert got["deltas"][key] == pytest.approx(
                full.summary[key] - base.summary[key], abs=1e-6
            ), key
        assert got["views_recomputed"] == len(body["reaimed"])
    assert got["deltas"]["cameras_counted"] == -1
