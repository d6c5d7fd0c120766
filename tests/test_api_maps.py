"""Map pages served by the service: Leaflet from its own static route, stored layers drawn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gridcover.api.app import create_app
from gridcover.gis.maps import absolute_urls, asset_files
from gridcover.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("maps"),
        sample_dir=SAMPLE,
        rate_limit_per_minute=0,
        sample_analyses=False,
    )
    app: Any = create_app(settings)
    with TestClient(app) as c:
        keys = getattr(app.state, "keys", None)
        if keys is not None:
            c.headers["X-API-Key"] = keys.add("map tests", "planner").token
        yield c


def test_assets_are_served_from_the_installed_package(client: TestClient) -> None:
    for rel, path in asset_files().items():
        r = client.get(f"/static/maps/{rel}")
        assert r.status_code == 200, rel
        assert r.content == path.read_bytes()
    assert client.get("/static/maps/../../etc/passwd").status_code == 404


def test_grids_map_before_any_analysis_links_only_local_assets(client: TestClient) -> None:
    r = client.get("/maps/grids?lang=en")
    assert r.status_code == 200
    html = r.text
    assert absolute_urls(html) == []
    srcs = re.findall(r'(?:src|href)="(/static/maps/[^"]+)"', html)
    assert any(s.endswith("leaflet.js") for s in srcs)
    for s in srcs:  # every linked asset resolves on the same server
        assert client.get(s).status_code == 200, s
    assert client.get("/maps/coverage").status_code in (200, 404)


def test_coverage_map_after_a_run_draws_the_stored_results(client: TestClient) -> None:
    r = client.post("/analysis/coverage", json={"res": 11})
    assert r.status_code == 201, r.text
    client.app.state.jobs.wait(r.json()["jobID"], timeout=300)  # type: ignore[attr-defined]
    spots = client.get("/collections/blind_spots/items?limit=1").json()["numberMatched"]
    assert spots > 0
    html = client.get("/maps/coverage").text
    assert absolute_urls(html) == []
    # The blind-spot layer is in the page with as many features as the store holds.
    features = re.findall(r'"blind_spot": ?"?(\d+)', html)
    assert len(set(features)) == spots
    assert client.get("/maps/nowhere").status_code in (400, 404)


def test_patrol_map_after_a_run_shows_every_stored_zone(client: TestClient) -> None:
    r = client.post("/analysis/patrol", json={"res": 10})
    assert r.status_code == 201, r.text
    client.app.state.jobs.wait(r.json()["jobID"], timeout=300)  # type: ignore[attr-defined]
    stored = client.get("/collections/patrol_zones/items?limit=100").json()
    ids = sorted(f["properties"]["post_id"] for f in stored["features"] if f["geometry"])
    assert ids
    html = client.get("/maps/patrol?lang=en").text
    assert absolute_urls(html) == []
    # The zones layer holds every stored zone, and it is switched on (added to the map).
    layers = {
        m.group(1): m.group(2)
        for m in re.finditer(r"var (\w+)_data = (\{.*\});\n", html)
        if '"workload"' in m.group(2)
    }
    ((name, geojson),) = layers.items()
    assert sorted(re.findall(r'"post_id": ?"([^"]+)"', geojson)) == ids
    assert f"{name}.addTo(" in html
    assert "Patrol zones" in html and "Max travel (min)" in html
