"""Blind spots: clustering by H3 adjacency, polygons, ranking, nearest camera (counted and
not counted) and post."""

from __future__ import annotations

import geopandas as gpd
import h3
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.gaps import cluster_cells, find_blind_spots
from gridcover.errors import InputError
from sample_analysis import sample_layers, sample_result

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


def _brute_nearest(polys: np.ndarray, pts: np.ndarray, ids: np.ndarray) -> list[tuple]:
    """Per polygon: (minimum distance, ids at that distance) by a plain loop; (nan, {None})
    when there is no point."""
    out = []
    for poly in polys:
        d = np.array([poly.distance(p) for p in pts])
        if d.size == 0:
            out.append((np.nan, {None}))
            continue
        out.append((d.min(), set(ids[np.isclose(d, d.min(), rtol=0, atol=1e-9)])))
    return out


def _check_nearest(table: gpd.GeoDataFrame, cams: gpd.GeoDataFrame, on: np.ndarray, crs) -> None:
    polys = np.asarray(table.to_crs(crs).geometry.values)
    pts = np.asarray(cams.to_crs(crs).geometry.values)
    ids = cams["camera_id"].to_numpy()
    for col, mask in (("nearest_camera", on), ("nearest_offline_camera", ~on)):
        want = _brute_nearest(polys, pts[mask], ids[mask])
        got_d = table[f"{col}_m"].to_numpy(float)
        np.testing.assert_allclose(got_d, [w[0] for w in want], rtol=0, atol=1e-6, err_msg=col)
        for got, (_, best) in zip(table[col], want, strict=True):
            assert (None if pd.isna(got) else got) in best, col


def test_nearest_counted_and_offline_camera_on_sample() -> None:
    """The sample run (default config: offline cameras do not count): ``nearest_camera`` is
    the nearest camera not offline, ``nearest_offline_camera`` the nearest offline one,
    both checked by brute force; some blind spots have an offline camera nearer than any
    counted one (the case a planner must read as "repair", not "add")."""
    r = sample_result(12)
    cams = sample_layers()["cameras"]
    on = cams["status"].to_numpy() != "offline"
    assert (~on).sum() == 11
    t = r.blind_spots
    assert len(t) > 50
    _check_nearest(t, cams, on, r.state.crs)
    nearer = t["nearest_offline_camera_m"] < t["nearest_camera_m"]
    assert nearer.sum() >= 1
    # the column a planner used before: nearest of any status is offline for these spots
    status = dict(zip(cams["camera_id"], cams["status"], strict=True))
    assert all(status[c] == "offline" for c in t.loc[nearer, "nearest_offline_camera"])
    assert all(status[c] != "offline" for c in t["nearest_camera"])


def test_nearest_follows_the_run_config() -> None:
    """With ``include_offline`` every camera counts: no offline nearest, and the nearest
    camera is the nearest of all; with ``unknown_online=False`` unknown cameras do not."""
    layers = sample_layers()
    cams = layers["cameras"]
    r = run_analysis(**layers, config=AnalysisConfig(res=12, include_offline=True))
    t = r.blind_spots
    assert t["nearest_offline_camera"].isna().all()
    assert t["nearest_offline_camera_m"].isna().all()
    _check_nearest(t, cams, np.ones(len(cams), bool), r.state.crs)
    # unknown status not counted: mark every 7th camera unknown
    status = cams["status"].to_numpy().copy()
    status[::7] = "unknown"
    cams2 = cams.assign(status=status)
    r2 = run_analysis(
        **(layers | {"cameras": cams2}), config=AnalysisConfig(res=12, unknown_online=False)
    )
    _check_nearest(r2.blind_spots, cams2, status == "online", r2.state.crs)
    assert (
        r2.blind_spots["nearest_offline_camera"].isin(cams2["camera_id"][status == "unknown"]).any()
    )


def test_counted_mask_on_find_blind_spots(setup) -> None:
    """An explicit ``counted`` mask splits the layer; without one and without a status
    column every camera counts; a mask of the wrong length is refused."""
    cells, blind, weight, cams, posts = setup
    on = np.arange(len(cams)) % 3 != 0
    t = find_blind_spots(cells, blind, weight, cameras=cams, posts=posts, counted=on).table
    _check_nearest(t, cams, on, cells.crs)
    t0 = find_blind_spots(cells, blind, weight, cameras=cams).table
    assert t0["nearest_offline_camera"].isna().all()
    with pytest.raises(InputError, match="one per camera row"):
        find_blind_spots(cells, blind, weight, cameras=cams, counted=on[:-1])
