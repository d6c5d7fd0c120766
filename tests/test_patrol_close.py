"""Patrol reports that do not mislead, on real Chicago data with two posts 70 m apart.

The Chicago Headquarters station is moved 70 m east of the district 2 (Wentworth) station,
inside district 2: travel-time zones then made one zone a ring around the other (Polsby-
Popper 0.05-0.08). Independent checks: Polsby-Popper from shapely area/length of the zone
outlines (read back with pyogrio) in a UTM CRS, contiguity from h3 adjacency with networkx,
the distance of the posts by pyproj's geodesic, target shares from h3 cell areas and geodesic
distances.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest

from gridcover.cli import main
from gridcover.coverage.patrol.causes import ZoneCauses
from gridcover.coverage.patrol.compactness import DEFAULT_MIN_COMPACTNESS, _straight_cut
from gridcover.coverage.patrol.figures import explain_balance
from gridcover.coverage.patrol.plan import PatrolConfig, plan_patrol
from gridcover.errors import InputError
from gridcover.gis import read_layer

CHI = Path(__file__).parent / "data" / "chicago-cameras-police"
DISTRICTS = CHI / "police_districts_2014.geojson"
GEOD = pyproj.Geod(ellps="WGS84")
PAIR = ("2", "Headquarters")


@pytest.fixture(scope="module")
def close_posts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The real stations file with Headquarters moved 70 m east of station 2; the posts'
    geodesic distance."""
    df = pd.read_csv(CHI / "police_stations.csv", encoding="utf-8-sig")
    two = df[df["DISTRICT"].astype(str) == "2"].iloc[0]
    lon, lat, _ = GEOD.fwd(two["LONGITUDE"], two["LATITUDE"], 90.0, 70.0)
    hq = df["DISTRICT"].astype(str) == "Headquarters"
    df.loc[hq, ["LONGITUDE", "LATITUDE"]] = [lon, lat]
    df.loc[hq, ["X COORDINATE", "Y COORDINATE", "LOCATION"]] = None
    path = tmp_path_factory.mktemp("close") / "stations_70m.csv"
    df.to_csv(path, index=False)
    dist = GEOD.inv(two["LONGITUDE"], two["LATITUDE"], lon, lat)[2]
    return path, float(dist)


def _h3_connected(hexes: list[str]) -> bool:
    g = nx.Graph()
    g.add_nodes_from(hexes)
    s = set(hexes)
    for c in hexes:
        g.add_edges_from((c, n) for n in h3.grid_ring(c, 1) if n in s)
    return nx.is_connected(g)


def _cli(tmp: Path, posts: Path, res: int, *extra: str) -> tuple[str, dict[str, Any]]:
    zones, cells = tmp / f"zones{res}.geojson", tmp / f"cells{res}.geojson"
    args = ["patrol", str(DISTRICTS), str(posts), "--boundary", str(DISTRICTS)]
    args += ["--res", str(res), "--out", str(zones), "--cells-out", str(cells)]
    code = main([*args, "--report", str(tmp / "r.txt"), *extra])
    assert code == 0
    out = {
        "zones": gpd.read_file(zones, engine="pyogrio"),
        "cells": gpd.read_file(cells, engine="pyogrio"),
    }
    return (tmp / "r.txt").read_text(encoding="utf-8"), out


