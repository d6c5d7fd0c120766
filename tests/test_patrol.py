"""Patrol zones on real Chicago data: contiguity, posts, boundaries, balance, bad input."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from gridcover.cli import main
from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.patrol.zones import agreement, patrol_zones
from gridcover.errors import InputError
from gridcover.gis import read_layer

DATA = Path(__file__).parent / "data"
CHI = DATA / "chicago-cameras-police"
SAMPLE = Path(__file__).parents[1] / "sample_geodata"
GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def chicago():
    posts = read_layer(CHI / "police_stations.csv", "posts")
    posts = posts[posts["post_id"] != "Headquarters"].reset_index(drop=True)
    dist = read_layer(CHI / "police_districts_2014.geojson", "grids", duplicates="keep")
    cells = cells_for_area(dist, 9)
    return posts, dist, cells


@pytest.fixture(scope="module")
def free_plan(chicago):
    posts, dist, cells = chicago
    return patrol_zones(dist, posts, cells=cells)


@pytest.fixture(scope="module")
def district_plan(chicago):
    posts, dist, cells = chicago
    return patrol_zones(dist, posts, cells=cells, boundary=dist)


def _district_of(posts, dist) -> dict[str, str]:
    """Station post_id ('5') -> district code as written in the districts file ('05')."""
    codes = {int(c): c for c in dist["code"]}
    return {p: codes[int(p)] for p in posts["post_id"]}


def _h3_graph(hexes: list[str]) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(hexes)
    s = set(hexes)
    for c in hexes:
        g.add_edges_from((c, n) for n in h3.grid_ring(c, 1) if n in s)
    return g


def _check_zones(plan, posts, exclaves: bool = False) -> None:
    """Independent checks with h3 + networkx: one connected piece holding its station.

    With ``exclaves``, a zone may also hold whole pieces of the area (of its boundary
    region) that H3 adjacency does not connect to any station; each must be flagged, be a
    complete such piece, and go to the station nearest to it in a straight line.
    """
    cells = plan.cells
    hexes = cells["h3"].tolist()
    region = dict(zip(hexes, cells["region"].fillna("-").astype(str), strict=True))
    area = nx.Graph()  # the area's H3 graph, edges only inside one boundary region
    area.add_nodes_from(hexes)
    for c in hexes:
        area.add_edges_from(
            (c, n) for n in h3.grid_ring(c, 1) if n in region and region[n] == region[c]
        )
    own = {
        pid: h3.latlng_to_cell(lat, lon, 9)
        for pid, lon, lat in zip(posts["post_id"], posts.geometry.x, posts.geometry.y, strict=True)
    }
    flagged = set(cells.loc[cells["exclave"], "h3"])
    seen_exclaves: set[str] = set()
    for pid, station in own.items():
        mine = set(cells.loc[cells["post_id"] == pid, "h3"])
        assert mine, f"station {pid} has no zone"
        assert station in mine, f"zone of {pid} does not hold its station"
        g = _h3_graph(sorted(mine))
        main = nx.node_connected_component(g, station)
        rest = mine - main
        if not exclaves:
            assert not rest, f"zone of {pid} is in pieces"
            continue
        assert rest == mine & flagged, f"zone of {pid}: exclave cells not flagged"
        seen_exclaves |= rest
        row = plan.zones.set_index("post_id").loc[pid]
        assert row["exclaves"] == nx.number_connected_components(g.subgraph(rest))
        for piece in nx.connected_components(g.subgraph(rest)):
            whole = nx.node_connected_component(area, next(iter(piece)))
            assert whole == piece, "an exclave must be a whole piece of the area"
            assert not whole & set(own.values()), "an exclave holds no station"
            # nearest station in a straight line (grid travel cannot cross the gap)
            same = [q for q, c in own.items() if region.get(c) == region[next(iter(piece))]]
            lat, lon = np.array([h3.cell_to_latlng(c) for c in piece]).T
            at = posts.set_index("post_id").geometry
            dist = {
                q: GEOD.inv(0 * lon + at[q].x, 0 * lat + at[q].y, lon, lat)[2].min() for q in same
            }
            assert min(dist, key=dist.__getitem__) == pid
    assert seen_exclaves == flagged


def test_free_zones_are_contiguous_hold_their_station_and_balance(chicago, free_plan) -> None:
    posts, dist, _cells = chicago
    _check_zones(free_plan, posts, exclaves=True)
    z = free_plan.zones
    assert z["contiguous"].all() and len(z) == 22
    # Every cell of the area is in exactly one zone; O'Hare, which hangs on a strip too
    # thin for res 9, is an exclave of the station the real district map gives it (16).
    c = free_plan.cells
    assert c["post_id"].notna().all() and sum(free_plan.assignment.unassigned.values()) == 0
    ex = c[c["exclave"]]
    assert len(ex) > 0 and set(ex["post_id"]) == {"16"}
    d16 = dist.geometry[dist["code"].astype(int) == 16].union_all()
    assert shapely.contains_xy(d16, ex["lon"].to_numpy(), ex["lat"].to_numpy()).all()
    assert z.set_index("post_id").loc["16", "exclave_km2"] == pytest.approx(
        ex["area_m2"].sum() / 1e6
    )
    # Workload here is area only: check the ratio against plain cell areas per station.
    area = free_plan.cells.groupby("post_id")["area_m2"].sum()
    assert free_plan.balance_ratio == pytest.approx(area.max() / area.min(), rel=1e-9)
    assert free_plan.balance_ratio <= 1.15  # no boundary: the geometry allows it
    assert free_plan.assignment.explanation == ""
    same = agreement(free_plan, dist, "code", _district_of(posts, dist))
    print(
        f"\nChicago 22 stations, res 9, no boundary: balance {free_plan.balance_ratio:.3f} "
        f"(Voronoi start {free_plan.assignment.initial_ratio:.2f}), Polsby-Popper median "
        f"{z['polsby_popper'].median():.3f}, same station as the real district map for "
        f"{same:.1%} of the assigned area"
    )
    print(free_plan.report())
    print(free_plan.zone_lines())


def test_leaving_exclaves_keeps_every_zone_in_one_piece(chicago) -> None:
    posts, dist, cells = chicago
    plan = patrol_zones(dist, posts, cells=cells, exclaves="leave")
    _check_zones(plan, posts)
    assert plan.zones["contiguous"].all() and (plan.zones["exclaves"] == 0).all()
    # Unassigned = exactly the cells with no H3 path to any station (networkx).
    g = _h3_graph(plan.cells["h3"].tolist())
    xy = zip(posts.geometry.x, posts.geometry.y, strict=True)
    own = [h3.latlng_to_cell(la, lo, 9) for lo, la in xy]
    reach = set().union(*(nx.node_connected_component(g, o) for o in own))
    free = set(plan.cells.loc[plan.cells["post_id"].isna(), "h3"])
    assert free and free == set(plan.cells["h3"]) - reach
    assert plan.assignment.unassigned["cut off from every post of its region"] == len(free)
    assert plan.balance_ratio <= 1.15
    with pytest.raises(InputError, match="exclaves must be one of"):
        patrol_zones(dist, posts, cells=cells, exclaves="drop")


def test_polsby_popper_and_travel_figures_match_shapely(free_plan) -> None:
    z = free_plan.zones.iloc[[0, 7, 15]]
    crs = free_plan.cells.estimate_utm_crs()
    for _, row in z.iterrows():
        geom = gpd.GeoSeries([row.geometry], crs=4326).to_crs(crs).iloc[0]
        pp = 4 * np.pi * geom.area / geom.length**2
        assert row["polsby_popper"] == pytest.approx(pp, rel=0.05)
        assert row["area_km2"] == pytest.approx(geom.area / 1e6, rel=0.01)
        mine = free_plan.cells[free_plan.cells["post_id"] == row["post_id"]]
        assert row["max_travel_min"] == pytest.approx(mine["travel_min"].max())
        assert row["mean_travel_min"] == pytest.approx(mine["travel_min"].mean())


def test_district_boundary_is_never_crossed(chicago, district_plan) -> None:
    posts, dist, _cells = chicago
    _check_zones(district_plan, posts, exclaves=True)
    c = district_plan.cells
    assigned = c[c["post_id"].notna()]
    # Independent: the district polygon holding each cell centroid, by shapely.
    for code, geom in zip(dist["code"], dist.geometry, strict=True):
        inside = shapely.contains_xy(geom, assigned["lon"].to_numpy(), assigned["lat"].to_numpy())
        owners = {int(o) for o in assigned.loc[inside, "post_id"]}
        assert owners <= {int(code)}, f"district {code} holds cells of stations {owners}"
    a = district_plan.assignment
    # District 31 has no station: its cells stay unassigned and the reason is counted.
    assert a.unassigned["no post in its boundary region"] > 0
    assert district_plan.balance_ratio > 1.15
    assert "alone in boundary region" in a.explanation
    same = agreement(district_plan, dist, "code", _district_of(posts, dist))
    assert same == pytest.approx(1.0)
    print(
        f"\nChicago with the 25 district polygons as boundary: balance "
        f"{district_plan.balance_ratio:.2f}, Polsby-Popper median "
        f"{district_plan.zones['polsby_popper'].median():.3f}, same station as the district "
        f"map {same:.1%}\n{a.explanation}"
    )


def test_workload_mixes_incidents_and_priority(chicago) -> None:
    posts, dist, cells = chicago
    # Incident counts: one real feature per red-light camera intersection (count 1 each).
    cams = pd.read_csv(CHI / "red_light_camera_locations.csv")
    inc = gpd.GeoDataFrame(
        {"count": np.ones(len(cams), int)},
        geometry=gpd.points_from_xy(cams["LONGITUDE"], cams["LATITUDE"]),
        crs=4326,
    )
    prio = np.where(cells.lat > 41.85, 2.0, 1.0)
    plan = patrol_zones(
        dist,
        posts,
        cells=cells,
        incidents=inc,
        priority=prio,
        weights={"area": 1, "priority": 1, "incidents": 2},
    )
    assert plan.weights == pytest.approx({"area": 0.25, "priority": 0.25, "incidents": 0.5})
    # Independent recomputation of each zone's workload from the raw components.
    ids = np.array(
        [
            h3.str_to_int(h3.latlng_to_cell(la, lo, 9))
            for lo, la in zip(inc.geometry.x, inc.geometry.y, strict=True)
        ],
        dtype=np.int64,
    )
    pos = cells.index_of(ids)
    counts = np.bincount(pos[pos >= 0], minlength=len(cells))
    w = 100 * (
        0.25 * cells.area_m2 / cells.area_m2.sum()
        + 0.25 * prio / prio.sum()
        + 0.5 * counts / counts.sum()
    )
    lab = plan.cells["post_id"].to_numpy()
    for _, row in plan.zones.iterrows():
        assert row["workload"] == pytest.approx(w[lab == row["post_id"]].sum(), rel=1e-9)
    _check_zones(plan, posts, exclaves=True)
    print(f"\nArea+priority+incident workload: balance {plan.balance_ratio:.3f}")


def test_locked_zone_is_kept_exactly(chicago) -> None:
    posts, dist, cells = chicago
    lock = dist[dist["code"].astype(int) == 1][["geometry"]].assign(post_id="1")
    assert len(lock) == 1
    plan = patrol_zones(dist, posts, cells=cells, locked=lock)
    inside = shapely.contains_xy(lock.geometry.iloc[0], cells.lon, cells.lat)
    lab = plan.cells["post_id"].to_numpy()
    assert np.array_equal(lab == "1", inside)
    _check_zones(plan, posts, exclaves=True)
    bad = lock.assign(post_id="2")  # district 1 polygon does not hold station 2
    with pytest.raises(InputError, match="does not contain the post"):
        patrol_zones(dist, posts, cells=cells, locked=bad)


def test_bad_posts_get_messages_not_crashes(chicago) -> None:
    posts, dist, cells = chicago
    extra = gpd.GeoDataFrame(
        {"post_id": ["lake", "shore", "twin"], "name": ["x", "y", "z"], "kind": "office"},
        geometry=[
            shapely.Point(-87.45, 41.90),  # 10 km out in Lake Michigan
            shapely.Point(-87.6128, 41.8570),  # just off the lakeshore
            posts.geometry.iloc[0],
        ],  # the same point as station 1
        crs=4326,
    )
    allp = pd.concat([posts, extra], ignore_index=True)
    plan = patrol_zones(dist, allp, cells=cells)
    a = plan.assignment
    text = " ".join(a.problems)
    assert "'lake' lies outside every cell" in text and "gets no zone" in text
    assert "'twin' shares its cell with an earlier post" in text
    z = plan.zones.set_index("post_id")
    assert z.loc["lake", "cells"] == 0 and z.loc["lake"].geometry.is_empty
    assert z.loc["twin", "cells"] > 0 and z.loc["twin", "contiguous"]
    assert z.drop(index="lake")["contiguous"].all()


def test_boundary_that_splits_a_post_from_all_cells(chicago) -> None:
    posts, dist, cells = chicago
    p0 = posts.geometry.iloc[0]
    tiny = gpd.GeoDataFrame({"code": ["tiny"]}, geometry=[p0.buffer(0.0005)], crs=4326)
    rest = dist[["code", "geometry"]].assign(
        geometry=dist.geometry.difference(tiny.geometry.iloc[0])
    )
    bnd = pd.concat([tiny, rest], ignore_index=True)
    plan = patrol_zones(dist, posts.iloc[:3], cells=cells, boundary=bnd)
    text = " ".join(plan.assignment.problems)
    assert "'1'" in text and "gets no zone" in text
    outside = posts.iloc[:3].copy()
    outside.loc[2, "geometry"] = shapely.Point(-87.45, 41.90)
    plan2 = patrol_zones(dist, outside, cells=cells, boundary=dist)
    assert "outside every polygon of the boundary layer" in " ".join(plan2.assignment.problems)


def test_sample_posts_on_street_network(tmp_path) -> None:
    roads = read_layer(SAMPLE / "roads.geojson", "roads")
    posts = read_layer(SAMPLE / "posts.geojson", "posts")
    grids = read_layer(SAMPLE / "grids.geojson", "grids")
    area = grids[grids["level"] == 1]
    plan = patrol_zones(area, posts, res=11, roads=roads)
    assert plan.method == "network"
    assert plan.zones["contiguous"].all()
    assert set(plan.weights) == {"area", "road_length"}
    # Road length per zone vs shapely clipping of the road lines by each zone outline.
    crs = pyproj.CRS.from_user_input(plan.cells.estimate_utm_crs())
    lines = roads.to_crs(crs).geometry.union_all()
    tot = 0.0
    for _, row in plan.zones.iterrows():
        zone = gpd.GeoSeries([row.geometry], crs=4326).to_crs(crs).iloc[0]
        tot += zone.intersection(lines).length
    cells_outline = gpd.GeoSeries([plan.zones.geometry.union_all()], crs=4326).to_crs(crs)
    assert tot == pytest.approx(cells_outline.iloc[0].intersection(lines).length, rel=0.02)
    print(
        f"\nSample (4 posts, res 11, streets): balance {plan.balance_ratio:.3f}, "
        f"max travel {plan.zones['max_travel_min'].max():.1f} min"
    )


def test_cli_patrol_writes_zones(tmp_path, capsys) -> None:
    out = tmp_path / "zones.geojson"
    code = main(
        [
            "patrol",
            str(SAMPLE / "grids.geojson"),
            str(SAMPLE / "posts.geojson"),
            "--roads",
            str(SAMPLE / "roads.geojson"),
            "--res",
            "10",
            "--out",
            str(out),
            "--cells-out",
            str(tmp_path / "cells.parquet"),
            "--report",
            str(tmp_path / "report.txt"),
        ]
    )
    assert code == 0
    z = gpd.read_file(out)
    assert len(z) == 4 and z["contiguous"].all()
    cells = gpd.read_parquet(tmp_path / "cells.parquet")
    assert len(cells) > 0
    assert "Balance ratio" in capsys.readouterr().out
    # The report file has one line per zone whose cell count matches the cells file.
    text = (tmp_path / "report.txt").read_text(encoding="utf-8")
    counts = cells["post_id"].value_counts()
    for pid in z["post_id"]:
        (line,) = [ln for ln in text.splitlines() if ln.startswith(pid + " ")]
        assert int(line.split()[1]) == counts[pid]
    assert "level-3 grids meeting both" in text
