"""Coordinate sanity on writes and uploads, on both backends (issue 13, point 8).

Real data: Helsinki OSM cameras (lat ~60.17, lon ~24.94: swapped, still a valid place) and the
Chicago speed cameras with the Chicago districts as grids. Each refused request answers 400
naming the fix and leaves the store's content unchanged; the same data in the right order
is accepted.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api_write_data as w
from api_server import CHICAGO, helsinki_cameras
from gridcover.api.app import create_app


@pytest.fixture(params=w.BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple]:
    settings = w.settings_for(request.param, tmp_path)
    w.fill_store(settings)
    h = {"X-API-Key": w.add_key(settings, "admin")}
    with TestClient(create_app(settings)) as client:
        yield settings, client, h


def _helsinki(swap: bool) -> bytes:
    gdf = helsinki_cameras().head(20)[["camera_id", "geometry"]]
    doc = json.loads(gdf.to_json())
    for f in doc["features"]:
        if swap:
            f["geometry"]["coordinates"] = f["geometry"]["coordinates"][::-1]
    return json.dumps(doc).encode()


def test_swapped_points_are_refused_on_create_and_upload(env: tuple) -> None:
    settings, client, h = env
    r = client.put("/layers/cameras", files={"file": ("h.geojson", _helsinki(False))}, headers=h)
    assert r.status_code == 200, r.text
    p = helsinki_cameras().geometry.iloc[30]  # not among the 20 stored
    before = w.stored_digest(settings, "cameras")
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [p.y, p.x]},  # lat first: wrong
        "properties": {"camera_id": "swapped-1", "type": "dome", "status": "online"},
    }
    r = client.post("/collections/cameras/items", json=feature, headers=h)
    assert r.status_code == 400 and "look swapped" in r.json()["description"], r.text
    assert w.stored_digest(settings, "cameras") == before
    feature["geometry"]["coordinates"] = [p.x, p.y]
    r = client.post("/collections/cameras/items", json=feature, headers=h)
    assert r.status_code == 201, r.text
    before = w.stored_digest(settings, "cameras")
    r = client.put("/layers/cameras", files={"file": ("h.geojson", _helsinki(True))}, headers=h)
    assert r.status_code == 400 and "look swapped" in r.json()["description"], r.text
    assert "h.geojson" in r.json()["description"]
    assert w.stored_digest(settings, "cameras") == before


def test_degrees_declared_as_a_projected_crs_are_refused(env: tuple) -> None:
    settings, client, h = env
    before = w.stored_digest(settings, "cameras")
    data = (CHICAGO / "speed_camera_locations.csv").read_bytes()
    r = client.put(
        "/layers/cameras",
        files={"file": ("speed.csv", io.BytesIO(data))},
        data={"crs": "EPSG:3857"},
        headers=h,
    )
    assert r.status_code == 400, r.text
    assert "these are degrees" in r.json()["description"] and "Null Island" in r.text
    assert w.stored_digest(settings, "cameras") == before
