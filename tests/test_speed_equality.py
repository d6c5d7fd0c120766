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
    return run_analysis(**{k: layers[k] for k in keep}, config=AnalysisConfig(res=12))


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
    outlines = spots[["geometry"]].set_crs("EPSG:4326", allow_override=True)
    for prefix, layer in (("camera", st.cameras[mask]), ("offline_camera", st.cameras[~mask])):
        ids, dist = nearest(outlines, layer, "camera_id", st.crs)
        assert np.array_equal(spots[f"nearest_{prefix}"].to_numpy(), ids)
        assert np.array_equal(spots[f"nearest_{prefix}_m"].to_numpy(), dist, equal_nan=True)
    if st.posts is not None:
        ids, dist = nearest(outlines, st.posts, "post_id", st.crs)
        assert np.array_equal(spots["nearest_post"].to_numpy(), ids)
        assert np.array_equal(spots["nearest_post_m"].to_numpy(), dist, equal_nan=True)


def test_views_table_is_the_metric_views_reprojected(result: AnalysisResult) -> None:
    v, st = result.views, result.state
    old = np.asarray(st.views.geometry.to_crs("EPSG:4326").values)
    new = np.asarray(v.geometry.values)
    assert shapely.equals_exact(new, old, tolerance=0.0).all()
    assert np.array_equal(v["view_area_m2"].to_numpy(), st.views.geometry.area.to_numpy())
