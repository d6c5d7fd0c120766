"""Blind spots: clustering by H3 adjacency, polygons, ranking, nearest camera and post."""

from __future__ import annotations

import geopandas as gpd
import h3
import networkx as nx
import numpy as np
import pytest
import shapely

from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.gaps import cluster_cells, find_blind_spots

DATA = "tests/data/helsinki-osm-center"


@pytest.fixture(scope="module")
def setup():
    cells = cells_for_area(shapely.box(24.936, 60.163, 24.946, 60.170), 12)
    rng = np.random.default_rng(8)
    # blind cells: a random field thresholded so there are clusters of many sizes
    noise = rng.random(len(cells))
    smooth = np.zeros(len(cells))
    for dx in (0, 15, -15, 30, -30):
        smooth += np.interp(cells.x + dx, np.sort(cells.x), noise[np.argsort(cells.x)])
    blind = (smooth > np.quantile(smooth, 0.7)) & (noise > 0.2)
    weight = rng.uniform(0.5, 5, len(cells))
    cams = gpd.read_file(f"{DATA}/surveillance_cameras.geojson")
    cams = cams.assign(camera_id=cams["osm_id"].astype(str))
    posts = cams.iloc[::40].assign(post_id=lambda d: "P" + d["camera_id"])
    return cells, blind, weight, cams, posts


def test_clusters_equal_networkx_components(setup) -> None:
    cells, blind, *_ = setup
    ids = cells.h3[blind]
    labels = cluster_cells(ids)
    g = nx.Graph()
    g.add_nodes_from(ids.tolist())
    hexes = {int(c): h3.int_to_str(int(c)) for c in ids}
    idset = set(hexes)
    for c, hx in hexes.items():
        for nb in h3.grid_ring(hx, 1):
            if h3.str_to_int(nb) in idset:
                g.add_edge(c, h3.str_to_int(nb))
    expect = {frozenset(comp) for comp in nx.connected_components(g)}
    got = {frozenset(ids[labels == k].tolist()) for k in np.unique(labels)}
    assert len(expect) > 20
    assert got == expect


def test_blind_spot_table(setup) -> None:
    cells, blind, weight, cams, posts = setup
    spots = find_blind_spots(cells, blind, weight, cameras=cams, posts=posts)
    t = spots.table
    assert t.crs.to_epsg() == 4326
    assert list(t["blind_spot"]) == list(range(1, len(t) + 1))
    assert np.all(np.diff(t["weight"].to_numpy()) <= 0)  # ranked heaviest first
    np.testing.assert_allclose(t["weight"].sum(), weight[blind].sum())
    assert t["cells"].sum() == blind.sum()
    np.testing.assert_array_equal(spots.cell_cluster > 0, blind)
    for _, row in t.iloc[[0, 1, len(t) // 2, -1]].iterrows():
        mine = spots.cell_cluster == row["blind_spot"]
        # the polygon is exactly the union of its hexagons: every member centroid inside,
        # no other blind centroid inside, and the same area
        assert shapely.contains_xy(row.geometry, cells.lon[mine], cells.lat[mine]).all()
        others = blind & ~mine
        assert not shapely.contains_xy(row.geometry, cells.lon[others], cells.lat[others]).any()
        assert row["weight"] == pytest.approx(weight[mine].sum())
        assert row["area_m2"] == pytest.approx(cells.area_m2[mine].sum())
        poly_m2 = gpd.GeoSeries([row.geometry], crs=4326).to_crs(cells.crs).area.iloc[0]
        assert poly_m2 == pytest.approx(row["area_m2"], rel=5e-3)


def test_nearest_camera_and_post_match_brute_force(setup) -> None:
    cells, blind, weight, cams, posts = setup
    t = find_blind_spots(cells, blind, weight, cameras=cams, posts=posts).table
    polys = np.asarray(t.to_crs(cells.crs).geometry.values)
    for layer, key, col in ((cams, "camera_id", "camera"), (posts, "post_id", "post")):
        pts = np.asarray(layer.to_crs(cells.crs).geometry.values)
        d = shapely.distance(polys[:, None], pts[None, :])
        np.testing.assert_allclose(t[f"nearest_{col}_m"], d.min(axis=1), atol=1e-6)
        best = layer[key].to_numpy()[d.argmin(axis=1)]
        ties = np.isclose(d, d.min(axis=1, keepdims=True))
        ok = [
            ties[i, layer[key].to_numpy() == t[f"nearest_{col}"].iloc[i]].any()
            for i in range(len(t))
        ]
        assert all(ok), best


def test_no_blind_cells_and_no_layers() -> None:
    cells = cells_for_area(shapely.box(24.936, 60.163, 24.938, 60.164), 12)
    spots = find_blind_spots(cells, np.zeros(len(cells), bool), np.ones(len(cells)))
    assert len(spots.table) == 0 and not spots.cell_cluster.any()
    one = np.zeros(len(cells), bool)
    one[3] = True
    t = find_blind_spots(cells, one, np.ones(len(cells))).table
    assert len(t) == 1 and t["nearest_camera"].isna().all()
