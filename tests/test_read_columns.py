"""Column mapping: OSM tags, compass words, Chinese headers, explicit columns=, exact codes."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from gridcover.errors import SchemaError, ValidationReport
from gridcover.gis import read_layer
from gridcover.gis.columns import ALIASES, plan_columns
from gridcover.gis.values import parse_approach, parse_degrees, parse_length_m

DATA = Path(__file__).parent / "data"
CAMS = DATA / "helsinki-osm-center" / "surveillance_cameras.geojson"
BEATS = DATA / "chicago-cameras-police" / "police_beats_2014.geojson"


def _features(path: Path, n: int) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"][:n]


def _write(path: Path, feats: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "deg"),
    [
        ("N", 0),
        ("NE", 45),
        ("ene", 67.5),
        ("SW", 225),
        ("NNW", 337.5),
        ("north", 0),
        ("South-West", 225),
        ("东北", 45),
        ("正南", 180),
        ("270", 270),
        ("45°", 45),
        ("12,5", 12.5),
        ("90;180", 90),
    ],
)
def test_directions(text: str, deg: float) -> None:
    assert parse_degrees(text) == deg


@pytest.mark.parametrize(
    ("code", "deg"),
    [("NB", 180), ("SB", 0), ("EB", 270), ("WB", 90), ("NEB", 225), ("SEB", 315), ("NWB", 135)],
)
def test_approach_codes_face_the_oncoming_traffic(code: str, deg: float) -> None:
    assert parse_approach(code) == deg


@pytest.mark.parametrize(
    ("text", "m"),
    [
        ("4", 4.0),
        ("4 m", 4.0),
        ("4.5m", 4.5),
        ("12 ft", 12 * 0.3048),
        ("12'", 12 * 0.3048),
        ("5'6\"", 5.5 * 0.3048),
        ("3米", 3.0),
        ("7,5", 7.5),
    ],
)
def test_lengths(text: str, m: float) -> None:
    assert np.isclose(parse_length_m(text), m)


def test_osm_camera_tags(tmp_path: Path) -> None:
    feats = _features(CAMS, 6)
    tags = [
        {"camera:direction": "NE", "camera:type": "fixed", "height": "4 m"},
        {"direction": "270", "camera:type": "panning", "camera:angle": "15"},
        {"camera:type": "dome", "revolving": "yes", "camera:direction": "90"},
        {"height": "12 ft", "surveillance:type": "ALPR"},
        {"camera:direction": "SSW", "direction": "10"},
        {},
    ]
    for f, t in zip(feats, tags, strict=True):
        f["properties"] = {"osm_id": f["properties"]["osm_id"], **t}
    gdf = read_layer(_write(tmp_path / "c.geojson", feats), "cameras")
    az = gdf["azimuth_deg"].tolist()
    assert az[0] == 45 and az[1] == 270 and np.isnan(az[2]) and np.isnan(az[3]) and az[4] == 202.5
    assert gdf["type"].tolist() == ["bullet", "ptz", "ptz", "other", "other", "other"]
    assert np.allclose(gdf["height_m"].fillna(-1), [4, -1, -1, 12 * 0.3048, -1, -1])
    assert gdf["camera:angle"].iloc[1] == "15"  # tilt, not field of view: kept, not mapped
    assert gdf["fov_deg"].isna().all()
    assert gdf["surveillance:type"].iloc[3] == "ALPR"
    assert gdf["camera_id"].tolist() == [f"osm-node-{f['properties']['osm_id']}" for f in feats]


def test_osm_guards_are_not_cameras(tmp_path: Path) -> None:
    """OSM man_made=surveillance also maps human guards (surveillance:type=guard): they are
    left out of a camera layer, named in a note and in 'dropped'."""
    feats = _features(CAMS, 8)
    for k in (2, 5):
        feats[k]["properties"]["surveillance:type"] = "Guard"
    feats[6]["properties"]["surveillance:type"] = "camera"
    gdf = read_layer(_write(tmp_path / "c.geojson", feats), "cameras")
    ids = [f"osm-node-{f['properties']['osm_id']}" for f in feats]
    assert gdf["camera_id"].tolist() == [i for k, i in enumerate(ids) if k not in (2, 5)]
    rep = gdf.attrs["gridcover"]
    assert rep["dropped"] == [2, 5] and rep["rows_read"] == 8 and rep["rows"] == 6
    note = f"features 2, 5 (camera_id '{ids[2]}', '{ids[5]}') left out: OSM surveillance:type"
    assert any(n.startswith(note) for n in rep["notes"])


def test_integer_ids_are_not_renumbered(tmp_path: Path) -> None:
    feats = _features(CAMS, 3)
    ids = [9007199254740993, 7, 123456789012345678]  # > 2**53, small, 18 digits
    for f, i in zip(feats, ids, strict=True):
        f["properties"] = {"camera_id": i}
    gdf = read_layer(_write(tmp_path / "ids.geojson", feats), "cameras")
    assert gdf["camera_id"].tolist() == [str(i) for i in ids]


def test_geopackage_fids_are_kept_as_ids_and_in_messages(tmp_path: Path) -> None:
    """Streets without an id column take the GeoPackage FID (10, 20, 35, 36 here), not a
    0..n-1 renumbering; messages name the same FID."""
    prague = DATA / "prague-bubenec-momepy" / "bubenec.gpkg"
    streets = gpd.read_file(prague, layer="streets").head(4)[["geometry"]]
    streets["fid"] = np.array([10, 20, 35, 36], dtype="int64")  # GDAL's GPKG FID column
    path = tmp_path / "streets.gpkg"
    pyogrio.write_dataframe(streets, path, layer="streets")
    assert pyogrio.read_dataframe(path, fid_as_index=True).index.tolist() == [10, 20, 35, 36]
    assert read_layer(path, "roads")["road_id"].tolist() == ["10", "20", "35", "36"]
    streets.loc[1, "geometry"] = streets.geometry.iloc[1].centroid
    pyogrio.write_dataframe(streets, tmp_path / "bad.gpkg", layer="streets")
    # roads are an optional context layer: the stray point is dropped, named by its FID
    bad = read_layer(tmp_path / "bad.gpkg", "roads")
    assert bad["road_id"].tolist() == ["10", "35", "36"]
    assert bad.attrs["gridcover"]["dropped"] == [20]
    assert any("1 Point holding no LineString" in n for n in bad.attrs["gridcover"]["notes"])


def test_chinese_grid_headers_and_20_digit_codes_as_bare_json_numbers(tmp_path: Path) -> None:
    feats = _features(BEATS, 3)
    codes = [44030312345678901234, 44030312345678901235, 44030312345678901236]
    for f, c in zip(feats, codes, strict=True):
        f["properties"] = {"网格编码": c, "上级网格编码": "440303001", "层级": "2", "名称": "南湖"}
    gdf = read_layer(_write(tmp_path / "g.geojson", feats), "grids")
    assert gdf["code"].tolist() == [str(c) for c in codes]  # not 4.4030312345678897e+19
    assert gdf["parent_code"].tolist() == ["440303001"] * 3
    assert gdf["level"].tolist() == [2, 2, 2] and gdf["name"].iloc[0] == "南湖"
    assert any("exact digits" in n for n in gdf.attrs["gridcover"]["notes"])


def test_20_digit_numeric_dbf_codes_are_exact(tmp_path: Path) -> None:
    gdf = gpd.read_file(BEATS).head(4)[["geometry"]]
    codes = ["44030312345678901234", "44030312345678901235", "9", "44030399999999999999"]
    gdf["code"] = [c.rjust(20) for c in codes]
    path = tmp_path / "g.shp"
    gdf.to_file(path)
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    pos = raw.index(b"code")
    assert raw[pos + 11 : pos + 12] == b"C"
    raw[pos + 11 : pos + 12] = b"N"  # now GDAL sees an N(20,0) number: a double
    raw[pos + 16] = 20
    dbf.write_bytes(bytes(raw))
    out = read_layer(path, "grids")
    assert out["code"].tolist() == codes


def test_leading_zeros_in_csv_codes_survive(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "code,parent_code,level,wkt\n"
        '0012,001,2,"POLYGON ((10 10, 11 10, 11 11, 10 10))"\n'
        '0013,001,2,"POLYGON ((11 10, 12 10, 12 11, 11 10))"\n',
        encoding="utf-8",
    )
    gdf = read_layer(path, "grids", crs="EPSG:4326")
    assert gdf["code"].tolist() == ["0012", "0013"] and gdf["parent_code"].iloc[0] == "001"


def test_explicit_columns_override_and_none_ignores(tmp_path: Path) -> None:
    gdf = read_layer(BEATS, "grids", columns={"BEAT": "code", "BEAT_NUM": None}, duplicates="keep")
    assert gdf["code"].tolist() == gpd.read_file(BEATS)["BEAT"].tolist()
    assert "BEAT_NUM" in gdf.columns  # ignored for mapping, kept as an attribute
    assert gdf.attrs["gridcover"]["columns"]["code"] == "'BEAT'"


def test_constants_give_every_row_one_value(tmp_path: Path) -> None:
    """A level-2 file with code and parent columns but no level column (a real case: one file
    per level): constants={"level": 2} fills the level, the file's columns stay mapped."""
    src = gpd.read_file(BEATS)
    beats = src.rename(columns={"BEAT_NUM": "code", "DISTRICT": "parent_code"})
    path = tmp_path / "level2.geojson"
    beats[["code", "parent_code", "geometry"]].to_file(path)
    with pytest.raises(SchemaError, match="no column found for required 'level'"):
        read_layer(path, "grids", duplicates="keep")
    gdf = read_layer(path, "grids", constants={"level": 2}, duplicates="keep")
    assert gdf["level"].tolist() == [2] * len(src)
    assert gdf["parent_code"].tolist() == src["DISTRICT"].tolist()
    assert gdf["code"].tolist() == src["BEAT_NUM"].tolist()
    assert gdf.attrs["gridcover"]["columns"]["level"] == "constant 2"
    # A constant wins over the file's own column, which is kept under another name.
    with_level = beats.assign(level=3)[["code", "parent_code", "level", "geometry"]]
    with_level.to_file(tmp_path / "l3.geojson")
    gdf = read_layer(tmp_path / "l3.geojson", "grids", constants={"level": "2"}, duplicates="keep")
    assert set(gdf["level"]) == {2} and set(gdf["level_source"]) == {3}
    with pytest.raises(SchemaError, match="'level' is given twice, by columns="):
        read_layer(path, "grids", columns={"code": "level"}, constants={"level": 2})
    with pytest.raises(SchemaError, match="constants= sets 'grade', which is not a column"):
        read_layer(path, "grids", constants={"grade": 2})
    with pytest.raises(SchemaError, match=r"sets 'level' to 'two', which is not a whole number"):
        read_layer(path, "grids", constants={"level": "two"})
    with pytest.raises(ValidationReport, match=r"features 0, 1, .* has level .* = 4, too large"):
        read_layer(path, "grids", constants={"level": 4}, duplicates="keep")


