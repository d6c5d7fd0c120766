"""Budget siting with detail levels (3D, the default view model).

A small real instance: H3 cells (res 12) of a block of central Helsinki (real OSM streets and
buildings, tests/data/helsinki-osm-center), priority and required detail levels from the
packaged weights, the real OSM surveillance cameras of the bundled sample in that block as
existing cameras, six real intersections as poles with three catalogue models. The test
builds the level matrix itself (``level_coverage`` of every candidate and existing camera)
and enumerates every affordable one-camera-per-pole choice with plain numpy; the solvers
behind ``site_within_budget`` must find that optimum (exact) or stay within its bound
(greedy), never spend more than the budget, and report the gap.
"""

from __future__ import annotations

import dataclasses
import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.cover import camera_counted
from gridcover.coverage.detail import required_level
from gridcover.coverage.priority import priority_from_layers
from gridcover.coverage.siting.budget import (
    BudgetConfig,
    forbidden_sites,
    site_within_budget,
)
from gridcover.coverage.siting.candidates import candidate_sites
from gridcover.coverage.siting.catalogue import Catalogue, load_catalogue, model_candidates
from gridcover.coverage.siting.detail_sites import level_coverage
from gridcover.coverage.weights import load_weights
from gridcover.errors import InputError
from gridcover.gis import read_layer

DATA = "tests/data/helsinki-osm-center"
AREA = shapely.box(24.940, 60.165, 24.946, 60.168)
BUDGETS = (5000.0, 8000.0, 12000.0, 15000.0, 100000.0)


@pytest.fixture(scope="module")
def instance():
    roads = gpd.read_file(f"{DATA}/highways.geojson").rename(columns={"highway": "class"})
    roads = roads[roads.intersects(AREA)].reset_index(drop=True)
    buildings = gpd.read_file(f"{DATA}/buildings.geojson")
    buildings = buildings[buildings.intersects(AREA)].reset_index(drop=True)
    cams = read_layer("sample_geodata/cameras.geojson", "cameras")
    cams = cams[cams.intersects(AREA)].reset_index(drop=True)
    cells = cells_for_area(AREA, 12)
    weights = load_weights()
    prio = priority_from_layers(cells, roads=roads, buildings=buildings, cameras=cams,
                                weights=weights)  # fmt: skip
    required = required_level(prio.components, prio.priority, weights.detail_targets)
    sites = candidate_sites(roads, area=AREA)
    bad, _ = forbidden_sites(sites, cells.crs, roads=roads, buildings=buildings)
    sites = sites[~bad].head(6).reset_index(drop=True)
    have = {m.name: m for m in load_catalogue().models}
    cat = Catalogue((dataclasses.replace(have["bullet_8mm"], azimuths=2), have["dome"],
                     have["ptz"]), "CNY", "test subset")  # fmt: skip
    return cells, prio.weight, required, sites, cat, cams, roads, buildings


@pytest.fixture(scope="module")
def levels(instance):
    """The test's own level matrix of the candidates and the cells the existing counted
    cameras already see at their required level."""
    cells, weight, required, sites, cat, cams, _roads, buildings = instance
    cands = model_candidates(sites, cat)
    m, _ = level_coverage(cells, cands, required, buildings=buildings)
    ex, ex_views = level_coverage(cells, cams, required, buildings=buildings)
    counted = camera_counted(ex_views["status"].to_numpy())
    before = np.asarray(ex[:, counted].sum(axis=1)).ravel() > 0
    open_w = np.where((required > 0) & ~before, weight, 0.0)
    return cands, m.toarray().astype(bool), before, open_w


def _brute(m: np.ndarray, w: np.ndarray, cost: np.ndarray, site: np.ndarray, budget: float):
    """Every choice of at most one candidate per pole within the budget: (best, pick)."""
    per_site = [[None, *np.flatnonzero(site == s)] for s in dict.fromkeys(site)]
    best, pick = 0.0, ()
    for combo in itertools.product(*per_site):
        s = [j for j in combo if j is not None]
        if not s or cost[s].sum() > budget + 1e-9:
            continue
        v = float(w[m[:, s].any(axis=1)].sum())
        if v > best + 1e-12:
            best, pick = v, tuple(s)
    return best, pick


