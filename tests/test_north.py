"""Camera azimuths are TRUE bearings: views are turned by the meridian convergence.

Reference: ``pyproj.Geod`` on the WGS84 ellipsoid (geodesic bearings and forward steps),
never the projected grid. Cameras: the bundled Helsinki sample (real OSM cameras,
sample_geodata/, UTM 35N: ≈ -1.8° convergence) and the centroids of real Beijing and
Shenzhen districts (tests/data/china-districts-cnmaps, Gauss-Krüger zones).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pyproj
import pytest
import shapely

from gridcover.coverage.views.sectors import camera_views
from gridcover.coverage.views.sight import sight_pairs
from gridcover.coverage.views.views3d import camera_views_3d
from gridcover.errors import CRSError
from gridcover.gis.crs import gk_epsg, local_metric_crs
from gridcover.gis.north import convergence_deg, grid_bearing, grid_bearing_xy, true_bearing

ROOT = Path(__file__).parents[1]
GEOD = pyproj.Geod(ellps="WGS84")
CHINA = ROOT / "tests" / "data" / "china-districts-cnmaps"


def _wrap(a: np.ndarray) -> np.ndarray:
    """Angles in degrees to (-180, 180]."""
    return -np.mod(-np.asarray(a, float) + 180.0, 360.0) + 180.0


def _step_bearing(lon, lat, true_deg, crs, step_m: float = 1.0) -> np.ndarray:
    """Grid bearing in ``crs`` of a short geodesic step at ``true_deg`` (the independent
    reference: two projected points, no map factors)."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, true_deg, np.full(np.shape(lon), step_m))
    t = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x0, y0 = t.transform(lon, lat)
    x1, y1 = t.transform(lon2, lat2)
    return np.degrees(np.arctan2(np.subtract(x1, x0), np.subtract(y1, y0)))


def _places() -> list[tuple[str, float, float, pyproj.CRS]]:
    """(name, lon, lat, metric CRS) of real places: Helsinki sample cameras' centre, the
    Beijing and Shenzhen district centroids (local 3° GK) and one 6° GK zone edge."""
    cams = gpd.read_file(ROOT / "sample_geodata" / "cameras.geojson")
    lon, lat = float(cams.geometry.x.mean()), float(cams.geometry.y.mean())
    out = [("helsinki", lon, lat, local_metric_crs(lon, lat))]
    for city in ("beijing", "shenzhen"):
        d = gpd.read_file(CHINA / f"{city}_districts_wgs84.geojson")
        c = d.to_crs(local_metric_crs(*d.union_all().centroid.coords[0])).centroid.to_crs(4326)
        far = int(np.argmax(np.abs(c.x.to_numpy() - np.round(c.x.to_numpy() / 3) * 3)))
        lo, la = float(c.x.iloc[far]), float(c.y.iloc[far])
        out.append((city, lo, la, local_metric_crs(lo, la)))
        out.append((f"{city}-6deg", lo, la, pyproj.CRS.from_epsg(gk_epsg(lo, width=6))))
    return out


@pytest.mark.parametrize("place", _places(), ids=lambda p: p[0])
def test_convergence_sign_and_size_match_a_projected_geodesic_step(place) -> None:
    name, lon, lat, crs = place
    true = np.arange(0.0, 360.0, 15.0)
    ref = _step_bearing(np.full(true.size, lon), np.full(true.size, lat), true, crs)
    got = grid_bearing(true, lon, lat, crs)
    assert np.abs(_wrap(got - ref)).max() < 1e-4, name  # conformal: same rotation each way
    gamma = float(convergence_deg(lon, lat, crs))
    # size: the textbook approximation dλ·sin φ (degrees) of transverse Mercator
    op = crs.coordinate_operation.params
    lon0 = next(p.value for p in op if p.name == "Longitude of natural origin")
    assert gamma == pytest.approx((lon - lon0) * np.sin(np.radians(lat)), abs=0.02), name
    assert abs(gamma) > 0.05, name  # the places are off their central meridian
    assert np.abs(_wrap(true_bearing(got, lon, lat, crs) - true)).max() < 1e-9
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    assert np.abs(_wrap(grid_bearing_xy(true, x, y, crs) - got)).max() < 1e-9


def test_helsinki_convergence_is_about_minus_1_8_degrees() -> None:
    _, lon, lat, crs = _places()[0]
    # UTM 35N, central meridian 27° E: true north points 1.8° east of grid north
    assert float(_step_bearing(np.array([lon]), np.array([lat]), 0.0, crs)[0]) == pytest.approx(
        1.79, abs=0.02
    )
    assert float(convergence_deg(lon, lat, crs)) == pytest.approx(-1.79, abs=0.02)


def test_grid_bearing_keeps_nan_and_refuses_a_geographic_crs() -> None:
    assert np.isnan(grid_bearing(np.nan, 24.94, 60.17, 32635))
    with pytest.raises(CRSError, match="not a projected CRS"):
        grid_bearing(10.0, 24.94, 60.17, 4326)