def test_defaults_are_documented_values() -> None:
    gdf = read_layer(CAMS, "cameras")
    assert set(gdf["status"]) == {"unknown"}
    plan = plan_columns(["name", "geometry"], "roads")
    assert plan.sources["class"].constant == "other"
    assert plan.sources["road_id"].origin == "fid"


def test_alias_tables_are_data_not_code() -> None:
    # every kind has a table, and every table only names canonical columns
    from gridcover.gis.schemas import SCHEMAS

    for kind, rules in ALIASES.items():
        assert {r.target for r in rules} <= set(SCHEMAS[kind].columns)


def test_docs_data_md_lists_every_mapped_name_and_synonym() -> None:
    """docs/DATA.md must not drift from the tables in gis.columns and gis.values."""
    from gridcover.gis import values
    from gridcover.gis.columns import PROFILES

    doc = (Path(__file__).parents[1] / "docs" / "DATA.md").read_text(encoding="utf-8")
    names = {n for rules in ALIASES.values() for r in rules for n in r.names}
    names |= {n for p in PROFILES for r in p.rules for n in r.names}
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert missing == []
    tables = (
        values.CAMERA_TYPE_SYNONYMS,
        values.CAMERA_STATUS_SYNONYMS,
        values.POST_KIND_SYNONYMS,
        values.SITE_KIND_SYNONYMS,
    )
    words = {k for t in tables for k in t if k not in t.values()}
    assert sorted(w for w in words if w not in doc) == []
    assert all(code in doc for code in values.APPROACH_TRAVEL)


