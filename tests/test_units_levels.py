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
from gridcover.coverage.siting import load_catalogue
from gridcover.coverage.units import UnitConfig, WorkUnits, proposal_table, work_units
from gridcover.coverage.whatif import Scenario, apply_scenario

sys.path.insert(0, str(Path(__file__).parent))
from sample_analysis import sample_layers

GEOD = pyproj.Geod(ellps="WGS84")
CFG3 = AnalysisConfig(res=12, visibility="3d")
PPM = {1: 25.0, 2: 62.5, 3: 125.0, 4: 250.0}  # IEC 62676-4 DORI, px/m
MODEL_COLS = ["model", "resolution", "height_m", "tilt_deg", "lens_fov_deg",
              "supply_light", "ir_range_m"]  # fmt: skip
ONE_MODEL = """currency = "CNY"
[models.pole_bullet_6mm]
type = "bullet"
fov_deg = 60.0
range_m = 70.0
price = 3100.0
azimuths = 8
resolution = "4MP"
height_m = 5.5
tilt_deg = 10.0
supply_light = "infrared"
ir_range_m = 50.0
"""


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
    # every new camera is a packaged catalogue model with its price and 3D fields
    cat = {m.name: m for m in load_catalogue().models}
    assert new["model"].isin(list(cat)).all() and new["model"].nunique() >= 2
    for col in ("price", "resolution", "height_m"):
        want = [getattr(cat[m], col) for m in new["model"]]
        assert new[col].tolist() == want, col
    # the fix names each model with its unit price, and the unit's cost is their sum
    by_unit = new.groupby("unit_id")
    for uid, cams in by_unit:
        row = t[t["unit_id"] == uid].iloc[0]
        for m in cams["model"]:
            assert f"[{m}, {cat[m].price:,.0f} CNY]" in row["fix_text"]
        assert row["fix_cost"] == pytest.approx(sum(cat[m].price for m in cams["model"]))
    assert t.loc[t["fix"] == "repair", "fix_cost"].isna().all()
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
            lens = cam["lens_fov_deg"] if np.isfinite(cam["lens_fov_deg"]) else cam["fov_deg"]
            assert cam["resolution"] == "4MP"
            ppm = 2560 / (2 * slant * np.tan(np.radians(lens) / 2))
            need = PPM[int(row["required_level"])]
            conv = abs(utm.get_factors(cam["lon"], cam["lat"]).meridian_convergence)
            ok |= (off <= lens / 2 + conv + 0.01) & (ppm >= need * 0.999)
        assert ok.all(), row["unit_id"]


def test_a_2d_run_keeps_its_units() -> None:
    lay = sample_layers()
    res = run_analysis(**lay, config=AnalysisConfig(res=12, visibility="2d"))
    units = work_units(res, roads=lay["roads"], sites=lay["sites"], config=UnitConfig(fixes_for=5))
    blind = (res.cells["priority"] & ~res.cells["covered"]).to_numpy()
    assert np.array_equal(units.cell_unit >= 0, blind)
    assert "required_level" not in units.table and "model" not in units.proposals
    assert "fix_cost" not in units.table
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
        # the API's models parameter: the fixes use only the named catalogue model
        body = {"fixes_for": 20, "models": ["bullet_8mm"], "config": {"visibility": "3d"}}
        assert c.post("/analysis/work-units", json=body).status_code == 200
        cams = c.get("/collections/proposed_cameras/items", params={"limit": 10000}).json()
        added = [f["properties"] for f in cams["features"] if f["properties"]["action"] == "new"]
        assert added and {(p["model"], p["price"]) for p in added} == {("bullet_8mm", 2400.0)}
        bad = c.post("/analysis/work-units", json={**body, "models": ["no_such"]})
        assert bad.status_code == 400 and "no camera model 'no_such'" in bad.text
    props = {f["properties"]["unit_id"]: f["properties"] for f in got["features"]}
    assert sorted(props) == sorted(units["unit_id"])
    for _, row in units.iterrows():
        api = props[row["unit_id"]]
        assert (api["required_level"], api["detail_level"]) == (
            row["required_level"],
            row["detail_level"],
        )


def test_a_custom_catalogue_changes_the_fixes_to_its_model(tmp_path: Path) -> None:
    """``gridcover worklist --catalogue one.toml``: every new camera of the table (CSV, read
    back) is the file's one model at its price, mounted as the file says (GeoJSON via
    pyogrio), and the fixes it closes bring their units up in a full 3D re-run."""
    import contextlib
    import io

    import pyogrio

    from gridcover.cli import main

    toml = tmp_path / "one.toml"
    toml.write_text(ONE_MODEL, encoding="utf-8")
    out = tmp_path / "w"
    argv = ["worklist", "--sample", "--visibility", "3d", "--fixes-for", "15"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--catalogue", str(toml), "--out", str(out)]) == 0
    table = pd.read_csv(out / "proposals.csv", encoding="utf-8-sig")
    new = table[table["建议措施 / action"] == "新增 new"]
    assert len(new) >= 5
    assert (new["摄像机型号 / camera model"] == "pole_bullet_6mm").all()
    assert (new["单价 / unit price"] == 3100.0).all()
    assert new["说明 / suggested fix"].str.contains(r"\[pole_bullet_6mm, 3,100 CNY\]").all()
    cams = pyogrio.read_dataframe(out / "proposed_cameras.geojson")
    added = cams[cams["action"] == "new"]
    assert (added["height_m"] == 5.5).all() and (added["fov_deg"] == 60.0).all()
    # second reader: a 3D re-run with these cameras added lifts the units they close
    res, _ = run3d()
    sc = Scenario("one", added=gpd.GeoDataFrame(
        added[[c for c in ["camera_id", "type", "azimuth_deg", "fov_deg", "range_m", "status",
                           *MODEL_COLS] if c in added]],
        geometry=added.geometry.values, crs="EPSG:4326"))  # fmt: skip
    lay = dict(sample_layers())
    lay["cameras"] = apply_scenario(res.state.cameras, sc)
    again = run_analysis(**lay, config=CFG3)
    lifted = again.cells["detail_level"].to_numpy() >= res.cells["required_level"].to_numpy()
    units = gpd.read_file(out / "units.geojson")
    hexes = again.cells["cell"].to_numpy()
    closed = units[units["closes"] & (units["fix"] == "new")]
    assert len(closed) >= 3
    for _, row in closed.iterrows():
        poly = gpd.GeoSeries([row.geometry], crs=4326).to_crs(res.state.crs).iloc[0]
        inside = shapely.contains_xy(poly.buffer(-0.5), res.state.cells.x, res.state.cells.y)
        assert inside.any() and lifted[inside].all(), (row["unit_id"], hexes[inside][:3])
