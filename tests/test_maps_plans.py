"""Maps of real patrol zones, siting proposals and grid QA issues (what the planner gets from
patrol_zones, site_cameras, site_posts and check_grids, passed to build_map as they are).

Independent checks: tooltips against the plans' own tables, neighbouring-zone colours
against shapely's intersects on every pair of zone outlines, layer names and order.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import shapely

from gridcover.coverage.patrol.zones import patrol_zones
from gridcover.gis import read_layer
from gridcover.gis.maps import build_map
from gridcover.gis.maps.zone_layer import ZONE_COLOURS
from sample_analysis import sample_layers, sample_result
from sample_plans import sample_plans

CHI = Path(__file__).parent / "data" / "chicago-cameras-police"


def _colours_differ_across_borders(zones, features) -> int:
    colour = {f["properties"]["post_id"]: f["properties"]["_c"] for f in features}
    geoms = dict(zip(zones["post_id"], zones.geometry, strict=True))
    touching = 0
    for a, b in itertools.combinations(geoms, 2):
        if shapely.intersects(geoms[a], geoms[b]):
            touching += 1
            assert colour[a] != colour[b], f"zones {a} and {b} touch and share {colour[a]}"
    return touching


def test_patrol_zone_tooltips_carry_the_plan_figures() -> None:
    plan = sample_plans().patrol
    m = build_map(zones=plan.zones, posts=sample_layers()["posts"], lang="en")
    ov = next(o for o in m.overlays if o.key == "zones")
    assert ov.show  # without coverage cells the zones are the map: shown at start
    z = plan.zones.set_index("post_id")
    assert len(ov.data["features"]) == len(z)
    for f in ov.data["features"]:
        p, row = f["properties"], z.loc[f["properties"]["post_id"]]
        assert p["workload"] == f"{row['workload']:,.1f}"
        assert p["area_km2"] == f"{row['area_km2']:,.2f}"
        assert p["max_travel_min"] == f"{row['max_travel_min']:,.1f}"
        assert p["mean_travel_min"] == f"{row['mean_travel_min']:,.1f}"
        assert p["polsby_popper"] == f"{row['polsby_popper']:,.2f}"
        assert p["contiguous"] == ("yes" if row["contiguous"] else "no")
    assert "Max travel (min)" in ov.aliases and "Compactness (Polsby-Popper)" in ov.aliases
    assert "\\u003ch4\\u003ePatrol zones" in m.html()  # the title says what the map shows
    # over the coverage cells they start hidden
    hidden = build_map(zones=plan.zones, cells=sample_result(12).cells)
    assert not next(o for o in hidden.overlays if o.key == "zones").show


def test_neighbouring_chicago_zones_never_share_a_colour() -> None:
    posts = read_layer(CHI / "police_stations.csv", "posts")
    posts = posts[posts["post_id"] != "Headquarters"].reset_index(drop=True)
    dist = read_layer(CHI / "police_districts_2014.geojson", "grids", duplicates="keep")
    plan = patrol_zones(dist, posts, res=9)
    m = build_map(zones=plan.zones, posts=posts)
    ov = next(o for o in m.overlays if o.key == "zones")
    touching = _colours_differ_across_borders(plan.zones, ov.data["features"])
    assert touching >= 40  # 22 zones tiling a city: many shared borders, a real test
    assert {f["properties"]["_c"] for f in ov.data["features"]} <= set(ZONE_COLOURS)
    # the zone with the O'Hare exclave is drawn as one multi-part feature
    (f16,) = [f for f in ov.data["features"] if f["properties"]["post_id"] == "16"]
    assert f16["geometry"]["type"] == "MultiPolygon" and f16["properties"]["exclaves"] == "1"


@pytest.mark.parametrize("what", ["cameras", "posts"])
def test_siting_proposals_are_named_and_ranked(what: str) -> None:
    plans = sample_plans()
    out = plans.cameras if what == "cameras" else plans.posts
    m = build_map(siting=out.chosen, lang="en")
    (ov,) = m.overlays
    assert ov.layer_name == (
        "Proposed new cameras" if what == "cameras" else "Proposed new police posts"
    )
    feats = ov.data["features"]
    assert [int(f["properties"]["rank"]) for f in feats] == list(range(1, len(out.chosen) + 1))
    gains = out.chosen.sort_values("rank")["marginal_gain"].to_numpy()
    assert [f["properties"]["marginal_gain"] for f in feats] == [f"{g:,.1f}" for g in gains]
    assert np.isclose(gains.sum(), out.result.objective)
    legend = m.map.get_root().render()
    assert ("proposed camera" if what == "cameras" else "proposed police post") in legend


def test_every_layer_kind_from_real_outputs() -> None:
    r, lay, plans = sample_result(12), sample_layers(), sample_plans()
    m = build_map(
        grids=r.grid_stats,
        cells=r.cells,
        blind_spots=r.blind_spots,
        views=r.views,
        cameras=lay["cameras"],
        posts=lay["posts"],
        zones=plans.patrol.zones,
        siting=plans.cameras.chosen,
        qa_issues=plans.qa_issues,
        lang="en",
    )
    counts = {o.key: o.n_features for o in m.overlays}
    assert counts["zones"] == len(plans.patrol.zones)
    assert counts["siting"] == len(plans.cameras.chosen)
    assert counts["qa"] == int((~plans.qa_issues.geometry.is_empty).sum()) > 0
    assert counts["blind_spots"] == len(r.blind_spots)
    qa = next(o for o in m.overlays if o.key == "qa")
    assert qa.data["features"][0]["properties"]["severity"] == "error"  # errors first
