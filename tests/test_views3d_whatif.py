"""What-if on a 3D run: re-aiming, disabling and adding cameras gives the same tables,
detail levels included, as a full 3D run on the changed camera layer (bundled sample, real
OSM cameras and buildings of central Helsinki)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.whatif import Scenario, apply_scenario, run_scenario
from sample_analysis import sample_layers

CFG = AnalysisConfig(res=12, visibility="3d")


def test_3d_scenario_equals_full_3d_run() -> None:
    layers = sample_layers()
    base = run_analysis(**layers, config=CFG)
    ids = layers["cameras"]["camera_id"].astype(str).to_numpy()
    seen = base.views.sort_values("cells_seen", ascending=False)["camera_id"].astype(str)
    busy = seen.to_numpy()[:6]
    spot = base.blind_spots.head(2).geometry.representative_point()
    added = gpd.GeoDataFrame(
        {
            "camera_id": ["new-1", "new-2"],
            "type": ["bullet", "ptz"],
            "status": ["online", "online"],
            "azimuth_deg": [90.0, np.nan],
            "fov_deg": [70.0, np.nan],
            "height_m": [5.0, 8.0],
            "tilt_deg": [15.0, np.nan],
            "resolution": ["4MP", "1080P"],
        },
        geometry=list(spot),
        crs=4326,
    )
    sc = Scenario(
        disabled=tuple(busy[:3]),
        added=added,
        reaimed={busy[3]: {"azimuth_deg": 33.0, "fov_deg": 50.0}, ids[5]: {"range_m": 12.0}},
    )
    out = run_scenario(base, sc)
    full_layers = dict(layers)
    full_layers["cameras"] = apply_scenario(layers["cameras"], sc)
    full = run_analysis(**full_layers, config=CFG)
    for name in ("grid_stats", "cells", "blind_spots", "views"):
        a = pd.DataFrame(getattr(out.result, name).drop(columns="geometry"))
        b = pd.DataFrame(getattr(full, name).drop(columns="geometry"))
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
    for k, v in full.summary.items():
        assert out.result.summary[k] == (
            pytest.approx(v, nan_ok=True) if isinstance(v, float) else v
        ), k
    assert "detail_level" in out.result.cells.columns
    # the scenario changes detail somewhere: the added 4MP camera sees at recognise or better
    d = out.result.cells["detail_level"].to_numpy() - base.cells["detail_level"].to_numpy()
    assert (d != 0).any()
    assert out.summary_deltas["identify_pct"] == pytest.approx(
        full.summary["identify_pct"] - base.summary["identify_pct"]
    )


def test_3d_baseline_has_level_columns() -> None:
    """The lazily built cells table of a 3D run carries the detail levels (the incremental
    session on a 3D baseline: test_whatif_session3d.py)."""
    base = run_analysis(**sample_layers(), config=CFG)
    assert {"detail_level", "required_level", "below_required"} <= set(base.cells.columns)
    np.testing.assert_array_equal(base.cells["detail_level"], base.state.detail.detail_level)
