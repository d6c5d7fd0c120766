"""Acceptance: headless Chromium opens generated maps with the network outside loopback blocked.

The page must render (screenshot saved under test-artifacts/, not blank), hold the layers in
the DOM (SVG paths in Leaflet's overlay pane, one layer-control entry per layer), log no
console error or exception, and request nothing outside 127.0.0.1. Both asset modes are
opened: a standalone file (Leaflet inlined) and a page linking the assets under
/static/maps (as the service serves them). Without Chromium the tests skip, except under
CI=true, where they fail.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from chromium_cdp import chromium_path, open_page, serve_folder
from gridcover.gis.maps import asset_files, build_map
from sample_analysis import sample_layers, sample_result
from sample_plans import sample_plans

pytestmark = pytest.mark.chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

READY = (
    "!!document.querySelector('.leaflet-overlay-pane svg path') && "
    "document.querySelectorAll('.leaflet-control-layers-overlays label').length > 0"
)
EXPRESSIONS = {
    "paths": "document.querySelectorAll('.leaflet-overlay-pane svg path').length",
    "layer_labels": "Array.from(document.querySelectorAll("
    "'.leaflet-control-layers-overlays label')).map(e => e.textContent.trim())",
    "legend": "!!document.querySelector('.gc-legend')",
    "scale": "!!document.querySelector('.leaflet-control-scale')",
    "tiles": "document.querySelectorAll('.leaflet-tile').length",
    "leaflet_version": "window.L ? L.version : null",
}


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required in CI (installed by .ci/run) but was not found")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def sample_map():
    """Every layer kind, from real outputs: analysis, patrol zones, siting, grid QA."""
    r = sample_result()
    lay = sample_layers()
    plans = sample_plans()
    return build_map(
        grids=r.grid_stats,
        cells=r.cells,
        blind_spots=r.blind_spots,
        views=r.views,
        cameras=lay["cameras"],
        posts=lay["posts"],
        zones=plans.patrol.zones,
        siting=plans.cameras.chosen,
        qa_issues=plans.qa_issues,
        lang="zh",
    )


def _check(report, base_url: str, name: str, overlays) -> None:
    n_layers = len(overlays)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"map-{name}.png").write_bytes(report.screenshot)
    assert report.values["__ready__"], f"map never showed paths: {report.values}"
    assert report.values["leaflet_version"] == "1.9.3"
    assert report.console_errors == []
    assert report.exceptions == []
    hosts = {
        urlparse(u).hostname for u in report.requests if urlparse(u).scheme in ("http", "https")
    }
    assert hosts <= {"127.0.0.1"}, f"requests left loopback: {report.requests}"
    assert all(urlparse(u).scheme in ("http", "data", "about") for u in report.requests)
    assert report.requests[0].startswith(base_url)
    assert report.values["paths"] > 1000  # cells + grids + views + blind spots + points
    assert len(report.values["layer_labels"]) == n_layers
    # every overlay but the hidden-at-start patrol zones is drawn: one SVG path per feature
    # (cell aggregates, grids, views, spots, QA, circle markers)
    assert report.values["paths"] == sum(ov.n_features for ov in overlays if ov.show)
    assert report.values["legend"] and report.values["scale"]
    assert report.values["tiles"] == 0  # offline: no basemap
    img = np.asarray(Image.open(io.BytesIO(report.screenshot)).convert("RGB"), dtype=float)
    assert img.shape[0] >= 800 and img.shape[1] >= 1200
    assert img.std() > 20  # a blank page is one flat colour (std 0)
    # many distinct colours: the coverage classes, blind spots, views, markers
    assert len(np.unique(img.reshape(-1, 3).astype(np.uint8), axis=0)) > 50


def test_standalone_map_renders_offline(chromium, sample_map, tmp_path) -> None:
    (tmp_path / "map.html").write_text(sample_map.html(), encoding="utf-8")
    with serve_folder(tmp_path) as (base, served):
        report = open_page(f"{base}/map.html", ready=READY, expressions=EXPRESSIONS)
    _check(report, base, "standalone", sample_map.overlays)
    assert served == ["/map.html"]  # everything else was inline


def test_linked_assets_map_renders_offline(chromium, sample_map, tmp_path) -> None:
    for rel, src in asset_files().items():
        dst = tmp_path / "static" / "maps" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    (tmp_path / "maps").mkdir()
    page = sample_map.html(asset_base="/static/maps")
    (tmp_path / "maps" / "sample.html").write_text(page, encoding="utf-8")
    with serve_folder(tmp_path) as (base, served):
        report = open_page(f"{base}/maps/sample.html", ready=READY, expressions=EXPRESSIONS)
    _check(report, base, "linked", sample_map.overlays)
    assert {"/static/maps/leaflet.js", "/static/maps/leaflet.css"} <= set(served)


def test_online_basemap_request_is_blocked_not_leaked(chromium, tmp_path) -> None:
    """With a user-chosen online basemap the page still renders its overlays; the tile
    requests are attempted (we record them) but cannot leave the machine."""
    lay = sample_layers()
    m = build_map(grids=lay["grids"], posts=lay["posts"], basemap="osm", lang="en")
    (tmp_path / "osm.html").write_text(m.html(), encoding="utf-8")
    with serve_folder(tmp_path) as (base, _served):
        report = open_page(f"{base}/osm.html", ready=READY, expressions=EXPRESSIONS)
    tile_requests = [u for u in report.requests if "tile.openstreetmap.org" in u]
    assert tile_requests, "the OSM basemap should request tiles"
    assert report.failed, "tile requests must fail: the network is blocked"
    assert report.exceptions == []