def _aimed_cameras() -> gpd.GeoDataFrame:
    """The Helsinki sample's aimed cameras (real positions and azimuths), 60 m range."""
    cams = gpd.read_file(ROOT / "sample_geodata" / "cameras.geojson")
    cams = cams[cams["azimuth_deg"].notna() & (cams["fov_deg"] < 360)].reset_index(drop=True)
    assert len(cams) >= 10
    return cams.assign(range_m=60.0)


def _vertex_bearings(views: gpd.GeoDataFrame, cams: gpd.GeoDataFrame) -> list[np.ndarray]:
    """Per view, the geodesic bearing (relative to the camera's azimuth, degrees) of every
    polygon vertex farther than 1 m from the camera, read back in EPSG:4326."""
    out = []
    ll = views.to_crs(4326).geometry
    for i, poly in enumerate(ll):
        xy = shapely.get_coordinates(poly)
        lon0, lat0 = cams.geometry.x.iloc[i], cams.geometry.y.iloc[i]
        az, _, dist = GEOD.inv(np.full(len(xy), lon0), np.full(len(xy), lat0), xy[:, 0], xy[:, 1])
        out.append(_wrap(np.asarray(az)[dist > 1.0] - cams["azimuth_deg"].iloc[i]))
    return out


def test_2d_views_are_aimed_at_true_bearings_on_the_helsinki_sample() -> None:
    cams = _aimed_cameras()
    views = camera_views(cams)
    fov = views["fov_deg"].to_numpy()
    np.testing.assert_allclose(views["azimuth_deg"], cams["azimuth_deg"])  # output as given
    for rel, f in zip(_vertex_bearings(views, cams), fov, strict=True):
        assert rel.min() == pytest.approx(-f / 2, abs=0.2)
        assert rel.max() == pytest.approx(f / 2, abs=0.2)
    # a point on the true-bearing centre line at 0.9 range is inside, on the view's axis
    n = len(cams)
    lon, lat, _ = GEOD.fwd(
        cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy(), cams["azimuth_deg"].to_numpy(),
        np.full(n, 0.9 * 60.0),
    )  # fmt: skip
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(views.crs)
    assert shapely.contains(views.geometry.values, pts.values).all()
    ax = np.degrees(np.arctan2(pts.x - views["x_m"], pts.y - views["y_m"]))
    axis = []
    for poly, x0, y0 in zip(views.geometry, views["x_m"], views["y_m"], strict=True):
        xy = shapely.get_coordinates(poly)
        far = np.hypot(xy[:, 0] - x0, xy[:, 1] - y0) > 1.0
        b = np.degrees(np.arctan2(xy[far, 0] - x0, xy[far, 1] - y0))
        ref = b[0]
        rel = _wrap(b - ref)
        axis.append(ref + (rel.min() + rel.max()) / 2)
    assert np.abs(_wrap(ax.to_numpy() - np.array(axis))).max() < 0.05


def test_3d_views_and_sight_pairs_use_true_bearings() -> None:
    cams = _aimed_cameras().iloc[:6].reset_index(drop=True)
    cams = cams.assign(type="bullet", fov_deg=60.0, height_m=4.0)
    crs = local_metric_crs(cams.geometry.x.mean(), cams.geometry.y.mean())
    v3 = camera_views_3d(cams, None, metric_crs=crs)
    np.testing.assert_allclose(v3.views["azimuth_deg"], cams["azimuth_deg"])
    detect = v3.views["detect_m"].to_numpy()
    for rel in _vertex_bearings(v3.views, cams):
        assert rel.min() == pytest.approx(-30.0, abs=0.2)
        assert rel.max() == pytest.approx(30.0, abs=0.2)
    # real H3 cells (res 14, ≈ 1.3 m) around each camera: seen iff the centre's geodesic
    # bearing is within fov/2 of the azimuth (cells well inside the detection distance)
    ids = np.unique(
        np.concatenate(
            [
                np.array(
                    [h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(la, lo, 14), 18)]
                )
                for lo, la in zip(cams.geometry.x, cams.geometry.y, strict=True)
            ]
        )
    )
    lat, lon = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in ids]).T
    cx, cy = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    cx, cy = np.asarray(cx), np.asarray(cy)
    pairs = sight_pairs(
        v3.optics, cx, cy, target_height_m=1.5, tree=shapely.STRtree(shapely.points(cx, cy))
    )
    seen = set(zip(pairs.camera_idx.tolist(), pairs.cell_idx.tolist(), strict=True))
    inside_edge = outside_edge = 0
    for k in range(len(cams)):
        lo, la = cams.geometry.x.iloc[k], cams.geometry.y.iloc[k]
        az, _, dist = GEOD.inv(np.full(lon.size, lo), np.full(lon.size, la), lon, lat)
        off = np.abs(_wrap(np.asarray(az) - cams["azimuth_deg"].iloc[k]))
        near = (dist > 2.0) & (dist < 0.8 * detect[k])
        got = np.array([(k, j) in seen for j in range(lon.size)])
        sure = near & (np.abs(off - 30.0) > 0.1)
        assert (got[sure] == (off[sure] < 30.0)).all()
        inside_edge += int((near & (off > 29.0) & (off < 29.9)).sum())
        outside_edge += int((near & (off > 30.1) & (off < 31.0)).sum())
    assert inside_edge >= 10 and outside_edge >= 10  # the edges are really tested
