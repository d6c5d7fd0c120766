"""Helpers of the API tests: a store of real layers from tests/data, and a live server.

``build_store(folder)`` writes real layers (Helsinki OSM cameras, buildings and roads;
Chicago police districts and beats as two grid levels, police stations as posts) into a
GeoPackage store. ``live_server(data_dir)`` runs ``uvicorn`` on 127.0.0.1 on a free port in a
subprocess (real clients such as GDAL call it over loopback) and stops it afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import shapely

from gridcover.api.store import ItemsQuery, Store
from gridcover.api.store.gpkg.store import GeoPackageStore
from gridcover.api.store.publish import store_layer

DATA = Path(__file__).resolve().parent / "data"
HELSINKI = DATA / "helsinki-osm-center"
CHICAGO = DATA / "chicago-cameras-police"


def helsinki_cameras() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(HELSINKI / "surveillance_cameras.geojson")
    gdf.insert(0, "camera_id", "osm" + gdf["osm_id"].astype(str))
    return gdf


def chicago_grids() -> gpd.GeoDataFrame:
    districts = gpd.read_file(CHICAGO / "police_districts_2014.geojson")
    beats = gpd.read_file(CHICAGO / "police_beats_2014.geojson")
    d = gpd.GeoDataFrame(
        {"code": "D" + districts["DIST_NUM"].astype(str), "parent_code": None, "level": 1,
         "name": districts["DIST_LABEL"]},
        geometry=districts.geometry, crs=districts.crs,
    )  # fmt: skip
    b = gpd.GeoDataFrame(
        {"code": "B" + beats["BEAT_NUM"].astype(str),
         "parent_code": "D" + beats["DISTRICT"].astype(int).astype(str), "level": 2,
         "name": None},
        geometry=beats.geometry, crs=beats.crs,
    )  # fmt: skip
    return gpd.GeoDataFrame(pd.concat([d, b], ignore_index=True), crs=d.crs)


def chicago_posts() -> gpd.GeoDataFrame:
    df = pd.read_csv(CHICAGO / "police_stations.csv", encoding="utf-8-sig")
    return gpd.GeoDataFrame(
        {"post_id": "P" + df["DISTRICT"].astype(str), "name": df["DISTRICT NAME"],
         "kind": "station"},
        geometry=gpd.points_from_xy(df["LONGITUDE"], df["LATITUDE"]), crs="EPSG:4326",
    )  # fmt: skip


def fill_store(store: Store) -> Store:
    """Store the real test layers in ``store`` (any backend); returns it."""
    store_layer(store, "cameras", helsinki_cameras())
    store_layer(store, "buildings", gpd.read_file(HELSINKI / "buildings.geojson"))
    store_layer(store, "roads", gpd.read_file(HELSINKI / "highways.geojson"))
    store_layer(store, "grids", chicago_grids())
    store_layer(store, "posts", chicago_posts())
    return store


def check_bbox_pages(store: Store, limit: int) -> None:
    """Store the Helsinki roads and page through a bbox query ``limit`` features at a time:
    every page reports the full match count and the pages together are exactly the roads a
    plain shapely intersects finds, in file order (= fid order), none twice."""
    roads = gpd.read_file(HELSINKI / "highways.geojson")
    store_layer(store, "roads", roads)
    box = (24.9420, 60.1650, 24.9480, 60.1700)
    expected = [i + 1 for i in roads.index[roads.intersects(shapely.box(*box))]]
    got: list[int] = []
    offset = 0
    while True:
        page = store.items("roads", ItemsQuery(bbox=box, limit=limit, offset=offset))
        assert page.number_matched == len(expected)
        got += page.ids
        offset += limit
        if offset >= page.number_matched:
            break
    assert got == expected


def build_store(folder: Path) -> GeoPackageStore:
    """A store in ``folder/gridcover.gpkg`` holding the real test layers."""
    store = GeoPackageStore(folder / "gridcover.gpkg")
    fill_store(store)
    return store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(data_dir: Path, **env: str) -> Iterator[str]:
    """Run the app (``create_app()`` from GRIDCOVER_* env) under uvicorn; yield its base URL."""
    port = _free_port()
    environ = {
        **os.environ,
        "GRIDCOVER_DATA_DIR": str(data_dir),
        "GRIDCOVER_LOAD_SAMPLE": "0",
    }
    environ.update({f"GRIDCOVER_{k.upper()}": v for k, v in env.items()})
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "gridcover.api.app:create_app",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=environ)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {proc.returncode}")
            try:
                if httpx.get(base + "/conformance", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