@pytest.mark.parametrize("res", [9, 10])
def test_close_posts_get_compact_contiguous_balanced_zones(
    close_posts: tuple[Path, float], tmp_path: Path, capfd: pytest.CaptureFixture[str], res: int
) -> None:
    posts, dist_m = close_posts
    report, out = _cli(tmp_path, posts, res)
    printed = capfd.readouterr()
    assert "HiGHS" not in printed.out + printed.err  # no solver banner on the command line
    zones = out["zones"].set_index("post_id")
    utm = zones.estimate_utm_crs()
    cells = out["cells"]
    for pid in PAIR:
        outline = gpd.GeoSeries([zones.geometry[pid]], crs=4326).to_crs(utm).iloc[0]
        pp = 4 * np.pi * outline.area / outline.length**2
        assert pp >= DEFAULT_MIN_COMPACTNESS, (pid, pp)
        assert _h3_connected(cells.loc[cells["post_id"] == pid, "h3"].tolist()), pid
    # Station 2 keeps its own cell; the two zones share district 2 and nothing else.
    at = read_layer(posts, "posts").set_index("post_id").geometry
    own = h3.latlng_to_cell(at["2"].y, at["2"].x, res)
    assert cells.set_index("h3").loc[own, "post_id"] == "2"
    assert set(cells.loc[cells["post_id"].isin(PAIR), "region"]) == {"02"}
    assert set(cells.loc[cells["region"] == "02", "post_id"]) == set(PAIR)
    # Balance is still reported, and the pair is balanced (h3's own cell areas).
    area = {
        p: sum(h3.cell_area(c, "m^2") for c in cells.loc[cells["post_id"] == p, "h3"]) for p in PAIR
    }
    assert max(area.values()) / min(area.values()) < 1.05
    assert re.search(r"Balance ratio \(max/min workload\): \d+\.\d{3}", report)
    # The lightest zone is explained by the close post, at its measured distance.
    m = re.search(
        r"the zone of post '(\w+)' is small because post '(\w+)' is ([\d,]+) m away and they "
        r"split the same area",
        report,
    )
    assert m, report
    assert {m.group(1), m.group(2)} == set(PAIR)
    assert abs(int(m.group(3).replace(",", "")) - dist_m) <= 1.0
    assert re.search(rf"Close posts '2' and 'Headquarters' are {round(dist_m)} m apart", report)
    print(f"\nres {res}: {report}")


def test_without_the_floor_one_zone_rings_the_other(close_posts: tuple[Path, float]) -> None:
    """The failure the floor fixes, on the same data: with the floor off, zone 2 is a ring."""
    posts = read_layer(close_posts[0], "posts")
    dist = read_layer(DISTRICTS, "grids", duplicates="keep")
    off = plan_patrol(dist, posts, PatrolConfig(res=9, min_compactness=0.0, reach=False),
                      boundary=dist)  # fmt: skip
    z = off.plan.zones.set_index("post_id")
    utm = off.plan.zones.estimate_utm_crs()
    ring = gpd.GeoSeries([z.geometry["2"]], crs=4326).to_crs(utm).iloc[0]
    assert 4 * np.pi * ring.area / ring.length**2 < DEFAULT_MIN_COMPACTNESS
    assert len(ring.interiors) >= 1  # a ring: the other zone sits in its hole
    assert off.plan.assignment.close == ()
    with pytest.raises(InputError, match="min_compactness"):
        PatrolConfig(min_compactness=0.95)


def test_target_percentages_agree_with_the_grid_count(close_posts: tuple[Path, float]) -> None:
    """District 2 at res 11 with a day radius that leaves out only its farthest cell(s): the
    share is 99.9x% and no grid meets the target, so the report must not print 100.0%."""
    posts = read_layer(close_posts[0], "posts")
    posts = posts[posts["post_id"].isin(PAIR)]
    dist = read_layer(DISTRICTS, "grids", duplicates="keep")
    area = dist[dist["code"] == "02"]
    probe = plan_patrol(area, posts, PatrolConfig(res=11, reach=False, min_compactness=0.0))
    hexes = [h3.int_to_str(int(c)) for c in probe.cells.h3]
    lat, lon = np.array([h3.cell_to_latlng(c) for c in hexes]).T
    d = np.min(
        [GEOD.inv(np.full(lon.size, p.x), np.full(lon.size, p.y), lon, lat)[2]
         for p in posts.geometry],
        axis=0,
    )  # fmt: skip
    order = np.sort(d)[::-1]
    k = next(k for k in range(1, 5) if order[k - 1] - order[k] > 5.0)
    radius = float((order[k - 1] + order[k]) / 2)
    cell_area = np.array([h3.cell_area(c, "m^2") for c in hexes])
    share = cell_area[d <= radius].sum() / cell_area.sum()
    assert 0.9995 < share < 1.0  # the case that used to print "100.0%"
    run = plan_patrol(
        area, posts,
        PatrolConfig(res=11, day_radius_m=radius, night_minutes=600.0, min_compactness=0.0),
    )  # fmt: skip
    text = run.report()
    shown = re.search(r"([\d.]+)% both\.", text)
    assert shown, text
    assert float(shown.group(1)) == np.floor(share * 1000) / 10 == 99.9
    assert "level-1 grids meeting both: 0 of 1" in text


