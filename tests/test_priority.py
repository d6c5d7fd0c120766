"""Priority weights: the weights file, intersections, and each component vs brute force."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from gridcover.coverage.cells import cells_for_area, cells_from_ids, cells_in_polygon
from gridcover.coverage.priority import (
    intersections_from_lines,
    priority_from_layers,
    priority_weights,
)
from gridcover.coverage.weights import default_weights_text, load_weights
from gridcover.errors import SchemaError

DATA = "tests/data/helsinki-osm-center"
AREA = shapely.box(24.936, 60.163, 24.946, 60.170)


@pytest.fixture(scope="module")
def cells():
    return cells_for_area(AREA, 12)


@pytest.fixture(scope="module")
def roads(cells):
    r = gpd.read_file(f"{DATA}/highways.geojson").rename(columns={"highway": "class"})
    return r.to_crs(cells.crs)


# ---------------------------------------------------------------- weights file
def test_default_weights_file_is_packaged_and_bilingual() -> None:
    text = default_weights_text()
    assert "路口无死角" in text and "intersections without blind angle" in text
    w = load_weights()
    assert w.road_weight("primary") > w.road_weight("footway") > 0
    assert w.road_weight("no-such-class") == w.road_default
    assert w.targets["intersections_pct"] == 100
    assert w.site_kinds["kindergarten"] > 0


def test_user_file_overrides_some_keys(tmp_path: Path) -> None:
    p = tmp_path / "w.toml"
    p.write_text("[roads.class_weights]\nprimary = 9\n[targets]\nsites_pct = 50\n", "utf-8")
    w = load_weights(p)
    assert w.road_weight("primary") == 9
    assert w.road_weight("secondary") == load_weights().road_weight("secondary")
    assert dict(w.targets) == {"sites_pct": 50}  # a [targets] table replaces the defaults
    assert w.source == str(p)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[roads]\nbufer_m = 3\n", r"unknown key roads\.bufer_m"),
        ("[cells]\nbase = -1\n", "must not be negative"),
        ("[sites.kind_weights]\nschool = 'high'\n", r"school = 'high' must be a number"),
        ("[cells]\ncombine = 'avg'\n", "combine"),
        ("[nonsense]\na = 1\n", r"unknown section \[nonsense\]"),
        ("[cells\n", "not valid TOML"),
    ],
)
def test_bad_weights_file_names_file_and_key(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text, "utf-8")
    with pytest.raises(SchemaError, match=match) as err:
        load_weights(p)
    assert "bad.toml" in str(err.value)


# ---------------------------------------------------------------- intersections
def test_intersection_degrees_match_networkx(roads) -> None:
    lines = np.asarray(roads.geometry.values)
    xy, degree, _ = intersections_from_lines(lines, np.zeros(len(lines), bool), 3)
    g = nx.Graph()
    for line in lines:
        for part in getattr(line, "geoms", [line]):
            c = [tuple(np.round(p, 3)) for p in np.asarray(part.coords)[:, :2]]
            g.add_edges_from((a, b) for a, b in itertools.pairwise(c) if a != b)
    expect = {n: d for n, d in g.degree() if d >= 3}
    got = {tuple(p): int(d) for p, d in zip(xy, degree, strict=True)}
    assert len(got) > 100
    assert got == expect


def test_main_road_flag(roads) -> None:
    w = load_weights()
    classes = roads["class"].to_numpy()
    main = np.isin(classes, w.intersection_main_classes)
    xy, _, touches = intersections_from_lines(np.asarray(roads.geometry.values), main, 3)
    main_lines = shapely.union_all(np.asarray(roads.geometry.values)[main])
    near_main = shapely.dwithin(main_lines, shapely.points(xy), 1e-3)
    np.testing.assert_array_equal(touches, near_main)


# ---------------------------------------------------------------- components
def test_road_component_matches_brute_force(cells, roads) -> None:
    w = load_weights()
    p = priority_from_layers(cells, roads=roads, weights=w)
    rng = np.random.default_rng(5)
    pick = rng.choice(len(cells), 400, replace=False)
    pts = shapely.points(cells.x[pick], cells.y[pick])
    lines = np.asarray(roads.geometry.values)
    rw = np.array([w.road_weight(c) for c in roads["class"]])
    # documented rule: buffer_m, never less than the inner radius of a regular hexagon of
    # the cell's own area (area = 2 sqrt(3) r², so r = edge x sqrt(3) / 2)
    edge = np.sqrt(2 * cells.area_m2[pick] / (3 * np.sqrt(3)))
    radius = np.maximum(w.road_buffer_m, edge * np.sqrt(3) / 2)
    d = shapely.distance(pts[:, None], lines[None, :])
    expect = np.where(d <= radius[:, None], rw[None, :], 0).max(axis=1)
    np.testing.assert_allclose(p.components["roads"][pick], expect)
    assert (p.components["roads"] > 0).mean() > 0.2


def test_cell_weight_does_not_depend_on_the_other_cells(cells, roads) -> None:
    # Helsinki analysed alone, then together with a town at 45° N whose res-12 cells are
    # ≈ 35 % larger: the Helsinki cells keep every weight (same metric CRS, so same x/y)
    town = cells_in_polygon(shapely.box(24.90, 45.00, 24.93, 45.02), 12)
    large = cells_from_ids(np.r_[cells.h3, town], cells.crs)
    pos = large.index_of(cells.h3)
    assert (pos >= 0).all() and len(large) > 2 * len(cells)
    w = load_weights()
    small_p = priority_from_layers(cells, roads=roads, weights=w)
    large_p = priority_from_layers(large, roads=roads, weights=w)
    np.testing.assert_array_equal(large_p.weight[pos], small_p.weight)
    for k in small_p.components:
        np.testing.assert_array_equal(large_p.components[k][pos], small_p.components[k])
    assert (small_p.components["roads"] > 0).sum() > 100
    # the test can fail: a buffer from the mean cell of the analysed set would move cells
    d = shapely.distance(cells.points()[:, None], np.asarray(roads.geometry.values)[None, :])
    near = d.min(axis=1)

    def mean_rule(c):
        return max(w.road_buffer_m, np.sqrt(c.area_m2.mean() / (2 * np.sqrt(3))))

    assert ((near <= mean_rule(cells)) != (near <= mean_rule(large))).sum() > 10


def test_sites_incidents_buildings(cells) -> None:
    w = load_weights()
    c = len(cells) // 2
    school = shapely.Point(cells.x[c], cells.y[c])
    patch = shapely.box(cells.x[c] + 100, cells.y[c] - 60, cells.x[c] + 200, cells.y[c] + 40)
    house = shapely.box(cells.x[c] - 120, cells.y[c] - 40, cells.x[c] - 60, cells.y[c] + 40)
    pts = shapely.points(cells.x, cells.y)
    p = priority_weights(
        cells,
        sites=(np.array([school, shapely.Point(cells.x[0], cells.y[0])]), np.array([8.0, 2.5])),
        incidents=(np.array([patch, school]), np.array([40.0, 3.0])),
        buildings=np.array([house]),
        weights=w,
    )
    near = shapely.distance(pts, school) <= w.site_radius_m
    np.testing.assert_array_equal(p.components["sites"][near], 8.0)
    in_house = shapely.contains(house, pts)
    np.testing.assert_array_equal(p.in_building, in_house)
    assert np.all(p.weight[in_house] == 0) and in_house.sum() > 5
    # incidents: the area's 40 are spread in proportion to cell area; the point's 3 go to
    # every cell within the radius; weight = min(max, per_incident x count)
    in_patch = shapely.contains(patch, pts)
    near_pt = shapely.distance(pts, school) <= w.incident_radius_m
    count = np.where(in_patch, 40 * cells.area_m2 / cells.area_m2[in_patch].sum(), 0) + 3 * near_pt
    expect = np.minimum(w.incident_max, w.incident_per_count * count)
    np.testing.assert_allclose(p.components["incidents"], expect)
    total = w.base + sum(p.components[k] for k in p.components)
    np.testing.assert_allclose(p.weight, np.where(in_house, 0, total))
    np.testing.assert_array_equal(p.priority, p.weight >= w.priority_min)


def test_no_layers_means_uniform_open_cells(cells) -> None:
    b = gpd.read_file(f"{DATA}/buildings.geojson")
    p = priority_from_layers(cells, buildings=b)
    assert p.uniform
    pts = shapely.points(cells.lon, cells.lat)
    inside = shapely.contains(np.asarray(b.geometry.values)[:, None], pts[None, :]).any(axis=0)
    np.testing.assert_array_equal(p.priority, ~inside)
    np.testing.assert_array_equal(p.weight, (~inside).astype(float))


def test_sites_layer_kind_and_own_weight(cells, tmp_path: Path) -> None:
    sites = gpd.GeoDataFrame(
        {"site_id": ["a", "b"], "kind": ["kindergarten", "bank"], "weight": [None, 1.5]},
        geometry=[
            shapely.Point(cells.lon[10], cells.lat[10]),
            shapely.Point(cells.lon[-10], cells.lat[-10]),
        ],
        crs=4326,
    )
    w = load_weights()
    p = priority_from_layers(cells, sites=sites, weights=w)
    assert p.components["sites"][10] == w.site_kinds["kindergarten"]
    assert p.components["sites"][len(cells) - 10] == 1.5
    f = tmp_path / "max.toml"
    f.write_text('[cells]\ncombine = "max"\nbase = 0.25\n', "utf-8")
    pm = priority_from_layers(cells, sites=sites, weights=load_weights(f))
    np.testing.assert_allclose(pm.weight, np.maximum(0.25, pm.components["sites"]))
