"""Changed cells of a scenario comparison (``coverage.scenarios.changes``): the kinds of change
on hand-made arrays, and the API's map route (bbox + zoom) and GeoJSON export against an
independent recomputation: two what-if runs through the Python API on the Helsinki sample and
a plain pandas diff of their cell tables; the export is read back with pyogrio.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pyogrio
import pytest
from fastapi.testclient import TestClient

from _scenario_changes import expected_changes
from gridcover.coverage.scenarios import CHANGES, classify
from sample_api import sample_planner_client

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"


def test_each_kind_of_change_by_its_rule() -> None:
    # cell:        0  1  2  3  4  5  6  7
    cov_a = np.array([0, 1, 1, 1, 1, 1, 0, 1], bool)
    cov_b = np.array([1, 0, 1, 1, 1, 1, 0, 1], bool)
    cam_a = np.array([0, 1, 1, 2, 2, 1, 0, 3])
    cam_b = np.array([1, 0, 1, 2, 1, 2, 0, 3])
    lvl_a = np.array([0, 2, 1, 3, 2, 2, 0, 4])
    lvl_b = np.array([1, 0, 3, 1, 2, 2, 0, 4])
    got = [("-", *CHANGES)[c] for c in classify(cov_a, cov_b, cam_a, cam_b, lvl_a, lvl_b)]
    want = ["gained", "lost", "level_up", "level_down", "fewer_cameras", "more_cameras", "-", "-"]
    assert got == want
    # 2D (no levels): a level-only difference is no change, camera counts still are
    two_d = [("-", *CHANGES)[c] for c in classify(cov_a, cov_b, cam_a, cam_b)]
    assert two_d == ["gained", "lost", "-", "-", "fewer_cameras", "more_cameras", "-", "-"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_planner_client(tmp_path_factory.mktemp("api"), "changes tests") as c:
        yield c


def test_changed_cells_route_and_export_match_two_whatif_runs(client: TestClient) -> None:
    cams = gpd.read_file(SAMPLE / "cameras.geojson")
    on = cams.loc[cams["status"] == "online", "camera_id"].astype(str).tolist()
    config = {"visibility": "2d"}
    for name, off in (("keep-a", [on[0]]), ("keep-b", [on[1], on[2]])):
        r = client.post("/scenarios", json={"name": name, "disabled": off, "config": config})
        assert r.status_code == 201, r.text
    config = client.get("/scenarios/keep-a").json()["config"]
    want = expected_changes(SAMPLE, config, [on[0]], on[1:3])
    assert len(want) > 0 and set(want["change"]) >= {"gained", "lost"}
    comp = client.get("/scenarios/keep-a/compare", params={"with": "keep-b"}).json()
    assert comp["changed_cells"] == {k: int((want["change"] == k).sum()) for k in CHANGES}
    x0, y0, x1, y1 = comp["changed_bbox"]
    assert (x0, y0, x1, y1) == pytest.approx(
        (want["lon"].min(), want["lat"].min(), want["lon"].max(), want["lat"].max())
    )
    # zoomed out over everything: a few coarse hexagons whose counts add up per kind
    pad = f"{x0 - 0.01},{y0 - 0.01},{x1 + 0.01},{y1 + 0.01}"
    params: dict[str, Any] = {"with": "keep-b", "bbox": pad, "zoom": 12}
    far = client.get("/scenarios/keep-a/compare/cells", params=params).json()
    assert far["gridcover:aggregated"] and far["gridcover:res"] < 12
    assert sum(f["properties"]["n"] for f in far["features"]) == len(want)
    for k in CHANGES:
        assert sum(f["properties"][k] for f in far["features"]) == (want["change"] == k).sum()
    # close up around the first lost cell: the cells themselves, with their kind
    lost = want[want["change"] == "lost"].iloc[0]
    box = (lost["lon"] - 0.003, lost["lat"] - 0.0015, lost["lon"] + 0.003, lost["lat"] + 0.0015)
    params = {"with": "keep-b", "bbox": ",".join(map(str, box)), "zoom": 18}
    near = client.get("/scenarios/keep-a/compare/cells", params=params).json()
    assert near["gridcover:res"] == h3.get_resolution(lost["h3"])
    inside = want[want["lon"].between(box[0], box[2]) & want["lat"].between(box[1], box[3])]
    drawn = {f["id"]: next(k for k in CHANGES if f["properties"][k]) for f in near["features"]}
    assert drawn == dict(zip(inside["h3"], inside["change"], strict=True))
    # the export: every changed cell, read back by GDAL
    r = client.get("/scenarios/keep-a/compare/cells.geojson", params={"with": "keep-b"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    back = pyogrio.read_dataframe(io.BytesIO(r.content))
    assert dict(zip(back["h3"], back["change"], strict=True)) == dict(
        zip(want["h3"], want["change"], strict=True)
    )
    assert (back.geometry.geom_type == "Polygon").all()
    centre = back.geometry.representative_point()
    assert [h3.latlng_to_cell(p.y, p.x, 12) for p in centre] == back["h3"].tolist()


def test_3d_comparison_counts_detail_level_changes(client: TestClient) -> None:
    """With 3D visibility, disabling a camera also lowers detail levels where it was the
    best view: the API's counts per kind (level_down included) for the first such camera
    equal the independent recomputation."""
    cams = gpd.read_file(SAMPLE / "cameras.geojson")
    on = cams.loc[cams["status"] == "online", "camera_id"].astype(str).tolist()
    config = {"visibility": "3d"}
    assert client.post("/scenarios", json={"name": "three-a", "config": config}).status_code == 201
    for cid in on[:12]:
        body = {"name": f"three-{cid}", "config": config, "disabled": [cid]}
        assert client.post("/scenarios", json=body).status_code == 201
        params = {"with": f"three-{cid}"}
        comp = client.get("/scenarios/three-a/compare", params=params).json()
        if comp["changed_cells"]["level_down"]:
            break
    else:
        raise AssertionError("no camera of the first 12 lowers a detail level")
    stored = client.get(f"/scenarios/three-{cid}").json()["config"]
    want = expected_changes(SAMPLE, stored, [], [cid])
    assert comp["changed_cells"] == {k: int((want["change"] == k).sum()) for k in CHANGES}
