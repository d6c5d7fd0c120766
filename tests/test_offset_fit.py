"""No silent offsets: the fit of lon/lat points to the other layers of a run picks the right
coordinate system on real layers, refuses when the only other layer is too sparse, and
`gridcover analyze` on a raw ledger with no flags places the cameras right and says so first.

Layers: the real sample (central Helsinki, OSM) moved rigidly to Shenzhen; the ledger's
positions shifted to GCJ-02 / BD-09 with formulas written in tests/_china_ledger.py (not
gridcover's own conversion). Truth = the cameras' moved WGS84 positions.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from _china_ledger import (
    metres_apart,
    moved_layers,
    truth_cameras,
    wgs84_to_gcj02,
    write_gbk_csv,
    write_xlsx,
)
from gridcover.cli import main
from gridcover.errors import CRSError
from gridcover.gis.crs import local_metric_crs
from gridcover.gis.layer_set import read_layers


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("shenzhen")
    paths = moved_layers(folder)
    truth = truth_cameras()
    truth["camera_id"] = [f"44030400001320{i:06d}" for i in range(len(truth))]
    truth.to_file(folder / "truth.geojson", driver="GeoJSON")
    paths["ledger"] = write_gbk_csv(folder / "台账.csv", truth)
    paths["xlsx"] = write_xlsx(folder / "台账.xlsx", truth)
    paths["truth"] = folder / "truth.geojson"
    return paths


def _truth(city: dict[str, Path]) -> gpd.GeoDataFrame:
    return gpd.read_file(city["truth"])


def _error_m(cams: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> np.ndarray:
    got = cams.set_index("camera_id").geometry.loc[truth["camera_id"]].reset_index(drop=True)
    return metres_apart(got, truth.geometry)


@pytest.mark.parametrize("others", [("roads",), ("buildings",), ("roads", "buildings", "grids")])
def test_gcj02_ledger_is_found_and_converted(city: dict[str, Path], others: tuple) -> None:
    paths = {"cameras": city["ledger"], **{k: city[k] for k in others}}
    got = read_layers(paths)
    cams = got.layers["cameras"]
    assert got.parameters["cameras_coord_sys"] == "gcj02"
    fit = got.parameters["cameras_coord_sys_fit_m"]
    assert fit["gcj02"] < 5 and fit["wgs84"] > 50 and fit["bd09"] > 300
    assert got.decisions[0].startswith("coordinate system: 台账.csv (cameras) read as gcj02")
    assert _error_m(cams, _truth(city)).max() < 1.0
    assert cams.attrs["gridcover"]["coord_sys"] == "gcj02"


def _bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 from GCJ-02 (the public Baidu formula)."""
    x_pi = math.pi * 3000.0 / 180.0
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * x_pi)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * x_pi)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def test_bd09_and_wgs84_points_are_recognised(city: dict[str, Path], tmp_path: Path) -> None:
    truth = _truth(city)
    lon, lat = wgs84_to_gcj02(truth.geometry.x.to_numpy(), truth.geometry.y.to_numpy())
    blon, blat = _bd09(lon, lat)
    for name, (x, y), system in (
        ("baidu.csv", (blon, blat), "bd09"),
        ("gps.csv", (truth.geometry.x.to_numpy(), truth.geometry.y.to_numpy()), "wgs84"),
    ):
        path = tmp_path / name
        rows = [f"{c},{a:.8f},{b:.8f}" for c, a, b in zip(truth["camera_id"], x, y, strict=True)]
        path.write_text("设备编码,经度,纬度\n" + "\n".join(rows) + "\n", encoding="utf-8")
        got = read_layers({"cameras": path, "roads": city["roads"]})
        assert got.parameters["cameras_coord_sys"] == system
        assert _error_m(got.layers["cameras"], truth).max() < 1.0
        assert system in got.decisions[0]


def test_sparse_other_layer_refuses_with_the_flag(city: dict[str, Path], tmp_path: Path) -> None:
    grids = gpd.read_file(city["grids"])
    communities = grids[grids["level"] == 1]  # a handful of large community polygons
    assert len(communities) < 10
    path = tmp_path / "communities.geojson"
    communities.to_file(path, driver="GeoJSON")
    with pytest.raises(CRSError) as err:
        read_layers({"cameras": city["ledger"], "grids": path})
    text = str(err.value)
    assert "台账.csv" in text and "--coord-sys cameras:gcj02" in text
    assert "cannot tell" in text
    # saying it resolves the run: the declared system is used, no guess is made
    from gridcover.gis.profile import LayerOptions

    got = read_layers(
        {"cameras": city["ledger"], "grids": path},
        {"cameras": LayerOptions(coord_sys="gcj02")},
    )
    assert got.decisions == () and _error_m(got.layers["cameras"], _truth(city)).max() < 1.0


