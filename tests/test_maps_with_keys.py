"""Map pages keep working once API keys exist: headless Chromium opens ``/maps/grids`` of a live
server (uvicorn) with a key in the query string, reads closed to anonymous clients.

Leaflet's files under ``/static/maps/`` are public (they hold no data); the page itself and
every layer on it need the key. The page must draw one SVG path per stored grid polygon
(counted independently from the grids layer), log no error and request nothing off loopback.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import httpx
import pytest

import api_write_data as w
from chromium_cdp import chromium_path, open_page

pytestmark = pytest.mark.chromium

READY = "!!document.querySelector('.leaflet-overlay-pane svg path')"
EXPRESSIONS = {
    "paths": "document.querySelectorAll('.leaflet-overlay-pane svg path').length",
    "leaflet_version": "window.L ? L.version : null",
}


def test_a_map_page_opened_with_a_key_loads_its_assets_and_layers(tmp_path) -> None:
    if chromium_path() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required in CI but was not found")
        pytest.skip("chromium not installed")
    settings = w.settings_for("gpkg", tmp_path, query_key=True)
    w.fill_store(settings)
    token = w.add_key(settings, "reader")
    with w.uvicorn_server(settings) as (base, _):
        assert httpx.get(f"{base}/maps/grids").status_code == 401  # closed without a key
        assert httpx.get(f"{base}/static/maps/leaflet.js").status_code == 200  # no data
        r = httpx.get(f"{base}/maps/grids", params={"lang": "en", "nope": "1"},
                      headers={"X-API-Key": token})  # fmt: skip
        assert r.status_code == 400 and "unknown query parameter 'nope'" in r.text
        report = open_page(
            f"{base}/maps/grids?lang=en&api_key={token}", ready=READY, expressions=EXPRESSIONS
        )
    assert report.values["__ready__"], report.values
    assert report.values["leaflet_version"] == "1.9.3"
    assert report.console_errors == [] and report.exceptions == []
    hosts = {urlparse(u).hostname for u in report.requests if urlparse(u).scheme == "http"}
    assert hosts == {"127.0.0.1"}
    assert any(u.endswith("/static/maps/leaflet.js") for u in report.requests)
    grids = w.grids()
    polygons = int(grids.geometry.apply(lambda g: len(getattr(g, "geoms", [g]))).sum())
    assert report.values["paths"] in (len(grids), polygons), (report.values, len(grids))
