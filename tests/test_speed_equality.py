"""The cheaper steps after the cover step give the tables of the previous code path.

Baseline: tests/_baseline_pipeline.py (the former implementations). Cases: the bundled
sample and a synthetic city (tests/_synthetic_city.py). Every comparison is exact.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import shapely

from _baseline_pipeline import areas_m2, centroids, hex_ids, hexagons, locate_points, nearest
from _synthetic_city import synthetic_city
from gridcover.coverage.analysis import AnalysisConfig, AnalysisResult, run_analysis
from gridcover.coverage.cover import camera_counted
from sample_analysis import sample_layers, sample_result


@lru_cache(maxsize=1)
def city_result() -> AnalysisResult:
    layers = synthetic_city(seed=11, side=1500.0, n_cameras=400)
    keep = ("grids", "cameras", "buildings", "roads", "sites", "posts", "incidents")
    return run_analysis(
        **{k: layers[k] for k in keep}, config=AnalysisConfig(res=12, visibility="2d")
    )


CASES = {"sample": lambda: sample_result(12), "city": city_result}


@pytest.fixture(params=sorted(CASES))
def result(request: pytest.FixtureRequest) -> AnalysisResult:
    return CASES[request.param]()


def test_tables_are_built_on_first_use() -> None:
    fresh = run_analysis(**sample_layers(), config=AnalysisConfig(res=11))
    assert "cells" not in fresh.__dict__ and "views" not in fresh.__dict__
    assert fresh.cells is fresh.cells  # built once, then kept
    assert len(fresh.cells) == len(fresh.state.cells)


def test_cell_table_matches_the_previous_cells(result: AnalysisResult) -> None:
    t, ids = result.cells, result.state.cells.h3
    assert np.array_equal(t["h3"].to_numpy(), hex_ids(ids))
    lon, lat = centroids(ids)
    assert np.array_equal(t["lon"].to_numpy(), lon) and np.array_equal(t["lat"].to_numpy(), lat)
    assert np.array_equal(t["area_m2"].to_numpy(), areas_m2(ids, lat))
    old = hexagons(ids)
    new = np.asarray(t.geometry.values)
    assert np.array_equal(shapely.get_coordinates(new), shapely.get_coordinates(old))
    assert shapely.equals_exact(new, old, tolerance=0.0).all()


def test_grid_and_camera_location_match_the_previous_tree_query(result: AnalysisResult) -> None:
    st = result.state
    polys = np.asarray(st.grid_index.grids.geometry.values)
    old = locate_points(polys, st.grid_index.level, st.cells.lon, st.cells.lat)
    assert np.array_equal(st.grid_index.cell_grid, old)
    assert (old >= 0).mean() > 0.95  # the cells do fall in grids: the check is not vacuous
    cams = st.cameras
    old_cam = locate_points(
        polys, st.grid_index.level, cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy()
    )
    assert np.array_equal(st.camera_grid, old_cam)


def test_points_on_grid_edges_and_corners_are_located_as_before() -> None:
    grids = sample_layers()["grids"]
    polys = np.asarray(grids.geometry.values)
    level = grids["level"].to_numpy()
    xy = shapely.get_coordinates(polys)  # every vertex: on an outline, shared by neighbours
    mid = (xy[:-1] + xy[1:]) / 2
    pts = np.r_[xy, mid, [[0.0, 0.0], [np.nan, np.nan]]]
    from gridcover.coverage.stats import locate_points as new_locate

    new = new_locate(polys, level, pts[:, 0], pts[:, 1])
    assert np.array_equal(new, locate_points(polys, level, pts[:, 0], pts[:, 1]))
    assert (new >= 0).sum() > len(xy) // 2


def _same_nearest(spots, prefix: str, layer, key: str, crs) -> int:
    """New columns vs the previous code: the same distances; the same feature except where
    several are equally near, where the new code names the first in the layer (intended:
    the previous one named whichever the tree returned). Returns the number of ties."""
    outlines = spots[["geometry"]].set_crs("EPSG:4326", allow_override=True)
    ids, dist = nearest(outlines, layer, key, crs)
    new_ids = spots[f"nearest_{prefix}"].to_numpy()
    assert np.array_equal(spots[f"nearest_{prefix}_m"].to_numpy(), dist, equal_nan=True)
    differ = np.flatnonzero(new_ids != ids)
    if differ.size:
        row = {v: i for i, v in enumerate(layer[key].to_numpy())}
        pts = np.asarray(layer.to_crs(crs).geometry.values)
        shapes = np.asarray(outlines.to_crs(crs).geometry.values)
        for i in differ:
            a, b = row[new_ids[i]], row[ids[i]]
            assert a < b and shapely.distance(shapes[i], pts[a]) == dist[i]
    return int(differ.size)


def test_blind_spot_nearest_columns_match_the_previous_reprojection(
    result: AnalysisResult,
) -> None:
    st, spots = result.state, result.blind_spots
    assert len(spots) > 0
    mask = camera_counted(
        st.cameras["status"].to_numpy(),
        include_offline=st.config.include_offline,
        unknown_online=st.config.unknown_online,
    )
    _same_nearest(spots, "camera", st.cameras[mask], "camera_id", st.crs)
    _same_nearest(spots, "offline_camera", st.cameras[~mask], "camera_id", st.crs)
    if st.posts is not None:
        _same_nearest(spots, "post", st.posts, "post_id", st.crs)


def test_equally_near_cameras_name_the_first_row() -> None:
    import geopandas as gpd

    from gridcover.coverage.gaps import add_nearest

    # two cameras inside one outline (both 0 m away), listed in both orders
    square = shapely.box(116.0, 39.0, 116.001, 39.001)
    table = gpd.GeoDataFrame({"blind_spot": [1]}, geometry=[square], crs="EPSG:4326")
    pts = [shapely.Point(116.0002, 39.0002), shapely.Point(116.0008, 39.0008)]
    for ids in (["a", "b"], ["b", "a"]):
        cams = gpd.GeoDataFrame({"camera_id": ids}, geometry=pts, crs="EPSG:4326")
        t = table.copy()
        add_nearest(t, cams, None, st_crs(), counted=np.array([True, True]))
        assert t["nearest_camera"].iloc[0] == ids[0] and t["nearest_camera_m"].iloc[0] == 0.0


def st_crs():
    from gridcover.coverage.cells import metric_crs_for

    return metric_crs_for(116.0, 39.0)


def test_views_table_is_the_metric_views_reprojected(result: AnalysisResult) -> None:
    v, st = result.views, result.state
    old = np.asarray(st.views.geometry.to_crs("EPSG:4326").values)
    new = np.asarray(v.geometry.values)
    assert shapely.equals_exact(new, old, tolerance=0.0).all()
    assert np.array_equal(v["view_area_m2"].to_numpy(), st.views.geometry.area.to_numpy())
