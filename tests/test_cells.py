"""Area of interest -> H3 cells: membership, areas, metric centroids, resolutions.

Checked against independent computations: shapely point-in-polygon on h3 centroids of a
brute-force candidate set, pyproj geodesic areas and distances.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pyproj
import pytest
import shapely

from gridcover.coverage.cells import cells_for_area, cells_from_ids, cells_in_polygon, check_res
from gridcover.errors import InputError

DATA = "tests/data/helsinki-osm-center"
GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def block() -> shapely.Polygon:
    """A real, concave shape: the union of a few Helsinki buildings, buffered ~15 m."""
    b = gpd.read_file(f"{DATA}/buildings.geojson").to_crs(3067)
    geom = b.geometry.iloc[:12].buffer(15).union_all()
    return gpd.GeoSeries([geom], crs=3067).to_crs(4326).iloc[0]


def _candidates(area: shapely.Geometry, res: int) -> np.ndarray:
    """Brute force: every cell of a disk around the area, kept if its centroid is inside."""
    c = area.centroid
    minx, miny, maxx, maxy = area.bounds
    radius_m = GEOD.inv(minx, miny, maxx, maxy)[2]
    k = int(radius_m / (h3.average_hexagon_edge_length(res, "m") * 1.2)) + 3
    disk = [h3.str_to_int(s) for s in h3.grid_disk(h3.latlng_to_cell(c.y, c.x, res), k)]
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(s)) for s in disk])
    inside = shapely.contains_xy(area, ll[:, 1], ll[:, 0])
    return np.sort(np.array(disk, dtype=np.int64)[inside])


@pytest.mark.parametrize("res", [11, 12, 13])
def test_cells_are_exactly_those_with_centroid_inside(block: shapely.Polygon, res: int) -> None:
    got = cells_in_polygon(block, res)
    assert got.dtype == np.int64
    assert got.size > 10
    np.testing.assert_array_equal(got, _candidates(block, res))


def test_axis_order_lat_lng(block: shapely.Polygon) -> None:
    cells = cells_for_area(block, 12)
    # Helsinki: lon ≈ 24.9, lat ≈ 60.2; a swapped ring would land in the Arabian Sea.
    assert np.all((cells.lon > 24.9) & (cells.lon < 25.0))
    assert np.all((cells.lat > 60.1) & (cells.lat < 60.2))
    assert shapely.contains_xy(block, cells.lon, cells.lat).all()


def test_hole_is_left_out() -> None:
    outer = shapely.box(24.930, 60.160, 24.950, 60.175)
    hole = shapely.box(24.936, 60.164, 24.944, 60.170)
    area = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    cells = cells_for_area(area, 12)
    assert not shapely.contains_xy(hole, cells.lon, cells.lat).any()
    full = cells_for_area(outer, 12)
    in_hole = shapely.contains_xy(hole, full.lon, full.lat).sum()
    assert len(full) - len(cells) == in_hole > 0


def test_total_area_matches_geodesic_area() -> None:
    box = shapely.box(24.930, 60.160, 24.950, 60.175)  # ≈ 1.1 km x 1.7 km
    cells = cells_for_area(box, 12)
    geodesic = abs(GEOD.geometry_area_perimeter(box)[0])
    perimeter = GEOD.geometry_area_perimeter(box)[1]
    # Centroid rule: the error is a boundary effect, at most ~ perimeter x cell width / 2,
    # and in practice much smaller because it cancels along the edges.
    width = np.sqrt(cells.area_m2.mean())
    assert abs(cells.total_area_m2 - geodesic) < perimeter * width / 2
    assert abs(cells.total_area_m2 / geodesic - 1) < 0.01


def test_area_per_cell_and_metric_centroids() -> None:
    cells = cells_for_area(shapely.box(24.940, 60.165, 24.945, 60.168), 12)
    one = int(cells.h3[0])
    ring = np.array(h3.cell_to_boundary(h3.int_to_str(one)))
    geodesic = abs(GEOD.polygon_area_perimeter(ring[:, 1], ring[:, 0])[0])
    assert cells.area_m2[0] == pytest.approx(geodesic, rel=1e-4)
    assert cells.crs.is_projected
    # metric distances between centroids agree with geodesic distances
    i, j = 0, len(cells) - 1
    d_geo = GEOD.inv(cells.lon[i], cells.lat[i], cells.lon[j], cells.lat[j])[2]
    d_xy = np.hypot(cells.x[i] - cells.x[j], cells.y[i] - cells.y[j])
    assert d_xy == pytest.approx(d_geo, rel=2e-3)


def test_geodataframe_adapter_and_helpers(block: shapely.Polygon) -> None:
    gdf = gpd.GeoDataFrame(geometry=[block], crs=4326).to_crs(3067)
    cells = cells_for_area(gdf, 12)  # reprojected back to EPSG:4326 first
    assert np.array_equal(cells.h3, cells_in_polygon(block, 12))
    hexes = cells.hex_ids()
    assert [h3.str_to_int(h) for h in hexes[:5]] == list(cells.h3[:5])
    assert np.array_equal(cells.index_of(cells.h3[::-1]), np.arange(len(cells))[::-1])
    assert cells.index_of(np.array([0], dtype=np.int64))[0] == -1
    out = cells.to_geodataframe(weight=np.ones(len(cells)))
    assert out.crs.to_epsg() == 4326
    assert shapely.contains_xy(out.geometry.values, cells.lon, cells.lat).all()
    metric = out.to_crs(cells.crs).area.to_numpy()
    np.testing.assert_allclose(metric, cells.area_m2, rtol=5e-3)
    sub = cells.subset(cells.area_m2 > np.median(cells.area_m2))
    assert len(sub) < len(cells)
    assert np.array_equal(cells_from_ids(sub.h3, cells.crs).h3, sub.h3)


def test_bbox_area_of_interest() -> None:
    cells = cells_for_area((24.940, 60.165, 24.945, 60.168), 11)
    assert cells.res == 11
    assert len(cells) == cells_in_polygon(shapely.box(24.940, 60.165, 24.945, 60.168), 11).size


@pytest.mark.parametrize("bad", [8, 14, 12.5, True, -1])
def test_unsupported_resolution_is_refused(bad: object) -> None:
    with pytest.raises(InputError, match="resolution"):
        check_res(bad)  # type: ignore[arg-type]


def test_point_area_is_refused() -> None:
    with pytest.raises(InputError, match="not a polygon"):
        cells_for_area(shapely.Point(24.9, 60.1), 12)


@pytest.mark.parametrize("res", [9, 12, 13])
def test_fast_fill_equals_stable_h3_fill(res: int) -> None:
    """cells_in_polygon uses h3's newer (experimental) fill; it must give exactly the cells
    of the stable h3shape_to_cells on real outlines (sample grids, Shenzhen districts)."""
    import h3.api.numpy_int as h3n

    grids = gpd.read_file("sample_geodata/grids.geojson")
    districts = gpd.read_file("tests/data/china-districts-cnmaps/shenzhen_districts_wgs84.geojson")
    areas = [shapely.union_all(grids.geometry.values), *districts.geometry.values[:2]]
    for area in areas[: 1 if res == 13 else 3]:
        got = cells_in_polygon(area, res)
        ref = np.unique(
            np.asarray(h3n.h3shape_to_cells(h3.geo_to_h3shape(area), res), dtype=np.uint64)
        ).astype(np.int64)
        assert got.size > 10
        np.testing.assert_array_equal(got, ref)


def test_cells_from_unsorted_repeated_ids(block: shapely.Polygon) -> None:
    ids = cells_in_polygon(block, 12)
    rng = np.random.default_rng(0)
    messy = rng.permutation(np.r_[ids, ids[::3]])
    cells = cells_from_ids(messy)
    np.testing.assert_array_equal(cells.h3, np.unique(messy))
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells.h3])
    np.testing.assert_array_equal(cells.lat, ll[:, 0])
    np.testing.assert_array_equal(cells.lon, ll[:, 1])
