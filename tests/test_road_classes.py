"""Roads of any origin: a city's own class vocabulary, Chinese road grades, no class at all.

The street layers are the real Helsinki OSM highways (tests/data/helsinki-osm-center) with
their class column re-coded in a temporary file, as a city's street centreline file or a
surveying department's layer would carry it (same geometry, other vocabulary).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.priority import priority_from_layers
from gridcover.coverage.road_classes import OSM_HIGHWAY, weight_classes
from gridcover.coverage.weights import load_weights
from gridcover.errors import SchemaError
from gridcover.gis import read_layer

DATA = Path("tests/data/helsinki-osm-center")
AREA = shapely.box(24.938, 60.164, 24.946, 60.169)
# A city's own codes (US-style street centreline file), one per OSM class used below.
CITY = {"primary": "ARTERIAL-1", "secondary": "ARTERIAL-2", "tertiary": "COLLECTOR-3",
        "residential": "LOCAL-4", "unclassified": "LOCAL-4", "service": "ALLEY-5"}  # fmt: skip
ZH = {"primary": "主干路", "secondary": "次干路", "tertiary": "支路", "residential": "街巷"}
CAR = tuple(CITY)


@pytest.fixture(scope="module")
def streets() -> gpd.GeoDataFrame:
    r = gpd.read_file(DATA / "highways.geojson")
    r = r[r["highway"].isin(CAR)].reset_index(drop=True)
    return r[r.intersects(AREA.buffer(0.002))].reset_index(drop=True)


@pytest.fixture(scope="module")
def cells():
    return cells_for_area(AREA, 12)


def _write(tmp: Path, streets: gpd.GeoDataFrame, codes: dict[str, str] | None) -> Path:
    out = gpd.GeoDataFrame(
        {
            "OBJECTID": np.arange(1, len(streets) + 1),
            "FULLNAME": streets["name"].fillna("").to_numpy(),
        },
        geometry=streets.geometry.values,
        crs=streets.crs,
    )
    if codes is not None:
        out.insert(1, "CLASS", streets["highway"].map(codes).to_numpy())
    p = tmp / "streets.geojson"
    out.to_file(p, driver="GeoJSON")
    return p


def test_city_vocabulary_counts_as_ordinary_roads(tmp_path, streets, cells) -> None:
    roads = read_layer(_write(tmp_path, streets, CITY), "roads")
    assert set(roads["class"]) == set(CITY.values())  # read as given
    named = streets["name"].notna().to_numpy()
    assert (roads["name"].to_numpy()[named] == streets["name"].to_numpy()[named]).all()
    w = load_weights()
    got = priority_from_layers(cells, roads=roads, weights=w)
    # Independent expectation: the same geometry with every class an ordinary OSM road.
    plain = roads.assign(**{"class": "residential"})
    want = priority_from_layers(cells, roads=plain, weights=w)
    assert got.priority.sum() > 0.2 * len(cells)
    np.testing.assert_array_equal(got.weight, want.weight)
    # intersections come from the geometry: the same nodes as the OSM-tagged original
    osm = priority_from_layers(cells, roads=roads.assign(**{"class": streets["highway"]}))
    np.testing.assert_array_equal(got.intersections_xy, osm.intersections_xy)
    assert len(got.intersections_xy) > 10
    # and each node is where >= 3 street pieces meet (a street through it counts 2, one
    # ending there 1), counted with plain shapely predicates
    metric = np.asarray(roads.to_crs(cells.crs).geometry.values)
    nodes = shapely.points(got.intersections_xy)
    node_i, line_j = shapely.STRtree(metric).query(nodes, predicate="dwithin", distance=0.001)
    ends = shapely.boundary(metric[line_j])
    at_end = shapely.dwithin(ends, nodes[node_i], 0.001)
    pieces = np.bincount(node_i, weights=np.where(at_end, 1, 2), minlength=len(nodes))
    assert (pieces >= 3).all()


def test_one_note_names_the_unknown_classes(tmp_path, streets) -> None:
    roads = read_layer(_write(tmp_path, streets, CITY), "roads")
    grids = gpd.GeoDataFrame({"code": ["A"], "level": [1]}, geometry=[AREA], crs=4326)
    cams = read_layer(DATA / "surveillance_cameras.geojson", "cameras")
    res = run_analysis(grids, cams, roads=roads, config=AnalysisConfig(res=11))
    notes = [n for n in res.notes if "ordinary roads" in n]
    assert len(notes) == 1 and "ARTERIAL-1" in notes[0] and f"{len(roads)} road lines" in notes[0]
    assert res.summary["priority_cells"] > 0


def test_no_class_column_and_chinese_grades(tmp_path, streets, cells) -> None:
    w = load_weights()
    bare = read_layer(_write(tmp_path, streets, None), "roads")  # no class column at all
    assert weight_classes(bare["class"], w).other.all()
    assert priority_from_layers(cells, roads=bare, weights=w).priority.any()
    zh = streets[streets["highway"].isin(ZH)]
    mapped = weight_classes(zh["highway"].map(ZH), w)
    assert not mapped.other.any() and mapped.mapped.all()
    np.testing.assert_array_equal(mapped.classes, zh["highway"].to_numpy())
    osm = weight_classes(sorted(OSM_HIGHWAY), w)
    assert not osm.other.any() and not osm.mapped.any()  # OSM values are never renamed


def test_user_class_map_and_its_errors(tmp_path) -> None:
    p = tmp_path / "w.toml"
    p.write_text('[roads.class_map]\n"420101" = "motorway"\nLOCAL-4 = "living_street"\n', "utf-8")
    w = load_weights(p)
    got = weight_classes(["420101", "local-4", " LOCAL-4 ", "9"], w)
    assert list(got.classes) == ["motorway", "living_street", "living_street", "residential"]
    assert w.road_class_map["主干路"] == "primary"  # packaged entries are kept
    p.write_text('[roads.class_map]\nX = "highwayy"\n', "utf-8")
    with pytest.raises(SchemaError, match=r"class_map.X = 'highwayy' is not a class"):
        load_weights(p)
    p.write_text("[roads.class_map]\nX = 3\n", "utf-8")
    with pytest.raises(SchemaError, match="must be a class name"):
        load_weights(p)
