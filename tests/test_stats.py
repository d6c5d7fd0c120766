"""Per-grid statistics on the bundled sample, checked by Monte-Carlo sampling and brute force.

Monte-Carlo fairness: the engine decides coverage per H3 cell by its centroid, the
reference samples the continuous district polygon. The two differ by a boundary
discretisation error: every view outline and the district outline cut cells, and each cut
cell is counted whole or not at all. These errors have zero mean but their sum grows with
the total outline length, so the comparison is run where the cells are small against the
district and the views: resolution 13 (≈ 36 m² per cell in Helsinki, edge ≈ 3.7 m) on the
five level-1 districts (0.2-0.8 km² each), and resolution 12 on the whole sample area.
Small level-3 lanes (a few hundred m²) are not a fair target for a 1-point bound at any
practical resolution. See docs/COVERAGE.md.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.priority import COMPONENTS
from gridcover.coverage.stats import grid_statistics, index_grids
from sample_analysis import sample_layers, sample_result

N_POINTS = 300_000


def _mc_fraction(poly: shapely.Geometry, union: shapely.Geometry, seed: int) -> float:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = poly.bounds
    x, y = rng.uniform(minx, maxx, N_POINTS), rng.uniform(miny, maxy, N_POINTS)
    keep = shapely.contains_xy(poly, x, y)
    assert keep.sum() > 50_000
    return 100.0 * shapely.contains_xy(union, x[keep], y[keep]).mean()


def _online_union(result) -> shapely.Geometry:
    v = result.state.views  # metric CRS
    on = v["status"].to_numpy() != "offline"
    return shapely.union_all(np.asarray(v.geometry.values)[on])


def test_district_coverage_agrees_with_monte_carlo() -> None:
    r = sample_result(13)
    union = _online_union(r)
    stats = r.grid_stats.to_crs(r.state.crs)
    districts = stats[stats["level"] == 1]
    assert len(districts) == 5
    for i, (_, row) in enumerate(districts.iterrows()):
        mc = _mc_fraction(row.geometry, union, seed=i)
        assert 3 < mc < 97
        assert abs(row["covered_pct"] - mc) < 1.0, (row["code"], row["covered_pct"], mc)


def test_whole_area_coverage_agrees_with_monte_carlo_at_res_12() -> None:
    r = sample_result(12)
    area = shapely.union_all(
        np.asarray(sample_layers()["grids"].to_crs(r.state.crs).geometry.values)
    )
    mc = _mc_fraction(area, _online_union(r), seed=99)
    assert abs(r.summary["covered_pct"] - mc) < 1.0


def test_offline_cameras_do_not_cover() -> None:
    r = sample_result(12)
    offline = r.views["status"] == "offline"
    assert 0 < offline.sum() < len(r.views)
    assert not r.views.loc[offline, "counted"].any()
    cells = r.cells
    # a cell covered only by offline views is not covered
    v = r.state.views
    pts = shapely.points(r.state.cells.x, r.state.cells.y)
    off_union = shapely.union_all(np.asarray(v.geometry.values)[offline.to_numpy()])
    on_union = _online_union(r)
    only_off = shapely.contains(off_union, pts) & ~shapely.intersects(on_union, pts)
    assert only_off.sum() > 0
    assert not cells["covered"].to_numpy()[only_off].any()
    assert (cells["cameras_other"].to_numpy()[only_off] > 0).all()


@pytest.mark.parametrize(
    "col",
    [
        "area_m2",
        "covered_m2",
        "weight",
        "weight_covered",
        "blind_spot_area_m2",
        "cameras_online",
        "cameras_offline",
    ],
)
def test_roll_up_is_consistent(col: str) -> None:
    s = sample_result(12).grid_stats
    kids = s.groupby("parent_code")[col].sum()
    for lv in (1, 2):
        parents = s[s["level"] == lv].set_index("code")
        total = kids.reindex(parents.index).fillna(0)
        if col == "area_m2":
            total = total + parents["area_outside_children_m2"]
        np.testing.assert_allclose(parents[col], total, rtol=1e-9, atol=1e-6)
    # every level holds the whole area once
    per_level = s.groupby("level")[col].sum()
    if col == "area_m2":
        np.testing.assert_allclose(per_level, sample_result(12).summary["area_m2"], rtol=1e-9)


def test_grid_figures_match_brute_force() -> None:
    r = sample_result(12)
    s = r.grid_stats
    cells = r.cells
    cams = sample_layers()["cameras"]
    rng = np.random.default_rng(2)
    for lv in (1, 2, 3):
        sub = s[s["level"] == lv]
        for _, row in sub.iloc[rng.choice(len(sub), min(6, len(sub)), replace=False)].iterrows():
            inside = shapely.contains_xy(row.geometry, cells["lon"], cells["lat"])
            a = cells["area_m2"].to_numpy()
            cov = cells["covered"].to_numpy()
            assert row["area_m2"] == pytest.approx(a[inside].sum(), rel=1e-9)
            assert row["covered_m2"] == pytest.approx(a[inside & cov].sum(), rel=1e-9, abs=1e-6)
            w = cells["weight"].to_numpy()
            if w[inside].sum() > 0:
                expect = 100 * w[inside & cov].sum() / w[inside].sum()
                assert row["priority_weighted_pct"] == pytest.approx(expect)
            spots = cells["blind_spot"].to_numpy()[inside]
            assert row["blind_spots"] == np.unique(spots[spots > 0]).size
            cin = shapely.contains_xy(row.geometry, cams.geometry.x, cams.geometry.y)
            on = (cams["status"] == "online").to_numpy()
            assert row["cameras_online"] == (cin & on).sum()
            assert row["cameras_offline"] == (cin & ~on).sum()
            km2 = row["area_m2"] / 1e6
            assert row["cameras_per_km2"] == pytest.approx(cin.sum() / km2)


def test_targets_flagged_where_missed() -> None:
    s = sample_result(12).grid_stats
    targets = sample_result(12).state.weights.targets
    for key, goal in targets.items():
        v = s[key].to_numpy(dtype=float)
        flagged = s["targets_missed"].str.contains(f"{key}<", regex=False).to_numpy()
        np.testing.assert_array_equal(flagged, np.isfinite(v) & (v < goal - 1e-9))
    assert (~s["targets_met"]).any()
    assert (s["targets_met"] == (s["targets_missed"] == "")).all()


def test_cells_outside_children_roll_up_to_parent() -> None:
    """A parent its children do not tile: the rest is reported, and the identity holds."""
    p = shapely.box(24.940, 60.165, 24.946, 60.168)
    a = shapely.box(24.940, 60.165, 24.943, 60.168)
    b = shapely.box(24.943, 60.165, 24.945, 60.1665)  # leaves a hole in the parent
    c = shapely.box(24.940, 60.165, 24.941, 60.166)  # a level-3 lane inside a
    grids = gpd.GeoDataFrame(
        {"code": ["P", "A", "B", "C"], "parent_code": [None, "P", "P", "A"], "level": [1, 2, 2, 3]},
        geometry=[p, a, b, c],
        crs=4326,
    )
    cells = cells_for_area(p, 12)
    index = index_grids(grids, cells)
    rng = np.random.default_rng(0)
    covered = rng.random(len(cells)) < 0.4
    zero = np.zeros(len(cells))
    s = grid_statistics(
        index,
        cells,
        covered=covered,
        weight=np.ones(len(cells)),
        components=dict.fromkeys(COMPONENTS, zero),
        in_building=np.zeros(len(cells), bool),
        blind_cluster=np.zeros(len(cells), np.int64),
        camera_grid=np.array([0, 1, 3, -1]),
        camera_status=np.array(["online", "offline", "online", "online"]),
        targets={"covered_pct": 50.0},
    ).set_index("code")
    in_p = shapely.contains_xy(p, cells.lon, cells.lat)
    in_ab = shapely.contains_xy(shapely.union_all([a, b]), cells.lon, cells.lat)
    assert s.loc["P", "area_outside_children_m2"] == pytest.approx(
        cells.area_m2[in_p & ~in_ab].sum()
    )
    assert s.loc["P", "area_outside_children_m2"] > 0
    for col in ("area_m2", "covered_m2"):
        assert s.loc["P", col] == pytest.approx(
            s.loc[["A", "B"], col].sum()
            + (
                s.loc["P", "area_outside_children_m2"]
                if col == "area_m2"
                else cells.area_m2[in_p & ~in_ab & covered].sum()
            )
        )
    assert s.loc["A", "area_m2"] == pytest.approx(
        cells.area_m2[shapely.contains_xy(a, cells.lon, cells.lat)].sum()
    )
    assert list(s["cameras_online"]) == [2, 1, 0, 1]  # P gets A's, C's (via A) and its own
    assert list(s["cameras_offline"]) == [1, 1, 0, 0]
    assert (
        s.loc["A", "area_outside_children_m2"] > 0 and s.loc["C", "area_outside_children_m2"] == 0
    )
    missed = s["covered_pct"] < 50
    assert (s["targets_met"] == ~missed).all()
    assert isinstance(s, pd.DataFrame)


def test_run_is_reproducible_across_thread_counts() -> None:
    from gridcover.coverage.analysis import AnalysisConfig, run_analysis

    one = run_analysis(**sample_layers(), config=AnalysisConfig(res=12, threads=1, visibility="2d"))
    ref = sample_result(12)
    for name in ("grid_stats", "cells", "blind_spots", "views"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(getattr(one, name).drop(columns="geometry")),
            pd.DataFrame(getattr(ref, name).drop(columns="geometry")),
        )
    assert dict(one.summary) == dict(ref.summary)
