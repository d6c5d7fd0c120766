"""Siting within a budget: exact equals brute force, both solvers keep the budget, the gap.

A small real instance: H3 cells of a block of central Helsinki (real OSM streets and
buildings, tests/data/helsinki-osm-center) weighted by the priority step, candidate poles at
a few real intersections with every model of the packaged catalogue, seen through the
occluded view engine; then every affordable subset is enumerated with plain numpy.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.priority import priority_from_layers
from gridcover.coverage.siting.budget import (
    choose_within_budget,
    forbidden_sites,
    site_within_budget,
)
from gridcover.coverage.siting.cameras import candidate_coverage
from gridcover.coverage.siting.candidates import candidate_sites
from gridcover.coverage.siting.catalogue import load_catalogue, model_candidates
from gridcover.errors import SchemaError

DATA = "tests/data/helsinki-osm-center"
AREA = shapely.box(24.940, 60.165, 24.946, 60.168)


@pytest.fixture(scope="module")
def instance():
    roads = gpd.read_file(f"{DATA}/highways.geojson").rename(columns={"highway": "class"})
    roads = roads[roads.intersects(AREA)].reset_index(drop=True)
    buildings = gpd.read_file(f"{DATA}/buildings.geojson")
    buildings = buildings[buildings.intersects(AREA)].reset_index(drop=True)
    cells = cells_for_area(AREA, 12)
    w = priority_from_layers(cells, roads=roads, buildings=buildings).weight
    sites = candidate_sites(roads, area=AREA).head(4)
    cands = model_candidates(sites, load_catalogue())
    keep = cands["model"].isin(["bullet_8mm", "dome", "ptz"]) & (
        cands["azimuth_deg"].isna() | cands["azimuth_deg"].isin([0.0, 180.0])
    )
    cands = cands[keep].reset_index(drop=True)
    cov, _ = candidate_coverage(cells, cands, buildings)
    return cells, w, cands, cov.toarray().astype(bool), roads, buildings, sites


def _brute(m: np.ndarray, w: np.ndarray, cost: np.ndarray, budget: float, site: np.ndarray):
    best, pick = 0.0, ()
    n = m.shape[1]
    for r in range(1, n + 1):
        if cost[np.argsort(cost)[:r]].sum() > budget:
            break
        for s in itertools.combinations(range(n), r):
            if cost[list(s)].sum() > budget or len(set(site[list(s)])) < r:
                continue
            v = float(w[m[:, list(s)].any(axis=1)].sum())
            if v > best:
                best, pick = v, s
    return best, pick


@pytest.mark.parametrize("budget", [5000.0, 12000.0, 15000.0])
def test_exact_equals_brute_force_and_both_keep_the_budget(instance, budget: float) -> None:
    _cells, w, cands, m, *_ = instance
    assert 8 <= m.shape[1] <= 16 and m.any()
    cost = cands["price"].to_numpy(float)
    site = cands["site_id"].to_numpy()
    brute, _ = _brute(m, w, cost, budget, site)
    exact = choose_within_budget(m, w, cost, budget, site=site, method="exact")
    greedy = choose_within_budget(m, w, cost, budget, site=site, method="greedy")
    assert exact.objective == pytest.approx(brute, rel=1e-9)
    assert exact.optimal and exact.gap == pytest.approx(0.0, abs=1e-6)
    for r in (exact, greedy):
        assert r.cost <= budget + 1e-9
        assert cost[r.chosen].sum() == pytest.approx(r.cost)
        assert len(set(site[r.chosen])) == r.chosen.size  # one camera per pole
        assert float(w[m[:, r.chosen].any(axis=1)].sum()) == pytest.approx(r.objective)
    # greedy's bound is the LP relaxation: a proven bound of the brute-force optimum
    assert greedy.upper_bound >= brute - 1e-6
    assert greedy.gap == pytest.approx((greedy.upper_bound - greedy.objective) / greedy.upper_bound)
    assert greedy.objective <= brute + 1e-9


def test_budget_and_k_together_and_nothing_affordable(instance) -> None:
    _cells, w, cands, m, *_ = instance
    cost = cands["price"].to_numpy(float)
    r = choose_within_budget(m, w, cost, 1e6, k=2, method="exact")
    assert r.chosen.size <= 2
    best2 = max(float(w[m[:, list(s)].any(axis=1)].sum())
                for s in itertools.combinations(range(m.shape[1]), 2))  # fmt: skip
    assert r.objective == pytest.approx(best2)
    none = choose_within_budget(m, w, cost, 100.0, method="exact")
    assert none.chosen.size == 0 and "cheapest costs" in none.notes[0]


def test_real_layers_exclude_motorways_and_buildings(instance) -> None:
    cells, w, _cands, _m, roads, buildings, sites = instance
    # a site on a motorway (the same street re-classed) and one inside a building
    mroads = roads.copy()
    on = mroads.geometry.iloc[0]
    mroads.loc[0, "class"] = "motorway"
    inside = buildings.geometry.iloc[0].representative_point()
    probe = gpd.GeoDataFrame(
        {"site_id": ["road", "house", "ok"]},
        geometry=[on.interpolate(0.5, normalized=True), inside, sites.geometry.iloc[1]],
        crs=4326,
    )
    bad, why = forbidden_sites(probe, cells.crs, roads=mroads, buildings=buildings)
    assert bad[:2].all() and why == {"motorway or overpass": 1, "inside a building": 1}
    assert (
        not bad[2]
        or shapely.distance(
            gpd.GeoSeries([sites.geometry.iloc[1]], crs=4326).to_crs(cells.crs).iloc[0],
            shapely.union_all(mroads[mroads["class"] == "motorway"].to_crs(cells.crs).geometry),
        )
        <= 8.0
    )
    bridge = roads.assign(bridge=np.where(np.arange(len(roads)) == 0, "yes", None))
    assert forbidden_sites(probe.iloc[:1], cells.crs, roads=bridge)[0].all()
    got = site_within_budget(cells, w, sites, 8000.0, roads=roads, buildings=buildings)
    assert got.result.cost <= 8000.0 and len(got.chosen) >= 1
    assert set(got.chosen["model"]) <= {m.name for m in load_catalogue().models}


def test_catalogue_errors(tmp_path) -> None:
    p = tmp_path / "m.toml"
    p.write_text('[models.a]\ntype = "bullet"\nfov_deg = 60\nrange_m = 50\nprice = 0\n'
                 "azimuths = 4\n", "utf-8")  # fmt: skip
    with pytest.raises(SchemaError, match="price > 0"):
        load_catalogue(p)
    p.write_text('[models.a]\ntype = "bullet"\ncolour = 1\n', "utf-8")
    with pytest.raises(SchemaError, match="unknown key"):
        load_catalogue(p)


def test_cli_budget_siting_keeps_the_budget_without_solver_banner(tmp_path) -> None:
    import subprocess
    import sys

    s = "sample_geodata"
    out = tmp_path / "new.geojson"
    cmd = [sys.executable, "-m", "gridcover", "site", "cameras", f"{s}/grids.geojson",
           "--roads", f"{s}/roads.geojson", "--buildings", f"{s}/buildings.geojson",
           "--cameras", f"{s}/cameras.geojson", "--res", "10", "--budget", "9000",
           "--method", "exact", "--out", str(out)]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "HiGHS" not in run.stdout and "Copyright" not in run.stdout + run.stderr
    assert "gap 0.00%" in run.stdout
    chosen = gpd.read_file(out)
    assert len(chosen) >= 1 and chosen["price"].sum() <= 9000


def test_the_users_weights_file_decides_which_roads_are_motorways(instance, tmp_path) -> None:
    """A weights file's class map (e.g. a city's own road codes) also decides where no camera
    may stand: the same road, mapped to motorway by the user's file, forbids its poles."""
    from gridcover.coverage.weights import load_weights

    cells, _w, _c, _m, roads, _b, _s = instance
    r = roads.assign(**{"class": np.where(np.arange(len(roads)) == 0, "ARTERIAL-X", "other")})
    probe = gpd.GeoDataFrame(
        {"site_id": ["on"]},
        geometry=[r.geometry.iloc[0].interpolate(0.5, normalized=True)],
        crs=roads.crs,
    )
    p = tmp_path / "weights.toml"
    p.write_text('[roads.class_map]\n"ARTERIAL-X" = "motorway"\n', "utf-8")
    assert not forbidden_sites(probe, cells.crs, roads=r)[0].any()
    bad, why = forbidden_sites(probe, cells.crs, roads=r, weights=load_weights(p))
    assert bad.all() and why["motorway or overpass"] == 1


