"""Post reach: radius, travel time along streets / grid, nearest post, patrol target."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely

from gridcover.coverage.cell_graph import neighbours
from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.reach.nearest_post import (
    patrol_target,
    post_reach,
    radius_matrix,
    reach_cells,
    target_by_grid,
    travel_times,
    within_time_matrix,
)
from gridcover.coverage.reach.network import build_network, travel_mode
from gridcover.errors import InputError
from gridcover.gis import read_layer

DATA = Path(__file__).parent / "data"
HEL = DATA / "helsinki-osm-center"
CHI = DATA / "chicago-cameras-police"


@pytest.fixture(scope="module")
def hel():
    roads = read_layer(HEL / "highways.geojson", "roads")
    b = roads.total_bounds
    area = shapely.box(b[0] + 0.002, b[1] + 0.002, b[2] - 0.002, b[3] - 0.002)
    cells = cells_for_area(area, 11)
    net = build_network(roads, crs=cells.crs)
    # Four posts at real street corners: the network nodes nearest to four spread points.
    tr = pyproj.Transformer.from_crs(4326, cells.crs, always_xy=True)
    qx, qy = tr.transform([24.938, 24.948, 24.942, 24.950], [60.166, 60.168, 60.173, 60.175])
    node, _ = net.snap(np.asarray(qx), np.asarray(qy))
    return cells, net, net.node_x[node], net.node_y[node]


def test_radius_matrix_matches_brute_force(hel) -> None:
    cells, _, px, py = hel
    m = radius_matrix(cells.x, cells.y, px, py, 400.0).toarray()
    d = np.hypot(cells.x[:, None] - px[None], cells.y[:, None] - py[None])
    assert np.array_equal(m, d <= 400.0)
    # A post exactly on a centroid counts (distance 0).
    m0 = radius_matrix(cells.x, cells.y, cells.x[:1], cells.y[:1], 10.0).toarray()
    assert m0[0, 0]


def test_network_times_match_networkx(hel) -> None:
    cells, net, px, py = hel
    tt = travel_times(cells.x, cells.y, px, py, network=net, mode="car")
    assert tt.method == "network" and tt.seconds.shape == (len(cells), 4)
    # Independent: networkx Dijkstra over the car edges, snapping by brute force.
    mode = travel_mode("car")
    speed = mode.speeds_for(net.edge_class) / 3.6
    g = nx.Graph()
    for u, v, length, s in zip(net.edge_u, net.edge_v, net.edge_length_m, speed, strict=True):
        if s > 0 and (not g.has_edge(u, v) or g[u][v]["w"] > length / s):
            g.add_edge(int(u), int(v), w=length / s)
    part = max(nx.connected_components(g), key=len)
    nodes = np.array(sorted(part))

    def nearest(x: float, y: float) -> tuple[int, float]:
        d = np.hypot(net.node_x[nodes] - x, net.node_y[nodes] - y)
        return int(nodes[np.argmin(d)]), float(d.min())

    rng = np.random.default_rng(0)
    for p in range(4):
        src, dp = nearest(px[p], py[p])
        dist = nx.single_source_dijkstra_path_length(g, src, weight="w")
        for c in rng.choice(len(cells), 25, replace=False):
            dst, dc = nearest(cells.x[c], cells.y[c])
            if tt.fallback[c]:
                ref = np.hypot(cells.x[c] - px[p], cells.y[c] - py[p]) / mode.default_ms
            else:
                ref = dist[dst] + (dp + dc) / mode.default_ms
            assert tt.seconds[c, p] == pytest.approx(ref, rel=1e-6)


def test_far_cells_fall_back_to_straight_line(hel) -> None:
    cells, net, px, py = hel
    tt = travel_times(cells.x, cells.y, px, py, network=net, mode="car", max_snap_m=20.0)
    assert tt.fallback.any() and not tt.fallback.all()
    c = np.flatnonzero(tt.fallback)[0]
    straight = np.hypot(cells.x[c] - px, cells.y[c] - py) / travel_mode("car").default_ms
    assert np.allclose(tt.seconds[c], straight)


def test_within_time_matrix_equals_thresholded_dense_times(hel) -> None:
    cells, net, px, py = hel
    tt = travel_times(cells.x, cells.y, px, py, network=net, mode="walk")
    m = within_time_matrix(cells.x, cells.y, px, py, 300.0, network=net, mode="walk")
    assert np.array_equal(m.toarray(), tt.seconds <= 300.0)


def test_reach_nearest_post_and_target(hel) -> None:
    cells, net, px, py = hel
    r = reach_cells(
        cells.h3, cells.x, cells.y, px, py, radius_m=300, minutes=2, network=net, mode="car"
    )
    tt = travel_times(cells.x, cells.y, px, py, network=net, mode="car")
    assert np.array_equal(r.nearest_post, np.argmin(tt.seconds, axis=1))
    d = np.hypot(cells.x[:, None] - px[None], cells.y[:, None] - py[None])
    assert np.allclose(r.distance_m, d.min(axis=1))
    assert not r.unreachable.any()
    t = patrol_target(r, r)
    assert np.array_equal(t.day_ok, d.min(axis=1) <= 300)
    assert np.array_equal(t.night_ok, tt.seconds.min(axis=1) <= 120)
    table = r.post_table(cells.area_m2, np.array(list("ABCD")))
    assert table["cells_within_radius"].tolist() == (d <= 300).sum(axis=0).tolist()


@pytest.fixture(scope="module")
def chicago():
    posts = read_layer(CHI / "police_stations.csv", "posts")
    posts = posts[posts["post_id"] != "Headquarters"].reset_index(drop=True)
    dist = read_layer(CHI / "police_districts_2014.geojson", "grids", duplicates="keep")
    cells = cells_for_area(dist, 9)
    return posts, dist, cells


def test_chicago_target_per_grid_on_grid_adjacency(chicago) -> None:
    posts, dist, cells = chicago
    tr = pyproj.Transformer.from_crs(4326, cells.crs, always_xy=True)
    px, py = (np.asarray(v) for v in tr.transform(posts.geometry.x, posts.geometry.y))
    own = cells.index_of(
        np.array(
            [
                h3.str_to_int(h3.latlng_to_cell(la, lo, 9))
                for lo, la in zip(posts.geometry.x, posts.geometry.y, strict=True)
            ],
            dtype=np.int64,
        )
    )
    assert (own >= 0).all()
    nbr = neighbours(cells.h3)
    day = reach_cells(
        cells.h3,
        cells.x,
        cells.y,
        px,
        py,
        radius_m=1000,
        minutes=15,
        method="grid",
        post_cells=own,
        nbr=nbr,
    )
    assert day.fallback.all() and day.method == "grid"
    # Unreachable = cells with no H3 path to any station (independent: networkx + h3).
    g = nx.Graph()
    ids = [h3.int_to_str(int(c)) for c in cells.h3]
    g.add_nodes_from(ids)
    idset = set(ids)
    for c in ids:
        g.add_edges_from((c, n) for n in h3.grid_ring(c, 1) if n in idset)
    reach_set = set().union(*(nx.node_connected_component(g, ids[o]) for o in own))
    expect = np.array([c not in reach_set for c in ids])
    assert expect.sum() > 0  # O'Hare hangs on a strip too thin for res 9
    assert np.array_equal(day.unreachable, expect)
    tgt = patrol_target(day, day)
    per = target_by_grid(tgt, cells.lon, cells.lat, cells.area_m2, dist)
    assert len(per) == len(dist)
    # Independent per-district share with plain shapely containment, for three districts.
    for i in (0, 5, 12):
        inside = shapely.contains_xy(dist.geometry.iloc[i], cells.lon, cells.lat)
        a = cells.area_m2[inside]
        assert per["day_share"].iloc[i] == pytest.approx(a[tgt.day_ok[inside]].sum() / a.sum())
        assert per["cells"].iloc[i] == inside.sum()
    share = tgt.share(cells.area_m2)
    print(
        f"\nChicago, 22 stations, res 9, grid-adjacency travel at car default speed: "
        f"{share['day']:.1%} of the area within 1 km, {share['night']:.1%} within 15 min, "
        f"{int(per['meets_target'].sum())} of {len(per)} district polygons meet both"
    )


def test_bad_methods_and_arguments(hel) -> None:
    cells, _net, px, py = hel
    with pytest.raises(InputError, match="Unknown travel method"):
        travel_times(cells.x, cells.y, px, py, method="teleport")
    with pytest.raises(InputError, match="needs a street network"):
        travel_times(cells.x, cells.y, px, py, method="network")
    with pytest.raises(InputError, match=">= 0"):
        reach_cells(cells.h3, cells.x, cells.y, px, py, radius_m=-1, method="straight")
    with pytest.raises(InputError, match="EPSG:4326"):
        r = reach_cells(cells.h3, cells.x, cells.y, px, py, method="straight")
        grids = gpd.GeoDataFrame({"code": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=3857)
        target_by_grid(patrol_target(r, r), cells.lon, cells.lat, cells.area_m2, grids)


def test_post_reach_adapter_on_the_sample() -> None:
    sample = Path(__file__).parents[1] / "sample_geodata"
    roads = read_layer(sample / "roads.geojson", "roads")
    posts = read_layer(sample / "posts.geojson", "posts")
    grids = read_layer(sample / "grids.geojson", "grids")
    cells = cells_for_area(grids[grids["level"] == 1], 11)
    rep = post_reach(cells, posts, roads=roads, grids=grids, day_radius_m=300, night_minutes=1)
    assert rep.result.method == "network" and len(rep.cells) == len(cells)
    p = posts.to_crs(cells.crs).geometry
    d = np.hypot(cells.x[:, None] - p.x.to_numpy()[None], cells.y[:, None] - p.y.to_numpy()[None])
    assert np.array_equal(rep.cells["day_ok"].to_numpy(), d.min(axis=1) <= 300)
    assert len(rep.grids) == len(grids) and set(rep.grids["level"]) == {1, 2, 3}
    lvl1 = rep.grids[rep.grids["level"] == 1]
    assert lvl1["cells"].sum() == len(cells)  # level-1 grids tile the area
    a = cells.area_m2
    both = (rep.cells["day_ok"] & rep.cells["night_ok"]).to_numpy()
    assert rep.share["both"] == pytest.approx(a[both].sum() / a.sum())
    assert rep.posts["post_id"].tolist() == posts["post_id"].tolist()
    # Grids holding no cell centroid are judged by the cell nearest to a point inside them
    # (independent: geodesic distances to every centroid); every grid gets an answer.
    small = rep.grids[rep.grids["cells"] == 0]
    assert len(small) > 0 and small["point_sample"].all()
    assert not rep.grids["meets_target"].isna().any()
    geod = pyproj.Geod(ellps="WGS84")
    for i in small.index[:: max(len(small) // 15, 1)]:
        rp = grids.geometry.iloc[i].representative_point()
        d = geod.inv(np.full(len(cells), rp.x), np.full(len(cells), rp.y), cells.lon, cells.lat)[2]
        j = int(np.argmin(d))
        assert small.loc[i, "both_share"] == float(both[j])
        assert bool(small.loc[i, "meets_target"]) == bool(both[j])
