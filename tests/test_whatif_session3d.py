"""Incremental what-if on a 3D run vs a full 3D recompute after each of 50 random edits.

The bundled Helsinki sample (real OSM cameras and buildings, with their OSM heights and
levels) analysed with ``visibility="3d"``; random edits disable, enable and re-aim cameras
and change their mounting height, tilt and resolution. After every edit the session's
tables are compared with ``run_scenario`` of the session's cumulative scenario (itself
checked against a full ``run_analysis`` in test_views3d_whatif.py): the cells table with its
detail-level columns, the grid statistics with the per-level shares, the blind spots and
the summary (floats within 1e-9, everything else exact).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from gridcover.coverage.analysis import AnalysisConfig, AnalysisResult, run_analysis
from gridcover.coverage.whatif import Scenario, run_scenario
from gridcover.coverage.whatif_session import LiveResult, WhatIfSession
from gridcover.errors import InputError
from sample_analysis import sample_layers


@lru_cache(maxsize=1)
def base3d() -> AnalysisResult:
    return run_analysis(**sample_layers(), config=AnalysisConfig(res=12, visibility="3d"))


def _close_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    geo = [c for c in ("geometry",) if c in a.columns]
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns=geo)),
        pd.DataFrame(b.drop(columns=geo)),
        check_exact=False,
        rtol=1e-9,
        atol=1e-9,
    )
    if geo:
        ga, gb = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
        assert shapely.equals_exact(ga, gb, tolerance=1e-9).all()


def _close_summary(a: Any, b: Any) -> None:
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(y, float):
            assert x == pytest.approx(y, rel=1e-9, abs=1e-9, nan_ok=True), k
        else:
            assert x == y, k


def _random_edit(rng: np.random.Generator, s: WhatIfSession, ids: np.ndarray) -> LiveResult:
    kind = rng.choice(["reaim", "optics", "optics", "disable", "enable"])
    off = list(s.scenario.disabled)
    cid = str(rng.choice(ids))
    if kind == "enable" and off:
        return s.enable(str(rng.choice(off)))
    if kind == "disable":
        return s.disable(cid)
    if kind == "optics":
        change: dict[str, float | None] = {}
        if rng.random() < 0.6:
            change["height_m"] = float(rng.uniform(2.5, 25.0))
        if rng.random() < 0.5:
            change["tilt_deg"] = None if rng.random() < 0.2 else float(rng.uniform(0, 40))
        if not change or rng.random() < 0.5:
            change["resolution_px"] = float(rng.choice([1280.0, 1920.0, 2688.0, 3840.0]))
        return s.reaim(cid, **change)
    change = {"azimuth_deg": float(rng.uniform(0, 360))}
    if rng.random() < 0.5:
        change["fov_deg"] = float(rng.choice([45.0, 90.0, 120.0, 360.0]))
    if rng.random() < 0.3:
        change["range_m"] = None if rng.random() < 0.3 else float(rng.uniform(20, 160))
    return s.reaim(cid, **change)


def test_fifty_random_3d_edits_match_full_3d_recomputes() -> None:
    base = base3d()
    s = WhatIfSession(base)
    ids = base.views["camera_id"].astype(str).to_numpy()
    seen = ids[base.views["cells_seen"].to_numpy() > 0]
    rng = np.random.default_rng(163)
    level_moves = spot_moves = 0
    for _ in range(50):
        live = _random_edit(rng, s, seen)
        full = run_scenario(base, live.scenario)
        r = full.result
        _close_frame(live.grid_stats, r.grid_stats)
        _close_frame(live.blind_spots, r.blind_spots)
        _close_summary(live.summary, r.summary)
        assert np.array_equal(live.counts, r.state.coverage.counts)
        assert np.array_equal(live.cell_cluster, r.cell_cluster)
        mine = s.full_result()
        _close_frame(mine.cells, r.cells)
        level_moves += int(
            (mine.cells["detail_level"].to_numpy() != base.cells["detail_level"].to_numpy()).any()
        )
        spot_moves += int(len(live.blind_spots) != len(base.blind_spots))
    # the sequence changed detail levels and blind spots: the comparisons have teeth
    assert level_moves > 0 and spot_moves > 0
    assert {"identify_pct", "night_detect_pct"} <= set(live.summary)
    assert "night_wpct_l4" in live.grid_stats.columns


def test_apply_moves_the_session_to_any_scenario() -> None:
    """``apply`` (the API's stateless what-if) reaches a scenario from any earlier one,
    including setting a camera back to its baseline aim, and refuses added cameras that
    repeat a baseline camera's id."""
    base = base3d()
    v = base.views.sort_values("cells_seen", ascending=False)
    busy = v["camera_id"].astype(str).to_numpy()[:4]
    s = WhatIfSession(base)
    first = Scenario(
        disabled=(busy[0], busy[1]),
        reaimed={busy[2]: {"height_m": 12.0, "tilt_deg": 30.0}, busy[3]: {"azimuth_deg": 10.0}},
    )
    second = Scenario(disabled=(busy[1],), reaimed={busy[3]: {"resolution_px": 3840.0}})
    for sc in (first, second, Scenario()):
        live = s.apply(sc)
        r = run_scenario(base, sc).result
        _close_frame(live.grid_stats, r.grid_stats)
        _close_frame(live.blind_spots, r.blind_spots)
        _close_summary(live.summary, r.summary)
    # back at the baseline: the baseline's own tables
    _close_frame(live.grid_stats, base.grid_stats)
    assert np.array_equal(live.counts, base.state.coverage.counts)
    with pytest.raises(InputError, match="repeat an id"):
        s.apply(Scenario(added=base.state.cameras.iloc[:1]))
