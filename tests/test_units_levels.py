"""Work units of a 3D run (detail levels): units hold exactly the priority cells below their
required level, carry required and current level, stay within the level's cap, and their
fixes bring every claimed cell up to the required level.

Helsinki sample (real OSM streets, sites, buildings), ``visibility="3d"`` passed explicitly.
Second computations: outlines measured with pyproj's geodesic area and their own hull
diameter; a full 3D re-run of the analysis with the fixes as a scenario; the pixel density
``W / (2 D tan(f/2))`` of each proposed bullet recomputed from geodesic distances to the H3
cell centres; the CLI's units against the API's collection.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from gridcover.coverage.analysis import AnalysisConfig, AnalysisResult, run_analysis
from gridcover.coverage.units import UnitConfig, WorkUnits, proposal_table, work_units
from gridcover.coverage.whatif import Scenario, apply_scenario

sys.path.insert(0, str(Path(__file__).parent))
from sample_analysis import sample_layers

GEOD = pyproj.Geod(ellps="WGS84")
CFG3 = AnalysisConfig(res=12, visibility="3d")
PPM = {1: 25.0, 2: 62.5, 3: 125.0, 4: 250.0}  # IEC 62676-4 DORI, px/m
MODEL_COLS = ["camera_model", "resolution", "height_m", "tilt_deg", "lens_fov_deg",
              "supply_light", "ir_range_m"]  # fmt: skip


@lru_cache(maxsize=1)
def run3d() -> tuple[AnalysisResult, WorkUnits]:
    lay = sample_layers()
    res = run_analysis(**lay, config=CFG3)
    return res, work_units(res, roads=lay["roads"], sites=lay["sites"])


def _diameter_m(geom: shapely.Geometry, crs: pyproj.CRS) -> float:
    g = gpd.GeoSeries([geom], crs=4326).to_crs(crs).iloc[0]
    c = shapely.get_coordinates(shapely.convex_hull(g))
    return float(np.hypot(c[:, None, 0] - c[None, :, 0], c[:, None, 1] - c[None, :, 1]).max())


def test_units_are_the_cells_below_their_required_level() -> None:
    res, units = run3d()
    cells, t = res.cells, units.table
    below = (cells["priority"] & (cells["detail_level"] < cells["required_level"])).to_numpy()
    blind2d = (cells["priority"] & ~cells["covered"]).to_numpy()
    assert below.sum() > blind2d.sum() > 500  # covered but too coarse cells join the blind
    assert (units.cell_unit[below] >= 0).all() and (units.cell_unit[~below] == -1).all()
    area = np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in t.geometry])
    assert area.sum() == pytest.approx(cells.loc[below, "area_m2"].sum(), rel=1e-3)
    metric = t.to_crs(res.state.crs)
    assert shapely.union_all(metric.geometry.values).area == pytest.approx(
        metric.area.sum(), rel=1e-6
    )
    # each unit carries the highest required and the lowest current level of its cells
    df = pd.DataFrame({"u": units.cell_unit[below], "req": cells["required_level"][below],
                       "cur": cells["detail_level"][below]})  # fmt: skip
    agg = df.groupby("u").agg(req=("req", "max"), cur=("cur", "min")).sort_index()
    assert np.array_equal(t["required_level"].to_numpy(), agg["req"].to_numpy())
    assert np.array_equal(t["detail_level"].to_numpy(), agg["cur"].to_numpy())
    assert set(t["required_level"]) == {2, 3} and (t["detail_level"] < t["required_level"]).all()
    # stricter levels give smaller units: the level's cap, never above the 2D cap
    cfg = UnitConfig()
    diam = np.array([_diameter_m(g, res.state.crs) for g in t.geometry])
    for lv in (2, 3):
        ext, cap_area = cfg.level_caps[lv - 1]
        sel = (t["required_level"] == lv).to_numpy() & (t["cells"] > 1).to_numpy()
        assert sel.sum() > 50
        assert diam[sel].max() <= ext and area[sel].max() <= cap_area * 1.001


def test_fixes_as_a_3d_scenario_lift_their_units_to_the_required_level() -> None:
    res, units = run3d()
    t, p = units.table, units.proposals
    with_fix = t[t["fix"].notna()]
    assert len(with_fix) >= 150 and with_fix["closes"].mean() > 0.8
    assert with_fix["fix_text"].str.contains("reaches re|reaches ob").all()
    new = p[p["action"] == "new"]
    assert new["camera_model"].notna().all() and (new["resolution"] == "4MP").all()
    added = gpd.GeoDataFrame(
        new[["camera_id", "type", "azimuth_deg", "fov_deg", "range_m", "status", *MODEL_COLS]],
        geometry=new.geometry.values,
        crs="EPSG:4326",
    )
    sc = Scenario("levels", added=added,
                  repaired=tuple(p.loc[p["action"] == "repair", "camera_id"]))  # fmt: skip
    lay = dict(sample_layers())
    lay["cameras"] = apply_scenario(res.state.cameras, sc)
    again = run_analysis(**lay, config=CFG3)
    assert np.array_equal(again.cells["cell"].to_numpy(), res.cells["cell"].to_numpy())
    level, req = again.cells["detail_level"].to_numpy(), res.cells["required_level"].to_numpy()
    lifted = level >= req
    w = res.cells["weight"].to_numpy()
    for u in with_fix.index:
        cells = units.cell_unit == u
        if t.at[u, "closes"]:
            assert lifted[cells].all(), t.at[u, "unit_id"]
        # what the fix claims to bring up, at least, is up (other fixes may add more)
        assert w[cells & lifted].sum() >= t.at[u, "closed_weight"] - 1e-9
    assert res.cells["below_required"].sum() - again.cells["below_required"].sum() > 150


def test_proposed_bullets_reach_the_pixel_density_at_their_cells() -> None:
    """ppm = W / (2 D tan(f/2)) recomputed by hand for the fixes made of bullets: every cell
    of a closed unit lies within the horizontal field of one of its new bullets (geodesic
    bearing) at a pixel density of at least the required level's; W = 2560 (4MP), f = the
    lens angle, D = slant distance to a target 1.5 m above ground. The view engine aims
    azimuths from the grid north of the run's metric CRS (UTM): the bearing check allows
    that CRS's meridian convergence at the camera (≈ 1.8° here)."""
    res, units = run3d()
    t, p = units.table, units.proposals
    new = p[p["action"] == "new"]
    bullets = new.groupby("unit_id")["type"].agg(lambda s: (s == "bullet").all())
    done = t[t["closes"] & t["unit_id"].isin(bullets[bullets].index)]
    assert len(done) > 100
    hexes = res.cells["cell"].to_numpy()
    utm = pyproj.Proj(res.state.crs)
    for u, row in done.iterrows():
        ll = np.array(
            [h3.cell_to_latlng(h3.int_to_str(int(c))) for c in hexes[units.cell_unit == u]]
        )
        ok = np.zeros(len(ll), bool)
        for _, cam in new[new["unit_id"] == row["unit_id"]].iterrows():
            n = len(ll)
            az, _, d = GEOD.inv(np.full(n, cam["lon"]), np.full(n, cam["lat"]), ll[:, 1], ll[:, 0])
            off = np.abs((az - cam["azimuth_deg"] + 180.0) % 360.0 - 180.0)
            slant = np.hypot(d, cam["height_m"] - 1.5)
            ppm = 2560 / (2 * slant * np.tan(np.radians(cam["lens_fov_deg"]) / 2))
            need = PPM[int(row["required_level"])]
            conv = abs(utm.get_factors(cam["lon"], cam["lat"]).meridian_convergence)
            ok |= (off <= cam["lens_fov_deg"] / 2 + conv + 0.01) & (ppm >= need * 0.999)
        assert ok.all(), row["unit_id"]


