"""Siting for detail levels: candidates fitted with a camera model are chosen for the priority
weight they bring up to its required level; checked by a second, independent path: a full 3D
analysis with the chosen cameras added (bundled sample, real Helsinki OSM layers)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.siting.candidates import camera_candidates, candidate_sites
from gridcover.coverage.siting.detail_sites import CameraModel, site_cameras_3d
from sample_analysis import sample_layers

CFG = AnalysisConfig(res=12, visibility="3d")


def test_objective_equals_weight_newly_at_required_level() -> None:
    layers = sample_layers()
    base = run_analysis(**layers, config=CFG)
    st = base.state
    required = base.cells["required_level"].to_numpy()
    sites = candidate_sites(layers["roads"], area=layers["grids"].geometry.union_all())
    cand = camera_candidates(sites, azimuths=4)
    model = CameraModel(name="4MP bullet", resolution="4MP", height_m=5.0, tilt_deg=10.0)
    out = site_cameras_3d(
        st.cells, st.priority.weight, required, cand, 5, model=model,
        existing=layers["cameras"], buildings=layers["buildings"], method="greedy",
    )  # fmt: skip
    chosen = out.chosen
    assert len(chosen) == 5 and (chosen["camera_model"] == "4MP bullet").all()
    assert (chosen["height_m"] == 5.0).all() and (chosen["resolution"] == "4MP").all()
    assert out.result.objective > 0
    # second path: the full 3D analysis with the chosen cameras mounted
    cams = pd.concat([layers["cameras"], chosen.drop(columns=["site_id"])], ignore_index=True)
    after = run_analysis(**{**layers, "cameras": gpd.GeoDataFrame(cams, crs=4326)}, config=CFG)
    ok0 = base.cells["detail_level"].to_numpy() >= required
    ok1 = after.cells["detail_level"].to_numpy() >= required
    np.testing.assert_array_equal(after.cells["required_level"].to_numpy(), required)
    w = np.where(required > 0, st.priority.weight, 0.0)
    assert w[ok1 & ~ok0].sum() == pytest.approx(out.result.objective, rel=1e-9)
    assert after.summary["cells_below_required_level"] < base.summary["cells_below_required_level"]