def test_geoparquet_reads_like_the_geojson(tmp_path: Path) -> None:
    path = tmp_path / "beats.parquet"
    gpd.read_file(BEATS).to_parquet(path)
    a = read_layer(path, "grids", duplicates="keep")
    b = read_layer(BEATS, "grids", duplicates="keep")
    assert a.attrs["gridcover"]["format"] == "GeoParquet"
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all()


@pytest.mark.parametrize(
    ("xname", "yname"),
    [
        ("lng", "lat"),
        ("x", "y"),
        ("经度", "纬度"),
        ("Longitude", "Latitude"),
        ("POINT_X", "POINT_Y"),
    ],
)
def test_csv_coordinate_column_names(tmp_path: Path, xname: str, yname: str) -> None:
    feats = _features(CAMS, 3)
    lines = [f"id,{xname},{yname}"] + [
        f"{f['properties']['osm_id']},{f['geometry']['coordinates'][0]},"
        f"{f['geometry']['coordinates'][1]}"
        for f in feats
    ]
    path = tmp_path / "c.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gdf = read_layer(path, "cameras")
    assert gdf.geometry.x.tolist() == [f["geometry"]["coordinates"][0] for f in feats]
    assert gdf.geometry.y.tolist() == [f["geometry"]["coordinates"][1] for f in feats]
    assert gdf.attrs["gridcover"]["coordinates_from"] == f"{xname}, {yname}"


def test_osm_police_amenity_becomes_a_station_and_empty_osm_kind_is_explained(
    tmp_path: Path,
) -> None:
    feats = _features(CAMS, 2)
    feats[0]["properties"] = {"osm_id": 1, "amenity": "police", "name": "Pasila"}
    feats[1]["properties"] = {"osm_id": 2, "amenity": "police", "name": "Kamppi"}
    gdf = read_layer(_write(tmp_path / "p.geojson", feats), "posts")
    assert gdf["kind"].tolist() == ["station", "station"]
    assert gdf["post_id"].tolist() == ["osm-node-1", "osm-node-2"]
    from gridcover.errors import InputError

    pbf = DATA / "helsinki-osm-center" / "Helsinki.osm.pbf"
    with pytest.raises(InputError, match="has no features for kind 'posts'"):
        read_layer(pbf, "posts")
