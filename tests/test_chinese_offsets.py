"""GCJ-02 / BD-09 conversions on real Amap-derived districts and random points in China.

Distances are geodesic metres (pyproj.Geod). Independent references: the cnmaps WGS84 files
(made with cnmaps' own one-step gcj02_to_wgs84, see tests/data/china-districts-cnmaps/SOURCE.md)
and geocoordinates-rs, a separate Rust implementation with a refined inverse.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import coordTransform
import geocoordinates_ffi as gc
import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from gridcover.errors import CRSError, InputError
from gridcover.gis import chinese_offsets as co

CHINA = Path(__file__).parent / "data" / "china-districts-cnmaps"
GEOD = pyproj.Geod(ellps="WGS84")
CITIES = ["shenzhen", "beijing"]
Points = tuple[np.ndarray, np.ndarray]
Convert = Callable[..., tuple[np.ndarray, np.ndarray]]


def metres(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
    return np.asarray(GEOD.inv(x1, y1, x2, y2)[2])


def _pair(city: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    gcj = gpd.read_file(CHINA / f"{city}_districts_gcj02.geojson")
    wgs = gpd.read_file(CHINA / f"{city}_districts_wgs84.geojson")
    assert list(gcj["adcode"]) == list(wgs["adcode"])
    return gcj, wgs


@pytest.fixture(scope="module")
def china_points() -> Points:
    """5000 random WGS84 points inside the China box, away from its edges."""
    rng = np.random.default_rng(4490)
    return rng.uniform(74.0, 134.5, 5000), rng.uniform(18.0, 53.0, 5000)


# --- real data --------------------------------------------------------------------------------


@pytest.mark.parametrize("city", CITIES)
def test_one_step_matches_cnmaps_wgs84_files_vertex_by_vertex(city: str) -> None:
    gcj, ref = _pair(city)
    ours = co.convert_geometries(gcj.geometry.values, "gcj02", "wgs84", method="one_step")
    assert (shapely.get_num_coordinates(ours) == shapely.get_num_coordinates(ref.geometry)).all()
    a, b = shapely.get_coordinates(ours), shapely.get_coordinates(ref.geometry.values)
    err = metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert err.max() < 0.5  # observed 0.008 m: the files are rounded to 7 decimals
    assert shapely.is_valid(ours).all()


@pytest.mark.parametrize("city", CITIES)
def test_exact_inverse_differs_from_cnmaps_only_by_cnmaps_own_error(city: str) -> None:
    gcj, ref = _pair(city)
    g = shapely.get_coordinates(gcj.geometry.values)
    r = shapely.get_coordinates(ref.geometry.values)
    ours = shapely.get_coordinates(co.convert_geometries(gcj.geometry.values, "gcj02", "wgs84"))
    # Ours maps forward onto the GCJ-02 input (exact inverse) ...
    fx, fy = co.wgs84_to_gcj02(ours[:, 0], ours[:, 1])
    assert metres(fx, fy, g[:, 0], g[:, 1]).max() < 0.05
    # ... the cnmaps file does not: its forward residual is its own inverse error (metres) ...
    rx, ry = co.wgs84_to_gcj02(r[:, 0], r[:, 1])
    residual = metres(rx, ry, g[:, 0], g[:, 1])
    # ... and that residual accounts for every vertex where ours and the file disagree
    # (1 % for the shift's gradient, 2 cm for rounding in the file).
    gap = metres(ours[:, 0], ours[:, 1], r[:, 0], r[:, 1])
    assert (gap <= 1.01 * residual + 0.02).all()
    assert gap.max() < 5.0  # observed 2.41 m Shenzhen, 3.35 m Beijing


@pytest.mark.parametrize("city", CITIES)
def test_district_shift_size_is_plausible(city: str) -> None:
    gcj, _ = _pair(city)
    wgs = co.convert_geometries(gcj.geometry.values, "gcj02", "wgs84")
    c1, c2 = shapely.centroid(gcj.geometry.values), shapely.centroid(wgs)
    shift = metres(shapely.get_x(c1), shapely.get_y(c1), shapely.get_x(c2), shapely.get_y(c2))
    assert ((shift > 300) & (shift < 900)).all()  # SOURCE.md: ~620-730 m in EPSG:3857 units


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [
        (co.wgs84_to_gcj02, co.gcj02_to_wgs84),
        (co.wgs84_to_bd09, co.bd09_to_wgs84),
        (co.gcj02_to_bd09, co.bd09_to_gcj02),
    ],
    ids=["gcj02", "bd09", "gcj02-bd09"],
)
def test_round_trip_within_5_cm(china_points: Points, forward: Convert, inverse: Convert) -> None:
    lon, lat = china_points
    shifted = forward(lon, lat)
    assert metres(lon, lat, *shifted).min() > 1  # the shift happened (>= 21 m seen)
    back = inverse(*shifted)
    assert metres(lon, lat, *back).max() < 0.05


def test_one_step_inverse_is_metre_level_only(china_points: Points) -> None:
    lon, lat = china_points
    err = metres(lon, lat, *co.gcj02_to_wgs84(*co.wgs84_to_gcj02(lon, lat), method="one_step"))
    assert 0.05 < err.max() < 10


def test_against_independent_rust_implementation(china_points: Points) -> None:
    lon, lat = (a[:1500] for a in china_points)
    g = [gc.wgs84_to_gcj02(gc.Wgs84(lat=b, lon=a)) for a, b in zip(lon, lat, strict=True)]
    glon, glat = np.array([p.lon for p in g]), np.array([p.lat for p in g])
    assert metres(*co.wgs84_to_gcj02(lon, lat), glon, glat).max() < 1e-6
    w = [gc.gcj02_to_wgs84_refined(gc.Gcj02(lat=b, lon=a)) for a, b in zip(glon, glat, strict=True)]
    wlon, wlat = np.array([p.lon for p in w]), np.array([p.lat for p in w])
    assert metres(*co.gcj02_to_wgs84(glon, glat), wlon, wlat).max() < 0.05
    b = [gc.wgs84_to_bd09(gc.Wgs84(lat=y, lon=x)) for x, y in zip(lon, lat, strict=True)]
    blon, blat = np.array([p.lon for p in b]), np.array([p.lat for p in b])
    assert metres(*co.wgs84_to_bd09(lon, lat), blon, blat).max() < 1e-6


# --- the outside-China rule -------------------------------------------------------------------

ALL = [
    co.wgs84_to_gcj02,
    co.gcj02_to_wgs84,
    co.wgs84_to_bd09,
    co.bd09_to_wgs84,
    co.gcj02_to_bd09,
    co.bd09_to_gcj02,
]


@pytest.mark.parametrize("func", ALL, ids=lambda f: f.__name__)
def test_outside_china_is_unchanged(func: Convert) -> None:
    cams = gpd.read_file(
        Path(__file__).parent / "data/helsinki-osm-center/surveillance_cameras.geojson"
    )
    lon, lat = cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy()
    x, y = func(lon, lat)
    np.testing.assert_array_equal(x, lon)
    np.testing.assert_array_equal(y, lat)


def test_box_rule_is_the_librarys() -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(60, 150, 20000), rng.uniform(-5, 65, 20000)
    lib = np.array([coordTransform.out_of_china(a, b) for a, b in zip(lon, lat, strict=True)])
    np.testing.assert_array_equal(co.in_china_box(lon, lat), ~lib)


def test_edge_band_and_nan_come_back_unchanged_and_finite() -> None:
    lon = np.array([73.6601, 73.70, 100.0, np.nan, 120.0])
    lat = np.array([40.0, 40.0, 3.8601, 30.0, np.nan])
    for func in ALL:
        x, y = func(lon, lat)
        assert np.isfinite(x[:3]).all() and np.isfinite(y[:3]).all()
        assert np.isnan(x[3]) and np.isnan(y[4])
    # 73.6601 E in GCJ-02 has no WGS84 preimage inside the box: returned as given.
    x, y = co.gcj02_to_wgs84(lon[:1], lat[:1])
    assert (x[0], y[0]) == (lon[0], lat[0])


# --- shapes, geometries, errors ---------------------------------------------------------------


def test_shapes_are_kept() -> None:
    x, _ = co.wgs84_to_gcj02(114.05, 22.55)
    assert x.shape == () and float(x) != 114.05
    grid_x, grid_y = np.meshgrid(np.linspace(113, 115, 4), np.linspace(22, 23, 3))
    for func in ALL:
        gx, gy = func(grid_x, grid_y)
        assert gx.shape == gy.shape == (3, 4)
        assert gx.dtype == np.float64
    ex, ey = co.gcj02_to_wgs84(np.array([]), np.array([]))
    assert ex.shape == ey.shape == (0,)


def test_convert_geometries_keeps_types_none_and_empty() -> None:
    geoms = np.array(
        [
            shapely.Point(114.05, 22.55),
            shapely.LineString([(114.0, 22.5), (114.1, 22.6)]),
            None,
            shapely.Polygon(),
            shapely.Point(24.94, 60.17),
        ],
        dtype=object,
    )
    out = co.convert_geometries(geoms, "bd09", "wgs84")
    assert out[2] is None and out[3].is_empty
    assert list(shapely.get_type_id(out[[0, 1, 4]])) == [0, 1, 0]
    assert out[4].equals(geoms[4])
    back = co.convert_geometries(out, "WGS84", "bd09")
    assert (
        metres(
            shapely.get_x(back[[0, 4]]),
            shapely.get_y(back[[0, 4]]),
            shapely.get_x(geoms[[0, 4]]),
            shapely.get_y(geoms[[0, 4]]),
        ).max()
        < 0.05
    )
    same = co.convert_geometries(geoms, "gcj02", "gcj02")
    assert same[0].equals(geoms[0]) and same[0] is not geoms[0]


def test_unknown_system_or_method_is_refused() -> None:
    with pytest.raises(CRSError, match="gcj02 for AMap"):
        co.convert_geometries(np.array([shapely.Point(1, 1)]), "wgs84", "utm")
    with pytest.raises(InputError, match="'exact' or 'one_step'"):
        bad: Any = "newton"
        co.gcj02_to_wgs84(114.0, 22.0, method=bad)
    x, y = co.convert_lonlat([114.05], [22.55], "gcj02", "bd09")
    assert metres(x, y, *co.gcj02_to_bd09([114.05], [22.55])).max() == 0.0
