"""Both backends return the same typed values for the same stored features, and a single-feature
edit in place leaves a GeoPackage that GDAL reads (row, R-tree, extent) like the store does.

The features are real Helsinki OSM cameras with extra columns holding the hard cases: booleans
with a null, integers beyond 32 bits, Chinese text, missing text and NaN numbers. Expected
values come from the source frame itself; GDAL (pyogrio) is the second reader of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from api_server import helsinki_cameras
from gridcover.api.store import ItemsQuery, LayerMeta, Store, open_store
from gridcover.api.store.edits import FeatureRow, becomes
from gridcover.settings import Settings

BACKENDS = ("gpkg", "postgis")


def _frame() -> gpd.GeoDataFrame:
    gdf = helsinki_cameras().head(6)[["camera_id", "geometry"]].reset_index(drop=True)
    gdf["online"] = pd.array([True, False, None, True, True, False], dtype="boolean")
    gdf["serial"] = np.array([2**40 + i for i in range(6)], dtype=np.int64)
    gdf["label"] = pd.array(["摄像头-1", "a", None, "b", "c", "d"], dtype="str")
    gdf["height_m"] = [3.5, np.nan, 4.0, 5.25, 6.0, 7.0]
    return gdf


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = None
    if request.param == "postgis":
        from postgis_server import fresh_database_url

        url = fresh_database_url()
    s = open_store(Settings(data_dir=tmp_path, load_sample=False, database_url=url))
    s.replace_layer("cameras", _frame(), LayerMeta("cameras", "Cameras", id_field="camera_id"))
    yield s
    s.close()


def _expected(i: int) -> dict:
    row = _frame().iloc[i]
    return {
        "camera_id": row["camera_id"],
        "online": None if pd.isna(row["online"]) else bool(row["online"]),
        "serial": int(row["serial"]),
        "label": None if pd.isna(row["label"]) else str(row["label"]),
        "height_m": None if pd.isna(row["height_m"]) else float(row["height_m"]),
    }


def test_both_backends_decode_the_same_typed_values(store: Store) -> None:
    src = _frame()
    for i in range(len(src)):
        page = store.feature("cameras", str(src["camera_id"][i]))
        props = page.properties[0]
        assert props == _expected(i)
        assert [type(props[k]) for k in ("serial", "camera_id")] == [int, str]
        assert props["online"] is None or isinstance(props["online"], bool)
    page = store.items("cameras", ItemsQuery(limit=10))
    assert page.properties == [_expected(i) for i in range(len(src))]
    back = store.read_layer("cameras")
    assert str(back["online"].dtype) == "boolean" and str(back["serial"].dtype) == "int64"
    assert back["online"].isna().tolist() == src["online"].isna().tolist()
    assert back["serial"].tolist() == src["serial"].tolist()
    assert back["label"].isna().tolist() == [False, False, True, False, False, False]
    assert back["label"][0] == "摄像头-1"


def test_an_edit_in_place_reads_back_the_same_on_both_backends(store: Store) -> None:
    cid = str(_frame()["camera_id"][2])
    before = store.feature("cameras", cid)
    moved = shapely.Point(24.95, 60.17)
    props = {**before.properties[0], "online": True, "serial": 2**62, "label": "新"}
    done = store.edit_feature("cameras", cid, becomes(FeatureRow(moved, props)), mode="replace")
    assert done.before is not None and done.before.properties == _expected(2)
    after = store.feature("cameras", cid)
    assert after.properties[0] == props and after.geometries[0].equals(moved)
    # the spatial index follows the moved point: a bbox around the new place finds it
    near = store.items("cameras", ItemsQuery(bbox=(24.9499, 60.1699, 24.9501, 60.1701)))
    assert near.ids == [cid]


def test_gdal_reads_the_edited_geopackage_with_its_rtree(tmp_path: Path) -> None:
    s = open_store(Settings(data_dir=tmp_path, load_sample=False))
    s.replace_layer("cameras", _frame(), LayerMeta("cameras", "Cameras", id_field="camera_id"))
    cid = str(_frame()["camera_id"][1])
    row = s.feature("cameras", cid)
    far = shapely.Point(25.5, 60.5)  # outside the layer's old extent
    s.edit_feature("cameras", cid, becomes(FeatureRow(far, {**row.properties[0]})), mode="replace")
    new = FeatureRow(shapely.Point(24.9, 60.2), {**_expected(0), "camera_id": "n-1"})
    s.edit_feature("cameras", "n-1", becomes(new), mode="create")
    s.edit_feature("cameras", str(_frame()["camera_id"][0]), becomes(None), mode="delete")
    s.close()
    path = tmp_path / "gridcover.gpkg"
    (table,) = [n for n, _ in pyogrio.list_layers(path) if n.startswith("cameras__")]
    gdal = pyogrio.read_dataframe(path, layer=table)
    assert len(gdal) == 6 and "n-1" in set(gdal["camera_id"])
    assert str(_frame()["camera_id"][0]) not in set(gdal["camera_id"])
    # GDAL's bbox filter goes through the R-tree: the moved camera is found at its new place
    hit = pyogrio.read_dataframe(path, layer=table, bbox=(25.49, 60.49, 25.51, 60.51))
    assert list(hit["camera_id"]) == [cid]
    info = pyogrio.read_info(path, layer=table)
    assert info["total_bounds"][2] >= 25.5 and info["total_bounds"][3] >= 60.5


def test_readers_never_see_a_half_written_edit(store: Store) -> None:
    """A writer moves one camera back and forth between two places while readers query a
    box around the first: every answer is one consistent snapshot (row, R-tree/GiST index and
    count agree), i.e. a feature the index finds in the box has its geometry in the box."""
    import threading
    import time

    cid = str(_frame()["camera_id"][3])
    props = dict(store.feature("cameras", cid).properties[0])
    a, b = shapely.Point(24.90, 60.20), shapely.Point(24.99, 60.15)
    box = (24.899, 60.199, 24.901, 60.201)
    stop = time.monotonic() + 3.0
    problems: list[str] = []
    seen = {True: 0, False: 0}

    def writer() -> None:
        n = 0
        while time.monotonic() < stop:
            here = a if n % 2 else b
            store.edit_feature("cameras", cid, becomes(FeatureRow(here, props)), mode="replace")
            n += 1

    def reader() -> None:
        while time.monotonic() < stop:
            page = store.items("cameras", ItemsQuery(bbox=box, limit=10))
            if page.number_matched != len(page.ids):
                problems.append(f"count {page.number_matched} vs {len(page.ids)} features")
            for g in page.geometries:
                if not g.intersects(shapely.box(*box)):
                    problems.append(f"index found {g.wkt} in the box")
            seen[cid in page.ids] += 1

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert problems == []
    assert seen[True] and seen[False]  # the readers saw both states
