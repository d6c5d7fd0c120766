"""The web app's own routes and the aggregation core, without a browser.

- ``coverage.aggregate``: parents by bit arithmetic equal ``h3.cell_to_parent``; sums per
  parent equal a plain dictionary count; the zoom's resolution gives ~28-pixel hexagons.
- ``/app/zoom``: on real Chicago speed cameras and H3 cells of real police beats, the counts
  per hexagon equal an independent count with shapely and ``h3.cell_to_parent``.
- ``/app/qa-reviews``: verdicts stored and audited, grid chiefs scoped to their grid, readers
  refused; ``/app/`` loads without a key while data needs one. GeoPackage and PostGIS stores.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

import api_write_data as w
from gridcover.api.app import create_app
from gridcover.api.store import LayerMeta, open_store
from gridcover.api.store.audit import read_entries
from gridcover.api.store.publish import store_layer, views_for
from gridcover.api.store.sql_target import target_for
from gridcover.coverage.aggregate import (
    EDGE_M,
    cells_from_hex,
    parent_cells,
    point_cells,
    res_for_zoom,
    sum_by_parent,
)
from gridcover.settings import Settings

CHIEF, OTHER = "D8", "D9"


def beat_cells(code: str, res: int) -> np.ndarray:
    beats = w.grids()
    area = beats.loc[beats["parent_code"] == code].geometry.union_all()
    cells: set[str] = set()
    polys = area.geoms if area.geom_type == "MultiPolygon" else [area]
    for poly in polys:
        shell = [(y, x) for x, y in poly.exterior.coords]
        cells |= set(h3.polygon_to_cells(h3.LatLngPoly(shell), res))
    return np.array(sorted(h3.str_to_int(c) for c in cells), dtype=np.int64)


def test_parents_by_bits_equal_h3() -> None:
    cells = beat_cells(CHIEF, 11)
    assert cells.size > 1000
    for res in (0, 5, 8, 10, 11, 12):
        want = [
            h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), min(res, 11))) for c in cells
        ]
        assert parent_cells(cells, res).tolist() == want
    with pytest.raises(ValueError, match=r"0\.\.15"):
        parent_cells(cells, 16)


def test_sums_by_parent_equal_a_plain_count() -> None:
    cells = beat_cells(CHIEF, 11)
    weight = (cells % 7).astype(float)
    got = sum_by_parent(cells, 8, {"w": weight})
    count: Counter[str] = Counter()
    wsum: defaultdict[str, float] = defaultdict(float)
    for c, v in zip(cells.tolist(), weight.tolist(), strict=True):
        p = h3.cell_to_parent(h3.int_to_str(c), 8)
        count[p] += 1
        wsum[p] += v
    assert {h3.int_to_str(c): int(n) for c, n in zip(got.cells, got.count, strict=True)} == count
    assert {h3.int_to_str(c): v for c, v in zip(got.cells, got.sums["w"], strict=True)} == wsum


def test_zoom_resolution_gives_hexagons_about_28_px() -> None:
    for zoom in range(8, 20):
        lat = 41.88
        mpp = 156_543.03392 * math.cos(math.radians(lat)) / 2**zoom
        res = res_for_zoom(zoom, lat)
        assert 2 * EDGE_M[res] / mpp >= 28
        if res < 15:
            assert 2 * EDGE_M[res + 1] / mpp < 28
    assert [res_for_zoom(z, 41.88) for z in range(8, 20)] == sorted(
        res_for_zoom(z, 41.88) for z in range(8, 20)
    )


def test_cells_from_hex_equal_h3() -> None:
    cells = beat_cells(CHIEF, 12)
    hexes = [h3.int_to_str(int(c)) for c in cells]
    assert cells_from_hex(hexes).tolist() == [h3.str_to_int(h) for h in hexes]
    assert cells_from_hex([h.upper() for h in hexes[:5]]).tolist() == cells[:5].tolist()
    with pytest.raises(ValueError, match="hex strings"):
        cells_from_hex(["8c1126d06ca05fz"])


def test_point_cells_equal_h3() -> None:
    cams = w.cameras()
    got = point_cells(cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy(), 13)
    want = [h3.str_to_int(h3.latlng_to_cell(p.y, p.x, 13)) for p in cams.geometry]
    assert got.tolist() == want


@dataclass
class Env:
    settings: Settings
    client: TestClient
    keys: dict[str, str]
    issues: dict[str, str]  # grid -> issue feature id

    def h(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def _issues() -> gpd.GeoDataFrame:
    """One planted overlap inside each of the districts CHIEF and OTHER (a shrunk real beat)."""
    g = w.grids()
    rows = []
    for code in (CHIEF, OTHER):
        beat = g.loc[g["parent_code"] == code].iloc[0]
        shape = beat.geometry.buffer(-0.002)
        rows.append({"severity": "error", "check": "overlap", "level": 2, "code": beat["code"],
                     "other_code": "B0000", "area_m2": 1.0, "message": f"overlap in {code}",
                     "geometry": shape})  # fmt: skip
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


@pytest.fixture(scope="module", params=w.BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    settings = w.settings_for(request.param, tmp_path_factory.mktemp(request.param))
    w.fill_store(settings)
    store = open_store(settings)
    try:
        issues = _issues()
        meta = LayerMeta("grid_issues", "Grid issues", params={"run_id": "run-7"})
        store.replace_layer("grid_issues", issues, meta, views_for("grid_issues", issues, "", ""))
        cells = beat_cells(CHIEF, 10)
        hexes = [h3.int_to_str(int(c)) for c in cells]
        centres = [h3.cell_to_latlng(c) for c in hexes]
        gdf = gpd.GeoDataFrame(
            {"h3": hexes, "covered": (cells % 3 == 0), "weight": (cells % 5).astype(float)},
            geometry=gpd.points_from_xy([c[1] for c in centres], [c[0] for c in centres]),
            crs="EPSG:4326",
        )
        store_layer(store, "coverage_cells", gdf, kind="coverage_cells")
        ids = {
            c: str(i)
            for c, i in zip((CHIEF, OTHER), store.items("grid_issues", _q()).ids, strict=True)
        }
    finally:
        store.close()
    keys = {
        "planner": w.add_key(settings, "planner"),
        "reader": w.add_key(settings, "reader"),
        "chief": w.add_key(settings, "grid_chief", CHIEF, name="Chief of D8"),
    }
    with TestClient(create_app(settings)) as client:
        yield Env(settings, client, keys, ids)


def _q():  # all issues, file order
    from gridcover.api.store import ItemsQuery

    return ItemsQuery(limit=10)


def test_page_loads_without_a_key_data_does_not(env: Env) -> None:
    c = env.client
    page = c.get("/app/")
    assert page.status_code == 200 and "/lib/leaflet.js" in page.text
    assert page.headers["cache-control"] == "no-cache"
    assert c.get("/app/static/js/main.js").headers["content-type"].startswith("text/javascript")
    assert c.get("/static/maps/leaflet.js").status_code == 200
    assert c.get("/app/static/%2e%2e/%2e%2e/settings.py").status_code == 404
    assert c.get("/collections").status_code == 401
    assert c.get("/app/session").status_code == 401
    who = c.get("/app/session", headers=env.h("chief")).json()
    assert (who["role"], who["grid_code"], who["signed_in"]) == ("grid_chief", CHIEF, True)


def test_zoom_counts_cameras_like_shapely(env: Env) -> None:
    cams = w.cameras()
    box = (-87.75, 41.80, -87.60, 41.95)
    inside = cams[cams.geometry.within(shapely.box(*box))]
    r = env.client.get("/app/zoom/cameras", params={"bbox": ",".join(map(str, box)), "zoom": 11},
                       headers=env.h("reader"))  # fmt: skip
    doc = r.json()
    assert r.status_code == 200 and doc["gridcover:aggregated"] is True
    assert doc["numberMatched"] == len(inside)
    res = doc["gridcover:res"]
    want = Counter(h3.latlng_to_cell(p.y, p.x, res) for p in inside.geometry)
    assert {f["id"]: f["properties"]["n"] for f in doc["features"]} == want
    for f in doc["features"]:  # each hexagon is the H3 cell it names
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(f["id"])]
        assert shapely.Polygon(f["geometry"]["coordinates"][0]).equals_exact(
            shapely.Polygon(ring), 1e-9
        )
    # zoomed in on few cameras: no shapes, the client reads them one by one
    small = env.client.get("/app/zoom/cameras", params={"bbox": ",".join(map(str, box)),
                           "zoom": 16}, headers=env.h("reader")).json()  # fmt: skip
    assert small["gridcover:aggregated"] is False and small["features"] == []


def test_zoom_folds_cells_like_h3_parents(env: Env) -> None:
    cells = beat_cells(CHIEF, 10)
    covered = cells % 3 == 0
    weight = (cells % 5).astype(float)
    r = env.client.get("/app/zoom/coverage_cells", params={"bbox": "-88,41.6,-87.5,42.1",
                       "zoom": 12, "max": 40}, headers=env.h("reader"))  # fmt: skip
    doc = r.json()
    assert doc["numberMatched"] == cells.size and len(doc["features"]) <= 40
    res = doc["gridcover:res"]
    n: Counter[str] = Counter()
    cov: Counter[str] = Counter()
    wsum: defaultdict[str, float] = defaultdict(float)
    wcov: defaultdict[str, float] = defaultdict(float)
    for c, k, v in zip(cells.tolist(), covered.tolist(), weight.tolist(), strict=True):
        p = h3.cell_to_parent(h3.int_to_str(c), res)
        n[p] += 1
        cov[p] += int(k)
        wsum[p] += v
        wcov[p] += v * k
    got = {f["id"]: f["properties"] for f in doc["features"]}
    assert set(got) == set(n)
    for p, props in got.items():
        assert props["n"] == n[p]
        assert props["covered_pct"] == pytest.approx(round(100 * cov[p] / n[p], 2))
        if wsum[p]:
            assert props["priority_weighted_pct"] == pytest.approx(
                round(100 * wcov[p] / wsum[p], 2)
            )
    bad = env.client.get("/app/zoom/grids_level1", params={"bbox": "-88,41,-87,42", "zoom": 9},
                         headers=env.h("reader"))  # fmt: skip
    assert bad.status_code == 400 and "point layers and H3 cell layers" in bad.json()["description"]


def test_qa_verdicts_are_scoped_stored_and_audited(env: Env) -> None:
    c = env.client
    mine, other = env.issues[CHIEF], env.issues[OTHER]
    body = {"issue_id": mine, "verdict": "disputed", "comment": "shared square, agreed with D9"}
    assert c.post("/app/qa-reviews", json=body, headers=env.h("reader")).status_code == 403
    assert c.post("/app/qa-reviews", json=body).status_code == 401
    no_comment = c.post("/app/qa-reviews", json={**body, "comment": " "}, headers=env.h("chief"))
    assert no_comment.status_code == 400 and "needs a comment" in no_comment.json()["description"]
    out = c.post("/app/qa-reviews", json={**body, "issue_id": other}, headers=env.h("chief"))
    assert out.status_code == 403 and f"does not touch your grid '{CHIEF}'" in out.text
    assert c.post("/app/qa-reviews", json={**body, "issue_id": "999"},
                  headers=env.h("chief")).status_code == 404  # fmt: skip
    ok = c.post("/app/qa-reviews", json=body, headers=env.h("chief"))
    assert ok.status_code == 201, ok.text
    # a later verdict replaces the earlier one; the planner may review any issue
    assert c.post("/app/qa-reviews", json={"issue_id": other, "verdict": "confirmed"},
                  headers=env.h("planner")).status_code == 201  # fmt: skip
    doc = c.get("/app/qa-reviews", headers=env.h("reader")).json()
    assert doc["run_id"] == "run-7"
    # the chief's list holds exactly the issue that touches his grid
    mine_only = c.get("/app/qa-issues", params={"grid": CHIEF}, headers=env.h("chief")).json()
    assert mine_only == {"grid": CHIEF, "issues": [mine]}
    assert (
        c.get("/app/qa-issues", params={"grid": "D999"}, headers=env.h("chief")).status_code == 404
    )
    assert doc["reviews"][mine]["verdict"] == "disputed"
    assert doc["reviews"][mine]["actor"] == "Chief of D8"
    assert doc["reviews"][other]["verdict"] == "confirmed"
    audit = [
        e for e in read_entries(target_for(env.settings), limit=100) if e.action == "review_issue"
    ]
    # the chief's row names his grid; the planner's a grid holding the issue (the finest one
    # on the GeoPackage store; Scope.grid_of answers the district on PostGIS)
    beat = w.grids().loc[w.grids()["parent_code"] == OTHER].iloc[0]["code"]
    got = [(e.object_id, e.grid, e.detail["verdict"]) for e in audit[:2]]
    assert got[1] == (mine, CHIEF, "disputed")
    assert got[0][0] == other and got[0][2] == "confirmed" and got[0][1] in (beat, OTHER)


def test_assets_are_versioned_and_cached_for_good(env: Env) -> None:
    """The page names its files under /app/static/v/<digest>/ (served immutable); the digest
    follows the files, so an edited file gets a new URL; unversioned URLs revalidate."""
    import re

    c = env.client
    page = c.get("/app/")
    urls = re.findall(r'(?:src|href)="(/app/static/v/[0-9a-f]{12}/[^"]+)"', page.text)
    assert any(u.endswith("/lib/leaflet.js") for u in urls)
    assert any(u.endswith("/js/main.js") for u in urls)
    modules = {u.rsplit("/js/", 1)[1] for u in urls if "/js/" in u}
    from gridcover.api.webapp.routes import web_dir

    assert modules == {p.name for p in (web_dir() / "js").glob("*.js")}  # all preloaded
    for u in urls:
        r = c.get(u)
        assert r.status_code == 200, u
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable", u
    assert c.get("/app/static/js/main.js").headers["cache-control"] == "no-cache"
    stale = re.sub(r"/v/[0-9a-f]{12}/", "/v/000000000000/", urls[0])
    assert c.get(stale).headers["cache-control"] == "no-cache"
    assert c.get("/collections", headers=env.h("reader")).headers["cache-control"] == (
        "private, no-store"
    )


def test_warm_up_readies_what_the_first_page_needs(env: Env) -> None:
    """``gridcover serve`` warms the app before listening: the zoom arrays of the cameras
    (binned at every resolution) and the OpenAPI document are there before any request,
    and the first zoom request uses those arrays instead of reading the layer again."""
    from gridcover.api.webapp import warm_up
    from gridcover.api.webapp.zoom import POINT_RES

    app: Any = env.client.app
    done = warm_up(app, app.state.store, app.state.zoom_cache)
    assert "cameras" in done.layers and "layers" in done.line()
    layer = app.state.zoom_cache._layers["cameras"]
    assert set(layer.by_res) == set(range(POINT_RES))
    assert app.state.openapi_cache  # /api answered from the warmed document
    box = "-87.75,41.80,-87.60,41.95"
    r = env.client.get("/app/zoom/cameras", params={"bbox": box, "zoom": 11},
                       headers=env.h("reader"))  # fmt: skip
    assert r.status_code == 200 and r.json()["numberMatched"] > 0
    assert app.state.zoom_cache._layers["cameras"] is layer


def test_zoom_arrays_kept_on_disk_serve_a_restart_until_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zoom arrays written to the data folder are what a restarted server uses (the store
    is not read again) and are dropped once a camera is moved through the API."""
    import datetime as dt
    import time

    from gridcover.api.webapp import zoom
    from gridcover.api.webapp.zoom import ZoomCache

    settings = w.settings_for("gpkg", tmp_path, rate_limit_per_minute=0)
    planner = w.add_key(settings, "planner")
    src = w.cameras()
    store = open_store(settings)
    try:
        store_layer(store, "cameras", src)
    finally:
        store.close()
    with TestClient(create_app(settings)) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        updated = dt.datetime.fromisoformat(
            store.collection("cameras").updated.replace("Z", "+00:00")
        )
        time.sleep(max(0.0, updated.timestamp() + 1.2 - time.time()))
        folder = tmp_path / "zoom-cache"
        first = ZoomCache(folder=folder).get(store, "cameras")
        assert (folder / "zoom-cameras.npz").is_file()
        assert sorted(first.lon.tolist()) == pytest.approx(sorted(src.geometry.x.tolist()))

        def no_read(*_: Any) -> None:
            raise AssertionError("the layer was read from the store again")

        with monkeypatch.context() as m:
            m.setattr(zoom, "_load", no_read)
            again = ZoomCache(folder=folder).get(store, "cameras")
        np.testing.assert_array_equal(again.lon, first.lon)
        np.testing.assert_array_equal(again.values["online"], first.values["online"])
        cid = str(src["camera_id"].iloc[0])
        x, y = src.geometry.x.iloc[0], src.geometry.y.iloc[0]
        r = client.patch(
            f"/collections/cameras/items/{cid}",
            json={"geometry": {"type": "Point", "coordinates": [x + 1e-3, y]}},
            headers={"X-API-Key": planner},
        )
        assert r.status_code == 200, r.text
        moved = ZoomCache(folder=folder).get(store, "cameras")
        assert (np.abs(moved.lon - (x + 1e-3)) < 1e-9).sum() == 1
        assert (np.abs(first.lon - (x + 1e-3)) < 1e-9).sum() == 0
