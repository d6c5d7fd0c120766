"""What-if scenarios equal a full recomputation, and recompute only the changed views."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import gridcover.coverage.whatif as whatif
from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.whatif import Scenario, apply_scenario, run_scenario
from gridcover.errors import InputError
from sample_analysis import sample_layers, sample_result


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    cams = sample_layers()["cameras"]
    ids = cams["camera_id"].astype(str).to_numpy()
    online = ids[cams["status"].to_numpy() == "online"]
    grids = sample_layers()["grids"]
    # new cameras at the centres of the three heaviest blind spots
    spots = sample_result(12).blind_spots.head(3)
    pts = spots.geometry.representative_point()
    added = gpd.GeoDataFrame(
        {
            "camera_id": ["new-1", "new-2", "new-3"],
            "type": ["dome", "bullet", "ptz"],
            "status": ["online", "online", "online"],
            "azimuth_deg": [np.nan, 45.0, np.nan],
            "fov_deg": [np.nan, 90.0, np.nan],
            "range_m": [np.nan, 60.0, 80.0],
        },
        geometry=list(pts),
        crs=4326,
    )
    assert shapely.contains(grids.union_all(), shapely.MultiPoint(list(pts)))
    return Scenario(
        name="repair and extend",
        disabled=tuple(online[:8]),
        added=added,
        reaimed={
            online[10]: {"azimuth_deg": 10.0},
            online[20]: {"azimuth_deg": 200.0, "fov_deg": 120.0, "range_m": 40.0},
            ids[0]: {"range_m": 15.0},
        },
    )


def _full(scenario: Scenario):
    layers = dict(sample_layers())
    layers["cameras"] = apply_scenario(layers["cameras"], scenario)
    return run_analysis(**layers, config=AnalysisConfig(res=12, visibility="2d"))


def test_deltas_equal_full_recomputation(scenario: Scenario) -> None:
    base = sample_result(12)
    out = run_scenario(base, scenario)
    full = _full(scenario)
    assert out.views_recomputed == 3 + 3
    # same tables
    for name in ("grid_stats", "cells", "blind_spots", "views"):
        a = pd.DataFrame(getattr(out.result, name).drop(columns="geometry"))
        b = pd.DataFrame(getattr(full, name).drop(columns="geometry"))
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
    assert out.result.blind_spots.geometry.geom_equals(full.blind_spots.geometry).all()
    ga, gb = out.result.views.geometry.values, full.views.geometry.values
    assert shapely.equals_exact(np.asarray(ga), np.asarray(gb), 1e-9).all()
    va, vb = out.result.state.views, full.state.views
    assert (va["camera_id"].to_numpy() == vb["camera_id"].to_numpy()).all()
    assert shapely.equals_exact(
        np.asarray(va.geometry.values), np.asarray(vb.geometry.values), 1e-6
    ).all()
    for k, v in full.summary.items():
        assert out.result.summary[k] == (pytest.approx(v) if isinstance(v, float) else v), k
    # deltas are the full recomputation minus the baseline
    d = out.grid_deltas.set_index("code")
    b = base.grid_stats.set_index("code")
    f = full.grid_stats.set_index("code")
    for col in (
        "covered_m2",
        "covered_pct",
        "priority_weighted_pct",
        "cameras_offline",
        "blind_spot_weight",
    ):
        np.testing.assert_allclose(d[f"d_{col}"], f[col] - b[col], atol=1e-9)
    assert out.summary_deltas["cameras_offline"] == 8
    assert out.summary_deltas["cameras"] == 3
    assert out.summary_deltas["covered_m2"] == pytest.approx(
        full.summary["covered_m2"] - base.summary["covered_m2"]
    )
    assert (d["d_covered_m2"] != 0).any()


def test_only_changed_cameras_are_recomputed(scenario: Scenario, monkeypatch) -> None:
    seen: list[int] = []
    real = whatif.compute_views

    def spy(cameras, *args, **kwargs):
        seen.append(len(cameras))
        return real(cameras, *args, **kwargs)

    monkeypatch.setattr(whatif, "compute_views", spy)
    run_scenario(sample_result(12), scenario)
    assert seen == [6]
    seen.clear()
    only_off = Scenario(disabled=scenario.disabled)
    out = run_scenario(sample_result(12), only_off)
    assert seen == [] and out.views_recomputed == 0
    assert out.summary_deltas["covered_pct"] <= 0


def test_bad_scenarios_are_refused(scenario: Scenario) -> None:
    base = sample_result(12)
    with pytest.raises(InputError, match="not in the camera layer"):
        run_scenario(base, Scenario(disabled=("no-such-camera",)))
    cid = str(base.views["camera_id"].iloc[0])
    with pytest.raises(InputError, match="only azimuth_deg"):
        run_scenario(base, Scenario(reaimed={cid: {"zoom_deg": 3.0}}))
    clash = scenario.added.assign(camera_id=[cid, "x", "y"])
    with pytest.raises(InputError, match="already exist"):
        run_scenario(base, Scenario(added=clash))


def test_buildings_are_prepared_once_not_per_scenario(scenario: Scenario, monkeypatch) -> None:
    from gridcover.coverage.views.occlusion import Walls

    base = sample_result(12)
    assert base.state.walls is not None and base.state.walls.n_segments > 1000
    calls: list[int] = []
    real = Walls.from_polygons.__func__  # type: ignore[attr-defined]

    def spy(cls, polygons):
        calls.append(len(polygons))
        return real(cls, polygons)

    monkeypatch.setattr(Walls, "from_polygons", classmethod(spy))
    run_scenario(base, scenario)
    assert calls == []  # the baseline's walls are reused


def test_added_camera_outside_the_grids_and_bad_reaim(scenario: Scenario) -> None:
    base = sample_result(12)
    far = scenario.added.iloc[:1].copy()
    far["camera_id"] = ["far-1"]
    far.geometry = far.geometry.translate(0.03, 0.0)  # ≈ 1.7 km east of a blind spot
    sc = Scenario(added=far)
    out = run_scenario(base, sc)
    full = _full(sc)
    assert out.result.notes == full.notes
    # beyond any camera's reach of the grids: left out in both runs, said in one line
    assert any(n.startswith("1 camera(s) lie beyond reach") for n in full.notes)
    assert "far-1" not in set(out.result.views["camera_id"])
    assert out.summary_deltas["cameras"] == 0
    near = scenario.added.iloc[:1].copy()
    near["camera_id"] = ["near-1"]
    near.geometry = near.geometry.translate(0.0, 0.0)  # inside: kept, no note
    assert "near-1" in set(run_scenario(base, Scenario(added=near)).result.views["camera_id"])
    cid = str(base.views["camera_id"].iloc[7])
    with pytest.raises(InputError) as err:
        run_scenario(base, Scenario(reaimed={cid: {"range_m": -5.0}}))
    assert f"row 7 (camera_id '{cid}'): range_m is -5" in str(err.value)


def test_disabled_cameras_never_cover_even_when_offline_ones_count() -> None:
    base = run_analysis(
        **sample_layers(), config=AnalysisConfig(res=12, include_offline=True, visibility="2d")
    )
    views = base.views
    online = views.loc[views["status"] == "online", "camera_id"].astype(str).to_numpy()
    seen = base.state.coverage.cells_seen_per_camera()
    ids = views["camera_id"].astype(str).to_numpy()
    busy = [c for c in online if seen[np.flatnonzero(ids == c)[0]] > 5][:5]
    out = run_scenario(base, Scenario(disabled=tuple(busy)))
    assert not out.result.views.set_index("camera_id").loc[busy, "counted"].any()
    # the same as a full run without those cameras (offline ones count in this config)
    layers = dict(sample_layers())
    layers["cameras"] = layers["cameras"][~layers["cameras"]["camera_id"].isin(busy)]
    full = run_analysis(
        **layers, config=AnalysisConfig(res=12, include_offline=True, visibility="2d")
    )
    np.testing.assert_array_equal(out.result.cells["covered"], full.cells["covered"])
    np.testing.assert_array_equal(out.result.cells["cameras"], full.cells["cameras"])
    assert out.summary_deltas["covered_m2"] < 0
