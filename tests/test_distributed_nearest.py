"""The client of a Dask run keeps the cameras as plain columns and finds the nearest camera
of each blind spot chunk by chunk: the answer equals a brute-force scan of every
(blind spot, camera) distance with plain shapely, first camera in order among equally near
ones, and ``gaps.add_nearest`` on the same layers, whatever the chunk size."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridcover.coverage.cells import metric_crs_for
from gridcover.coverage.cover import camera_counted
from gridcover.coverage.distributed.nearest import add_nearest_cameras, camera_table
from gridcover.coverage.gaps import add_nearest
from gridcover.coverage.stats import camera_counts, locate_points
from sample_analysis import sample_layers, sample_result


def _brute(outlines: np.ndarray, pts: np.ndarray, ids: np.ndarray) -> tuple[list, np.ndarray]:
    """Per outline: id of the first point at the smallest distance, and that distance."""
    names, dist = [], np.full(len(outlines), np.nan)
    for i, g in enumerate(outlines):
        if pts.size == 0:
            names.append(None)
            continue
        d = shapely.distance(g, pts)
        j = int(np.flatnonzero(d == d.min())[0])
        names.append(ids[j])
        dist[i] = d[j]
    return names, dist


@pytest.fixture(scope="module")
def layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, object]:
    spots = sample_result(12).blind_spots[["blind_spot", "geometry"]].copy()
    cams = sample_layers()["cameras"].reset_index(drop=True)
    # every third camera again at the end: exact ties, found in a later chunk
    cams = pd.concat([cams, cams.iloc[::3].assign(camera_id=lambda d: d["camera_id"] + "-twin")])
    cams = cams.reset_index(drop=True)
    c = cams.geometry.union_all().centroid
    crs = metric_crs_for(c.x, c.y)
    return spots, cams, crs


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_chunked_nearest_equals_brute_force_and_gaps(layers, chunk: int) -> None:
    spots, cams, crs = layers
    counted = camera_counted(cams["status"].to_numpy())
    assert counted.any() and (~counted).any()  # both columns have answers to check
    table = spots.copy()
    add_nearest_cameras(table, camera_table(cams, crs), crs, counted, chunk=chunk)
    ref = spots.copy()
    add_nearest(ref, cams, None, crs, counted=counted)
    outlines = np.asarray(spots.to_crs(crs).geometry.values)
    pts = np.asarray(cams.geometry.to_crs(crs).values)
    ids = cams["camera_id"].to_numpy(dtype=object)
    for prefix, mask in (("camera", counted), ("offline_camera", ~counted)):
        names, dist = _brute(outlines, pts[mask], ids[mask])
        assert table[f"nearest_{prefix}"].tolist() == names == ref[f"nearest_{prefix}"].tolist()
        got = table[f"nearest_{prefix}_m"].to_numpy()
        np.testing.assert_array_equal(got, dist)
        np.testing.assert_array_equal(got, ref[f"nearest_{prefix}_m"].to_numpy())
    assert not table["nearest_camera"].str.endswith("-twin").any()  # ties: the first camera


def test_camera_table_is_compact_and_exact(layers) -> None:
    _, cams, crs = layers
    t = camera_table(cams, crs)
    assert list(t.columns) == ["camera_id", "status", "lon", "lat", "x", "y"]
    np.testing.assert_array_equal(t["lon"], cams.geometry.x)
    metric = cams.geometry.to_crs(crs)
    np.testing.assert_array_equal(t["x"], metric.x)
    np.testing.assert_array_equal(t["y"], metric.y)


def test_camera_status_codes_give_the_grid_camera_counts() -> None:
    # the client keeps status as a categorical: per grid and level, the same counts as a
    # plain count of the status strings of the cameras located in each grid's polygon
    result = sample_result(12)
    cams = sample_layers()["cameras"].reset_index(drop=True)
    t = camera_table(cams, result.state.crs)
    assert isinstance(t["status"].dtype, pd.CategoricalDtype)
    assert list(t["camera_id"].astype(object)) == list(cams["camera_id"])
    index = result.state.grid_index
    grid = locate_points(
        np.asarray(index.grids.geometry.values),
        index.grids["level"].to_numpy(np.int64),
        t["lon"].to_numpy(),
        t["lat"].to_numpy(),
    )
    got = camera_counts(index, grid, t["status"].array)
    grids = index.grids.reset_index(drop=True)
    status = cams["status"].astype(str).to_numpy()
    for g in range(len(grids)):
        inside = shapely.covers(grids.geometry.iloc[g], np.asarray(cams.geometry.values))
        for s in ("online", "offline", "unknown"):
            assert got[s][g] == int((inside & (status == s)).sum())
    assert sum(int(v.sum()) for v in got.values()) > 0
