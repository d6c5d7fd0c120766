"""Bad geometry and bad values get a sentence naming file, feature/row, id and fix.

Every defect is built in a temporary folder from the real data under tests/data.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridcover.errors import DuplicateKeyError, InputError, SchemaError, ValidationReport
from gridcover.gis import read_layer

DATA = Path(__file__).parent / "data"
BEATS = DATA / "chicago-cameras-police" / "police_beats_2014.geojson"
CAMS = DATA / "helsinki-osm-center" / "surveillance_cameras.geojson"
SPEED = DATA / "chicago-cameras-police" / "speed_camera_locations.csv"


def _features(path: Path, n: int) -> list[dict]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc["features"][:n]


def _write(tmp: Path, name: str, feats: list[dict]) -> Path:
    out = tmp / name
    out.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return out


def _bowtie(feature: dict) -> list[list[float]]:
    x0, y0, x1, y1 = shapely.geometry.shape(feature["geometry"]).bounds
    return [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]


def _csv(tmp: Path, src: Path, edit, name: str = "cams.csv") -> Path:  # type: ignore[no-untyped-def]
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = edit(rows)
    out = tmp / name
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return out


def test_self_intersecting_grid_is_refused_with_reason_and_repaired_only_on_request(
    tmp_path: Path,
) -> None:
    feats = _features(BEATS, 8)
    feats[5]["geometry"] = {"type": "Polygon", "coordinates": [_bowtie(feats[5])]}
    path = _write(tmp_path, "beats.geojson", feats)
    code = feats[5]["properties"]["BEAT_NUM"]
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "grids")
    text = str(err.value)
    assert str(path) in text and f"feature 5 (code '{code}')" in text
    assert "Self-intersection" in text and "on_invalid='repair'" in text
    assert len(err.value.problems) == 1
    gdf = read_layer(path, "grids", on_invalid="repair")
    assert gdf.attrs["gridcover"]["repaired"] == [5]
    assert gdf.geometry.is_valid.all()
    bow = shapely.Polygon(_bowtie(feats[5]))
    # make_valid keeps both lobes of the bow-tie; buffer(0) would keep only one.
    assert np.isclose(gdf.geometry.iloc[5].area, shapely.make_valid(bow).area)
    assert not np.isclose(gdf.geometry.iloc[5].area, bow.buffer(0).area)


def test_invalid_building_is_repaired_by_default_and_flagged(tmp_path: Path) -> None:
    feats = _features(BEATS, 4)
    feats[2]["geometry"] = {"type": "Polygon", "coordinates": [_bowtie(feats[2])]}
    path = _write(tmp_path, "b.geojson", feats)
    gdf = read_layer(path, "buildings", columns={"BEAT_NUM": "building_id"})
    rep = gdf.attrs["gridcover"]
    assert rep["repaired"] == [2] and rep["on_invalid"] == "repair"
    assert any("make_valid" in n for n in rep["notes"])


def test_unclosed_ring_in_hand_written_geojson(tmp_path: Path) -> None:
    feats = _features(BEATS, 3)
    ring = feats[1]["geometry"]["coordinates"][0]
    feats[1]["geometry"]["coordinates"][0] = ring[:-1]  # drop the closing vertex
    path = _write(tmp_path, "open.geojson", feats)
    with pytest.raises(ValidationReport, match=r"feature 1 \(code '\d+'\): a ring is not closed"):
        read_layer(path, "grids")
    gdf = read_layer(path, "grids", on_invalid="repair")
    assert gdf.attrs["gridcover"]["repaired"] == [1]
    assert shapely.equals(gdf.geometry.iloc[1], shapely.Polygon(ring))


def test_null_and_empty_geometries_are_named(tmp_path: Path) -> None:
    feats = _features(CAMS, 5)
    feats[1]["geometry"] = None
    feats[3]["geometry"] = {"type": "Point", "coordinates": []}
    path = _write(tmp_path, "c.geojson", feats)
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "cameras")
    text = str(err.value)
    osm1, osm3 = feats[1]["properties"]["osm_id"], feats[3]["properties"]["osm_id"]
    assert (
        f"features 1, 3 (camera_id 'osm-node-{osm1}', 'osm-node-{osm3}'): has no geometry" in text
    )


def test_mixed_geometry_types_for_a_kind(tmp_path: Path) -> None:
    feats = _features(CAMS, 6)
    a, b = feats[0]["geometry"]["coordinates"], feats[1]["geometry"]["coordinates"]
    feats[4]["geometry"] = {"type": "LineString", "coordinates": [a, b]}
    path = _write(tmp_path, "mixed.geojson", feats)
    with pytest.raises(
        ValidationReport,
        match=r"feature 4 .*is a LineString, but kind 'cameras' "
        r"needs Point \(geometry types in the layer: Point 5, LineString 1\)",
    ):
        read_layer(path, "cameras")


def test_z_coordinates_are_dropped_with_a_note(tmp_path: Path) -> None:
    feats = _features(CAMS, 4)
    for f in feats:
        f["geometry"]["coordinates"] = [*f["geometry"]["coordinates"], 12.5]
    path = _write(tmp_path, "z.geojson", feats)
    gdf = read_layer(path, "cameras")
    assert not gdf.geometry.has_z.any()
    assert any("Z dropped" in n for n in gdf.attrs["gridcover"]["notes"])
    xy = np.array([f["geometry"]["coordinates"][:2] for f in feats])
    assert np.allclose(shapely.get_coordinates(gdf.geometry.values), xy)
    # The note names the features that had a Z (here only two of them).
    part = _features(CAMS, 4)
    for k in (1, 3):
        part[k]["geometry"]["coordinates"] = [*part[k]["geometry"]["coordinates"], 3.0]
    notes = " ".join(
        read_layer(_write(tmp_path, "z2.geojson", part), "cameras").attrs["gridcover"]["notes"]
    )
    osm = [f"'osm-node-{part[k]['properties']['osm_id']}'" for k in (1, 3)]
    assert f"features 1, 3 (camera_id {', '.join(osm)}) had Z coordinates; Z dropped" in notes


def test_nan_and_inf_coordinates(tmp_path: Path) -> None:
    src = gpd.read_file(BEATS).head(5)
    geoms = src.geometry.values.copy()
    ring = np.asarray(geoms[3].exterior.coords)
    ring[2] = [np.nan, np.nan]
    with np.errstate(invalid="ignore"):
        geoms[3] = shapely.Polygon(ring)
    geoms[1] = shapely.Polygon()
    src = src.set_geometry(gpd.GeoSeries(geoms, crs=4326))
    path = tmp_path / "nan.parquet"
    src.to_parquet(path)
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "grids")
    assert len(err.value.problems) == 2
    assert re.search(r"feature 1 \(code '\d+'\): has an empty geometry", str(err.value))
    assert re.search(r"feature 3 \(code '\d+'\): has NaN or infinite", str(err.value))
    csv_path = _csv(tmp_path, SPEED, lambda r: [{**r[0], "LONGITUDE": "inf"}, *r[1:5]])
    with pytest.raises(ValidationReport, match=r"row 1 \(camera_id '195'\): has NaN or infinite"):
        read_layer(csv_path, "cameras")
    text_path = _csv(tmp_path, SPEED, lambda r: [*r[:2], {**r[2], "LATITUDE": "n/a"}], "t.csv")
    with pytest.raises(ValidationReport, match=r"row 3 .*'LATITUDE' value 'n/a' is not a number"):
        read_layer(text_path, "cameras")


def test_duplicate_ids_listed(tmp_path: Path) -> None:
    path = _csv(tmp_path, SPEED, lambda r: [*r[:6], {**r[6], "ID": r[1]["ID"]}])
    with pytest.raises(DuplicateKeyError) as err:
        read_layer(path, "cameras")
    assert "camera_id '232' appears 2 times (rows 2, 7 (camera_id '232', '232'))" in str(err.value)
    assert "duplicates='keep'" in str(err.value)
    assert len(read_layer(path, "cameras", duplicates="keep")) == 7


def test_unknown_kind_lists_valid_kinds() -> None:
    with pytest.raises(SchemaError, match="valid kinds are: grids, cameras, posts, buildings"):
        read_layer(CAMS, "camera")


def test_camera_values_out_of_range_all_reported_at_once(tmp_path: Path) -> None:
    def edit(rows: list[dict]) -> list[dict]:
        rows = [{**r, "fov": "", "range": "", "azimuth": ""} for r in rows[:6]]
        rows[0]["azimuth"] = "400"
        rows[1]["fov"] = "400"
        rows[2]["range"] = "-5"
        rows[3]["azimuth"] = "-90"
        return rows

    path = _csv(tmp_path, SPEED, edit)
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "cameras")
    probs = err.value.problems
    assert len(probs) == 2
    assert (
        "row 2 (camera_id '232'): has fov_deg (水平视场角(度)) = 400, too large"
        in probs[0] + probs[1]
    )
    assert any("row 3" in p and "range_m" in p and "-5" in p for p in probs)
    path_ok = _csv(tmp_path, SPEED, lambda r: edit(r)[:1] + edit(r)[3:], "ok.csv")
    gdf = read_layer(path_ok, "cameras")
    assert gdf["azimuth_deg"].tolist()[:2] == [40.0, 270.0]  # 400 -> 40, -90 -> 270
    assert any("modulo 360" in n for n in gdf.attrs["gridcover"]["notes"])


def test_unknown_category_value_is_an_error_not_a_guess(tmp_path: Path) -> None:
    path = _csv(tmp_path, SPEED, lambda r: [{**x, "type": "laser"} for x in r[:3]])
    with pytest.raises(
        ValidationReport, match=r"rows 1, 2, 3 .*'type' 'laser' is not a known camera type"
    ):
        read_layer(path, "cameras")


def test_missing_required_column_names_found_expected_and_fix() -> None:
    path = DATA / "china-districts-cnmaps" / "shenzhen_districts_wgs84.geojson"
    with pytest.raises(SchemaError) as err:
        read_layer(path, "grids")
    text = str(err.value)
    assert "no column found for required 'code' (网格编码, grid code" in text
    assert "The file has: adcode, province, city, district, level" in text
    assert "columns={'YOUR_COLUMN': 'code'}" in text
    with pytest.raises(SchemaError, match="which the file does not have"):
        read_layer(path, "grids", columns={"ADCODE": "code"})
    with pytest.raises(SchemaError, match="not a column of kind 'grids'; use one of: code"):
        read_layer(path, "grids", columns={"adcode": "grid"})


def test_failed_zip_read_leaves_no_temporary_files(tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("gridcover-zip-*"))
    zipped = DATA / "chicago-cameras-police" / "police_districts_2014_shapefile.zip"
    with pytest.raises(DuplicateKeyError):
        read_layer(zipped, "grids")
    assert set(Path(tempfile.gettempdir()).glob("gridcover-zip-*")) == before
    assert list(tmp_path.iterdir()) == []


def test_incidents_with_columns_about_people_are_refused(tmp_path: Path) -> None:
    """Incidents are aggregate counts per place; a per-person column (name, ID card, phone,
    plate) makes the file a list of events about people: refused, nothing read."""
    feats = _features(BEATS, 5)
    for k, f in enumerate(feats):
        f["properties"] = {"count": k + 1, "period": "2024", "category": "盗窃"}
    ok = read_layer(_write(tmp_path, "ok.geojson", feats), "incidents")
    assert ok["count"].tolist() == [1, 2, 3, 4, 5]
    for f in feats:
        f["properties"] |= {"报警人": "张三", "Licence Plate": "粤B12345"}
    path = _write(tmp_path, "people.geojson", feats)
    with pytest.raises(SchemaError) as err:
        read_layer(path, "incidents")
    text = str(err.value)
    assert text.startswith(f"{path}: column(s) 报警人, Licence Plate identify people")
    assert "aggregate counts per place or area only" in text and "Delete those columns" in text
    # Only incidents: a grid's optional chief contact is not refused.
    for f in feats:
        f["properties"] = {"code": f"G{id(f)}", "level": 1, "联系电话": "0755-1234"}
    grids = read_layer(_write(tmp_path, "g.geojson", feats), "grids", on_invalid="repair")
    assert grids["chief_phone"].tolist() == ["0755-1234"] * 5


@pytest.mark.parametrize("sidecar", [".shx", ".dbf"])
def test_shapefile_missing_a_sidecar_file_says_which(tmp_path: Path, sidecar: str) -> None:
    gpd.read_file(BEATS).head(3).to_file(tmp_path / "beats.shp")
    (tmp_path / f"beats{sidecar}").unlink()
    with pytest.raises(InputError) as err:
        read_layer(tmp_path / "beats.shp", "grids")
    text = str(err.value)
    assert text.startswith(f"{tmp_path / 'beats.shp'}: the Shapefile's beats{sidecar} is missing")
    assert "zip them together" in text


def test_layer_without_features_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.geojson", [])
    with pytest.raises(InputError, match=r"empty.geojson: the layer holds no features"):
        read_layer(path, "grids")
    header_only = tmp_path / "cams.csv"
    header_only.write_text("camera_id,lon,lat\n", encoding="utf-8")
    assert len(read_layer(header_only, "cameras")) == 0  # columns known: an empty layer
