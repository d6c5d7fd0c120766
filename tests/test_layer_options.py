"""One set of layer options for every command, import profiles, and the same profile giving the
same layer through the CLI, the Python API and an upload (read back over HTTP).

Data: the real sample cameras moved to Shenzhen (tests/_china_ledger.py) written as an XLSX
ledger whose headers and values the tables do not know; Chicago police stations for the
"(lat, lon)" text column; Helsinki OSM highways for the mixed-geometry road layer."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

import api_write_data as w
from _china_ledger import ledger_rows, metres_apart, truth_cameras
from gridcover.cli import build_parser, main
from gridcover.errors import InputError, SchemaError
from gridcover.gis import read_layer
from gridcover.gis.profile import load_profile

DATA = Path(__file__).parent / "data"
PROFILE = """\
[cameras]
coord_sys = "gcj02"
layer = "点位"

[cameras.columns]
"镜头朝向" = "azimuth_deg"
"备注" = ""

[cameras.values.status]
"正常在用" = "online"
"报修" = "offline"
"""


def _odd_ledger(path: Path, cams: gpd.GeoDataFrame) -> Path:
    """An XLSX whose azimuth header (镜头朝向) and status words the tables do not know."""
    import openpyxl

    rows = ledger_rows(cams)
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表由街道综治中心维护"])
    ws = book.create_sheet("点位")
    head = [("镜头朝向" if h == "方向角" else h) for h in rows[0]] + ["备注"]
    ws.append(head)
    status = {"在线": "正常在用", "离线": "报修", "未知": "正常在用"}
    for r in rows:
        r = {**r, "在线状态": status[str(r["在线状态"])]}
        ws.append([*r.values(), "无"])
    book.save(path)
    return path


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, gpd.GeoDataFrame]:
    folder = tmp_path_factory.mktemp("profile")
    truth = truth_cameras()
    truth["camera_id"] = [f"44030400001320{i:06d}" for i in range(len(truth))]
    xlsx = _odd_ledger(folder / "街道台账.xlsx", truth)
    profile = folder / "cameras.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    return xlsx, profile, truth


def _canon(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    cols = ["camera_id", "azimuth_deg", "fov_deg", "type", "status", "ptz_type", "owner"]
    out = pd.DataFrame(gdf[cols]).sort_values("camera_id").reset_index(drop=True)
    geom = gdf.sort_values("camera_id").geometry
    out["x"], out["y"] = geom.x.to_numpy(), geom.y.to_numpy()
    return out.astype({"ptz_type": float})


def test_same_profile_same_layer_through_cli_python_and_upload(
    ledger: tuple[Path, Path, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    xlsx, profile, truth = ledger
    py = read_layer(xlsx, "cameras", profile=profile)
    assert (
        metres_apart(
            py.set_index("camera_id").geometry.loc[truth["camera_id"]].reset_index(drop=True),
            truth.geometry,
        ).max()
        < 1.0
    )
    known = truth["azimuth_deg"].notna().to_numpy()
    assert np.allclose(py["azimuth_deg"].to_numpy()[known], truth["azimuth_deg"][known])
    assert (
        py["status"].to_numpy() == np.where(truth["status"] == "offline", "offline", "online")
    ).all()
    assert "备注" not in py.attrs["gridcover"]["sources"].values()  # "" = not mapped (kept)
    # CLI
    out = tmp_path / "cli.geojson"
    assert (
        main(
            [
                "inspect",
                str(xlsx),
                "--kind",
                "cameras",
                "--profile",
                str(profile),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    cli = gpd.read_file(out, dtype_backend=None)
    # upload with the profile as a form field, read back over HTTP (GeoJSON items)
    settings = w.settings_for("gpkg", tmp_path / "store")
    w.fill_store(settings)
    admin = {"X-API-Key": w.add_key(settings, "admin")}
    with TestClient(_app(settings)) as client:
        r = client.put(
            "/layers/cameras",
            files={"file": (xlsx.name, xlsx.read_bytes())},
            data={"profile": profile.read_text(encoding="utf-8")},
            headers=admin,
        )
        assert r.status_code in (200, 201), r.text
        items = client.get("/collections/cameras/items?limit=1000", headers=admin).json()
    api = gpd.GeoDataFrame.from_features(items["features"], crs=4326)
    api["camera_id"] = [f["id"] for f in items["features"]]
    a, b, c = _canon(py), _canon(cli), _canon(api)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    pd.testing.assert_frame_equal(a, c, check_dtype=False)


def _app(settings):  # the app factory, imported only where a test needs the web layer
    from gridcover.api.app import create_app

    return create_app(settings)


def test_upload_columns_field_and_bad_profile_field(tmp_path: Path) -> None:
    settings = w.settings_for("gpkg", tmp_path / "store")
    w.fill_store(settings)
    admin = {"X-API-Key": w.add_key(settings, "admin")}
    stations = (DATA / "chicago-cameras-police" / "police_stations.csv").read_bytes()
    with TestClient(_app(settings)) as client:
        r = client.put(
            "/layers/posts",
            files={"file": ("stations.csv", stations)},
            data={"columns": json.dumps({"ADDRESS": "name"})},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        items = client.get("/collections/posts/items?limit=100", headers=admin).json()
        src = pd.read_csv(DATA / "chicago-cameras-police" / "police_stations.csv", dtype=str)
        got = {f["id"]: f["properties"]["name"] for f in items["features"]}
        assert got == dict(zip(src["DISTRICT"], src["ADDRESS"].str.strip(), strict=True))
        r = client.put(
            "/layers/posts",
            files={"file": ("stations.csv", stations)},
            data={"profile": "[posts]\ncoord = 'gcj02'\n"},
            headers=admin,
        )
        assert r.status_code == 400
        assert "unknown key 'coord'" in r.text and "coord_sys" in r.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[cameras]\ncoordsys = 'gcj02'\n",
            r"\[cameras\]: unknown key 'coordsys'; fix: use only crs, coord_sys",
        ),
        (
            "[camera]\ncoord_sys = 'gcj02'\n",
            r"'camera' is not a layer kind; fix: name the table after one of grids, cameras",
        ),
        (
            "[cameras.columns]\n'方位' = 'azimuth'\n",
            r"'azimuth' is not a canonical column of cameras; fix: map it to one of camera_id, "
            r"azimuth_deg",
        ),
        (
            "[cameras.values.status]\n'正常' = 'working'\n",
            r"maps '正常' to 'working', which status does not allow; map it to one of online, "
            r"offline, unknown",
        ),
        ("[cameras]\ncoord_sys = 'wgs'\n", r"'wgs' is unknown; fix: use wgs84, gcj02, bd09"),
        ("[cameras\n", r"not valid TOML"),
    ],
)
def test_profile_errors_name_the_file_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError, match=message) as err:
        load_profile(path)
    assert str(path) in str(err.value)


def test_write_profile_reads_back_the_same_layer(tmp_path: Path) -> None:
    from _china_ledger import write_gbk_csv

    truth = truth_cameras().head(40)
    csv = write_gbk_csv(tmp_path / "台账.csv", truth)
    prof = tmp_path / "p.toml"
    argv = ["inspect", str(csv), "--kind", "cameras", "--coord-sys", "gcj02"]
    assert main([*argv, "--write-profile", str(prof)]) == 0
    loaded = load_profile(prof).for_kind("cameras")
    assert loaded.coord_sys == "gcj02" and loaded.encoding in ("gb18030", "gbk")
    assert loaded.columns["方向角"] == "azimuth_deg" and loaded.columns["分辨率"] == "resolution_px"
    auto = read_layer(csv, "cameras", coord_sys="gcj02")
    again = read_layer(csv, "cameras", profile=prof)
    cols = [c for c in auto.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(auto[cols]), pd.DataFrame(again[cols]))
    assert auto.geometry.geom_equals_exact(again.geometry, 1e-12).all()


COMMANDS = {
    "inspect": ["inspect", "f.csv", "--kind", "cameras"],
    "check": ["check", "g.geojson"],
    "analyze": ["analyze", "--grids", "g", "--cameras", "c", "--out", "o"],
    "patrol": ["patrol", "g", "p", "--out", "o.geojson"],
    "site": ["site", "cameras", "g", "-k", "1", "--out", "o.geojson"],
    "map": ["map", "--out", "m.html"],
    "report": ["report", "out"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_takes_the_same_layer_options(command: str) -> None:
    kind = "grids" if command == "check" else "cameras"
    if command == "patrol":
        kind = "posts"
    opts = ["--profile", "p.toml", "--column", f"{kind}:方位=name"]
    opts += ["--value", f"{kind}:type:枪机A=bullet", "--const", f"{kind}:name=x"]
    opts += ["--crs", f"{kind}:EPSG:4547", "--coord-sys", f"{kind}:gcj02"]
    opts += ["--encoding", "gbk", "--layer", f"{kind}:台账"]
    args = build_parser("*").parse_args([*COMMANDS[command], *opts])
    assert args.column == [f"{kind}:方位=name"] and args.coord_sys == [f"{kind}:gcj02"]
    assert args.crs == [f"{kind}:EPSG:4547"] and args.profile == Path("p.toml")


def test_options_split_by_kind_and_wrong_kind_is_named(tmp_path: Path) -> None:
    from gridcover.commands.layer_options import options_from_args

    args = build_parser("*").parse_args(
        ["analyze", "--grids", "g", "--cameras", "c", "--out", "o", "--crs", "EPSG:4490",
         "--coord-sys", "cameras:gcj02", "--const", "grids:level=2", "--const", "grids:code=01",
         "--value", "cameras:type:枪机A=bullet"]
    )  # fmt: skip
    opts = options_from_args(args, ["grids", "cameras"])
    assert opts["cameras"].coord_sys == "gcj02" and opts["grids"].coord_sys is None
    assert opts["grids"].crs == opts["cameras"].crs == "EPSG:4490"  # no KIND: = every layer
    assert opts["grids"].constants == {"level": 2, "code": "01"}  # a code stays text
    assert opts["cameras"].values == {"type": {"枪机A": "bullet"}}
    args.coord_sys = ["posts:gcj02"]
    with pytest.raises(InputError, match="this command reads no 'posts' layer"):
        options_from_args(args, ["grids", "cameras"])


def test_lat_lon_text_column_and_generated_post_ids(tmp_path: Path) -> None:
    src = pd.read_csv(DATA / "chicago-cameras-police" / "police_stations.csv", dtype=str)
    path = tmp_path / "stations.csv"
    src[["DISTRICT NAME", "LOCATION"]].rename(columns={"DISTRICT NAME": "name"}).to_csv(
        path, index=False
    )
    posts = read_layer(path, "posts", constants={"kind": "station"})
    rep = posts.attrs["gridcover"]
    assert rep["coordinates_from"] == "LOCATION (lat, lon)"
    assert posts["post_id"].tolist() == [str(i) for i in range(1, len(src) + 1)]
    assert any("post_id generated from the row order" in n for n in rep["notes"])
    lat = src["LATITUDE"].astype(float).to_numpy()
    lon = src["LONGITUDE"].astype(float).to_numpy()
    assert np.allclose(posts.geometry.x, lon, atol=1e-6) and np.allclose(
        posts.geometry.y, lat, atol=1e-6
    )
    with pytest.raises(
        SchemaError, match=r"constants=\{'kind': 'station'\} \(CLI: --const posts:kind=station"
    ):
        read_layer(path, "posts")


def test_mixed_geometry_roads_keep_lines_and_count_drops(tmp_path: Path) -> None:
    roads = gpd.read_file(DATA / "helsinki-osm-center" / "highways.geojson").head(300)
    geoms = roads.geometry.to_numpy().copy()
    first = geoms[0]
    geoms[1] = shapely.GeometryCollection([geoms[1], first.centroid])  # line + point
    geoms[2] = geoms[2].centroid  # a stray point
    geoms[3] = shapely.GeometryCollection([first.centroid, first.buffer(0.0001)])  # no line
    roads = roads.set_geometry(gpd.GeoSeries(geoms, crs=roads.crs))
    path = tmp_path / "mixed.geojson"
    roads.to_file(path, driver="GeoJSON")
    got = read_layer(path, "roads")
    rep = got.attrs["gridcover"]
    assert len(got) == 298 and len(rep["dropped"]) == 2
    notes = " ".join(rep["notes"])
    assert "1 mixed geometr(ies) reduced to their roads-type parts" in notes
    assert (
        "2 feature(s) dropped from this optional roads layer: 1 Point, 1 GeometryCollection"
        in notes
    )
    kept = got.set_index("road_id").geometry
    assert kept.geom_type.isin(["LineString", "MultiLineString"]).all()
    # the reduced row keeps exactly its line (checked with GDAL's own read of the file)
    import pyogrio

    gdal = pyogrio.read_dataframe(path)
    assert gdal.geometry.iloc[1].geom_type == "GeometryCollection"
    line = next(g for g in gdal.geometry.iloc[1].geoms if g.geom_type == "LineString")
    assert got.geometry.iloc[1].equals(line)
    # a required layer stays strict: the same mix as posts is refused row by row
    pts = roads.copy()
    pts["kind"] = "station"
    pts.to_file(tmp_path / "posts.geojson", driver="GeoJSON")
    with pytest.raises(InputError, match="is a LineString, but kind 'posts' needs Point"):
        read_layer(tmp_path / "posts.geojson", "posts")


def test_grid_codes_are_never_guessed_from_osm_ids_or_half_empty_columns(tmp_path: Path) -> None:
    beats = gpd.read_file(DATA / "chicago-cameras-police" / "police_beats_2014.geojson").head(6)
    osm = beats[["geometry"]].assign(osm_id=[101, 102, None, 104, 105, 106], level=1)
    osm.to_file(tmp_path / "osm.geojson", driver="GeoJSON")
    with pytest.raises(SchemaError, match=r"no column found for required 'code'.*--column grids:"):
        read_layer(tmp_path / "osm.geojson", "grids")
    half = beats[["geometry"]].assign(编码=["a", "b", None, "d", None, "f"], level=1)
    half["网格号"] = beats["BEAT_NUM"].to_numpy()
    half.to_file(tmp_path / "half.geojson", driver="GeoJSON")
    with pytest.raises(InputError) as err:
        read_layer(tmp_path / "half.geojson", "grids")
    text = str(err.value)
    assert "features 2, 4: has no code" in text and "column '编码' was taken as code" in text
    assert "--column grids:COLUMN=code" in text
    fixed = read_layer(tmp_path / "half.geojson", "grids", columns={"网格号": "code"})
    assert fixed["code"].tolist() == beats["BEAT_NUM"].tolist()


def test_upload_of_a_gcj02_ledger_is_fitted_to_the_stored_layers(tmp_path: Path) -> None:
    """The upload route settles the coordinate system like the CLI: against stored roads."""
    from _china_ledger import moved_layers, write_gbk_csv

    layers = moved_layers(tmp_path / "city")
    truth = truth_cameras()
    truth["camera_id"] = [f"44030400001320{i:06d}" for i in range(len(truth))]
    ledger = write_gbk_csv(tmp_path / "台账.csv", truth)
    settings = w.settings_for("gpkg", tmp_path / "store")
    w.fill_store(settings)  # Chicago layers, far away: no evidence, not an error
    admin = {"X-API-Key": w.add_key(settings, "admin")}
    with TestClient(_app(settings)) as client:
        r = client.put(
            "/layers/roads",
            files={"file": ("roads.geojson", layers["roads"].read_bytes())},
            headers=admin,
        )
        assert r.status_code in (200, 201), r.text
        r = client.put(
            "/layers/cameras", files={"file": (ledger.name, ledger.read_bytes())}, headers=admin
        )
        assert r.status_code == 200, r.text
        assert r.json()["decisions"][0].startswith(
            "coordinate system: 台账.csv (cameras) read as gcj02"
        )
        items = client.get("/collections/cameras/items?limit=1000", headers=admin).json()
    got = gpd.GeoDataFrame.from_features(items["features"], crs=4326)
    got["camera_id"] = [f["id"] for f in items["features"]]
    placed = got.set_index("camera_id").geometry.loc[truth["camera_id"]].reset_index(drop=True)
    assert metres_apart(placed, truth.geometry).max() < 1.0
