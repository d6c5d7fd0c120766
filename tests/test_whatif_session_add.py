"""Incremental what-if with added cameras vs a full recompute, 2D and 3D.

Random sequences of 50 edits on the bundled Helsinki sample (real OSM cameras and
buildings) mix adding cameras (near real ones, with random type, aim, range, status and,
for 3D, mounting height, tilt, resolution and lens; now and then one out of reach or
without a status), removing added ones, re-aiming, disabling and enabling; after every edit
the session's tables are compared with ``run_scenario`` of its cumulative scenario (checked
itself against ``run_analysis`` in test_whatif.py): blind spots, grid statistics, summary
and per-cell counts (2D bit for bit, 3D floats within 1e-9), and ``full_result`` with the
full run's cells table, cameras and notes. ``apply`` is checked on scenarios that add,
change, reorder and drop added cameras and repair offline ones.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridcover.coverage.analysis import AnalysisConfig, AnalysisResult, run_analysis
from gridcover.coverage.whatif import Scenario, run_scenario
from gridcover.coverage.whatif_session import LiveResult, WhatIfSession
from gridcover.errors import InputError
from sample_analysis import sample_layers, sample_result


@lru_cache(maxsize=1)
def base3d() -> AnalysisResult:
    return run_analysis(**sample_layers(), config=AnalysisConfig(res=12, visibility="3d"))


CASES = {"2d": lambda: sample_result(12), "3d": base3d}


def _frames(a: pd.DataFrame, b: pd.DataFrame, tol: float) -> None:
    geo = [c for c in ("geometry",) if c in a.columns]
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns=geo)),
        pd.DataFrame(b.drop(columns=geo)),
        check_exact=tol == 0,
        **({"rtol": tol, "atol": tol} if tol else {}),
    )
    if geo:
        ga, gb = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
        assert shapely.equals_exact(ga, gb, tolerance=tol).all()


def _summaries(a: Any, b: Any, tol: float) -> None:
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(y, float):
            assert x == pytest.approx(y, rel=tol, abs=tol, nan_ok=True), k
        else:
            assert x == y, k


def _check(live: LiveResult, base: AnalysisResult, tol: float) -> AnalysisResult:
    full = run_scenario(base, live.scenario)
    r = full.result
    _frames(live.blind_spots, r.blind_spots, tol)
    _frames(live.grid_stats, r.grid_stats, tol)
    _summaries(live.summary, r.summary, tol)
    assert np.array_equal(live.counts, r.state.coverage.counts)
    assert np.array_equal(live.counts_other, r.state.coverage.counts_other)
    assert np.array_equal(live.cell_cluster, r.cell_cluster)
    pd.testing.assert_frame_equal(live.grid_deltas, full.grid_deltas, check_exact=tol == 0,
                                  **({"rtol": tol, "atol": tol} if tol else {}))  # fmt: skip
    return r


def _new_camera(rng: np.random.Generator, base: AnalysisResult, n: int, three_d: bool) -> dict:
    """A camera 10-80 m from a real one (one in 12 about 20 km away: out of reach)."""
    cams = base.state.cameras
    p = cams.geometry.iloc[int(rng.integers(len(cams)))]
    far = rng.random() < 1 / 12
    d = rng.uniform(10, 80) if not far else 20_000.0
    a = rng.uniform(0, 2 * np.pi)
    lat = p.y + d * np.cos(a) / 111_320.0
    lon = p.x + d * np.sin(a) / (111_320.0 * np.cos(np.radians(p.y)))
    row: dict[str, Any] = {"camera_id": f"new-{n}", "geometry": shapely.Point(lon, lat),
                           "type": str(rng.choice(["dome", "bullet", "ptz", "other"]))}  # fmt: skip
    if rng.random() < 0.8:
        row["status"] = str(rng.choice(["online", "online", "online", "offline", "unknown"]))
    if rng.random() < 0.7:
        row["azimuth_deg"] = float(rng.uniform(0, 360))
    if rng.random() < 0.5:
        row["fov_deg"] = float(rng.choice([45.0, 90.0, 120.0, 360.0]))
    if rng.random() < 0.5:
        row["range_m"] = float(rng.uniform(20, 160))
    if three_d:
        if rng.random() < 0.7:
            row["height_m"] = float(rng.uniform(2.5, 20.0))
        if rng.random() < 0.5:
            row["tilt_deg"] = float(rng.uniform(0, 40))
        if rng.random() < 0.5:
            row["resolution_px"] = float(rng.choice([1280.0, 1920.0, 3840.0]))
        if rng.random() < 0.3:
            row["lens_fov_deg"] = float(rng.uniform(30, 110))
    return row


def _edit(rng: np.random.Generator, s: WhatIfSession, base: AnalysisResult, n: int) -> Any:
    ids = base.views["camera_id"].astype(str).to_numpy()
    seen = ids[base.views["cells_seen"].to_numpy() > 0]
    kind = str(rng.choice(["add", "add", "add", "remove", "reaim", "disable", "enable"]))
    added = [] if s.scenario.added is None else list(s.scenario.added["camera_id"])
    off = list(s.scenario.disabled)
    if kind == "remove" and added:
        return kind, s.remove(str(rng.choice(added)))
    if kind == "enable" and off:
        return kind, s.enable(str(rng.choice(off)))
    if kind == "disable":
        return kind, s.disable(str(rng.choice(seen)))
    if kind == "reaim":
        change = {"azimuth_deg": float(rng.uniform(0, 360))}
        return kind, s.reaim(str(rng.choice(seen)), **change)
    k = 1 if rng.random() < 0.8 else 2
    rows = [_new_camera(rng, base, n + i, base.state.detail is not None) for i in range(k)]
    return "add", s.add(gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_fifty_random_edits_with_added_cameras_match_full_recomputes(case: str) -> None:
    base = CASES[case]()
    tol = 0.0 if case == "2d" else 1e-9
    s = WhatIfSession(base)
    rng = np.random.default_rng(1616)
    kinds: dict[str, int] = {}
    grew = 0
    for i in range(50):
        kind, live = _edit(rng, s, base, 2 * i)
        kinds[kind] = kinds.get(kind, 0) + 1
        r = _check(live, base, tol)
        grew += int(live.summary["covered_m2"] > base.summary["covered_m2"])
        if i % 10 == 9 or i == 49:
            mine = s.full_result()
            _frames(mine.cells, r.cells, tol)
            assert mine.notes == r.notes
            pd.testing.assert_frame_equal(
                pd.DataFrame(mine.state.cameras), pd.DataFrame(r.state.cameras)
            )
            assert np.array_equal(mine.state.camera_grid, r.state.camera_grid)
            _frames(mine.views.drop(columns="view_area_m2"), r.views.drop(columns="view_area_m2"),
                    1e-9)  # fmt: skip
    # every kind of edit happened, cameras were in the layer and out of reach, and the
    # added cameras changed the coverage: the comparisons have teeth
    assert set(kinds) == {"add", "remove", "reaim", "disable", "enable"}
    assert s.cameras_added > 0 and len(s.scenario.added) > s.cameras_added
    assert grew > 0


def test_apply_adds_changes_reorders_and_drops_added_cameras() -> None:
    """``apply`` (the API's stateless what-if) reaches each scenario from the previous one
    and recomputes only the added cameras that are new, changed or out of order."""
    base = sample_result(12)
    rng = np.random.default_rng(7)
    rows = [_new_camera(rng, base, i, False) for i in range(4)]
    for r in rows:
        r["status"] = "online"
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    offline = base.state.cameras.loc[base.state.cameras["status"] == "offline", "camera_id"]
    busy = base.views.sort_values("cells_seen")["camera_id"].astype(str).to_numpy()[-3:]
    moved = frame.copy()
    moved.loc[1, "geometry"] = shapely.Point(moved.geometry[1].x + 3e-4, moved.geometry[1].y)
    steps = [
        (Scenario(added=frame.iloc[:3], disabled=(busy[0],)), 3),
        (Scenario(added=frame, reaimed={busy[1]: {"azimuth_deg": 30.0}}), 2),  # + 1 added
        # 1 moved: recomputed, and 3 after it (rows keep the layer's order)
        (Scenario(added=moved.iloc[[0, 1, 3]], repaired=tuple(offline.astype(str)[:3])), 2),
        (Scenario(added=moved.iloc[[3, 0, 1]]), 2),  # 0 and 1 now after 3: recomputed
        (Scenario(), 0),
    ]
    s = WhatIfSession(base)
    for sc, n_views in steps:
        live = s.apply(sc)
        full = run_scenario(base, sc)
        _frames(live.blind_spots, full.result.blind_spots, 0.0)
        _frames(live.grid_stats, full.result.grid_stats, 0.0)
        _summaries(live.summary, full.result.summary, 0.0)
        assert live.views_recomputed == n_views
        assert live.scenario.added is None or list(live.scenario.added["camera_id"]) == list(
            sc.added["camera_id"]
        )
    _frames(live.grid_stats, base.grid_stats, 0.0)  # back at the baseline
    assert np.array_equal(live.counts, base.state.coverage.counts)


def test_added_cameras_are_checked() -> None:
    base = sample_result(12)
    s = WhatIfSession(base)
    old = str(base.state.cameras["camera_id"].iloc[0])
    pt = base.state.cameras.geometry.iloc[0]
    one = gpd.GeoDataFrame({"camera_id": ["x1"]}, geometry=[pt], crs="EPSG:4326")
    with pytest.raises(InputError, match="repeat an id"):
        s.add(one.assign(camera_id=old))
    s.add(one)
    with pytest.raises(InputError, match="added already"):
        s.add(one)
    with pytest.raises(InputError, match="only added cameras can be removed"):
        s.remove(old)
    with pytest.raises(InputError, match="not in the baseline"):
        s.disable("x1")  # an added camera is removed, not disabled
    # a row the views step refuses leaves the session as it was
    with pytest.raises(InputError, match="fov_deg is -5"):
        s.add(one.assign(camera_id="x2", fov_deg=-5.0))
    assert list(s.scenario.added["camera_id"]) == ["x1"]
    live = s.remove("x1")
    assert s.scenario.added is None and s.cameras_added == 0
    _frames(live.grid_stats, base.grid_stats, 0.0)
    _frames(live.blind_spots, base.blind_spots, 0.0)
