"""A 3D run on a Dask LocalCluster gives the single machine's per-cell results (detail levels
day and night included), blind spots, per-grid statistics with the per-level columns, and
summary (bundled sample: real OSM cameras and buildings of central Helsinki)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.distributed import connect, read_parts, run_distributed
from sample_analysis import sample_layers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CFG = AnalysisConfig(res=12, visibility="3d")


def test_3d_on_dask_equals_single_machine(tmp_path) -> None:
    layers = sample_layers()
    single = run_analysis(**layers, config=CFG)
    with connect("local:2") as client:
        dist = run_distributed(**layers, client=client, out_dir=tmp_path, parent_res=8, config=CFG)
    cells = read_parts(dist.cells_dir).reset_index(drop=True)
    ref = single.cells
    assert list(cells.columns) == list(ref.columns)
    assert np.array_equal(cells["cell"].to_numpy(), ref["cell"].to_numpy())
    detail = ["detail_level", "n_cameras_l3", "night_n_cameras", "night_detail_level"]
    for col in ["cameras", *detail, "required_level", "below_required", "blind_spot"]:
        assert pd.Series(cells[col].to_numpy()).equals(pd.Series(ref[col].to_numpy())), col
    assert (
        ref["detail_level"].max() == 4 and (ref["night_detail_level"] < ref["detail_level"]).any()
    )
    a, b = dist.grid_stats, single.grid_stats
    assert list(a.columns) == list(b.columns)
    for col in [c for c in b.columns if "pct_l" in c] + ["covered_pct", "blind_spots"]:
        np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-9, equal_nan=True)
    assert len(dist.blind_spots) == len(single.blind_spots) > 0
    for key, want in single.summary.items():
        got = dist.summary[key]
        assert got == (pytest.approx(want, rel=1e-9, nan_ok=True) if isinstance(want, float)
                       else want), key  # fmt: skip
