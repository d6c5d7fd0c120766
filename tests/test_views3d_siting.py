"""Siting for detail levels: candidates fitted with a camera model are chosen for the priority
weight they bring up to its required level; checked by a second, independent path: a full 3D
analysis with the chosen cameras added (bundled sample, real Helsinki OSM layers)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.siting import CameraModel, site_cameras_3d
from gridcover.coverage.siting.candidates import camera_candidates, candidate_sites
from sample_analysis import sample_layers

CFG = AnalysisConfig(res=12, visibility="3d")


def test_objective_equals_weight_newly_at_required_level() -> None:
    layers = sample_layers()
    base = run_analysis(**layers, config=CFG)
    st = base.state
    required = base.cells["required_level"].to_numpy()
    sites = candidate_sites(layers["roads"], area=layers["grids"].geometry.union_all())
    cand = camera_candidates(sites, azimuths=4)
    model = CameraModel(name="4MP bullet", resolution="4MP", height_m=5.0, tilt_deg=10.0,
                        supply_light="infrared", ir_range_m=50.0)  # fmt: skip
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
    # the chosen cameras' views are drawn (EPSG:4326) and hold every cell they bring up
    views = out.views.to_crs(st.cells.crs)
    assert out.views.crs.to_epsg() == 4326 and views.geometry.notna().all()
    up = ok1 & ~ok0 & (required > 0)
    assert up.any()
    pts = shapely.points(st.cells.x[up], st.cells.y[up])
    assert shapely.distance(shapely.union_all(views.geometry.values), pts).max() < 0.5


def test_catalogue_models_carry_3d_fields_and_bad_ones_name_the_fix(tmp_path) -> None:
    from gridcover.coverage.siting.catalogue import load_catalogue, model_candidates
    from gridcover.coverage.siting.plan import SitingConfig
    from gridcover.errors import InputError, SchemaError

    cat = load_catalogue()
    sites = gpd.GeoDataFrame({"site_id": ["a", "b"]}, geometry=gpd.points_from_xy([24.94, 24.95],
                             [60.17, 60.17]), crs=4326)  # fmt: skip
    rows = model_candidates(sites, cat, azimuths=4)
    # each directional model in 4 directions, each 360° model once, per site
    n = sum(4 if m.azimuths else 1 for m in cat.models)
    assert len(rows) == 2 * n
    for m in cat.models:
        mine = rows[rows["model"] == m.name]
        assert (mine["height_m"] == m.height_m).all() and (mine["resolution"] == m.resolution).all()
    bad = tmp_path / "models.toml"
    bad.write_text('[models.x]\ntype = "bullet"\nfov_deg = 60.0\nrange_m = 50.0\nprice = 1.0\n'
                   'azimuths = 4\nheight_m = -3.0\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(SchemaError, match=r"models.toml: model 'x' needs height_m"):
        load_catalogue(bad)
    with pytest.raises(InputError, match="dome applies to 2D siting"):
        SitingConfig(dome=True)
    assert SitingConfig(dome=True, visibility="2d").dome


def test_map_and_report_say_which_camera_and_how_to_mount_it(tmp_path) -> None:
    from gridcover.coverage.siting.catalogue import load_catalogue, model_candidates
    from gridcover.gis.maps import build_map

    sites = gpd.GeoDataFrame({"site_id": ["a"]}, geometry=gpd.points_from_xy([24.94], [60.17]),
                             crs=4326)  # fmt: skip
    rows = model_candidates(sites, load_catalogue(), azimuths=1).assign(marginal_gain=1.0)
    rows["rank"] = np.arange(1, len(rows) + 1)
    m = build_map(siting=rows, lang="en")
    feats = next(ov for ov in m.overlays if ov.key == "siting").data["features"]
    got = {(f["properties"]["model"], f["properties"]["height_m"]) for f in feats}
    assert got == {(r.model, f"{r.height_m:.1f}") for r in rows.itertuples()}
    assert "Mounting height (m)" in m.html()
