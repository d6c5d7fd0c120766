"""Camera ledgers as they exist in China: GBK CSV with Chinese headers, XLSX with a title row,
GB/T 28181 Catalog XML, KML; GCJ-02 positions placed within 1 m of the truth; codes become
canonical values. The ledgers are made from the real sample cameras (tests/_china_ledger.py),
shifted to GCJ-02 with an independent formula, and the truth is their WGS84 position."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from _china_ledger import (
    catalog_items,
    direction_code,
    metres_apart,
    truth_cameras,
    write_catalog_xml,
    write_gbk_csv,
    write_kml,
    write_xlsx,
)
from gridcover.errors import InputError, SchemaError
from gridcover.gis import read_layer


@pytest.fixture(scope="module")
def truth() -> gpd.GeoDataFrame:
    cams = truth_cameras()
    cams["camera_id"] = [f"44030400001320{i:06d}" for i in range(len(cams))]
    return cams


def _placed(gdf: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> np.ndarray:
    got = gdf.set_index("camera_id").geometry.loc[truth["camera_id"]]
    return metres_apart(got.reset_index(drop=True), truth.geometry.reset_index(drop=True))


def test_gbk_csv_ledger_with_chinese_headers(tmp_path: Path, truth: gpd.GeoDataFrame) -> None:
    path = write_gbk_csv(tmp_path / "台账.csv", truth)
    cams = read_layer(path, "cameras", coord_sys="gcj02")
    rep = cams.attrs["gridcover"]
    assert rep["encoding"] in ("gb18030", "gbk")
    assert len(cams) == len(truth) == 221
    assert _placed(cams, truth).max() < 1.0
    # the raw ledger is ~500 m off before the offset is removed (what the issue saw)
    raw = read_layer(path, "cameras")
    assert np.median(_placed(raw, truth)) > 300
    by_id = cams.set_index("camera_id")
    t = truth.set_index("camera_id")
    # 方向角 is the azimuth: bullets keep their direction (no silent 360° circles)
    has = t["azimuth_deg"].notna()
    assert has.sum() > 100
    assert np.allclose(by_id.loc[has[has].index, "azimuth_deg"], t.loc[has, "azimuth_deg"])
    # PTZType codes in 摄像机结构类型 give both ptz_type and the camera type
    assert (by_id["type"] == t["type"]).all()
    codes = {"ptz": 1, "dome": 2, "bullet": 3, "other": 0}
    assert (by_id["ptz_type"] == t["type"].map(codes)).all()
    assert set(by_id["status"]) <= {"online", "offline", "unknown"}
    assert (by_id["status"] == t["status"]).all()
    # 建设单位: owner class from the words, the text kept as owner_name
    public = by_id["owner_name"].str.contains("公安")
    assert (by_id.loc[public, "owner"] == "public_security").all()
    assert (by_id.loc[~public, "owner"] == "community").all()
    assert (by_id["height_m"] == 6.0).all() and (by_id["resolution_px"] == 1920).all()
    assert (by_id["resolution"] == "1920*1080").all()
    assert (by_id["supply_light"] == "infrared").all()
    assert rep["id_from"] == "'设备编码'"


def test_xlsx_ledger_title_row_and_named_sheet(tmp_path: Path, truth: gpd.GeoDataFrame) -> None:
    path = write_xlsx(tmp_path / "台账.xlsx", truth)
    cams = read_layer(path, "cameras", coord_sys="gcj02", layer="摄像机台账")
    assert _placed(cams, truth).max() < 1.0
    assert cams["camera_id"].str.len().eq(20).all()  # numbers typed in Excel stay exact
    notes = cams.attrs["gridcover"]["notes"]
    assert any("headers are on row 2" in n for n in notes)
    with pytest.raises(InputError, match="no sheet 'x'; the sheets are: 摄像机台账"):
        read_layer(path, "cameras", layer="x")


def test_xlsx_without_coordinates_names_file_and_fix(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["设备编码", "点位名称", "方向角"])
    book.active.append(["44030400001320000001", "福田点位1", 90])
    path = tmp_path / "no_coords.xlsx"
    book.save(path)
    with pytest.raises(InputError) as err:
        read_layer(path, "cameras")
    text = str(err.value)
    assert "no_coords.xlsx" in text and "no coordinate columns found" in text
    assert "经度/纬度" in text and "Rename the coordinate columns" in text


def test_gbt28181_catalog_xml_codes(tmp_path: Path, truth: gpd.GeoDataFrame) -> None:
    path = write_catalog_xml(tmp_path / "catalog.xml", truth)
    cams = read_layer(path, "cameras", coord_sys="gcj02")
    rep = cams.attrs["gridcover"]
    assert rep["format"] == "GB/T 28181 XML"
    assert any("1 catalogue item(s) are not cameras" in n for n in rep["notes"])
    assert len(cams) == len(truth)
    assert _placed(cams, truth).max() < 1.0
    items = pd.DataFrame(catalog_items(truth)).set_index("DeviceID")
    info = pd.DataFrame(list(items["Info"]), index=items.index)
    got = cams.set_index("camera_id").loc[items.index]
    ptz = {0: "other", 1: "ptz", 2: "dome", 3: "bullet", 4: "bullet"}
    assert (got["type"] == info["PTZType"].map(ptz)).all()
    assert (got["ptz_type"] == info["PTZType"]).all()
    assert (got["status"] == items["Status"].map({"ON": "online", "OFF": "offline"})).all()
    assert (got["position_type"] == info["PositionType"]).all()
    assert (got["room_type"] == info["RoomType"].map({1: "outdoor", 2: "indoor"})).all()
    assert (
        got["use_type"] == info["UseType"].map({1: "public_order", 2: "traffic", 3: "key_site"})
    ).all()
    light = {1: "none", 2: "infrared", 3: "white"}
    assert (got["supply_light"] == info["SupplyLightType"].map(light)).all()
    assert got["resolution_px"].tolist() == [
        {"6/4": 1920, "2560*1440": 2560, "5": 1280}[r] for r in info["Resolution"]
    ]
    assert (got["civil_code"] == "440304").all() and (got["name"] == items["Name"]).all()
    assert (
        got["owner"] == np.where(items["Owner"].str.contains("公安"), "public_security", "social")
    ).all()
    # DirectionType 1-8 -> the compass azimuth, within 22.5° of the real one, noted
    t = truth.set_index("camera_id").loc[items.index, "azimuth_deg"]
    known = t.notna().to_numpy()
    diff = np.abs((got["azimuth_deg"].to_numpy()[known] - t.to_numpy()[known] + 180) % 360 - 180)
    assert known.sum() > 100 and diff.max() <= 22.5
    assert got["azimuth_deg"].isna().to_numpy()[~known].all()
    assert any("±22.5°" in n for n in rep["notes"])
    assert direction_code(100.0) == 1  # the helper rounds to the nearest compass point


def test_catalog_xml_that_is_not_a_catalog_response(tmp_path: Path) -> None:
    path = tmp_path / "keepalive.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><Notify><CmdType>Keepalive</CmdType>'
        "<SN>1</SN><DeviceID>44030400002000000001</DeviceID><Status>OK</Status></Notify>",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"keepalive.xml: this is not a GB/T 28181 Catalog"):
        read_layer(path, "cameras")
    path.write_text("<Response><CmdType>DeviceInfo</CmdType></Response>", encoding="utf-8")
    with pytest.raises(InputError, match=r"found CmdType 'DeviceInfo'.*Catalog query"):
        read_layer(path, "cameras")


def test_kml_and_kmz_placemarks(tmp_path: Path, truth: gpd.GeoDataFrame) -> None:
    kml = write_kml(tmp_path / "cams.kml", truth)
    cams = read_layer(kml, "cameras", coord_sys="gcj02")
    assert _placed(cams, truth).max() < 1.0
    assert (
        cams.set_index("camera_id").loc[truth["camera_id"], "type"].to_numpy() == truth["type"]
    ).all()
    kmz = tmp_path / "cams.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.write(kml, "doc.kml")
    again = read_layer(kmz, "cameras", coord_sys="gcj02")
    assert again.geometry.geom_equals(cams.geometry).all()
    # GDAL reads the same placemarks at the same raw (GCJ-02) coordinates: a second reader
    gdal = pyogrio.read_dataframe(kml)
    raw = read_layer(kml, "cameras")
    assert np.allclose(gdal.geometry.x, raw.geometry.x) and np.allclose(
        gdal.geometry.y, raw.geometry.y
    )


def test_kml_with_an_unsupported_geometry(tmp_path: Path) -> None:
    path = tmp_path / "model.kml"
    path.write_text(
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<Placemark><name>a</name><Point><coordinates>114.05,22.54</coordinates></Point>"
        "</Placemark><Placemark><name>楼</name><Model><Location><longitude>114.05"
        "</longitude></Location></Model></Placemark></Document></kml>",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"model.kml: placemark 2 \('楼'\) holds a Model.*fix"):
        read_layer(path, "cameras")


def test_value_map_and_its_errors(tmp_path: Path, truth: gpd.GeoDataFrame) -> None:
    path = write_gbk_csv(tmp_path / "ledger.csv", truth.head(10))
    text = path.read_bytes().decode("gbk").replace(",在线,", ",正常在用,")
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(InputError, match=r"'正常在用' is not a known camera status.*--value"):
        read_layer(path, "cameras")
    cams = read_layer(path, "cameras", values={"status": {"正常在用": "online"}})
    assert (cams["status"] == truth.head(10)["status"].to_numpy()).all()
    with pytest.raises(SchemaError, match=r"maps '正常在用' to 'working'.*map it to one of online"):
        read_layer(path, "cameras", values={"status": {"正常在用": "working"}})


def test_gbt28181_ledger_export_as_csv_reads_like_the_xml(
    tmp_path: Path, truth: gpd.GeoDataFrame
) -> None:
    """A platform's ledger export with the standard's field names as CSV columns."""
    items = catalog_items(truth)
    rows = [{**{k: v for k, v in i.items() if k != "Info"}, **i["Info"]} for i in items]
    path = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    from_csv = read_layer(path, "cameras", coord_sys="gcj02")
    from_xml = read_layer(
        write_catalog_xml(tmp_path / "c.xml", truth), "cameras", coord_sys="gcj02"
    )
    cols = ["camera_id", "type", "status", "azimuth_deg", "ptz_type", "room_type", "use_type"]
    cols += ["position_type", "supply_light", "resolution_px", "civil_code", "owner", "name"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(from_csv[cols]), pd.DataFrame(from_xml[cols]), check_dtype=False
    )
    assert from_csv.geometry.geom_equals_exact(from_xml.geometry, 1e-9).all()
