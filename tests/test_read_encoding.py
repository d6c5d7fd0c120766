"""Text encodings: GBK/GB18030 DBFs without .cpg, the DBF language driver byte, CSV BOMs,
GB18030 CSVs with Chinese headers."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from gridcover.errors import InputError
from gridcover.gis import read_layer
from gridcover.gis.encoding import detect_dbf_encoding, detect_text_encoding

DATA = Path(__file__).parent / "data"
SZ = DATA / "china-districts-cnmaps" / "shenzhen_districts_wgs84.geojson"
BJ = DATA / "china-districts-cnmaps" / "beijing_districts_wgs84.geojson"
CAMS = DATA / "helsinki-osm-center" / "surveillance_cameras.geojson"
COLS = {"adcode": "code", "district": "name"}


def _shapefile(tmp: Path, src: Path, encoding: str, keep_cpg: bool = False) -> Path:
    gdf = gpd.read_file(src)[["adcode", "district", "city", "geometry"]]
    path = tmp / "districts.shp"
    gdf.to_file(path, encoding=encoding, engine="pyogrio")
    if not keep_cpg:
        path.with_suffix(".cpg").unlink()
    return path


@pytest.mark.parametrize("src", [SZ, BJ], ids=["shenzhen", "beijing"])
def test_gbk_shapefile_without_cpg_reads_right_chinese_names(tmp_path: Path, src: Path) -> None:
    path = _shapefile(tmp_path, src, "GBK")
    expected = gpd.read_file(src)["district"].tolist()
    naive = pyogrio.read_dataframe(path)["district"].tolist()
    assert naive != expected  # GDAL alone (no .cpg) gets them wrong: the test can fail
    gdf = read_layer(path, "grids", columns=COLS)
    assert gdf["name"].tolist() == expected
    assert gdf["city"].iloc[0] == gpd.read_file(src)["city"].iloc[0]
    rep = gdf.attrs["gridcover"]
    assert rep["encoding"] == "gb18030" and "no .cpg file" in rep["encoding_reason"]


def test_cpg_file_is_honoured_and_reported(tmp_path: Path) -> None:
    path = _shapefile(tmp_path, SZ, "GBK", keep_cpg=True)
    guess = detect_dbf_encoding(path)
    assert guess.encoding == "gb18030" and "districts.cpg (GBK)" in guess.reason
    assert read_layer(path, "grids", columns=COLS)["name"].iloc[0] == "罗湖区"


def test_utf8_shapefile_without_cpg(tmp_path: Path) -> None:
    path = _shapefile(tmp_path, SZ, "UTF-8")
    gdf = read_layer(path, "grids", columns=COLS)
    assert gdf["name"].iloc[1] == "福田区"
    assert gdf.attrs["gridcover"]["encoding"] == "utf-8"


def _latin_shapefile(tmp: Path, ldid: int) -> tuple[Path, list[str]]:
    gdf = gpd.read_file(CAMS).head(3)[["osm_id", "geometry"]]
    names = ["Töölön kirjasto", "Kämp Säätytalo", "Eläintarha"]
    gdf["name"] = names
    path = tmp / "cams.shp"
    gdf.to_file(path, encoding="cp1252", engine="pyogrio")
    path.with_suffix(".cpg").unlink()
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[29] = ldid
    dbf.write_bytes(bytes(raw))
    return path, names


def test_dbf_language_driver_byte_names_the_code_page(tmp_path: Path) -> None:
    path, names = _latin_shapefile(tmp_path, 0x57)
    gdf = read_layer(path, "cameras")
    assert gdf["name"].tolist() == names
    assert "language driver byte 0x57" in gdf.attrs["gridcover"]["encoding_reason"]


def test_unknown_8bit_text_without_cpg_or_ldid_asks_for_encoding(tmp_path: Path) -> None:
    path, names = _latin_shapefile(tmp_path, 0x00)
    with pytest.raises(InputError, match=r"no \.cpg file.*encoding='cp1252'"):
        read_layer(path, "cameras")
    assert read_layer(path, "cameras", encoding="cp1252")["name"].tolist() == names


def _chinese_csv(path: Path, encoding: str, swap: bool = False) -> list[dict[str, str]]:
    rows = [
        {
            "设备编码": "44030000001320000001",
            "经度": "114.0579",
            "纬度": "22.5431",
            "朝向": "东北",
            "类型": "球机",
            "状态": "在线",
            "名称": "福田口岸",
        },
        {
            "设备编码": "44030000001320000002",
            "经度": "113.9305",
            "纬度": "22.5333",
            "朝向": "180",
            "类型": "枪机",
            "状态": "离线",
            "名称": "南山区政府",
        },
        {
            "设备编码": "00030000001320000003",
            "经度": "114.1315",
            "纬度": "22.5484",
            "朝向": "",
            "类型": "半球",
            "状态": "",
            "名称": "罗湖站",
        },
    ]
    if swap:
        rows = [{**r, "经度": r["纬度"], "纬度": r["经度"]} for r in rows]
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8", "utf-8-sig"])
def test_chinese_csv_headers_values_and_20_digit_codes(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "cams.csv"
    rows = _chinese_csv(path, encoding)
    gdf = read_layer(path, "cameras")
    assert gdf["camera_id"].tolist() == [r["设备编码"] for r in rows]  # 20 digits, zeros kept
    assert gdf["azimuth_deg"].tolist()[:2] == [45.0, 180.0]
    assert gdf["type"].tolist() == ["ptz", "bullet", "dome"]
    assert gdf["status"].tolist() == ["online", "offline", "unknown"]
    assert gdf["名称"].tolist() == [r["名称"] for r in rows]
    assert gdf.geometry.x.tolist() == [float(r["经度"]) for r in rows]
    want = {"gbk": "gb18030", "gb18030": "gb18030"}.get(encoding, encoding)
    assert gdf.attrs["gridcover"]["encoding"] == want
    assert detect_text_encoding(path).encoding == want


def test_chinese_csv_with_swapped_columns_gets_swap_hint(tmp_path: Path) -> None:
    path = tmp_path / "swapped.csv"
    _chinese_csv(path, "gb18030", swap=True)
    with pytest.raises(InputError, match=r"rows 1, 2, 3 .*swapped\?"):
        read_layer(path, "cameras")
