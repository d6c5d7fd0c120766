"""CRS normalisation, transformers, CGCS2000 Gauss-Krüger zones, local metric CRS, guessing.

Checks go against independent references: the EPSG registry through pyproj (zone parameters,
areas of use, UTM lookup), pyproj.Geod geodesics for distances and areas, and real district
boundaries (tests/data/china-districts-cnmaps). GCJ-02 / BD-09 tests: test_chinese_offsets.py.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from gridcover.errors import CRSError, UnitsError
from gridcover.gis import crs as gcrs
from gridcover.gis.crs import GK_ZONES

DATA = Path(__file__).parent / "data"
CHINA = DATA / "china-districts-cnmaps"
GEOD = pyproj.Geod(ellps="GRS80")  # CGCS2000 and WGS84 ellipsoids differ by < 0.1 mm here


def _params(code: int) -> dict[str, float]:
    op = pyproj.CRS.from_epsg(code).coordinate_operation
    assert op is not None
    return {p.name: float(p.value) for p in op.params}


def _district_lonlat(city: str) -> tuple[np.ndarray, np.ndarray]:
    gdf = gpd.read_file(CHINA / f"{city}_districts_wgs84.geojson")
    xy = shapely.get_coordinates(gdf.geometry.values)
    return xy[:, 0], xy[:, 1]


# --- normalize_crs / transformer -------------------------------------------------------------

WKT_4547 = pyproj.CRS.from_epsg(4547).to_wkt()


@pytest.mark.parametrize(
    ("value", "epsg"),
    [
        (pyproj.CRS.from_epsg(4326), 4326),
        (4326, 4326),
        (np.int64(4490), 4490),
        ("EPSG:4490", 4490),
        ("epsg:3857", 3857),
        (WKT_4547, 4547),
        ("+proj=utm +zone=35 +datum=WGS84 +units=m +no_defs +type=crs", 32635),
        ("wgs84", 4326),
        ("WGS 84", 4326),
        ("CGCS2000", 4490),
        ("webmercator", 3857),
        ("Web Mercator", 3857),
    ],
)
def test_normalize_crs_accepts_every_documented_form(value: object, epsg: int) -> None:
    crs = gcrs.normalize_crs(value)
    assert isinstance(crs, pyproj.CRS)
    assert crs.equals(pyproj.CRS.from_epsg(epsg), ignore_axis_order=True)


@pytest.mark.parametrize("value", ["not a crs", 999999, "EPSG:0", 3.5, True, None, [4326]])
def test_normalize_crs_rejects_unknown_with_a_sentence(value: object) -> None:
    with pytest.raises(CRSError, match=r"CRS.*: .*\.$"):
        gcrs.normalize_crs(value)


@pytest.mark.parametrize("value", ["gcj02", "GCJ-02", "bd09", "BD-09"])
def test_offset_names_are_not_crs_and_say_how_to_convert(value: str) -> None:
    with pytest.raises(CRSError, match="convert_geometries"):
        gcrs.normalize_crs(value)


def test_transformer_is_cached_and_always_xy() -> None:
    t1 = gcrs.transformer("EPSG:4490", 4547)
    assert t1 is gcrs.transformer(pyproj.CRS.from_epsg(4490), "epsg:4547")
    # Independent: pyproj in authority order takes (lat, lon) and gives (northing, easting).
    northing, easting = pyproj.Transformer.from_crs(4490, 4547).transform(22.55, 114.05)
    x, y = t1.transform(114.05, 22.55)
    assert (x, y) == pytest.approx((easting, northing), abs=1e-6)
    assert 400_000 < x < 600_000 < 2_000_000 < y


def test_epsg4490_lat_first_is_handled() -> None:
    lon, lat = _district_lonlat("shenzhen")
    lon, lat = lon[:500], lat[:500]
    # always_xy: a transform from 4490 gives back the same lon/lat (null datum shift to 4326).
    x, y = gcrs.transform_xy(lon, lat, 4490, 4326)
    np.testing.assert_allclose(x, lon, atol=1e-9)
    np.testing.assert_allclose(y, lat, atol=1e-9)
    # A (lat, lon) tuple in 4490's authority order is reordered to (lon, lat) ...
    rx, ry = gcrs.xy_from_authority(4490, lat, lon)
    np.testing.assert_array_equal(rx, lon)
    np.testing.assert_array_equal(ry, lat)
    # ... and GK (northing, easting) output in authority order to (easting, northing).
    n, e = pyproj.Transformer.from_crs(4490, 4547).transform(lat, lon)
    ex, ny = gcrs.xy_from_authority(4547, n, e)
    gx, gy = gcrs.transform_xy(lon, lat, "cgcs2000", 4547)
    np.testing.assert_allclose(ex, gx, atol=1e-6)
    np.testing.assert_allclose(ny, gy, atol=1e-6)
    # Web Mercator is already x-first: nothing is swapped.
    a, b = gcrs.xy_from_authority(3857, [1.0], [2.0])
    assert (a[0], b[0]) == (1.0, 2.0)


def test_transform_xy_names_failures() -> None:
    x = np.array([114.0, 115.0, np.nan, 116.0, 500.0])
    y = np.array([22.0, 23.0, 24.0, 25.0, 95.0])
    with pytest.raises(CRSError, match=r"^2 of 5 point\(s\).*first at index 2"):
        gcrs.transform_xy(x, y, 4326, 3857)
    ok_x, ok_y = gcrs.transform_xy(x[:2], y[:2], 4326, 3857)
    assert ok_x.dtype == np.float64
    assert np.isfinite(ok_x).all() and np.isfinite(ok_y).all()


# --- CGCS2000 Gauss-Krüger zones --------------------------------------------------------------


def test_gk_zone_table_matches_the_epsg_registry() -> None:
    assert [z.epsg for z in GK_ZONES] == list(range(4491, 4555))
    for zone in GK_ZONES:
        crs = pyproj.CRS.from_epsg(zone.epsg)
        params = _params(zone.epsg)
        assert params["Longitude of natural origin"] == zone.central_meridian
        assert params["False easting"] == zone.false_easting
        assert params["Scale factor at natural origin"] == 1.0
        assert ("3-degree" in crs.name) == (zone.width == 3)
        assert (f"zone {zone.zone}" in crs.name) == zone.prefixed
        assert crs.geodetic_crs is not None and crs.geodetic_crs.to_epsg() == 4490


@pytest.mark.parametrize("zone", GK_ZONES, ids=lambda z: f"EPSG:{z.epsg}")
def test_gk_round_trip_within_a_millimetre(zone: object) -> None:
    assert isinstance(zone, gcrs.GKZone)
    rng = np.random.default_rng(zone.epsg)
    half = zone.width / 2
    lon = rng.uniform(zone.central_meridian - half, zone.central_meridian + half, 2000)
    lat = rng.uniform(18.0, 53.5, 2000)
    x, y = gcrs.transform_xy(lon, lat, 4490, zone.epsg)
    back_lon, back_lat = gcrs.transform_xy(x, y, zone.epsg, "EPSG:4490")
    assert GEOD.inv(lon, lat, back_lon, back_lat)[2].max() < 1e-3
    # With and without prefix are the same projection shifted by zone * 1e6 m in easting.
    twin = next(
        z.epsg
        for z in GK_ZONES
        if z.width == zone.width and z.zone == zone.zone and z.prefixed != zone.prefixed
    )
    tx, ty = gcrs.transform_xy(lon, lat, 4490, twin)
    shift = zone.zone * 1e6 * (1 if zone.prefixed else -1)
    np.testing.assert_allclose(x - tx, shift, atol=1e-6)
    np.testing.assert_allclose(y, ty, atol=1e-6)


def test_gk_epsg_picks_zone_containing_the_longitude() -> None:
    for lon in np.linspace(73.7, 135.0, 200):
        for width in (3, 6):
            for prefixed in (False, True):
                code = gcrs.gk_epsg(float(lon), width, prefixed)
                area = pyproj.CRS.from_epsg(code).area_of_use
                cm = _params(code)["Longitude of natural origin"]
                assert abs(lon - cm) <= width / 2 + 1e-9
                assert area is not None and area.west - 1.5 <= lon <= area.east + 1.5
    with pytest.raises(CRSError, match="3 or 6"):
        gcrs.gk_epsg(114.0, width=4)


# --- local metric CRS, require_metric, to_metric ----------------------------------------------


@pytest.mark.parametrize("city", ["shenzhen", "beijing"])
def test_local_metric_crs_in_china_is_3_degree_gk_without_prefix(city: str) -> None:
    lon, lat = _district_lonlat(city)
    crs = gcrs.local_metric_crs(lon, lat)
    code = crs.to_epsg()
    assert code is not None and 4534 <= code <= 4554
    params = _params(code)
    centre = (lon.min() + lon.max()) / 2
    assert params["Longitude of natural origin"] == 3 * round(centre / 3)
    assert params["False easting"] == 500_000
    area = crs.area_of_use
    assert area is not None and area.west <= centre <= area.east
    # Scalars give the same answer as the arrays' centre.
    assert gcrs.local_metric_crs(float(centre), float(lat.mean())) == crs


@pytest.mark.parametrize(
    ("lon", "lat"), [(24.94, 60.17), (-87.63, 41.88), (14.40, 50.10), (151.21, -33.87)]
)
def test_local_metric_crs_outside_china_is_utm(lon: float, lat: float) -> None:
    crs = gcrs.local_metric_crs(lon, lat)
    infos = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    expected = {int(i.code) for i in infos if i.code.startswith(("326", "327"))}
    assert crs.to_epsg() in expected
    assert crs.to_epsg() == (32700 if lat < 0 else 32600) + int((lon + 180) // 6) + 1


def test_helsinki_is_utm_35n() -> None:
    cams = gpd.read_file(DATA / "helsinki-osm-center" / "surveillance_cameras.geojson")
    crs = gcrs.local_metric_crs(cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy())
    assert crs.to_epsg() == 32635
    assert crs == cams.estimate_utm_crs()  # geopandas' independent choice


def test_local_metric_crs_refuses_projected_or_empty_input() -> None:
    with pytest.raises(CRSError, match="guess_gk_epsg"):
        gcrs.local_metric_crs([38_500_000.0], [2_500_000.0])
    with pytest.raises(CRSError, match="No finite"):
        gcrs.local_metric_crs([np.nan], [np.nan])


@pytest.mark.parametrize("crs", [4326, "EPSG:4490", "wgs84", 4555])
def test_require_metric_raises_for_geographic(crs: object) -> None:
    with pytest.raises(UnitsError, match=r"camera range is in metres .*to_metric"):
        gcrs.require_metric(crs, "camera range")


def test_require_metric_accepts_metres_and_rejects_feet() -> None:
    for crs in (4547, 32635, 3857, 4526, gcrs.local_metric_crs(114.0, 22.5)):
        gcrs.require_metric(crs, "cell area")
    with pytest.raises(UnitsError, match="foot"):
        gcrs.require_metric(2263, "cell area")


@pytest.mark.parametrize("city", ["shenzhen", "beijing"])
def test_to_metric_areas_match_geodesic_areas(city: str) -> None:
    gdf = gpd.read_file(CHINA / f"{city}_districts_wgs84.geojson")
    metric = gcrs.to_metric(gdf)
    gcrs.require_metric(metric.crs, "district area")
    geodesic = np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in gdf.geometry])
    # 3-degree GK: scale error < 1.0004 within its zone, area error < 0.1 %.
    np.testing.assert_allclose(metric.area.to_numpy(), geodesic, rtol=1e-3)


def test_to_metric_reads_any_declared_crs_and_refuses_none() -> None:
    gdf = gpd.read_file(CHINA / "shenzhen_districts_wgs84.geojson")
    in_mercator = gdf.to_crs(3857)
    assert gcrs.metric_crs_for(in_mercator) == gcrs.metric_crs_for(gdf)
    with pytest.raises(CRSError, match="no CRS"):
        gcrs.to_metric(gdf.set_crs(None, allow_override=True))
    with pytest.raises(CRSError, match="no coordinates"):
        gcrs.to_metric(gdf.iloc[:0])


# --- looks_projected / guess_gk_epsg ----------------------------------------------------------


def test_looks_projected() -> None:
    lon, lat = _district_lonlat("beijing")
    assert not gcrs.looks_projected(lon, lat)
    x, y = gcrs.transform_xy(lon, lat, 4490, 4548)
    assert gcrs.looks_projected(x, y)
    assert gcrs.looks_projected([10.0, np.nan], [95.0, 1.0])
    assert not gcrs.looks_projected([np.nan], [np.nan])


@pytest.mark.parametrize("city", ["shenzhen", "beijing"])
def test_guess_gk_epsg_finds_prefixed_zones_exactly(city: str) -> None:
    lon, lat = _district_lonlat(city)
    centre = float(np.median(lon))
    for width in (3, 6):
        code = gcrs.gk_epsg(centre, width, prefixed=True)
        x, y = gcrs.transform_xy(lon, lat, 4490, code)
        assert gcrs.guess_gk_epsg(x, y) == [code]


@pytest.mark.parametrize("city", ["shenzhen", "beijing"])
def test_guess_gk_epsg_without_prefix_lists_the_true_zone(city: str) -> None:
    lon, lat = _district_lonlat(city)
    centre = float(np.median(lon))
    for width in (3, 6):
        code = gcrs.gk_epsg(centre, width, prefixed=False)
        x, y = gcrs.transform_xy(lon, lat, 4490, code)
        guesses = gcrs.guess_gk_epsg(x, y)
        assert code in guesses
        assert len(guesses) > 1  # honest about the ambiguity
        assert all(4502 <= g <= 4554 for g in guesses)
        # With a longitude hint the first guess is the same projection as the truth.
        best = gcrs.guess_gk_epsg(x, y, lon_hint=centre)[0]
        bx, by = gcrs.transform_xy(x, y, best, 4490)
        assert GEOD.inv(lon, lat, bx, by)[2].max() < 1e-3


def test_guess_gk_epsg_returns_nothing_for_implausible_input() -> None:
    assert gcrs.guess_gk_epsg([38_500_000.0], [8_500_000.0]) == []  # 76 N: not China
    assert gcrs.guess_gk_epsg([99_500_000.0], [2_500_000.0]) == []  # no zone 99
    assert gcrs.guess_gk_epsg([np.nan], [np.nan]) == []
    assert gcrs.guess_gk_epsg([2_000_000.0 - 1], [-3_000_000.0]) == []
