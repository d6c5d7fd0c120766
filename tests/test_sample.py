"""The bundled sample (sample_geodata/): reproducible, true to its OSM source, grid nests and tiles.

Checks are independent of the build code: plain shapely / pyproj / brute force on the files.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import box

from gridcover.gis.schemas import SCHEMAS, SITE_KINDS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_geodata"
SRC = ROOT / "tests" / "data" / "helsinki-osm-center"
ID = {
    "cameras": "camera_id",
    "buildings": "building_id",
    "roads": "road_id",
    "grids": "code",
    "posts": "post_id",
    "sites": "site_id",
}
BBOX = (24.9351762, 60.1641550, 24.9534145, 60.1791130)  # PBF header box, SOURCE.md


def _read(name: str, folder: Path = SAMPLE) -> gpd.GeoDataFrame:
    return gpd.read_file(folder / f"{name}.geojson", engine="pyogrio")


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    script = SAMPLE / "build_sample.py"
    cmd = [sys.executable, str(script), "--src", str(SRC), "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return {name: _read(name) for name in ID}


@pytest.fixture(scope="module")
def metric(layers: dict[str, gpd.GeoDataFrame]) -> pyproj.CRS:
    return layers["roads"].estimate_utm_crs()


@pytest.fixture(scope="module")
def grids_m(layers: dict[str, gpd.GeoDataFrame], metric: pyproj.CRS) -> gpd.GeoDataFrame:
    return layers["grids"].to_crs(metric)


@pytest.mark.parametrize("name", list(ID))
def test_committed_file_is_what_the_script_makes(
    name: str, rebuilt: Path, layers: dict[str, gpd.GeoDataFrame]
) -> None:
    committed, fresh = layers[name], _read(name, rebuilt)
    assert len(committed) == len(fresh)
    assert list(committed.columns) == list(fresh.columns)
    assert committed[ID[name]].tolist() == fresh[ID[name]].tolist()
    same = shapely.equals_exact(
        committed.geometry.to_numpy(), fresh.geometry.to_numpy(), tolerance=1e-9
    )
    assert same.all(), f"{name}: {(~same).sum()} geometries differ; re-run build_sample.py"
    pd.testing.assert_frame_equal(
        pd.DataFrame(committed.drop(columns="geometry")),
        pd.DataFrame(fresh.drop(columns="geometry")),
    )


@pytest.mark.parametrize("name", list(ID))
def test_canonical_columns_come_first(name: str, layers: dict[str, gpd.GeoDataFrame]) -> None:
    kind = SCHEMAS[name]
    assert list(layers[name].columns[: len(kind.columns)]) == kind.columns
    assert layers[name][ID[name]].is_unique
    assert layers[name].crs.equals(pyproj.CRS("EPSG:4326"))


def test_counts_and_ids_match_the_source(layers: dict[str, gpd.GeoDataFrame]) -> None:
    cams = gpd.read_file(SRC / "surveillance_cameras.geojson")
    bld = gpd.read_file(SRC / "buildings.geojson")
    hwy = gpd.read_file(SRC / "highways.geojson")
    assert (len(layers["cameras"]), len(layers["buildings"]), len(layers["roads"])) == (
        221,
        489,
        2504,
    )
    assert set(layers["cameras"]["camera_id"]) == {f"osm-{i}" for i in cams["osm_id"]}
    bid = [
        f"osm-way-{w}" if isinstance(w, str) else f"osm-relation-{r}"
        for w, r in zip(bld["osm_way_id"], bld["osm_id"], strict=True)
    ]
    assert set(layers["buildings"]["building_id"]) == set(bid)
    assert set(layers["roads"]["road_id"]) == {f"osm-way-{i}" for i in hwy["osm_id"]}


@pytest.mark.parametrize(
    ("name", "source", "source_id"),
    [
        ("cameras", "surveillance_cameras", lambda d: "osm-" + d["osm_id"].astype(str)),
        ("roads", "highways", lambda d: "osm-way-" + d["osm_id"].astype(str)),
    ],
)
def test_real_geometries_are_unchanged(
    name: str, source: str, source_id: object, layers: dict[str, gpd.GeoDataFrame]
) -> None:
    src = gpd.read_file(SRC / f"{source}.geojson")
    src = src.set_index(source_id(src)).loc[layers[name][ID[name]]]  # type: ignore[operator]
    assert shapely.equals_exact(
        layers[name].geometry.to_numpy(), src.geometry.to_numpy(), 1e-9
    ).all()


def test_camera_types_follow_the_osm_tags(layers: dict[str, gpd.GeoDataFrame]) -> None:
    src = gpd.read_file(SRC / "surveillance_cameras.geojson")
    cam = layers["cameras"].set_index("camera_id")
    ptz = {f"osm-{i}" for i in src.loc[src["revolving"] == "yes", "osm_id"]}
    dome = {f"osm-{i}" for i in src.loc[src["camera:type"] == "dome", "osm_id"]} - ptz
    assert set(cam.index[cam["type"] == "ptz"]) == ptz and len(ptz) == 34
    assert set(cam.index[cam["type"] == "dome"]) == dome and len(dome) == 6
    wide = cam["type"].isin(["ptz", "dome"])
    assert cam.loc[wide, "azimuth_deg"].isna().all() and (cam.loc[wide, "fov_deg"] == 360).all()
    assert cam.loc[~wide, "azimuth_deg"].between(0, 360).all()
    assert (cam.loc[~wide, "fov_deg"] == 90).all()
    heights = pd.to_numeric(src.set_index("osm_id")["height"], errors="coerce").dropna()
    got = cam.set_index("osm_id").loc[heights.index, "height_m"]
    assert np.allclose(got.to_numpy(), heights.to_numpy())


def test_derived_azimuths_face_away_from_the_nearest_wall(
    layers: dict[str, gpd.GeoDataFrame], metric: pyproj.CRS
) -> None:
    cam = layers["cameras"]
    bld = layers["buildings"].to_crs(metric)
    pts = cam.to_crs(metric).geometry.to_numpy()
    # brute force: distance from every camera to every building
    dist = shapely.distance(pts[:, None], bld.geometry.to_numpy()[None, :])
    near = dist.min(axis=1) <= 5.0
    assert near.sum() == 212  # SOURCE.md: 212 of 221 cameras within 5 m of a building
    bullet = (cam["type"] == "bullet").to_numpy()
    wall = cam["azimuth_source"].eq("derived: outward normal of nearest wall").to_numpy()
    assert (wall == (bullet & near)).all()
    assert (
        cam["azimuth_source"].eq("derived: towards nearest road").to_numpy() == (bullet & ~near)
    ).all()
    nearest = bld["building_id"].to_numpy()[dist.argmin(axis=1)]
    assert (cam.loc[wall, "nearest_building_id"].to_numpy() == nearest[wall]).all()
    # a point 3 m ahead is farther from the building than a point 3 m behind
    outside = wall & ~shapely.contains(bld.geometry.to_numpy()[dist.argmin(axis=1)], pts)
    geod = pyproj.Geod(ellps="WGS84")
    lon, lat, az = cam.geometry.x.values, cam.geometry.y.values, cam["azimuth_deg"].to_numpy()
    three = np.full(len(cam), 3.0)
    fx, fy, _ = geod.fwd(lon[outside], lat[outside], az[outside], three[outside])
    bx, by, _ = geod.fwd(lon[outside], lat[outside], az[outside] + 180, three[outside])
    to_m = pyproj.Transformer.from_crs(4326, metric, always_xy=True)
    b = bld.geometry.to_numpy()[dist.argmin(axis=1)][outside]
    ahead = shapely.distance(b, shapely.points(np.column_stack(to_m.transform(fx, fy))))
    behind = shapely.distance(b, shapely.points(np.column_stack(to_m.transform(bx, by))))
    assert outside.sum() > 100 and (ahead > behind).all()


def test_offline_cameras_are_the_documented_illustrative_handful(
    layers: dict[str, gpd.GeoDataFrame],
) -> None:
    cam = layers["cameras"].sort_values("osm_id", key=lambda s: s.astype("int64"))
    expected = (np.arange(len(cam)) % 20) == 19
    assert ((cam["status"] == "offline").to_numpy() == expected).all()
    assert cam.loc[cam["status"] == "offline", "sample_note"].str.contains("illustrative").all()
    assert set(cam["status"]) == {"online", "offline"}


def test_every_camera_is_inside_the_grid_or_flagged(
    layers: dict[str, gpd.GeoDataFrame],
) -> None:
    grids = layers["grids"]
    extent = shapely.union_all(grids.geometry[grids["level"] == 1].to_numpy())
    inside = shapely.covers(extent, layers["cameras"].geometry.to_numpy())
    notes = layers["cameras"]["sample_note"].fillna("")
    assert (inside | notes.str.contains("outside the sample grid")).all()


def test_grid_codes_are_unique_and_prefix_consistent(layers: dict[str, gpd.GeoDataFrame]) -> None:
    g = layers["grids"]
    assert g["code"].is_unique and g["code"].str.fullmatch(r"\d+").all()
    length = {1: 12, 2: 14, 3: 17}
    assert (g["code"].str.len() == g["level"].map(length)).all()
    assert g.loc[g["level"] == 1, "parent_code"].isna().all()
    child = g[g["level"] > 1]
    assert (child.apply(lambda r: r["code"].startswith(r["parent_code"]), axis=1)).all()
    level_of = dict(zip(g["code"], g["level"], strict=True))
    assert all(
        level_of[p] == lv - 1 for p, lv in zip(child["parent_code"], child["level"], strict=True)
    )
    counts = g["level"].value_counts()
    assert 4 <= counts[1] <= 6 and counts[2] > counts[1] and counts[3] > counts[2]
    assert g[["households", "population"]].isna().all().all()  # no people data


@pytest.mark.parametrize("level", [2, 3])
def test_children_tile_their_parent(level: int, grids_m: gpd.GeoDataFrame) -> None:
    parents = grids_m[grids_m["level"] == level - 1].set_index("code")
    kids = grids_m[grids_m["level"] == level]
    for code, group in kids.groupby("parent_code"):
        diff = shapely.symmetric_difference(
            shapely.union_all(group.geometry.to_numpy()), parents.geometry[code]
        )
        assert diff.area < 1.0, f"{code}: children differ from parent by {diff.area:.2f} m²"
    assert set(kids["parent_code"]) == set(parents.index)  # every parent has children


@pytest.mark.parametrize("level", [1, 2, 3])
def test_siblings_do_not_overlap(level: int, grids_m: gpd.GeoDataFrame) -> None:
    geoms = grids_m.geometry[grids_m["level"] == level].to_numpy()
    assert shapely.is_valid(geoms).all()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert (overlap < 1.0).all(), f"max sibling overlap {overlap.max():.2f} m²"


def test_random_points_fall_in_exactly_one_cell_per_level(
    layers: dict[str, gpd.GeoDataFrame], metric: pyproj.CRS
) -> None:
    area = gpd.GeoSeries([box(*BBOX)], crs=4326).to_crs(metric).iloc[0].buffer(-2.0)
    x0, y0, x1, y1 = area.bounds
    rng = np.random.default_rng(7)
    pts = shapely.points(rng.uniform(x0, x1, 6000), rng.uniform(y0, y1, 6000))
    pts = pts[shapely.contains(area, pts)][:2000]
    g = layers["grids"].to_crs(metric)
    for level in (1, 2, 3):
        geoms = g.geometry[g["level"] == level].to_numpy()
        hits = shapely.contains(geoms[:, None], pts[None, :]).sum(axis=0)
        assert (hits == 1).all(), f"level {level}: {np.bincount(hits)} points by hit count"


def test_level3_building_counts(layers: dict[str, gpd.GeoDataFrame], metric: pyproj.CRS) -> None:
    g = layers["grids"].to_crs(metric)
    pts = shapely.point_on_surface(layers["buildings"].to_crs(metric).geometry.to_numpy())
    for level in (1, 2, 3):
        sub = g[g["level"] == level]
        count = shapely.contains(sub.geometry.to_numpy()[:, None], pts[None, :]).sum(axis=1)
        assert (count == sub["n_buildings"].to_numpy()).all()
    cells = g[g["level"] == 3]
    assert (cells["n_buildings"] <= 8).mean() > 0.95  # cells hold one or a few buildings


def test_posts_are_illustrative_and_at_real_intersections(
    layers: dict[str, gpd.GeoDataFrame], metric: pyproj.CRS
) -> None:
    posts = layers["posts"]
    assert 3 <= len(posts) <= 4
    assert posts["kind"].isin(SCHEMAS["posts"].get("kind").allowed).all()
    assert posts["name"].str.contains("illustrative").all()
    assert posts["sample_note"].str.contains("illustrative").all()
    roads = gpd.read_file(SRC / "highways.geojson").to_crs(metric)
    pts = posts.to_crs(metric).geometry.to_numpy()
    near = shapely.distance(pts[:, None], roads.geometry.to_numpy()[None, :]) < 0.05
    assert (near.sum(axis=1) >= 2).all()  # at least two real OSM ways meet there


def test_sites_are_real_osm_nodes_and_missing_kinds_are_documented(
    layers: dict[str, gpd.GeoDataFrame],
) -> None:
    sites = layers["sites"]
    assert sites["kind"].isin(SITE_KINDS).all() and sites["weight"].isna().all()
    nodes = gpd.read_file(SRC / "Helsinki.osm.pbf", layer="points", engine="pyogrio")
    nodes = nodes.set_index("node-" + nodes["osm_id"].astype(str))
    mine = sites[sites["osm_type"] == "node"]
    src = nodes.geometry.loc[mine["site_id"].str.removeprefix("osm-")]
    assert shapely.equals_exact(mine.geometry.to_numpy(), src.values, 1e-9).all()
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for kind in set(SITE_KINDS) - set(sites["kind"]):
        assert re.search(rf"No real instance exists for:.*`{kind}`", readme, re.S), kind


def test_readme_counts_match_the_files(layers: dict[str, gpd.GeoDataFrame]) -> None:
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for name, gdf in layers.items():
        row = re.search(rf"\| `{name}\.geojson` \| \w+ \| (\d+) \|", readme)
        assert row is not None and int(row.group(1)) == len(gdf), name
    assert "© OpenStreetMap contributors" in readme and "ODbL" in readme
    assert not (SAMPLE / "incidents.geojson").exists()


def test_sample_is_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLE.iterdir() if p.is_file())
    assert total < 5_000_000


def _read_layer() -> object | None:
    for module in ("gridcover.gis", "gridcover.gis.io"):
        try:
            found = getattr(importlib.import_module(module), "read_layer", None)
        except ImportError:
            continue
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("name", list(ID))
def test_each_file_reads_with_its_kind(name: str, layers: dict[str, gpd.GeoDataFrame]) -> None:
    read_layer = _read_layer()
    if read_layer is None:
        pytest.skip("gridcover.gis.read_layer does not exist yet (gis/io.py in progress)")
    got = read_layer(SAMPLE / f"{name}.geojson", name)  # type: ignore[operator]
    src = layers[name]
    assert got.attrs["gridcover"]["rows_read"] == len(src)
    # Independently: a row may only be dropped if its geometry has no polygonal/point/line
    # area left after make_valid (the OSM extract has 7 collapsed building rings).
    fixed = shapely.make_valid(src.geometry.values)
    keepable = ~shapely.is_empty(fixed) & (
        (shapely.area(fixed) > 0) | (shapely.get_type_id(src.geometry.values) < 3)
    )
    assert list(got[ID[name]]) == list(src[ID[name]][keepable])
