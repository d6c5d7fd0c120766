"""The GeoPackage store: round trips, exact bbox paging, atomic replace, crash leftovers."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
import shapely

from api_server import check_bbox_pages, chicago_grids, helsinki_cameras
from gridcover.api.store import ItemsQuery, LayerMeta, Store
from gridcover.api.store.gpkg.store import GeoPackageStore
from gridcover.api.store.publish import store_layer
from gridcover.errors import InputError, NotFound


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GeoPackageStore]:
    s = GeoPackageStore(tmp_path / "s.gpkg")
    yield s
    s.close()


def test_is_a_store(store: GeoPackageStore) -> None:
    assert isinstance(store, Store)
    assert store.is_new()


def test_layer_round_trip(store: GeoPackageStore) -> None:
    cams = helsinki_cameras()
    store_layer(store, "cameras", cams, params={"source": "helsinki"})
    got = store.read_layer("cameras")
    assert len(got) == len(cams)
    assert list(got["camera_id"]) == list(cams["camera_id"])
    assert shapely.equals_exact(got.geometry.values, cams.geometry.values, tolerance=0).all()
    assert store.layer_meta("cameras").params == {"source": "helsinki"}
    assert not store.is_new()


def test_grid_levels_become_collections(store: GeoPackageStore) -> None:
    grids = chicago_grids()
    store_layer(store, "grids", grids)
    ids = [c.id for c in store.collections()]
    assert ids == ["grids_level1", "grids_level2"]
    lv2 = store.read_collection("grids_level2")
    assert len(lv2) == int((grids["level"] == 2).sum())
    assert set(lv2["level"]) == {2}


@pytest.mark.parametrize("limit", [1, 13, 1000])
def test_bbox_pages_are_exact_and_complete(store: GeoPackageStore, limit: int) -> None:
    check_bbox_pages(store, limit)


def test_replace_is_atomic_when_the_commit_fails(store: GeoPackageStore) -> None:
    cams = helsinki_cameras()
    store_layer(store, "cameras", cams)

    def boom(conn: sqlite3.Connection) -> None:
        raise RuntimeError("audit insert failed")

    with pytest.raises(RuntimeError):
        store.replace_layer(
            "cameras", cams.iloc[:5], LayerMeta("cameras", "Cameras", id_field="camera_id"),
            on_commit=boom,
        )  # fmt: skip
    assert store.collection("cameras").count == len(cams)
    assert len(store.read_layer("cameras")) == len(cams)
    store.close()
    tables = [t for t in pyogrio.list_layers(store.path)[:, 0] if t.startswith("cameras__")]
    assert len(tables) == 1  # the failed write left nothing behind


def test_readers_see_old_or_new_never_a_mix(store: GeoPackageStore) -> None:
    cams = helsinki_cameras()
    small = cams.iloc[:40]
    store_layer(store, "cameras", cams)
    seen: set[tuple[int, int]] = set()
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                page = store.items("cameras", ItemsQuery(limit=1000))
                seen.add((page.number_matched, len(page.ids)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(6):
        store_layer(store, "cameras", small if i % 2 == 0 else cams)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert seen <= {(len(cams), len(cams)), (len(small), len(small))}


def test_ids_fall_back_to_fid_when_not_unique(store: GeoPackageStore) -> None:
    cams = helsinki_cameras()
    cams.loc[1, "camera_id"] = cams.loc[0, "camera_id"]
    store_layer(store, "cameras", cams)
    page = store.items("cameras", ItemsQuery(limit=3))
    assert page.ids == [1, 2, 3]
    assert store.feature("cameras", "2").properties[0]["camera_id"] == cams.loc[1, "camera_id"]


def test_errors(store: GeoPackageStore) -> None:
    with pytest.raises(InputError, match="layer name"):
        store_layer(store, "Bad Name", helsinki_cameras())
    with pytest.raises(NotFound):
        store.collection("cameras")
    store_layer(store, "cameras", helsinki_cameras())
    with pytest.raises(InputError, match="no property"):
        store.items("cameras", ItemsQuery(filters={"nope": "1"}))
    with pytest.raises(NotFound):
        store.feature("cameras", "missing")
    store.delete_layer("cameras")
    with pytest.raises(NotFound):
        store.read_layer("cameras")


_WRITER = """
import sys, numpy as np, geopandas as gpd, shapely
from gridcover.api.store.publish import store_layer
from gridcover.api.store.gpkg.store import GeoPackageStore
store = GeoPackageStore(sys.argv[1])
n = 200_000
rng = np.random.default_rng(0)
big = gpd.GeoDataFrame(
    {"camera_id": [f"c{i}" for i in range(n)]},
    geometry=shapely.points(rng.uniform(24.9, 25.0, n), rng.uniform(60.1, 60.2, n)),
    crs="EPSG:4326",
)
print("ready", flush=True)
while True:
    store_layer(store, "cameras", big)
"""


def test_killed_writer_leaves_old_or_new_layer_intact(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    path = tmp_path / "s.gpkg"
    cams = helsinki_cameras()
    s = GeoPackageStore(path)
    store_layer(s, "cameras", cams)
    s.close()
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    time.sleep(1.5)  # somewhere inside a 200k-feature replace
    proc.kill()  # SIGKILL: no cleanup runs
    proc.wait()
    reopened = GeoPackageStore(path)
    count = reopened.collection("cameras").count
    assert count in (len(cams), 200_000)
    assert len(reopened.read_layer("cameras")) == count
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened.close()