def test_a_2d_run_keeps_its_units() -> None:
    lay = sample_layers()
    res = run_analysis(**lay, config=AnalysisConfig(res=12, visibility="2d"))
    units = work_units(res, roads=lay["roads"], sites=lay["sites"], config=UnitConfig(fixes_for=5))
    blind = (res.cells["priority"] & ~res.cells["covered"]).to_numpy()
    assert np.array_equal(units.cell_unit >= 0, blind)
    assert "required_level" not in units.table and "camera_model" not in units.proposals
    assert "所需画面等级 / required detail level" not in proposal_table(units).columns


def test_cli_worklist_3d_equals_the_api_collection(tmp_path: Path) -> None:
    import contextlib
    import io

    from fastapi.testclient import TestClient

    from gridcover.api.app import create_app
    from gridcover.cli import main
    from gridcover.settings import Settings

    out = tmp_path / "w"
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        argv = ["worklist", "--sample", "--visibility", "3d", "--out", str(out)]
        assert main([*argv, "--fixes-for", "20"]) == 0
    assert "below its required detail level" in buf.getvalue()
    units = gpd.read_file(out / "units.geojson")
    _, mine = run3d()
    assert sorted(units["unit_id"]) == sorted(mine.table["unit_id"])
    table = pd.read_csv(out / "proposals.csv", encoding="utf-8-sig")
    assert table["所需画面等级 / required detail level"].str.match(r"^[23] (观察|识别) ").all()
    sample = Path(__file__).resolve().parents[1] / "sample_geodata"
    settings = Settings(data_dir=tmp_path / "api", sample_dir=sample, max_cells=500_000,
                        rate_limit_per_minute=0, sample_analyses=False)  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as c:
        c.headers["X-API-Key"] = app.state.keys.add("units", "planner").token
        r = c.post("/analysis/work-units", json={"fixes_for": 20, "config": {"visibility": "3d"}})
        assert r.status_code == 200, r.text
        assert r.json()["summary"]["detail_levels"] is True
        got = c.get("/collections/work_units/items", params={"limit": 10000}).json()
    props = {f["properties"]["unit_id"]: f["properties"] for f in got["features"]}
    assert sorted(props) == sorted(units["unit_id"])
    for _, row in units.iterrows():
        api = props[row["unit_id"]]
        assert (api["required_level"], api["detail_level"]) == (
            row["required_level"],
            row["detail_level"],
        )
