"""Views x cells -> cameras per cell. Checked against brute force and Monte-Carlo sampling.

View polygons here are plain shapely sectors built in the test (independent of the views
module), placed at the real Helsinki camera positions.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.cover import (
    Sectors,
    camera_counted,
    cover_cells,
    cover_from_views,
    cover_pairs,
)

DATA = "tests/data/helsinki-osm-center"


def sector(x: float, y: float, az: float, fov: float, r: float, n: int = 64) -> shapely.Polygon:
    """Plain sector: apex at (x, y), azimuth clockwise from north, degrees; full circle if 360."""
    if fov >= 360:
        return shapely.Point(x, y).buffer(r, quad_segs=n)
    t = np.radians(az - fov / 2 + fov * np.linspace(0, 1, n))
    ring = np.c_[np.r_[x, x + r * np.sin(t)], np.r_[y, y + r * np.cos(t)]]
    return shapely.Polygon(ring)


@pytest.fixture(scope="module")
def helsinki():
    cams = gpd.read_file(f"{DATA}/surveillance_cameras.geojson")
    area = shapely.box(*cams.total_bounds).buffer(0.0005)
    cells = cells_for_area(area, 12)
    pts = cams.to_crs(cells.crs)
    rng = np.random.default_rng(3)
    n = len(pts)
    az = rng.uniform(0, 360, n)
    fov = rng.choice([60.0, 90.0, 360.0], n)
    r = rng.uniform(20, 80, n)
    views = np.array(
        [sector(p.x, p.y, a, f, d) for p, a, f, d in zip(pts.geometry, az, fov, r, strict=True)]
    )
    status = np.where(
        np.arange(n) % 5 == 0, "offline", np.where(np.arange(n) % 7 == 0, "unknown", "online")
    )
    gdf = gpd.GeoDataFrame(
        {"camera_id": cams["osm_id"].astype(str), "status": status}, geometry=views, crs=cells.crs
    )
    return cells, gdf


def test_pairs_equal_brute_force(helsinki) -> None:
    cells, views = helsinki
    geoms = np.asarray(views.geometry.values)
    ci, ki = cover_pairs(geoms, cells.x, cells.y, threads=2)
    order = np.lexsort((ki, ci))
    ci, ki = ci[order], ki[order]
    pts = shapely.points(cells.x, cells.y)
    brute = shapely.contains(geoms[:, None], pts[None, :])  # camera x cell, plain shapely
    bk, bc = np.nonzero(brute)
    order = np.lexsort((bk, bc))
    np.testing.assert_array_equal(ci, bc[order])
    np.testing.assert_array_equal(ki, bk[order])
    assert ci.size > 1000
    ci1, ki1 = cover_pairs(geoms, cells.x, cells.y, threads=1, tree=cells.tree)
    order = np.lexsort((ki1, ci1))
    assert np.array_equal(ci1[order], ci) and np.array_equal(ki1[order], ki)


def test_offline_cameras_counted_separately(helsinki) -> None:
    cells, views = helsinki
    cov = cover_from_views(views, cells)
    status = views["status"].to_numpy()
    pts = shapely.points(cells.x, cells.y)
    geoms = np.asarray(views.geometry.values)
    on = status != "offline"  # unknown counts as online by default
    inside = shapely.contains(geoms[:, None], pts[None, :])
    np.testing.assert_array_equal(cov.counts, inside[on].sum(axis=0))
    np.testing.assert_array_equal(cov.counts_other, inside[~on].sum(axis=0))
    np.testing.assert_array_equal(cov.covered, inside[on].any(axis=0))
    # a cell seen only by offline cameras is not covered
    only_off = inside[~on].any(axis=0) & ~inside[on].any(axis=0)
    assert only_off.any() and not cov.covered[only_off].any()
    with_off = cover_from_views(views, cells, include_offline=True)
    np.testing.assert_array_equal(with_off.counts, inside.sum(axis=0))
    strict = cover_from_views(views, cells, unknown_online=False)
    np.testing.assert_array_equal(strict.counts, inside[status == "online"].sum(axis=0))


def test_sparse_matrix_and_lookups(helsinki) -> None:
    cells, views = helsinki
    cov = cover_from_views(views, cells)
    m = cov.matrix()
    assert m.shape == (len(cells), len(views)) and m.format == "csr"
    np.testing.assert_array_equal(np.asarray(m.sum(axis=1)).ravel(), cov.counts + cov.counts_other)
    mc = cov.matrix(counted_only=True)
    np.testing.assert_array_equal(np.asarray(mc.sum(axis=1)).ravel(), cov.counts)
    busy = int(np.argmax(cov.counts + cov.counts_other))
    np.testing.assert_array_equal(np.sort(cov.cameras_of(busy)), m[busy].indices)
    pt = shapely.Point(cells.x[busy], cells.y[busy])
    expect = np.flatnonzero(shapely.contains(np.asarray(views.geometry.values), pt))
    np.testing.assert_array_equal(np.sort(cov.cameras_of(busy)), expect)
    np.testing.assert_array_equal(cov.cells_seen_per_camera(), np.asarray(m.sum(axis=0)).ravel())


def test_coverage_fraction_matches_monte_carlo(helsinki) -> None:
    """Covered area of the cells vs the share of random points inside the union of views."""
    cells, views = helsinki
    cov = cover_from_views(views, cells)
    frac_cells = cells.area_m2[cov.covered].sum() / cells.total_area_m2
    on = views[views["status"] != "offline"]
    union = shapely.union_all(np.asarray(on.geometry.values))
    hull = shapely.MultiPoint(np.c_[cells.x, cells.y]).convex_hull
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = hull.bounds
    px, py = rng.uniform(minx, maxx, 400_000), rng.uniform(miny, maxy, 400_000)
    keep = shapely.contains_xy(hull, px, py)
    frac_mc = shapely.contains_xy(union, px[keep], py[keep]).mean()
    assert 0.05 < frac_mc < 0.95
    assert abs(frac_cells - frac_mc) < 0.01


def test_full_circle_covers_four_times_a_quarter_sector() -> None:
    """Open ground (no buildings): a 360° view covers ~4x the cells of a 90° sector."""
    area = shapely.box(24.930, 60.160, 24.936, 60.164)
    cells = cells_for_area(area, 13)
    cx, cy = float(np.mean(cells.x)), float(np.mean(cells.y))
    views = np.array(
        [sector(cx, cy, az, 90, 80) for az in (0, 90, 180, 270)] + [sector(cx, cy, 0, 360, 80)]
    )
    counts = np.bincount(cover_pairs(views, cells.x, cells.y)[1], minlength=5)
    ratios = counts[4] / counts[:4]
    assert np.all(np.abs(ratios - 4) < 0.2), ratios
    # the four quarters tile the circle: every covered cell seen by exactly one quarter
    assert abs(counts[:4].sum() - counts[4]) <= 4


def test_empty_and_missing_views() -> None:
    cells = cells_for_area(shapely.box(24.930, 60.160, 24.932, 60.161), 12)
    views = np.array([None, shapely.Polygon(), sector(cells.x[0], cells.y[0], 0, 360, 30)])
    ci, ki = cover_pairs(views, cells.x, cells.y)
    assert set(ki.tolist()) == {2}
    cov = cover_cells(len(cells), ci, ki, camera_counted(np.array(["online"] * 3)))
    assert cov.covered.sum() == np.unique(ci).size > 0
    none = cover_pairs(np.array([], dtype=object), cells.x, cells.y)
    assert none[0].size == 0


def test_views_in_other_crs_are_reprojected(helsinki) -> None:
    cells, views = helsinki
    a = cover_from_views(views, cells)
    b = cover_from_views(views.to_crs(3067), cells)
    # reprojection moves vertices by << a cell, so only a handful of border cells may differ
    assert np.mean(a.covered != b.covered) < 0.01


def _pair_set(ci: np.ndarray, ki: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(ci.tolist(), ki.tolist(), strict=True))


def test_sector_pruning_changes_nothing_on_occluded_views() -> None:
    """Real occluded views (coverage.views on the sample) with and without sector pruning."""
    from gridcover.coverage.views.sectors import camera_views
    from sample_analysis import sample_layers

    layers = sample_layers()
    cells = cells_for_area(layers["grids"], 13)
    views = camera_views(layers["cameras"], layers["buildings"], metric_crs=cells.crs)
    geoms = np.asarray(views.geometry.values)
    plain = cover_pairs(geoms, cells.x, cells.y, tree=cells.tree)
    pruned = cover_pairs(geoms, cells.x, cells.y, sectors=Sectors.from_views(views))
    assert _pair_set(*pruned) == _pair_set(*plain)
    assert len(plain[0]) > 10_000
    cov = cover_from_views(views, cells)  # the adapter prunes too
    assert _pair_set(cov.cell_idx, cov.camera_idx) == _pair_set(*plain)


def test_sector_pruning_on_plain_sectors(helsinki) -> None:
    cells, _ = helsinki
    rng = np.random.default_rng(4)
    n = 300
    cx = rng.uniform(cells.x.min(), cells.x.max(), n)
    cy = rng.uniform(cells.y.min(), cells.y.max(), n)
    az = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(-400, 400, n))
    fov = rng.choice([10.0, 90.0, 200.0, 359.0, 360.0], n)
    r = rng.uniform(10, 100, n)
    views = np.array(
        [
            sector(a, b, 0 if np.isnan(z) else z, 360 if np.isnan(z) else f, d)
            for a, b, z, f, d in zip(cx, cy, az, fov, r, strict=True)
        ]
    )
    brute = np.nonzero(shapely.contains(views[:, None], shapely.points(cells.x, cells.y)[None, :]))
    pruned = cover_pairs(views, cells.x, cells.y, sectors=Sectors(cx, cy, az, fov, r))
    assert _pair_set(*pruned) == _pair_set(brute[1], brute[0])


def test_engine_views_360_cover_four_times_the_cells_of_90(helsinki) -> None:
    """End to end on open ground (no buildings): camera_views + cover_from_views at the real
    camera positions; a 360° view covers ~4x the cells of a 90° sector, and the four
    quarter sectors of a camera together cover what its full circle covers (to a cell)."""
    from gridcover.coverage.views.sectors import camera_views

    cells, _ = helsinki
    cams = gpd.read_file(f"{DATA}/surveillance_cameras.geojson").iloc[::4]
    base = gpd.GeoDataFrame(
        {"camera_id": cams["osm_id"].astype(str), "status": "online", "range_m": 60.0},
        geometry=cams.geometry.values,
        crs=cams.crs,
    )
    full = cover_from_views(camera_views(base, metric_crs=cells.crs), cells)
    seen_full = full.cells_seen_per_camera()
    quarters = []
    for az in (0.0, 90.0, 180.0, 270.0):
        v = camera_views(base.assign(azimuth_deg=az + 17.0, fov_deg=90.0), metric_crs=cells.crs)
        quarters.append(cover_from_views(v, cells).cells_seen_per_camera())
    q = np.array(quarters)
    inside = seen_full > 40  # cameras whose circle lies (mostly) within the cells' area
    assert inside.sum() >= 20
    ratio = seen_full[inside] / q[:, inside].mean(axis=0)
    assert np.all(np.abs(ratio - 4.0) < 0.4), ratio
    # the quarters tile the circle: up to one cell per camera sits on an arc chord or on a
    # sector edge (strictly inside the circle's polygon, on the boundary of the quarters')
    assert np.abs(q.sum(axis=0) - seen_full).max() <= 1
    assert np.abs(q.sum(axis=0) - seen_full).sum() <= 0.02 * seen_full.sum()
