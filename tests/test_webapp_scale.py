"""The web app on a 100,000-camera store: every view stays under the feature budget that
docs/APP.md documents, counted from the browser's own network log (the GeoJSON answers the
page received), and the server aggregates what is too dense (camera clusters, coarser H3
cells) instead of sending whole layers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_server import live_server
from webapp_browser import Log, browser, make_keys, need_browser, new_context, open_app, scale_store

pytestmark = [pytest.mark.chromium, pytest.mark.slow]
APP_MD = Path(__file__).resolve().parents[1] / "docs" / "APP.md"


def documented_budget() -> tuple[int, int]:
    """(features per view, features per request) as written in docs/APP.md."""
    text = APP_MD.read_text(encoding="utf-8")
    view = re.search(r"features per view[^|]*\|\s*([\d,]+)", text)
    request = re.search(r"features per request[^|]*\|\s*([\d,]+)", text)
    assert view and request, "docs/APP.md must state the feature budget"
    return int(view.group(1).replace(",", "")), int(request.group(1).replace(",", ""))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Any]]:
    chromium = need_browser()
    data = tmp_path_factory.mktemp("webapp-100k")
    scale_store(data, cameras=100_000, cell_res=11)
    with live_server(data) as base:
        keys = make_keys(data)
        with browser(chromium) as b:
            yield base, keys, b


def test_views_of_100k_cameras_stay_under_the_documented_budget(big) -> None:
    base, keys, b = big
    per_view, per_request = documented_budget()
    log = Log()
    ctx = new_context(b, log)
    page = open_app(ctx, base, keys["planner"], log)
    views = [("first paint", None, None)] + [
        (f"zoom {z}", (60.17, 24.9415), z) for z in (11, 13, 15, 17, 18)
    ]
    seen_raw_cameras = seen_clusters = False
    for name, centre, zoom in views:
        if centre is not None:
            log.answers.clear()
            page.evaluate(
                f"() => {{ window.gridcover.map.setView([{centre[0]}, {centre[1]}], {zoom}); }}"
            )
            page.wait_for_function(f"window.gridcover.look.lastView.zoom === {zoom}")
            page.wait_for_timeout(400)
            page.evaluate("window.gridcover.look.pending")
        total = sum(n for _, n in log.answers)
        print(f"{name}: {len(log.answers)} GeoJSON answers, {total} features")
        assert log.answers, f"{name}: no GeoJSON answer in the network log"
        assert total <= per_view, f"{name}: {total} features > budget {per_view}"
        assert max(n for _, n in log.answers) <= per_request, name
        cams = [(u, n) for u, n in log.answers if "/cameras" in u]
        seen_clusters |= any("/app/zoom/cameras" in u and n > 0 for u, n in cams)
        seen_raw_cameras |= any("/collections/cameras/items" in u for u, _ in cams)
        # never a whole layer: every read names a bbox
        assert all("bbox=" in u for u, _ in log.answers), name
    assert seen_clusters, "a city-wide view of 100k cameras must be clustered by the server"
    # zoomed in, the cameras in view come one by one (if few enough), else still clustered
    r = httpx.get(
        f"{base}/app/zoom/cameras",
        params={"bbox": "24.940,60.169,24.943,60.171", "zoom": 18},
        headers={"X-API-Key": keys["reader"]},
    ).json()
    assert r["gridcover:aggregated"] is (r["numberMatched"] > per_request)
    assert seen_raw_cameras or r["numberMatched"] > per_request
    ctx.close()
    assert log.outside == [] and log.clean() == []