def test_the_fit_measure_is_an_independent_nearest_distance(city: dict[str, Path]) -> None:
    """The reported median for gcj02 equals a brute-force nearest-road distance."""
    got = read_layers({"cameras": city["ledger"], "roads": city["roads"]})
    roads = gpd.read_file(city["roads"])
    crs = local_metric_crs(114.06, 22.54)
    pts = got.layers["cameras"].to_crs(crs).geometry.to_numpy()
    lines = roads.to_crs(crs).geometry.to_numpy()
    brute = [min(shapely.distance(p, lines)) for p in pts]
    fit = got.parameters["cameras_coord_sys_fit_m"]["gcj02"]
    assert fit == pytest.approx(float(np.median(brute)), abs=0.05)


def test_analyze_raw_ledger_without_flags(city: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    argv = ["analyze", "--grids", city["grids"], "--cameras", city["xlsx"], "--roads"]
    argv += [city["roads"], "--buildings", city["buildings"], "--out", out, "--no-progress"]
    assert main([str(a) for a in argv]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("gridcover: coordinate system: 台账.xlsx (cameras) read as gcj02")
    report = (out / "report.txt").read_text(encoding="utf-8").splitlines()
    assert report[0].startswith("Decision: coordinate system: 台账.xlsx (cameras) read as gcj02")
    # the camera is the apex of its view sector (when not snapped out of a building)
    views = gpd.read_file(out / "views.geojson")
    truth = _truth(city).set_index("camera_id").loc[views["camera_id"]]
    crs = local_metric_crs(114.06, 22.54)
    v = views.to_crs(crs).geometry.to_numpy()
    t = truth.to_crs(crs).geometry.to_numpy()
    apex = np.array(
        [
            shapely.distance(shapely.points(shapely.get_coordinates(a)), b).min()
            for a, b in zip(v, t, strict=True)
        ]
    )
    sectors = (views["fov_deg"] < 360).to_numpy() & ~views["snapped"].to_numpy(dtype=bool)
    assert sectors.sum() > 30
    assert apex[sectors].max() < 1.0


def test_analyze_catalog_xml_leaves_indoor_cameras_out(
    city: dict[str, Path], tmp_path: Path, capsys
) -> None:
    from _china_ledger import catalog_items, write_catalog_xml

    truth = _truth(city)
    xml = write_catalog_xml(tmp_path / "catalog.xml", truth)
    indoor = {i["DeviceID"] for i in catalog_items(truth) if i["Info"]["RoomType"] == 2}
    assert 15 < len(indoor) < 30
    out = tmp_path / "out"
    argv = ["analyze", "--grids", city["grids"], "--cameras", xml, "--roads", city["roads"]]
    assert main([*map(str, argv), "--out", str(out), "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("gridcover: coordinate system: catalog.xml (cameras) read as gcj02")
    assert lines[1].startswith(f"gridcover: {len(indoor)} indoor camera(s) (room_type indoor")
    views = gpd.read_file(out / "views.geojson")
    assert not indoor & set(views["camera_id"]) and len(views) == len(truth) - len(indoor)
    report = (out / "report.txt").read_text(encoding="utf-8")
    assert f"Cameras: {len(truth) - len(indoor)} (" in report


def test_every_command_that_reads_cameras_places_the_ledger(
    city: dict[str, Path], tmp_path: Path
) -> None:
    """inspect, analyze (above), site, map and report read the raw GBK ledger through their
    own argument parsing and reading path, and place every camera within 1 m."""
    from gridcover.cli import build_parser
    from gridcover.commands.layer_options import CliReader, read_given
    from gridcover.commands.map import gather_layers
    from gridcover.gis.analysis_folder import read_analysis_dir

    truth, ledger, grids = _truth(city), str(city["ledger"]), str(city["grids"])
    out = tmp_path / "cams.geojson"
    argv = ["inspect", ledger, "--kind", "cameras", "--coord-sys", "cameras:gcj02"]
    assert main([*argv, "--out", str(out)]) == 0
    placed = {"inspect": gpd.read_file(out)}
    args = build_parser("*").parse_args(
        ["site", "cameras", grids, "-k", "1", "--cameras", ledger, "--out", "x.geojson"]
    )
    placed["site"] = CliReader(args, {"grids": grids, "cameras": ledger}).layer_set.layers[
        "cameras"
    ]
    args = build_parser("*").parse_args(
        ["map", "--cameras", ledger, "--grids", grids, "--out", "m"]
    )
    placed["map"] = gather_layers(args)["cameras"]
    run = tmp_path / "run"
    base = ["analyze", "--grids", grids, "--cameras", ledger, "--roads", str(city["roads"])]
    assert main([*base, "--out", str(run), "--no-progress", "--res", "11"]) == 0
    args = build_parser("*").parse_args(["report", str(run), "--cameras", ledger])
    grid_stats = read_analysis_dir(run).get("grids")
    placed["report"] = read_given(args, {"cameras": ledger}, {"grids": grid_stats})["cameras"]
    for command, cams in placed.items():
        assert _error_m(cams, truth).max() < 1.0, command
