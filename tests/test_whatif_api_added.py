"""POST /analysis/whatif with added cameras goes through the incremental session and answers
what the full path (``run_scenario`` on the same baseline) answered, JSON for JSON.

The bundled Helsinki sample is loaded into the API's store; a planner's cumulative
scenarios (as the web app posts them) add cameras, re-aim and disable others, move an added
camera, drop one, add one out of reach, then drop them all. Each response is compared with
the response built from ``run_scenario`` of the same scenario on a baseline computed here
from the stored layers: identical JSON on a 2D baseline, numbers within 1e-9 on a 3D one;
and its scenario figures with a full ``run_analysis`` of the changed camera layer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gridcover.api.analysis_models import WhatIfRequest
from gridcover.api.analysis_routes import _scenario
from gridcover.api.jobs.plans import whatif_json
from gridcover.coverage.analysis import AnalysisConfig, AnalysisResult, run_analysis
from gridcover.coverage.whatif import apply_scenario, run_scenario
from sample_api import sample_planner_client

INPUTS = ("grids", "cameras", "buildings", "roads", "sites", "posts", "incidents")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_planner_client(tmp_path_factory.mktemp("whatif_add"), "what-if tests") as c:
        yield c


def _layers(client: TestClient) -> dict[str, Any]:
    store = client.app.state.store  # type: ignore[attr-defined]
    return {k: store.read_layer(k) if store.has_layer(k) else None for k in INPUTS}


def _bodies(base: AnalysisResult) -> list[dict[str, Any]]:
    v = base.views.sort_values("cells_seen", ascending=False)
    busy = v["camera_id"].astype(str).to_numpy()[:3]
    new1 = {"camera_id": "new-1", "lon": 24.9405, "lat": 60.1675, "type": "bullet",
            "azimuth_deg": 120.0, "fov_deg": 70.0, "range_m": 60.0}  # fmt: skip
    new2 = {"camera_id": "new-2", "lon": 24.9452, "lat": 60.1690, "type": "dome"}
    new3 = {"camera_id": "new-3", "lon": 24.9390, "lat": 60.1660, "type": "ptz",
            "status": "offline", "height_m": 9.0}  # fmt: skip
    far = {"camera_id": "far-1", "lon": 25.30, "lat": 60.30, "type": "dome", "range_m": 40.0}
    moved = dict(new1, lon=24.9411, azimuth_deg=300.0)
    aim = {busy[1]: {"azimuth_deg": 45.0}}
    return [
        {"added": [new1, new2]},
        {"added": [new1, new2, new3], "reaimed": aim, "disabled": [busy[0]]},
        {"added": [moved, new3], "reaimed": aim, "disabled": [busy[0]]},
        {"added": [moved, new3, far], "disabled": [busy[0], busy[2]]},
        {"added": [], "disabled": [busy[2]]},
    ]


def _close(a: Any, b: Any, tol: float, where: str = "") -> None:
    if isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for k in b:
            _close(a[k], b[k], tol, f"{where}.{k}")
    elif isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, tol, f"{where}[{i}]")
    elif isinstance(b, float) and tol:
        assert a == pytest.approx(b, rel=tol, abs=tol), where
    else:
        assert a == b, where


@pytest.mark.parametrize("visibility", ["2d", "3d"])
def test_whatif_with_added_cameras_answers_as_the_full_path(
    client: TestClient, visibility: str
) -> None:
    layers = _layers(client)
    cfg = AnalysisConfig(res=12, visibility=visibility)
    base = run_analysis(**layers, config=cfg)
    tol = 0.0 if visibility == "2d" else 1e-9
    for body in _bodies(base):
        req = {"config": {"res": 12, "visibility": visibility}, **body}
        r = client.post("/analysis/whatif", json=req)
        assert r.status_code == 200, r.text
        sc = _scenario(WhatIfRequest.model_validate(req))
        full = run_scenario(base, sc)
        want = whatif_json(sc.name, full.views_recomputed, base.summary, full.result.summary,
                           full.summary_deltas, full.grid_deltas)  # fmt: skip
        _close(r.json(), json.loads(json.dumps(want)), tol)
        # and the scenario's figures are a full run's of the changed camera layer
        changed = run_analysis(**dict(layers, cameras=apply_scenario(layers["cameras"], sc)),
                               config=cfg)  # fmt: skip
        for key in ("covered_m2", "blind_spots", "cameras", "cameras_counted"):
            assert r.json()["scenario"][key] == pytest.approx(changed.summary[key], rel=1e-9)
    assert r.json()["deltas"]["cameras_counted"] == -1  # the last: one disabled, none added