def test_exact_equals_brute_force_on_the_level_matrix(instance, levels) -> None:
    cells, weight, required, sites, cat, cams, roads, buildings = instance
    cands, m, before, open_w = levels
    assert m.shape == (len(cells), 24) and m.any() and before.any()
    cost = cands["price"].to_numpy(float)
    site = cands["site_id"].to_numpy()
    ids = cands["camera_id"].to_numpy()
    kw = {"catalogue": cat, "existing": cams, "buildings": buildings, "roads": roads,
          "required": required}  # fmt: skip
    worse_in_2d = 0
    for budget in BUDGETS:
        brute, pick = _brute(m, open_w, cost, site, budget)
        assert brute > 0 and pick
        exact = site_within_budget(cells, weight, sites, budget, method="exact", **kw)
        greedy = site_within_budget(cells, weight, sites, budget, method="greedy", **kw)
        assert exact.visibility == "3d"  # the default
        assert exact.result.objective == pytest.approx(brute, rel=1e-9)
        assert exact.result.optimal and exact.result.gap == pytest.approx(0.0, abs=1e-6)
        for out in (exact, greedy):
            r = out.result
            j = np.flatnonzero(np.isin(ids, out.chosen["camera_id"]))
            assert j.size == r.chosen.size == len(out.chosen)
            assert r.cost <= budget + 1e-9 and cost[j].sum() == pytest.approx(r.cost)
            assert len(set(site[j])) == j.size  # one camera per pole
            newly = open_w > 0
            newly &= m[:, j].any(axis=1)
            assert float(open_w[newly].sum()) == pytest.approx(r.objective)
            for i in j:  # no camera bought for nothing, however large the budget
                rest = j[j != i]
                assert float(open_w[(open_w > 0) & m[:, rest].any(axis=1)].sum()) < r.objective
            # the order to buy in: each camera's gain over those ranked before it
            ch = out.chosen
            assert list(ch["rank"]) == list(range(1, len(ch) + 1))
            order = [int(np.flatnonzero(ids == c)[0]) for c in ch["camera_id"]]
            for n, gain in enumerate(ch["marginal_gain"]):
                got = open_w[(open_w > 0) & m[:, order[: n + 1]].any(axis=1)].sum()
                had = open_w[(open_w > 0) & m[:, order[:n]].any(axis=1)].sum() if n else 0.0
                assert gain == pytest.approx(got - had) and gain > 0
            lv = out.levels
            assert lv is not None
            assert lv["required_cells"] == int((required > 0).sum())
            assert lv["at_required_before"] == int(((required > 0) & before).sum())
            assert lv["at_required_after"] == lv["at_required_before"] + int(newly.sum())
            assert (out.chosen["height_m"] > 0).all() and out.chosen["model"].notna().all()
        # the drawn 3D views (a second geometry: rings cut by the prisms) hold every cell
        # centroid the chosen cameras see at its required level
        views = exact.views.to_crs(cells.crs)
        assert list(views["camera_id"]) == list(exact.chosen["camera_id"])
        seen = m[:, np.flatnonzero(np.isin(ids, exact.chosen["camera_id"]))].any(axis=1)
        pts = shapely.points(cells.x[seen], cells.y[seen])
        assert shapely.distance(shapely.union_all(views.geometry.values), pts).max() < 0.5
        # greedy's bound (LP relaxation) is a proven bound of the brute-force optimum
        g = greedy.result
        assert g.objective <= brute + 1e-9 <= g.upper_bound + 2e-9
        assert g.gap == pytest.approx((g.upper_bound - g.objective) / g.upper_bound)
        # the 2D picks, judged by what they see at the required level, do no better
        flat = site_within_budget(cells, weight, sites, budget, method="exact",
                                  visibility="2d", **kw)  # fmt: skip
        assert flat.visibility == "2d" and flat.levels is None
        j2 = np.flatnonzero(np.isin(ids, flat.chosen["camera_id"]))
        v2 = float(open_w[m[:, j2].any(axis=1)].sum())
        assert v2 <= brute + 1e-9
        worse_in_2d += v2 < brute - 1e-9
    assert worse_in_2d >= 1  # levels change the answer on this block


def test_required_none_means_detect_on_weighted_cells(instance) -> None:
    cells, weight, _req, sites, cat, cams, roads, buildings = instance
    kw = {"catalogue": cat, "existing": cams, "buildings": buildings, "roads": roads}
    ones = np.where(np.asarray(weight) > 0, 1, 0)
    a = site_within_budget(cells, weight, sites, 8000.0, method="exact", **kw)
    b = site_within_budget(cells, weight, sites, 8000.0, method="exact", required=ones, **kw)
    assert list(a.chosen["camera_id"]) == list(b.chosen["camera_id"])
    assert a.result.objective == pytest.approx(b.result.objective)
    with pytest.raises(InputError, match="one per cell"):
        site_within_budget(cells, weight, sites, 8000.0, required=ones[:-1], **kw)
    with pytest.raises(InputError, match="visibility must be"):
        BudgetConfig(budget=1000.0, visibility="2.5d")


def test_catalogue_resolutions_read_back_as_the_view_engine_reads_them() -> None:
    """Proposals carry the catalogue's resolution text ("4MP", "1080P"); read back as a
    camera layer (scenarios, what-if) the ledger reader must give the width the 3D view
    engine uses for the same text, else a proposal file cannot be added to a plan."""
    from gridcover.coverage.views.resolution import parse_resolution
    from gridcover.gis.gbt28181 import parse_resolution_px

    texts = {m.resolution for m in load_catalogue().models if m.resolution}
    assert texts and {"4MP", "1080P"} <= texts
    for text in sorted(texts | {"2MP", "8MP", "1.3MP"}):
        assert parse_resolution_px(text) == parse_resolution(text), text
