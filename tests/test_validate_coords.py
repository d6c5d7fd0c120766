"""Coordinate problems: swapped lat/lon, metres labelled as degrees, missing CRS, points far
outside their CRS's area, non-finite transform results, GCJ-02 outside China.

Defects are built in a temporary folder from the real data under tests/data.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import geopandas as gpd
import pyproj
import pytest
import shapely

from gridcover.errors import CRSError, ValidationReport
from gridcover.gis import read_layer

DATA = Path(__file__).parent / "data"
RED = DATA / "chicago-cameras-police" / "red_light_camera_locations.csv"
STATIONS = DATA / "chicago-cameras-police" / "police_stations.csv"
SZ = DATA / "china-districts-cnmaps" / "shenzhen_districts_wgs84.geojson"
CAMS = DATA / "helsinki-osm-center" / "surveillance_cameras.geojson"
BEATS = DATA / "chicago-cameras-police" / "police_beats_2014.geojson"
SZ_COLS = {"adcode": "code", "district": "name", "level": None}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_swapped_lat_lon_columns_get_a_swap_hint(tmp_path: Path) -> None:
    rows = [{**r, "LATITUDE": r["LONGITUDE"], "LONGITUDE": r["LATITUDE"]} for r in _rows(RED)]
    path = _write_csv(tmp_path / "swapped.csv", rows)
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "cameras")
    assert len(err.value.problems) == 1
    assert "rows 1, 2, 3" in err.value.problems[0] and "(149 in all)" in err.value.problems[0]
    assert "latitude/longitude swapped?" in str(err.value) and "fix: swap?" in str(err.value)


def test_swapped_inside_a_regional_crs_area_gets_a_swap_hint(tmp_path: Path) -> None:
    gdf = gpd.read_file(CAMS).head(10)
    swapped = gdf.set_geometry(shapely.transform(gdf.geometry.values, lambda xy: xy[:, ::-1]))
    path = tmp_path / "swapped.geojson"
    swapped.to_file(path)
    # EPSG:4258 (ETRS89) covers Europe: lon 60 / lat 25 is outside, lat 60 / lon 25 inside.
    with pytest.raises(ValidationReport, match=r"outside the area of use of EPSG:4258.*swap\?"):
        read_layer(path, "cameras", crs="EPSG:4258")
    assert len(read_layer(path, "cameras")) == 10  # plain WGS84: both orders are legal


def test_projected_metres_labelled_as_degrees_suggest_the_gk_zone(tmp_path: Path) -> None:
    wgs = gpd.read_file(SZ)
    gk = wgs.to_crs(4547)
    path = tmp_path / "gk_as_degrees.geojson"
    gk.set_crs(4326, allow_override=True).to_file(path)
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "grids", columns=SZ_COLS)
    text = str(err.value)
    assert "which are metres, not the degrees that EPSG:4326 (WGS 84) says" in text
    assert "EPSG:4547" in text and "crs=" in text
    fixed = read_layer(path, "grids", columns=SZ_COLS, crs="EPSG:4547")
    assert any("overridden by crs=EPSG:4547" in n for n in fixed.attrs["gridcover"]["notes"])
    a = shapely.get_coordinates(fixed.geometry.values)
    b = shapely.get_coordinates(wgs.geometry.values)
    _, _, d = pyproj.Geod(ellps="WGS84").inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert d.max() < 0.001  # GK round trip within 1 mm


def test_shapefile_without_prj_needs_crs(tmp_path: Path) -> None:
    gpd.read_file(BEATS).head(6).to_file(tmp_path / "beats.shp")
    (tmp_path / "beats.prj").unlink()
    with pytest.raises(CRSError, match=r"no \.prj file next to the \.shp\); pass it with crs="):
        read_layer(tmp_path / "beats.shp", "grids")
    gdf = read_layer(tmp_path / "beats.shp", "grids", crs="EPSG:4326")
    assert len(gdf) == 6 and gdf.attrs["gridcover"]["crs_in"].startswith("EPSG:4326")


def test_csv_projected_xy_without_crs_is_refused(tmp_path: Path) -> None:
    rows = [
        {k: v for k, v in r.items() if k not in ("LATITUDE", "LONGITUDE")} for r in _rows(STATIONS)
    ]
    path = _write_csv(tmp_path / "xy.csv", rows)
    with pytest.raises(CRSError, match=r"look projected .* pass crs="):
        read_layer(path, "posts")
    assert len(read_layer(path, "posts", crs=3435)) == 23


def test_csv_lonlat_without_crs_defaults_to_wgs84_with_a_note() -> None:
    gdf = read_layer(RED, "cameras")
    assert any("read as WGS84" in n for n in gdf.attrs["gridcover"]["notes"])


def test_wrong_projected_crs_lands_outside_its_area(tmp_path: Path) -> None:
    with pytest.raises(ValidationReport, match=r"far outside the area where EPSG:32633"):
        read_layer(STATIONS, "posts", crs="EPSG:32633")


def test_non_finite_after_transform(tmp_path: Path) -> None:
    rows = _rows(STATIONS)[:3]
    rows[1]["X COORDINATE"] = "50000000"
    path = _write_csv(tmp_path / "far.csv", rows)
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "posts", crs="EPSG:32633")
    assert re.search(
        r"row 2 \(post_id '2'\): has non-finite coordinates after transforming "
        r"from EPSG:32633",
        str(err.value),
    )


def test_gcj02_outside_china_is_refused() -> None:
    with pytest.raises(
        ValidationReport, match="outside China, where gcj02 coordinates are not used"
    ):
        read_layer(CAMS, "cameras", coord_sys="gcj02")
    with pytest.raises(CRSError, match="Unknown coord_sys 'amap'"):
        read_layer(CAMS, "cameras", coord_sys="amap")


def test_bd09_round_trip_through_read_layer(tmp_path: Path) -> None:
    from gridcover.gis.chinese_offsets import convert_geometries

    wgs = gpd.read_file(SZ)
    bd = wgs.set_geometry(convert_geometries(wgs.geometry.values, "wgs84", "bd09"))
    path = tmp_path / "bd09.geojson"
    bd.to_file(path)
    back = read_layer(path, "grids", columns=SZ_COLS, coord_sys="bd09")
    a = shapely.get_coordinates(back.geometry.values)
    b = shapely.get_coordinates(wgs.geometry.values)
    _, _, d = pyproj.Geod(ellps="WGS84").inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert d.max() < 0.01


def test_cgcs2000_lat_first_axis_order_is_handled(tmp_path: Path) -> None:
    wgs = gpd.read_file(SZ)
    path = tmp_path / "cgcs2000.gpkg"
    wgs.set_crs(4490, allow_override=True).to_file(path)
    gdf = read_layer(path, "grids", columns=SZ_COLS)
    assert gdf.attrs["gridcover"]["crs_in"].startswith("EPSG:4490")
    x0, y0, x1, y1 = gdf.total_bounds
    assert 113 < x0 < x1 < 115 and 22 < y0 < y1 < 23  # lon first after reading


def test_null_island_and_implausible_latitude_are_named(tmp_path: Path) -> None:
    """A camera at exactly (0, 0) (a failed geocode) and one at 75 S (legal degrees, but no
    police data lies in Antarctica, and swapping does not help): each named with its row."""
    rows = _rows(RED)[:6]
    rows[1] = {**rows[1], "LONGITUDE": "0", "LATITUDE": "0"}
    rows[3] = {**rows[3], "LONGITUDE": "120.5", "LATITUDE": "-75.25"}
    path = _write_csv(tmp_path / "odd.csv", rows)
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "cameras")
    probs = err.value.problems
    assert len(probs) == 2 and str(path) in str(err.value)
    ids = [r["INTERSECTION"] for r in rows]
    assert probs[0].startswith(f"row 2 (camera_id '{ids[1]}'): has a vertex at exactly lon 0")
    assert "fix: give the real coordinates or delete the row" in probs[0]
    assert probs[1].startswith(f"row 4 (camera_id '{ids[3]}'): lies at latitude -75.25000")
    assert "outside the plausible extent" in probs[1] and "swap?" not in probs[1]
    # A polygon with one vertex collapsed to (0, 0) is caught too; real data is untouched.
    beats = gpd.read_file(BEATS).head(4)
    ring = list(beats.geometry.iloc[2].exterior.coords)
    ring[3] = (0.0, 0.0)
    beats.loc[2, "geometry"] = shapely.Polygon(ring)
    beats.to_file(tmp_path / "beats.geojson")
    with pytest.raises(ValidationReport, match=r"feature 2 \(code '\d+'\): has a vertex at"):
        read_layer(tmp_path / "beats.geojson", "grids")
    assert len(read_layer(RED, "cameras")) == 149


def test_lonlat_csv_in_china_without_coord_sys_gets_an_offset_hint(tmp_path: Path) -> None:
    """Points inside China read as WGS84 by assumption: the note names coord_sys, because
    AMap/Baidu exports are GCJ-02/BD-09. Not for Chicago, not once coord_sys is given."""
    sz = gpd.read_file(SZ)
    pts = sz.geometry.representative_point()
    rows = [
        {"设备编码": f"4403{k:016d}", "经度": f"{p.x:.6f}", "纬度": f"{p.y:.6f}"}
        for k, p in enumerate(pts)
    ]
    path = _write_csv(tmp_path / "sz.csv", rows)
    hint = "pass coord_sys='gcj02' or 'bd09'"
    assert any(hint in n for n in read_layer(path, "cameras").attrs["gridcover"]["notes"])
    gcj = read_layer(path, "cameras", coord_sys="gcj02").attrs["gridcover"]["notes"]
    assert not any(hint in n for n in gcj)
    assert not any(hint in n for n in read_layer(RED, "cameras").attrs["gridcover"]["notes"])


@pytest.mark.parametrize("epsg", [4547, 4526], ids=["gk-no-prefix", "gk-zone-prefix"])
def test_survey_table_with_northing_first_gets_a_swap_hint(tmp_path: Path, epsg: int) -> None:
    """Chinese survey tables write X坐标 = northing, Y坐标 = easting. Read as x/y, the points
    fall outside the GK zone (or do not transform at all): one 'swap?' sentence. Renamed to
    北坐标/东坐标 as the hint says, they land on the true points (checked with pyproj)."""
    truth = gpd.read_file(SZ).geometry.representative_point()
    gk = truth.to_crs(epsg)
    rows = [
        {"设备编码": f"C{k}", "X坐标": f"{p.y:.3f}", "Y坐标": f"{p.x:.3f}"}
        for k, p in enumerate(gk)
    ]
    path = _write_csv(tmp_path / "survey.csv", rows)
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "cameras", crs=epsg)
    assert len(err.value.problems) == 1
    text = err.value.problems[0]
    assert text.startswith("rows 1, 2, 3") and "(9 in all)" in text
    assert "easting/northing swapped?" in text and "name those columns 北坐标 and 东坐标" in text
    fixed = [{"设备编码": r["设备编码"], "北坐标": r["X坐标"], "东坐标": r["Y坐标"]} for r in rows]
    gdf = read_layer(_write_csv(tmp_path / "fixed.csv", fixed), "cameras", crs=epsg)
    _, _, d = pyproj.Geod(ellps="WGS84").inv(gdf.geometry.x, gdf.geometry.y, truth.x, truth.y)
    assert d.max() < 0.01
    # A wrong CRS that no swap explains (Swiss LV95) keeps its own sentence, no swap hint.
    with pytest.raises(ValidationReport) as err:
        read_layer(path, "cameras", crs="EPSG:2056")
    assert "swap?" not in str(err.value) and "EPSG:2056" in str(err.value)
