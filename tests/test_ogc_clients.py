"""Real clients read the running server: GDAL's OAPIF driver (via pyogrio), OWSLib, ogctests.

The server is ``uvicorn`` on 127.0.0.1 on a free port, in a subprocess started by the
fixture and stopped afterwards, once over a GeoPackage store and once over PostGIS, with
the default settings, rate limit included: desktop GIS
clients page at full speed and must not meet a 429 (the last test proves the limit was on).
Expected counts come from the source files (geopandas + shapely), not from the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from api_server import build_store, fill_store, helsinki_cameras, live_server
from gridcover.api.store import Store

BBOX = (24.9400, 60.1660, 24.9450, 60.1690)  # lon/lat, central Helsinki


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[str]]]:
    """The same layers served from a GeoPackage and from PostGIS."""
    folder = tmp_path_factory.mktemp("clients")
    env: dict[str, str] = {}
    if request.param == "postgis":
        from gridcover.api.store.postgis.store import PostGISStore
        from postgis_server import fresh_database_url

        env["database_url"] = fresh_database_url()
        store: Store = fill_store(PostGISStore(env["database_url"]))
    else:
        store = build_store(folder)
    ids = [c.id for c in store.collections()]
    store.close()
    with live_server(folder, **env) as base:
        yield base, ids


def test_gdal_lists_the_collections(server: tuple[str, list[str]]) -> None:
    base, ids = server
    layers = pyogrio.list_layers(f"OAPIF:{base}")
    assert list(layers[:, 0]) == ids


def test_gdal_reads_every_camera(server: tuple[str, list[str]]) -> None:
    base, _ = server
    cams = helsinki_cameras()
    got = pyogrio.read_dataframe(f"OAPIF:{base}", layer="cameras")
    assert len(got) == len(cams)
    assert sorted(got["camera_id"]) == sorted(cams["camera_id"])
    # 64-bit ids arrive intact (declared in the collection's JSON Schema)
    assert sorted(got["osm_id"].astype(np.int64)) == sorted(cams["osm_id"])
    src = cams.set_index("camera_id").geometry
    assert shapely.equals_exact(
        got.geometry.values, src[got["camera_id"]].values, tolerance=0
    ).all()


def test_gdal_honours_bbox(server: tuple[str, list[str]]) -> None:
    base, _ = server
    cams = helsinki_cameras()
    expected = set(cams.loc[cams.intersects(shapely.box(*BBOX)), "camera_id"])
    assert 0 < len(expected) < len(cams)
    got = pyogrio.read_dataframe(f"OAPIF:{base}", layer="cameras", bbox=BBOX)
    assert set(got["camera_id"]) == expected


def test_gdal_with_epsg4490_gets_the_same_points(server: tuple[str, list[str]]) -> None:
    base, _ = server
    a = pyogrio.read_dataframe(f"OAPIF:{base}", layer="cameras")
    b = pyogrio.read_dataframe(f"OAPIF:{base}", layer="cameras", CRS="EPSG:4490")
    assert b.crs.to_epsg() == 4490
    assert list(a["camera_id"]) == list(b["camera_id"])
    # GDAL hands geometries over in GIS (lon, lat) order for both CRSs
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all()
    bb = pyogrio.read_dataframe(f"OAPIF:{base}", layer="cameras", CRS="EPSG:4490", bbox=BBOX)
    ab = pyogrio.read_dataframe(f"OAPIF:{base}", layer="cameras", bbox=BBOX)
    assert sorted(bb["camera_id"]) == sorted(ab["camera_id"])


def test_gdal_reads_polygon_and_line_collections(server: tuple[str, list[str]]) -> None:
    base, _ = server
    for layer in ("grids_level2", "roads"):
        info = pyogrio.read_info(f"OAPIF:{base}", layer=layer)
        got = pyogrio.read_dataframe(f"OAPIF:{base}", layer=layer)
        assert len(got) == info["features"] > 0


def test_owslib_lists_collections_and_reads_items(server: tuple[str, list[str]]) -> None:
    from owslib.ogcapi.features import Features

    base, ids = server
    api = Features(base)
    assert api.feature_collections() == ids
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (api.conformance()["conformsTo"])
    )
    cams = helsinki_cameras()
    items = api.collection_items("cameras", limit=25, bbox=list(BBOX))
    expected = int(cams.intersects(shapely.box(*BBOX)).sum())
    assert items["numberMatched"] == expected
    assert len(items["features"]) == min(25, expected)
    first = items["features"][0]
    one = api.collection_item("cameras", first["id"])
    assert one["geometry"] == first["geometry"]
    assert api.api()["openapi"] == "3.0.3"


def _ogctests_core(tmp: pytest.TempPathFactory) -> tuple[Path, str]:
    """The ogctests features/core suite: installed, or fetched into a temp folder.

    ogctests 0.1.15 pins old httpx/pyarrow/pytest, so it is not a project dependency: the
    test installs it with --no-deps into its own folder (its real needs, requests and
    jsonschema, are in the [test] extra's dependency tree).
    """
    try:
        import ogctests

        return Path(ogctests.__file__).parent / "features" / "core", os.environ.get(
            "PYTHONPATH", ""
        )
    except ImportError:
        pass
    target = tmp.mktemp("ogctests")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         "ogctests==0.1.15"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if pip.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"could not install ogctests in CI: {pip.stderr[-500:]}")
        pytest.skip(f"ogctests is not installed and pip could not fetch it: {pip.stderr[-200:]}")
    return target / "ogctests" / "features" / "core", str(target)


def test_ogctests_features_core_suite_passes(
    server: tuple[str, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base, _ = server
    core, pythonpath = _ogctests_core(tmp_path_factory)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(core), "-q", "-p", "no:cacheprovider",
         "-W", "error::UserWarning", "--rootdir", str(core.parent.parent)],
        env={**os.environ, "INSTANCE_URL": base, "PYTHONPATH": pythonpath},
        capture_output=True, text=True, cwd=core.parent.parent, timeout=300,
    )  # fmt: skip
    tail = result.stdout[-3000:]
    assert result.returncode == 0, tail
    assert "29 passed" in tail, tail


def test_the_default_rate_limit_was_on_all_along(server: tuple[str, list[str]]) -> None:
    """Runs last: every client above read the server under the default limit, which holds."""
    import httpx

    from gridcover.settings import Settings

    base, _ = server
    default = Settings()
    codes = []
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(default.rate_limit_burst + 200):
            r = client.get("/conformance")
            codes.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1
                break
    assert codes[-1] == 429 and set(codes[:-1]) == {200}
