"""Blind-spot work units on real data: cap, names, areas, grids, fixes that really close.

Helsinki sample (real OSM streets, sites, buildings; 3-level grid) and one real Chicago
police beat (cameras of the city's red-light and speed programmes, no street layer). Every
figure is checked by a second computation: outlines measured with pyproj's geodesic area
and their own hull diameter, fixes re-checked by a full re-run of the analysis with the
scenario's camera layer, the files read back with openpyxl and pyogrio.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.units import UnitConfig, WorkUnits, work_units, write_proposals
from gridcover.coverage.whatif import Scenario, apply_scenario
from gridcover.gis import read_layer

sys.path.insert(0, str(Path(__file__).parent))
from sample_analysis import sample_layers

CHI = Path(__file__).parent / "data" / "chicago-cameras-police"
GEOD = pyproj.Geod(ellps="WGS84")
CFG2 = AnalysisConfig(res=12, visibility="2d")  # the 2D units (3D: test_units_levels.py)


@lru_cache(maxsize=1)
def sample_result_2d():
    return run_analysis(**sample_layers(), config=CFG2)


@lru_cache(maxsize=1)
def helsinki_units() -> WorkUnits:
    lay = sample_layers()
    return work_units(sample_result_2d(), roads=lay["roads"], sites=lay["sites"])


@lru_cache(maxsize=1)
def chicago():
    beats = gpd.read_file(CHI / "police_beats_2014.geojson")
    beat = beats[beats["BEAT_NUM"] == "1832"]
    grids = gpd.GeoDataFrame(
        {"code": ["B1832"], "level": [1], "chief_name": ["Sgt. Example"]},
        geometry=[shapely.union_all(beat.geometry.values)],
        crs=beats.crs,
    )
    cams = pd.concat(
        [read_layer(CHI / f"{n}_camera_locations.csv", "cameras") for n in ("red_light", "speed")],
        ignore_index=True,
    )
    cams = gpd.GeoDataFrame(cams, geometry="geometry", crs="EPSG:4326")
    posts = read_layer(CHI / "police_stations.csv", "posts")
    res = run_analysis(grids, cams, posts=posts, config=CFG2)
    return res, work_units(res, config=UnitConfig(fixes_for=40))


def _diameter_m(geom: shapely.Geometry, crs: pyproj.CRS) -> float:
    g = gpd.GeoSeries([geom], crs=4326).to_crs(crs).iloc[0]
    c = shapely.get_coordinates(shapely.convex_hull(g))
    return float(np.hypot(c[:, None, 0] - c[None, :, 0], c[:, None, 1] - c[None, :, 1]).max())


def _geodesic_area(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


@pytest.mark.parametrize("case", ["helsinki", "chicago"])
def test_units_respect_the_cap_and_add_up_to_the_blind_area(case: str) -> None:
    if case == "helsinki":
        res, units = sample_result_2d(), helsinki_units()
    else:
        res, units = chicago()
    t, cfg = units.table, units.config
    assert len(t) > 20 and t["unit_id"].is_unique
    crs = res.state.crs
    diam = np.array([_diameter_m(g, crs) for g in t.geometry])
    area = np.array([_geodesic_area(g) for g in t.geometry])
    assert diam.max() <= cfg.max_extent_m
    assert area.max() <= cfg.max_area_m2 * 1.001
    cells = res.cells
    blind = cells["priority"] & ~cells["covered"]
    assert area.sum() == pytest.approx(cells.loc[blind, "area_m2"].sum(), rel=1e-3)
    # nothing double-counted: the outlines do not overlap
    metric = t.to_crs(crs)
    assert shapely.union_all(metric.geometry.values).area == pytest.approx(
        metric.area.sum(), rel=1e-6
    )
    assert (units.cell_unit[blind.to_numpy()] >= 0).all()
    assert (units.cell_unit[~blind.to_numpy()] == -1).all()


def test_road_units_carry_source_street_names_and_grids() -> None:
    units, lay = helsinki_units(), sample_layers()
    t = units.table
    names = set(lay["roads"]["name"].dropna().astype(str))
    road = t[t["kind"] == "road"]
    assert len(road) > 50
    assert road["street"].isin(names).all()
    assert road["name"].str.contains(" between ").sum() > 30
    crossing = t[t["kind"] == "intersection"]["name"]
    assert crossing.str.contains(" / ").sum() > 20
    assert set(t["kind"]) >= {"road", "intersection", "site"}
    # grid codes at every level, and each one is the grid holding the unit's anchor
    grids = lay["grids"]
    for lv in (1, 2, 3):
        level = grids[grids["level"] == lv]
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(t["lon"], t["lat"]), crs=4326)
        hit = gpd.sjoin(pts, level[["code", "geometry"]], predicate="within", how="left")
        hit = hit[~hit.index.duplicated()]
        assert (hit["code"].to_numpy() == t[f"grid_l{lv}"].to_numpy()).mean() > 0.99


def test_ranked_by_weight_closed_per_camera() -> None:
    t = helsinki_units().table
    v = t["value_per_camera"].to_numpy()
    with_fix = np.isfinite(v)
    assert with_fix.sum() >= 100
    assert (np.diff(v[with_fix]) <= 1e-9).all()
    assert not with_fix[: with_fix.sum()].__invert__().any()  # fixed units come first


@pytest.mark.parametrize("case", ["helsinki", "chicago"])
def test_fixes_applied_as_a_scenario_close_their_units(case: str) -> None:
    if case == "helsinki":
        lay = dict(sample_layers())
        res, units = sample_result_2d(), helsinki_units()
    else:
        res, units = chicago()
        lay = {}
    t, p = units.table, units.proposals
    claimed = t[t["closes"]].head(40)
    assert len(claimed) >= 10
    props = p[p["unit_id"].isin(claimed["unit_id"])]
    new = props[props["action"] == "new"]
    added = gpd.GeoDataFrame(
        new[["camera_id", "type", "azimuth_deg", "fov_deg", "range_m", "status"]],
        geometry=new.geometry.values,
        crs="EPSG:4326",
    )
    sc = Scenario(
        "fixes", added=added, repaired=tuple(props.loc[props["action"] == "repair", "camera_id"])
    )
    cams = apply_scenario(res.state.cameras, sc)
    if case == "helsinki":
        lay["cameras"] = cams
        again = run_analysis(**lay, config=CFG2)
    else:
        grids = res.state.grid_index.grids
        again = run_analysis(grids, cams, posts=res.state.posts, config=CFG2)
    closed_cells = np.isin(units.cell_unit, claimed.index.to_numpy())
    assert closed_cells.sum() >= len(claimed)
    covered = again.cells["covered"].to_numpy()
    assert covered[closed_cells].all()


def test_proposal_table_files_read_back(tmp_path: Path) -> None:
    units = helsinki_units()
    paths = write_proposals(units, tmp_path)
    wb = openpyxl.load_workbook(paths["xlsx"], read_only=True)
    assert wb.sheetnames[0] == "点位建议表"
    rows = list(wb["点位建议表"].iter_rows(values_only=True))
    header = rows[0]
    assert "排名 / rank" in header and "建议措施 / action" in header and "纬度 / latitude" in header
    n_rows = len(units.table) + int((units.proposals.groupby("unit_id").size() - 1).sum())
    assert len(rows) - 1 == n_rows
    csv = pd.read_csv(paths["csv"], encoding="utf-8-sig")
    assert list(csv.columns) == list(header) and len(csv) == n_rows
    assert csv["建议措施 / action"].dropna().str.match(r"^(新增 new|维修 repair)$").all()
    info = pyogrio.read_info(paths["units"])
    assert info["features"] == len(units.table)
    cams = pyogrio.read_dataframe(paths["cameras"])
    assert len(cams) == len(units.proposals) and set(cams["action"]) <= {"new", "repair"}


def test_cli_worklist_api_collection_and_fixes_as_a_named_scenario(tmp_path: Path) -> None:
    """The CLI's units equal the API's collection; the CLI's proposals, made a named
    scenario, gain coverage on every cell of every unit they claim to close."""
    import contextlib
    import io

    from fastapi.testclient import TestClient

    from gridcover.api.app import create_app
    from gridcover.cli import main
    from gridcover.settings import Settings

    sample = Path(__file__).resolve().parents[1] / "sample_geodata"
    out = tmp_path / "w"
    with contextlib.redirect_stdout(io.StringIO()):
        argv = ["worklist", "--sample", "--visibility", "2d", "--out", str(out)]
        assert main([*argv, "--fixes-for", "30"]) == 0
    units = gpd.read_file(out / "units.geojson")
    settings = Settings(data_dir=tmp_path / "api", sample_dir=sample, max_cells=500_000,
                        rate_limit_per_minute=0, sample_analyses=False)  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as c:
        c.headers["X-API-Key"] = app.state.keys.add("units", "planner").token
        r = c.post("/analysis/work-units", json={"fixes_for": 30, "config": {"visibility": "2d"}})
        assert r.status_code == 200, r.text
        assert r.json()["summary"]["units"] == len(units)
        got = c.get("/collections/work_units/items", params={"limit": 10000}).json()
        ids = [f["properties"]["unit_id"] for f in got["features"]]
        assert sorted(ids) == sorted(units["unit_id"])
        assert c.get("/collections/proposed_cameras/items").status_code == 200
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        assert main(["scenario", "create", "fixes", "--out", str(out), "--sample",
                     "--from-units", str(out / "proposed_cameras.geojson")]) == 0  # fmt: skip
        assert main(["scenario", "compare", "fixes", "--out", str(out)]) == 0
    assert "baseline -> fixes" in buf.getvalue()
    gained = gpd.read_file(out / "scenarios" / "compare_baseline_fixes_cells.geojson")
    closed = units[units["closes"]]
    assert len(closed) >= 25
    # every hexagon of a closed unit is a gained cell: compare by area covered
    gained_area = shapely.union_all(gained.to_crs(3067).geometry.values)
    for g in closed.to_crs(3067).geometry:
        assert g.difference(gained_area).area < 1e-3 * g.area
