"""Acceptance: every dataset under tests/data reads as its kind with the counts in SOURCE.md.

Counts are the manifest's numbers; each is also cross-checked against an independent read
of the same file (json / csv module / plain pyogrio) so a wrong filter cannot hide.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

from gridcover.errors import DuplicateKeyError, InputError
from gridcover.gis import list_layers, read_layer
from gridcover.gis.chinese_offsets import wgs84_to_gcj02
from gridcover.gis.schemas import SCHEMAS

DATA = Path(__file__).parent / "data"
HEL = DATA / "helsinki-osm-center"
CHI = DATA / "chicago-cameras-police"
PRG = DATA / "prague-bubenec-momepy" / "bubenec.gpkg"
CHN = DATA / "china-districts-cnmaps"


def _canonical_first(gdf, kind: str) -> None:
    cols = SCHEMAS[kind].columns
    assert list(gdf.columns[: len(cols)]) == cols
    assert gdf.crs.to_epsg() == 4326
    assert gdf.attrs["gridcover"]["kind"] == kind


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_helsinki_cameras_geojson_221_with_exact_osm_ids() -> None:
    gdf = read_layer(HEL / "surveillance_cameras.geojson", "cameras")
    _canonical_first(gdf, "cameras")
    assert len(gdf) == 221
    doc = json.loads((HEL / "surveillance_cameras.geojson").read_text(encoding="utf-8"))
    ids = [f"osm-node-{f['properties']['osm_id']}" for f in doc["features"]]
    assert gdf["camera_id"].tolist() == ids  # same order, not renumbered
    revolving = sum(f["properties"].get("revolving") == "yes" for f in doc["features"])
    assert revolving == 34
    assert (gdf["type"] == "ptz").sum() == revolving
    assert gdf.loc[gdf["type"] == "ptz", "azimuth_deg"].isna().all()
    assert (gdf["type"] == "dome").sum() == 6  # camera:type=dome, none of them revolving
    assert set(gdf["status"]) == {"unknown"}


def test_helsinki_cameras_from_pbf_match_the_geojson() -> None:
    pbf = read_layer(HEL / "Helsinki.osm.pbf", "cameras")
    geo = read_layer(HEL / "surveillance_cameras.geojson", "cameras")
    assert len(pbf) == 221
    a = pbf.set_index("camera_id").sort_index()
    b = geo.set_index("camera_id").sort_index()
    assert a.index.tolist() == b.index.tolist()
    for col in ("type", "status", "height_m", "azimuth_deg"):
        assert a[col].fillna(-1).tolist() == b[col].fillna(-1).tolist(), col
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-7).all()
    assert "other_tags" not in pbf.columns and "revolving" in pbf.columns


def test_helsinki_buildings_489_features_degenerate_ones_dropped_and_listed() -> None:
    gdf = read_layer(HEL / "buildings.geojson", "buildings")
    _canonical_first(gdf, "buildings")
    rep = gdf.attrs["gridcover"]
    assert rep["rows_read"] == 489
    raw = pyogrio.read_dataframe(HEL / "buildings.geojson")
    zero_area = int((shapely.area(shapely.make_valid(raw.geometry.values)) == 0).sum())
    assert len(rep["dropped"]) == zero_area == 7
    assert len(gdf) == 489 - zero_area
    assert len(rep["repaired"]) == int((~raw.geometry.is_valid).sum()) - zero_area
    assert gdf.geometry.is_valid.all()
    assert gdf["building_id"].is_unique
    assert gdf["building_id"].str.match(r"^osm-(way|relation)-\d+$").all()
    # heights: the height tag, else building:levels x 3 m
    levels = raw["other_tags"].str.extract(r'"building:levels"=>"(\d+)"')[0].astype(float)
    assert gdf["height_m"].notna().sum() >= levels.notna().sum() - zero_area


def test_helsinki_roads_2504_from_geojson_and_pbf() -> None:
    geo = read_layer(HEL / "highways.geojson", "roads")
    pbf = read_layer(HEL / "Helsinki.osm.pbf", "roads")
    assert len(geo) == len(pbf) == 2504
    assert (geo["class"] == "footway").sum() == 1058
    assert geo["class"].value_counts().to_dict() == pbf["class"].value_counts().to_dict()
    raw = pyogrio.read_dataframe(HEL / "highways.geojson")
    assert geo["road_id"].tolist() == [f"osm-way-{i}" for i in raw["osm_id"]]


def test_helsinki_buildings_from_pbf_same_as_geojson() -> None:
    pbf = read_layer(HEL / "Helsinki.osm.pbf", "buildings")
    geo = read_layer(HEL / "buildings.geojson", "buildings")
    assert sorted(pbf["building_id"]) == sorted(geo["building_id"])
    assert pbf.attrs["gridcover"]["rows_read"] == 489


def test_chicago_red_light_149_speed_160_with_approach_azimuths() -> None:
    for name, n in (("red_light_camera_locations.csv", 149), ("speed_camera_locations.csv", 160)):
        rows = _csv_rows(CHI / name)
        gdf = read_layer(CHI / name, "cameras")
        _canonical_first(gdf, "cameras")
        assert len(gdf) == len(rows) == n
        # Assumption under test (docs/DATA.md): the camera faces the monitored traffic,
        # i.e. looks against its direction of travel: NB -> 180, SB -> 0, EB -> 270, WB -> 90.
        expect = {
            "NB": 180.0,
            "SB": 0.0,
            "EB": 270.0,
            "WB": 90.0,
            "NEB": 225.0,
            "SEB": 315.0,
            "NWB": 135.0,
        }
        got = gdf["azimuth_deg"].tolist()
        assert got == [expect[r["FIRST APPROACH"]] for r in rows]
        assert np.allclose(gdf.geometry.x, [float(r["LONGITUDE"]) for r in rows])
        assert np.allclose(gdf.geometry.y, [float(r["LATITUDE"]) for r in rows])
        assert set(gdf["type"]) == {"bullet"}
    speed = read_layer(CHI / "speed_camera_locations.csv", "cameras")
    assert speed.attrs["gridcover"]["encoding"] == "utf-8-sig"
    assert speed["camera_id"].tolist() == [
        r["ID"] for r in _csv_rows(CHI / "speed_camera_locations.csv")
    ]


def test_chicago_stations_23_posts_embedded_newline_and_state_plane() -> None:
    rows = _csv_rows(CHI / "police_stations.csv")
    assert any("\n" in r["ADDRESS"] for r in rows)
    ll = read_layer(CHI / "police_stations.csv", "posts")
    sp = read_layer(CHI / "police_stations.csv", "posts", crs="EPSG:3435")
    assert len(ll) == len(sp) == len(rows) == 23
    assert ll["post_id"].tolist() == [r["DISTRICT"] for r in rows]
    assert ll["name"].tolist() == [r["DISTRICT NAME"] for r in rows]
    assert set(ll["kind"]) == {"station"}
    assert sp.attrs["gridcover"]["coordinates_from"] == "X COORDINATE, Y COORDINATE"
    geod = pyproj.Geod(ellps="WGS84")
    _, _, dist = geod.inv(ll.geometry.x, ll.geometry.y, sp.geometry.x, sp.geometry.y)
    assert np.max(dist) < 0.002  # State Plane X/Y reproduce LATITUDE/LONGITUDE (1 mm)


def test_chicago_beats_277_and_districts_25_with_nesting_codes() -> None:
    beats = read_layer(CHI / "police_beats_2014.geojson", "grids", duplicates="keep")
    dists = read_layer(CHI / "police_districts_2014.geojson", "grids", duplicates="keep")
    assert len(beats) == 277 and len(dists) == 25
    assert beats["code"].nunique() == 275 and dists["code"].nunique() == 23
    assert set(beats["level"]) == {2} and set(dists["level"]) == {1}
    assert set(beats["parent_code"]) == set(dists["code"])  # "01" matches district "1" padded
    assert (beats["code"].str[:2] == beats["parent_code"]).all()
    assert beats["code"].str.len().eq(4).all()  # "0111": leading zero kept
    assert dists.attrs["gridcover"]["duplicates"] == {"31": [2, 3, 7]}
    with pytest.raises(DuplicateKeyError, match="'31' appears 3 times"):
        read_layer(CHI / "police_districts_2014.geojson", "grids")


@pytest.mark.parametrize("stem", ["police_beats_2014", "police_districts_2014"])
def test_zipped_shapefiles_read_identically_to_geojson(stem: str) -> None:
    a = read_layer(CHI / f"{stem}.geojson", "grids", duplicates="keep")
    b = read_layer(CHI / f"{stem}_shapefile.zip", "grids", duplicates="keep")
    assert b.attrs["gridcover"]["format"] == "ESRI Shapefile"
    assert a["code"].tolist() == b["code"].tolist()
    assert a["parent_code"].fillna("").tolist() == b["parent_code"].fillna("").tolist()
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-9).all()


def test_prague_layers_and_the_ambiguous_layer_error() -> None:
    assert list_layers(PRG) == ["tessellation", "buildings", "streets", "plots"]
    with pytest.raises(InputError, match=r"4 layers: tessellation .*layer='tessellation'"):
        read_layer(PRG, "buildings")
    bld = read_layer(PRG, "buildings", layer="buildings")
    streets = read_layer(PRG, "roads", layer="streets")
    plots = read_layer(PRG, "grids", layer="plots", columns={"ID": "code"})
    assert (len(bld), len(streets), len(plots)) == (144, 35, 407)
    raw = pyogrio.read_dataframe(PRG, layer="buildings")
    assert bld["building_id"].tolist() == [str(u) for u in raw["uID"]]
    x0, y0, x1, y1 = (
        bld.total_bounds
    )  # SOURCE.md: buildings 14.39992-14.40554 E, 50.10112-50.10487 N
    assert (round(x0, 4), round(x1, 4), round(y0, 4), round(y1, 4)) == (
        14.3999,
        14.4055,
        50.1011,
        50.1049,
    )
    assert streets.attrs["gridcover"]["columns"]["road_id"] == "feature id (FID) of the file"
    assert set(streets["class"]) == {"other"}
    # tessellation: one morphological cell per building (same uID), a flat level-1 grid
    cells = read_layer(PRG, "grids", layer="tessellation", columns={"uID": "code"})
    assert len(cells) == 144 and set(cells["level"]) == {1}
    assert sorted(cells["code"]) == sorted(bld["building_id"])
    inside = shapely.contains(
        cells.set_index("code").loc[bld["building_id"]].geometry.values,
        shapely.point_on_surface(bld.geometry.values),
    )
    assert inside.all()  # each building lies in the cell of its uID


@pytest.mark.parametrize("city", ["shenzhen", "beijing"])
def test_gcj02_districts_read_with_coord_sys_land_on_the_wgs84_file(city: str) -> None:
    """The *_wgs84 files were made with cnmaps' one-step inverse, which is itself off by up
    to ~3 m (forward-shifting them does not give the GCJ-02 file back). So: our result must
    forward-shift back onto the GCJ-02 file within 1 cm, and differ from the WGS84 file by
    no more than that file's own error (measured the same way, +2 %/2 cm)."""
    cols = {"adcode": "code", "district": "name", "level": None}
    path = CHN / f"{city}_districts_gcj02.geojson"
    gcj = read_layer(path, "grids", coord_sys="gcj02", columns=cols)
    wgs = read_layer(CHN / f"{city}_districts_wgs84.geojson", "grids", columns=cols)
    assert gcj["name"].tolist() == wgs["name"].tolist()
    ours = shapely.get_coordinates(gcj.geometry.values)
    file_wgs = shapely.get_coordinates(wgs.geometry.values)
    raw = shapely.get_coordinates(pyogrio.read_dataframe(path).geometry.values)
    assert ours.shape == file_wgs.shape == raw.shape
    geod = pyproj.Geod(ellps="WGS84")
    fx, fy = wgs84_to_gcj02(ours[:, 0], ours[:, 1])
    assert geod.inv(fx, fy, raw[:, 0], raw[:, 1])[2].max() < 0.01
    gx, gy = wgs84_to_gcj02(file_wgs[:, 0], file_wgs[:, 1])
    file_error = geod.inv(gx, gy, raw[:, 0], raw[:, 1])[2]
    dist = geod.inv(ours[:, 0], ours[:, 1], file_wgs[:, 0], file_wgs[:, 1])[2]
    assert (dist <= file_error * 1.02 + 0.02).all()
    shift = geod.inv(raw[:, 0], raw[:, 1], ours[:, 0], ours[:, 1])[2]
    assert shift.min() > 100  # the offset really was removed (it is hundreds of metres)
    assert "level_source" in gcj.columns  # the unused '区县' column kept under a new name
