"""The planner compares two saved scenarios in the web app (headless Chromium, outside requests
aborted) and sees the changed cells on the map: exactly the cells an independent
recomputation (two what-if runs through the Python API, diffed with pandas) finds, with the
kinds the legend names; the export holds them all (read back with pyogrio).

Without Chromium or Playwright the test skips, except under CI=true, where it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pyogrio
import pytest
import shapely

from _scenario_changes import expected_changes
from webapp_browser import (
    DOCS_IMG,
    Env,
    Log,
    new_context,
    non_blank,
    open_app,
    sample_env,
    select,
    settle,
)

pytestmark = pytest.mark.chromium


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with sample_env(tmp_path_factory.mktemp("webapp-compare")) as e:
        yield e


def a_camera_that_matters(env: Env) -> str:
    """An online camera whose disabling loses coverage (asked of the API's what-if)."""
    cams = gpd.read_file(env.sample / "cameras.geojson")
    for cid in cams.loc[cams["status"] == "online", "camera_id"].head(12):
        res = httpx.post(f"{env.base}/analysis/whatif", json={"disabled": [str(cid)]},
                         headers=env.h("planner"), timeout=60)  # fmt: skip
        if res.json()["deltas"]["covered_pct"] < 0:
            return str(cid)
    raise AssertionError("no camera of the sample's first 12 changes coverage")


def save(page: object, name: str, count: int) -> None:
    page.fill("#wi-name", name)  # type: ignore[attr-defined]
    page.click("#wi-save")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"document.querySelectorAll('#wi-saved input').length === {count}"
    )


def test_planner_compares_two_scenarios_and_sees_the_changed_cells(env: Env) -> None:
    camera = a_camera_that_matters(env)
    log = Log()
    ctx = new_context(env.b, log)
    page = open_app(ctx, env.base, env.keys["planner"], log)
    page.click('[data-tab="whatif"]')
    save(page, "all-on", 1)
    select(page, camera)
    page.click("[data-testid=wi-toggle]")
    page.wait_for_selector("#wi-result[data-seq]", state="attached", timeout=20_000)
    save(page, "one-off", 2)
    page.wait_for_timeout(500)  # the second POST /scenarios is answered before comparing
    page.locator("#wi-saved input").nth(0).check()
    page.locator("#wi-saved input").nth(1).check()
    page.click("#wi-compare-go")
    page.wait_for_selector("[data-testid=changed-summary]", timeout=60_000)
    page.wait_for_function("Number(document.body.dataset.changes || 0) >= 1", timeout=30_000)
    settle(page)
    drawn = page.evaluate("window.gridcover.changes.features()")
    res = page.evaluate("window.gridcover.changes.last['gridcover:res']")
    x0, y0, x1, y1 = map(float, page.evaluate("window.gridcover.look.lastView.bbox").split(","))

    config = httpx.get(f"{env.base}/scenarios/one-off", headers=env.h("planner")).json()["config"]
    want = expected_changes(env.sample, config, [], [camera])
    assert len(want) > 0 and "lost" in set(want["change"])
    # the map was fitted to the changes: all of them in view, at the cells' own resolution
    assert want["lon"].between(x0, x1).all() and want["lat"].between(y0, y1).all()
    assert res == config["res"]
    assert {d["id"]: d["kind"] for d in drawn} == dict(zip(want["h3"], want["change"], strict=True))
    assert all(d["n"] == 1 for d in drawn)
    # the counts in the panel and in the map legend are the API's and the recomputation's
    api = httpx.get(f"{env.base}/scenarios/all-on/compare", params={"with": "one-off"},
                    headers=env.h("planner"), timeout=60).json()["changed_cells"]  # fmt: skip
    shown = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-testid=changed-summary] "
        "td[data-kind]')].map((e) => [e.dataset.kind, Number(e.textContent)]))"
    )
    for kind, n in shown.items():
        assert n == api[kind] == (want["change"] == kind).sum(), kind
    legend = page.inner_text("[data-testid=changes-legend]")
    assert "失去覆盖" in legend and "all-on → one-off" in legend
    with page.expect_download() as dl:
        page.click("#wi-export-cells")
    back = pyogrio.read_dataframe(Path(dl.value.path()))
    assert dict(zip(back["h3"], back["change"], strict=True)) == dict(
        zip(want["h3"], want["change"], strict=True)
    )
    hexes = back.geometry.to_numpy()
    assert shapely.contains_xy(hexes, want.set_index("h3").loc[back["h3"], "lon"],
                               want.set_index("h3").loc[back["h3"], "lat"]).all()  # fmt: skip
    shot = page.screenshot(path=str(DOCS_IMG / "app-planner-compare-zh.png"))
    non_blank(shot)
    ctx.close()
    assert log.outside == [] and log.clean() == []