def test_cli_site_reads_the_weights_file(tmp_path) -> None:
    """`gridcover site --weights` weighs cells with the user's file, as the Python plan does
    with SitingConfig(weights=...): the same objective through both, and not the default's."""
    import re

    from gridcover.cli import main
    from gridcover.coverage.siting.plan import SitingConfig, plan_siting
    from gridcover.gis import read_layer

    s = "sample_geodata"
    p = tmp_path / "weights.toml"
    p.write_text("[roads.class_weights]\nresidential = 9.0\nfootway = 9.0\n", "utf-8")
    runs = {}
    for name, extra in (("user", ["--weights", str(p)]), ("packaged", [])):
        out, rep = tmp_path / f"{name}.geojson", tmp_path / f"{name}.txt"
        argv = ["site", "cameras", f"{s}/grids.geojson", "--roads", f"{s}/roads.geojson",
                "--res", "10", "-k", "2", "--visibility", "2d", "--method", "greedy",
                "--out", str(out), "--report", str(rep), *extra]  # fmt: skip
        assert main(argv) == 0
        runs[name] = rep.read_text("utf-8")
    grids = read_layer(f"{s}/grids.geojson", "grids", duplicates="keep")
    roads = read_layer(f"{s}/roads.geojson", "roads")
    cfg = SitingConfig(k=2, res=10, visibility="2d", method="greedy", weights=str(p))
    py = plan_siting(grids, cfg, roads=roads).result.objective

    def objective(text: str) -> float:
        found = re.search(r"Weight newly covered: ([0-9.]+);", text)
        assert found, text
        return float(found.group(1))

    assert objective(runs["user"]) == pytest.approx(py, abs=5e-4)  # printed with 3 decimals
    assert objective(runs["user"]) > objective(runs["packaged"])