def test_causes_print_the_quantity_they_are_measured_by() -> None:
    """Network reach and a heavy cell are named with their figures, beside a close post."""
    loads = np.array([6.0, 2.0, 2.0])
    causes = ZoneCauses(
        nearest=np.array([1, 2, 1]),
        nearest_m=np.array([3000.0, 70.0, 70.0]),
        close_m=np.array([1200.0, 900.0, 900.0]),
        sharing=np.array([3, 3, 3]),
        piece_load=np.full(3, 10.0),
        reach_only=np.array([1.5, 0.0, 0.0]),
        top_cell=np.array([0.9, 0.1, 0.1]),
    )
    text = explain_balance(
        loads, np.zeros(3, int), np.zeros(3, bool), ["a", "b", "c"], ["the area"] * 3,
        3.0, 1.15, "no improving move", None, causes,
    )  # fmt: skip
    assert "the nearest 'b' 3,000 m away" in text
    assert "a workload of 1.50 (25% of the zone) lies in cells no other post can reach" in text
    assert "its heaviest cell alone weighs 0.90, more than the 0.30 the target leaves" in text
    assert "the zone of post 'b' is small because post 'c' is 70 m away" in text


def test_floor_reaches_the_core_through_cli_and_api(tmp_path: Path) -> None:
    """``--min-compactness`` and the API's ``min_compactness`` give the same zones and the
    same compactness lines (sample data, a floor of 0.45 above some zones' values)."""
    from fastapi.testclient import TestClient

    from gridcover.api.app import create_app
    from gridcover.settings import Settings

    sample = Path(__file__).resolve().parents[1] / "sample_geodata"
    settings = Settings(
        data_dir=tmp_path / "store", sample_dir=sample, max_cells=500_000,
        rate_limit_per_minute=0, sample_analyses=False,
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        client.headers["X-API-Key"] = client.app.state.keys.add("p7", "planner").token  # type: ignore[attr-defined]
        r = client.post("/analysis/patrol", json={"min_compactness": 0.45})
        assert r.status_code == 201, r.text
        client.app.state.jobs.wait(r.json()["jobID"], timeout=600)  # type: ignore[attr-defined]
        job = client.get(f"/jobs/{r.json()['jobID']}").json()
        assert job["status"] == "successful", job
        api_zones = gpd.read_file(
            client.get("/collections/patrol_zones/download?format=geojson").content
        )
        bad = client.post("/analysis/patrol", json={"min_compactness": 0.95})
        assert bad.status_code == 400 and "min_compactness" in bad.text
    zones = tmp_path / "zones.geojson"
    layers = [f"--{k}={sample / f'{k}.geojson'}" for k in ("roads", "sites", "buildings")]
    code = main(
        ["patrol", str(sample / "grids.geojson"), str(sample / "posts.geojson"), *layers,
         "--out", str(zones), "--report", str(tmp_path / "r.txt"), "--min-compactness", "0.45"]
    )  # fmt: skip
    assert code == 0
    cli_lines = [
        s for s in (tmp_path / "r.txt").read_text(encoding="utf-8").splitlines()
        if s.startswith("Compactness:")
    ]  # fmt: skip
    api_lines = [s for s in job["summary"]["report"].splitlines() if s.startswith("Compactness:")]
    assert cli_lines and cli_lines == api_lines
    assert all("below the 0.45 floor" in s for s in cli_lines)
    cli = gpd.read_file(zones, engine="pyogrio").sort_values("post_id")
    below = cli.loc[cli["polsby_popper"] < 0.45, "post_id"].tolist()
    named = re.findall(r"'([^']+)' (\d\.\d\d) \(nearest post", "\n".join(cli_lines))
    named += re.findall(r"zone '([^']+)' has Polsby-Popper (\d\.\d\d)", "\n".join(cli_lines))
    assert sorted(p for p, _ in named) == sorted(below) and below
    pp = cli.set_index("post_id")["polsby_popper"]
    assert all(v == f"{pp[p]:.2f}" for p, v in named)
    api = api_zones.sort_values("post_id")
    np.testing.assert_allclose(cli["workload"].to_numpy(), api["workload"].to_numpy(), rtol=1e-9)


def test_straight_cut_is_the_most_even_of_all_candidate_lines() -> None:
    """The sorted-bearing search equals an exhaustive check of the 360 lines (n x 360)."""
    rng = np.random.default_rng(1)
    phi = np.linspace(0.0, np.pi, 360, endpoint=False)
    for _ in range(100):
        n = int(rng.integers(5, 1500))
        x, y = rng.normal(size=n) * 1000, rng.normal(size=n) * 500
        w, centre, a = rng.random(n), tuple(rng.normal(size=2) * 100), rng.normal(size=2) * 50
        target = w.sum() * rng.uniform(0.2, 0.8)
        side = (x - centre[0])[:, None] * np.cos(phi) + (y - centre[1])[:, None] * np.sin(phi)
        s_a = a[0] * np.cos(phi) + a[1] * np.sin(phi)
        on_a = side * np.sign(s_a) > 0
        best = np.abs(w @ on_a - target).min()
        got = _straight_cut(x, y, w, target, (float(centre[0]), float(centre[1])), a)
        assert abs(w[got].sum() - target) == pytest.approx(best, abs=1e-9)


def test_three_posts_within_70_m_share_their_district_compactly(tmp_path: Path) -> None:
    """Station 3 moved 70 m north and Headquarters 70 m east of station 2 (all in district 2,
    res 9): straight cuts or sectors around the posts give three compact, contiguous zones of
    near-equal area."""
    df = pd.read_csv(CHI / "police_stations.csv", encoding="utf-8-sig")
    two = df[df["DISTRICT"].astype(str) == "2"].iloc[0]
    for name, azimuth in (("Headquarters", 90.0), ("3", 0.0)):
        lon, lat, _ = GEOD.fwd(two["LONGITUDE"], two["LATITUDE"], azimuth, 70.0)
        m = df["DISTRICT"].astype(str) == name
        df.loc[m, ["LONGITUDE", "LATITUDE"]] = [lon, lat]
        df.loc[m, ["X COORDINATE", "Y COORDINATE", "LOCATION"]] = None
    df.to_csv(tmp_path / "three.csv", index=False)
    posts = read_layer(tmp_path / "three.csv", "posts")
    dist = read_layer(DISTRICTS, "grids", duplicates="keep")
    run = plan_patrol(dist, posts, PatrolConfig(res=9, reach=False), boundary=dist)
    trio = ["2", "Headquarters", "3"]
    z = run.plan.zones.set_index("post_id").loc[trio]
    utm = run.plan.zones.estimate_utm_crs()
    cells = run.plan.cells
    for pid, geom in zip(trio, gpd.GeoSeries(z.geometry, crs=4326).to_crs(utm), strict=True):
        assert 4 * np.pi * geom.area / geom.length**2 >= DEFAULT_MIN_COMPACTNESS, pid
        assert _h3_connected(cells.loc[cells["post_id"] == pid, "h3"].tolist()), pid
    area = [
        sum(h3.cell_area(c, "m^2") for c in cells.loc[cells["post_id"] == p, "h3"]) for p in trio
    ]
    assert max(area) / min(area) < 1.1
    assert [sorted(c.posts) for c in run.plan.assignment.close] == [[1, 2, 22]]
    words = {"straight": "successive straight lines", "sectors": "sectors around them"}
    assert f"by {words[run.plan.assignment.close[0].method]} between them" in run.plan.report() or (
        "by sectors around them instead of zones ringing each other" in run.plan.report()
    )
