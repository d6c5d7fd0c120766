"""Street network: noding, lengths, speeds and shortest paths, checked independently."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely

from gridcover.coverage.reach.network import (
    DEFAULT_SPEEDS_KMH,
    build_network,
    network_from_lines,
    shortest_times,
    travel_mode,
)
from gridcover.errors import InputError, SchemaError
from gridcover.gis import read_layer

DATA = Path(__file__).parent / "data"
ROADS = DATA / "helsinki-osm-center" / "highways.geojson"
UTM = pyproj.CRS.from_epsg(32635)


@pytest.fixture(scope="module")
def roads() -> gpd.GeoDataFrame:
    return read_layer(ROADS, "roads")


@pytest.fixture(scope="module")
def net(roads: gpd.GeoDataFrame):
    return build_network(roads)


def test_total_length_matches_the_input_lines(roads, net) -> None:
    # Noding splits lines but must neither lose nor invent street length.
    metric = roads.to_crs(net.crs)
    assert net.crs.is_projected
    assert net.edge_length_m.sum() == pytest.approx(metric.length.sum(), rel=0.005)
    assert np.allclose(net.edge_length_m, shapely.length(net.edge_geometry))


def test_edge_ends_are_their_nodes(net) -> None:
    start = shapely.get_coordinates(shapely.get_point(net.edge_geometry, 0))
    end = shapely.get_coordinates(shapely.get_point(net.edge_geometry, -1))
    nu = np.c_[net.node_x[net.edge_u], net.node_y[net.edge_u]]
    nv = np.c_[net.node_x[net.edge_v], net.node_y[net.edge_v]]
    # Nodes within snap_m (0.5 m) are merged; chains of merges may reach a little further.
    assert np.hypot(*(start - nu).T).max() <= 1.0
    assert np.hypot(*(end - nv).T).max() <= 1.0
    assert np.mean(np.hypot(*(start - nu).T) < 0.01) > 0.95


def test_every_crossing_of_two_roads_is_a_node(roads, net) -> None:
    lines = np.asarray(roads.to_crs(net.crs).geometry.values)
    a, b = shapely.STRtree(lines).query(lines, predicate="crosses")
    keep = a < b
    pts = shapely.get_parts(shapely.intersection(lines[a[keep]], lines[b[keep]]))
    pts = pts[shapely.get_type_id(pts) == 0]
    assert pts.size > 50  # real crossings (e.g. footways over streets) exist in this extract
    _, d = net.snap(shapely.get_x(pts), shapely.get_y(pts))
    assert d.max() < 1.0  # a node, up to the merge distance


def _hash_grid() -> np.ndarray:
    # A '#' of four 300 m lines crossing without shared vertices: crossings at 100 and 200.
    return np.array(
        [
            shapely.LineString([(0, 100), (300, 100)]),
            shapely.LineString([(0, 200), (300, 200)]),
            shapely.LineString([(100, 0), (100, 300)]),
            shapely.LineString([(200, 0), (200, 300)]),
        ]
    )


def test_hash_grid_paths_are_manhattan_lengths() -> None:
    classes = np.array(["residential", "residential", "footway", "residential"], dtype=object)
    net = network_from_lines(_hash_grid(), classes, UTM, snap_m=0.0)
    assert net.n_nodes == 12 and net.n_edges == 12
    node = {
        (round(x), round(y)): i for i, (x, y) in enumerate(zip(net.node_x, net.node_y, strict=True))
    }
    src = node[(0, 100)]
    d = shortest_times(net.length_graph(), [src])[0]
    # Independent: by hand, along the lines of the '#'.
    assert d[node[(300, 200)]] == pytest.approx(300 + 100)
    assert d[node[(100, 300)]] == pytest.approx(100 + 200)
    assert d[node[(200, 0)]] == pytest.approx(200 + 100)
    # Cars cannot use the footway x=100: from (0,100) to (100,300) they go round via x=200.
    t = shortest_times(net.graph("car"), [src])[0]
    kmh = DEFAULT_SPEEDS_KMH["car"]["residential"]
    assert np.isinf(t[node[(100, 300)]])  # the footway end is not on any car street
    assert t[node[(200, 300)]] == pytest.approx((200 + 200) / (kmh / 3.6))


def test_shortest_lengths_agree_with_networkx_on_the_input_vertices(roads, net) -> None:
    # Independent graph: consecutive vertices of each OSM line (OSM ways share nodes at
    # junctions). Planar noding can only add junctions, so our paths are never longer.
    g = nx.Graph()
    for line in roads.to_crs(net.crs).geometry.values:
        xy = np.round(np.asarray(line.coords), 2)
        for p, q in itertools.pairwise(xy):
            w = float(np.hypot(*(q - p)))
            g.add_edge(tuple(p), tuple(q), weight=w)
    comp = max(nx.connected_components(g), key=len)
    rng = np.random.default_rng(3)
    pts = [p for p in comp if g.degree(p) != 2]  # junctions and dead ends
    picks = [pts[i] for i in rng.choice(len(pts), 8, replace=False)]
    src = picks[0]
    ref = nx.single_source_dijkstra_path_length(g, src, weight="weight")
    (s,), _ = net.snap(np.array([src[0]]), np.array([src[1]]))
    ours = shortest_times(net.length_graph(), [s])[0]
    tx, ty = np.array([p[0] for p in picks[1:]]), np.array([p[1] for p in picks[1:]])
    idx, dist = net.snap(tx, ty)
    assert dist.max() < 1.0
    ref_d = np.array([ref[p] for p in picks[1:]])
    assert np.all(ours[idx] <= ref_d + 2.0)
    assert np.all(ours[idx] >= np.hypot(tx - src[0], ty - src[1]) - 2.0)
    assert np.mean(np.abs(ours[idx] - ref_d) < 2.0) >= 0.5


def test_car_graph_drops_footways_and_uses_class_speeds(net) -> None:
    g = net.graph("car")
    footway = net.edge_class == "footway"
    assert footway.any()
    u, v = net.edge_u[footway][0], net.edge_v[footway][0]
    assert g[min(u, v), max(u, v)] == 0 or not np.any(
        (np.minimum(net.edge_u, net.edge_v) == min(u, v))
        & (np.maximum(net.edge_u, net.edge_v) == max(u, v))
        & ~footway
    )
    prim = np.flatnonzero(net.edge_class == "primary")[0]
    a, b = sorted((net.edge_u[prim], net.edge_v[prim]))
    assert g[a, b] <= net.edge_length_m[prim] / (45 / 3.6) + 1e-9


def test_travel_mode_overrides_and_errors() -> None:
    m = travel_mode("walk", {"residential": 4.0, "default": 6.0})
    assert m.default_kmh == 6.0 and m.class_kmh["residential"] == 4.0
    assert m.speeds_for(np.array(["motorway", "residential", "x"], dtype=object)).tolist() == [
        0.0,
        4.0,
        6.0,
    ]
    with pytest.raises(InputError, match="Unknown travel mode"):
        travel_mode("horse")
    with pytest.raises(InputError, match="km/h >= 0"):
        travel_mode("car", {"primary": -5})
    with pytest.raises(InputError, match="default speed"):
        travel_mode("car", {"default": 0})


def test_bad_roads_layers_raise_clear_errors(roads) -> None:
    with pytest.raises(InputError, match="no CRS"):
        build_network(
            gpd.GeoDataFrame(roads.drop(columns="geometry"), geometry=list(roads.geometry))
        )
    with pytest.raises(SchemaError, match="'class'"):
        build_network(roads.drop(columns="class"))
    with pytest.raises(InputError, match="empty"):
        build_network(roads.iloc[:0])
    with pytest.raises(InputError, match="no line geometry"):
        build_network(
            gpd.GeoDataFrame({"class": ["x"]}, geometry=[shapely.Point(24.9, 60.1)], crs=4326)
        )