def test_2d_door_is_the_sector_model_as_before(instance) -> None:
    """visibility="2d" keeps budget siting as it was before 3D: the sector matrix of the
    candidates, existing cameras counted from their sector views, the raw priority weight."""
    from gridcover.coverage.cover import cover_from_views
    from gridcover.coverage.views.sectors import camera_views
    from gridcover.gis import read_layer

    cells, w, _c, _m, roads, buildings, sites = instance
    cams = read_layer("sample_geodata/cameras.geojson", "cameras")
    cams = cams[cams.intersects(AREA)].reset_index(drop=True)
    got = site_within_budget(cells, w, sites, 12000.0, existing=cams, buildings=buildings,
                             roads=roads, visibility="2d", method="exact")  # fmt: skip
    ok = ~forbidden_sites(sites, cells.crs, roads=roads, buildings=buildings)[0]
    cands = model_candidates(sites[ok].reset_index(drop=True), load_catalogue())
    cov, _ = candidate_coverage(cells, cands, buildings)
    ex = cover_from_views(camera_views(cams, buildings, metric_crs=cells.crs), cells).counts
    want = choose_within_budget(cov, w, cands["price"].to_numpy(float), 12000.0,
                                existing=ex.astype(np.int64), site=cands["site_id"].to_numpy(),
                                method="exact")  # fmt: skip
    assert got.visibility == "2d" and got.levels is None and got.result.cost <= 12000.0
    assert sorted(got.chosen["camera_id"]) == sorted(cands["camera_id"].iloc[want.chosen])
    assert got.result.objective == pytest.approx(want.objective) and want.objective > 0
