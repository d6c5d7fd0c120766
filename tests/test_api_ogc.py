"""OGC API - Features routes in process (TestClient) over real layers from tests/data.

Every expected number comes from reading the source files with geopandas and testing with
plain shapely, never from the store under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from api_server import HELSINKI, build_store, chicago_grids, chicago_posts, helsinki_cameras
from gridcover.api.app import create_app
from gridcover.settings import Settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("ogc")
    build_store(folder).close()
    settings = Settings(data_dir=folder, load_sample=False, max_limit=500, rate_limit_per_minute=0)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def buildings() -> gpd.GeoDataFrame:
    return gpd.read_file(HELSINKI / "buildings.geojson")


def _all_features(client: TestClient, url: str) -> list[dict]:
    feats: list[dict] = []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["numberReturned"] == len(body["features"])
        feats += body["features"]
        nxt = [lk["href"] for lk in body["links"] if lk["rel"] == "next"]
        url = nxt[0] if nxt else ""
    return feats


def test_landing_page_links(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    rels = {lk["rel"]: lk for lk in r.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert client.get(rels["service-desc"]["href"]).status_code == 200


def test_conformance_lists_core_geojson_oas30_crs(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    for c in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
              "ogcapi-features-1/1.0/conf/oas30", "ogcapi-features-2/1.0/conf/crs"):  # fmt: skip
        assert f"http://www.opengis.net/spec/{c}" in classes


def test_collections_metadata_matches_sources(client: TestClient) -> None:
    body = client.get("/collections").json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(by_id) == {"cameras", "buildings", "roads", "grids_level1", "grids_level2", "posts"}
    cams = helsinki_cameras()
    c = by_id["cameras"]
    assert c["itemType"] == "feature"
    assert c["storageCrs"] == CRS84
    assert c["crs"][0] == CRS84 and EPSG4490 in c["crs"]
    np.testing.assert_allclose(c["extent"]["spatial"]["bbox"][0], cams.total_bounds)
    grids = chicago_grids()
    assert by_id["grids_level1"]["gridcover:numberOfFeatures"] == int((grids["level"] == 1).sum())
    assert by_id["grids_level2"]["gridcover:numberOfFeatures"] == int((grids["level"] == 2).sum())
    one = client.get("/collections/cameras").json()
    assert {k: one[k] for k in ("id", "title", "description", "extent")} == {
        k: c[k] for k in ("id", "title", "description", "extent")
    }


def test_paging_reads_every_camera_once(client: TestClient) -> None:
    cams = helsinki_cameras()
    feats = _all_features(client, "/collections/cameras/items?limit=50")
    ids = [f["id"] for f in feats]
    assert len(ids) == len(cams) and set(ids) == set(cams["camera_id"])
    first = client.get("/collections/cameras/items?limit=50")
    assert first.json()["numberMatched"] == len(cams)
    assert first.headers["content-type"] == "application/geo+json"
    assert first.headers["content-crs"] == f"<{CRS84}>"
    last = client.get(f"/collections/cameras/items?limit=50&offset={len(cams) - 1}").json()
    assert [lk["rel"] for lk in last["links"]].count("next") == 0
    assert "prev" in [lk["rel"] for lk in last["links"]]


def test_limit_above_maximum_is_clamped_not_refused(client: TestClient) -> None:
    r = client.get("/collections/roads/items?limit=100000")
    assert r.status_code == 200
    assert r.json()["numberReturned"] == 500  # the fixture's max_limit
    assert client.get("/collections/roads/items").json()["numberReturned"] == 10


def test_bbox_on_polygons_matches_shapely(client: TestClient, buildings: gpd.GeoDataFrame) -> None:
    bbox = (24.9400, 60.1660, 24.9450, 60.1690)
    expected = int(buildings.intersects(shapely.box(*bbox)).sum())
    assert 0 < expected < len(buildings)
    q = ",".join(map(str, bbox))
    feats = _all_features(client, f"/collections/buildings/items?bbox={q}&limit=7")
    assert len(feats) == expected
    got = shapely.from_geojson([__import__("json").dumps(f["geometry"]) for f in feats])
    assert shapely.intersects(got, shapely.box(*bbox)).all()
    first = client.get(f"/collections/buildings/items?bbox={q}&limit=7").json()
    assert first["numberMatched"] == expected


def test_bbox_crs_4490_is_latitude_first(client: TestClient) -> None:
    lon0, lat0, lon1, lat1 = 24.9400, 60.1660, 24.9450, 60.1690
    a = client.get(f"/collections/cameras/items?bbox={lon0},{lat0},{lon1},{lat1}&limit=500")
    b = client.get(
        f"/collections/cameras/items?bbox={lat0},{lon0},{lat1},{lon1}&bbox-crs={EPSG4490}&limit=500"
    )
    assert b.status_code == 200
    ids_a = [f["id"] for f in a.json()["features"]]
    assert ids_a and ids_a == [f["id"] for f in b.json()["features"]]
    swapped = client.get(f"/collections/cameras/items?bbox={lon0},{lat0},{lon1},{lat1}"
                         f"&bbox-crs={EPSG4490}&limit=500")  # fmt: skip
    assert swapped.json()["numberMatched"] == 0  # read as lat 24.94, lon 60.17: nothing there


@pytest.mark.parametrize("crs", [EPSG4490, EPSG4326])
def test_crs_latitude_first_response_swaps_axes_exactly(client: TestClient, crs: str) -> None:
    base = client.get("/collections/posts/items?limit=100").json()["features"]
    r = client.get(f"/collections/posts/items?limit=100&crs={crs}")
    assert r.headers["content-crs"] == f"<{crs}>"
    for f84, f in zip(base, r.json()["features"], strict=True):
        lon, lat = f84["geometry"]["coordinates"]
        assert f["geometry"]["coordinates"] == [lat, lon]
    posts = chicago_posts()
    src = dict(zip(posts["post_id"], posts.geometry, strict=True))
    for f in base:
        assert f["geometry"]["coordinates"] == [src[f["id"]].x, src[f["id"]].y]


def test_crs_3857_matches_pyproj(client: TestClient) -> None:
    r = client.get(f"/collections/posts/items?limit=100&crs={EPSG3857}").json()["features"]
    posts = chicago_posts().set_index("post_id")
    tr = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    for f in r:
        p = posts.geometry[f["id"]]
        np.testing.assert_allclose(f["geometry"]["coordinates"], tr.transform(p.x, p.y))


def test_property_filters(client: TestClient) -> None:
    grids = chicago_grids()
    expected = int((grids["parent_code"] == "D11").sum())
    r = client.get("/collections/grids_level2/items?parent_code=D11&limit=500").json()
    assert r["numberMatched"] == expected > 0
    assert {f["properties"]["parent_code"] for f in r["features"]} == {"D11"}
    osm_id = int(helsinki_cameras()["osm_id"].iloc[3])
    r = client.get(f"/collections/cameras/items?osm_id={osm_id}").json()
    assert r["numberMatched"] == 1 and r["features"][0]["properties"]["osm_id"] == osm_id


@pytest.mark.parametrize(
    "query",
    ["ooga=booga", "limit=unlimited", "limit=0", "offset=-1", "bbox=1,2,3", "bbox=a,b,c,d",
     "bbox=3,3,1,1", "crs=EPSG:9999", "limit=5&limit=6", "osm_id=abc", "bbox-crs=" + EPSG4490,
     "datetime=yesterday", "f=html", f"bbox=116.3,39.9,116.5,40.0&bbox-crs={EPSG4490}",
     "bbox=-180,-100,180,100"],
)  # fmt: skip
def test_bad_or_unknown_parameters_answer_400_json(client: TestClient, query: str) -> None:
    r = client.get(f"/collections/cameras/items?{query}")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] and body["description"]


def test_bbox_in_lat_first_crs_given_lon_first_names_the_axis_order(client: TestClient) -> None:
    r = client.get(f"/collections/cameras/items?bbox=116.3,39.9,116.5,40.0&bbox-crs={EPSG4490}")
    assert r.status_code == 400
    assert "latitude first: bbox=minlat,minlon,maxlat,maxlon" in r.json()["description"]


def test_single_feature_links_and_geometry(client: TestClient) -> None:
    cams = helsinki_cameras().set_index("camera_id")
    cid = cams.index[7]
    r = client.get(f"/collections/cameras/items/{cid}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    f = r.json()
    rels = {lk["rel"] for lk in f["links"]}
    assert {"self", "collection"} <= rels
    assert f["geometry"]["coordinates"] == [cams.geometry[cid].x, cams.geometry[cid].y]
    r = client.get(f"/collections/cameras/items/{cid}?crs={EPSG4490}")
    assert r.json()["geometry"]["coordinates"] == [cams.geometry[cid].y, cams.geometry[cid].x]


def test_not_found_answers_404_json(client: TestClient) -> None:
    for url in ("/collections/nope", "/collections/nope/items", "/collections/cameras/items/x1",
                "/no/such/path"):  # fmt: skip
        r = client.get(url)
        assert r.status_code == 404
        assert r.json()["code"] == "NotFound"


def test_feature_schema_declares_types(client: TestClient) -> None:
    s = client.get("/collections/cameras/feature-schema").json()
    props = s["properties"]["properties"]["properties"]
    assert props["camera_id"]["type"] == "string"
    assert props["osm_id"]["type"] == "number"  # exceeds 32 bits
    assert props["osm_version"]["type"] == "integer"


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "parquet"])
def test_download_round_trips(client: TestClient, tmp_path: Path, fmt: str) -> None:
    r = client.get(f"/collections/grids_level1/download?format={fmt}")
    assert r.status_code == 200
    path = tmp_path / f"grids.{fmt}"
    path.write_bytes(r.content)
    got = gpd.read_parquet(path) if fmt == "parquet" else gpd.read_file(path)
    src = chicago_grids()
    src = src[src["level"] == 1].to_crs("EPSG:4326")
    assert len(got) == len(src)
    assert sorted(got["code"]) == sorted(src["code"])
    assert got.crs.to_epsg() == 4326
    a = got.set_index("code").geometry.sort_index()
    b = src.set_index("code").geometry.sort_index()
    assert shapely.equals_exact(a.values, b.values, tolerance=1e-9).all()
    assert r.headers["content-disposition"] == f'attachment; filename="grids_level1.{fmt}"'


def test_download_refuses_unknown_format_and_parameters(client: TestClient) -> None:
    assert client.get("/collections/cameras/download?format=shp").status_code == 400
    assert client.get("/collections/cameras/download?fmt=gpkg").status_code == 400
    assert client.get("/collections/nope/download").status_code == 404
