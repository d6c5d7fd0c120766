"""Build the bundled sample layers from the real OSM extract of central Helsinki.

    python sample_geodata/build_sample.py --src tests/data/helsinki-osm-center --out sample_geodata

Reads only the files in --src (verbatim copies of the shared data, see their SOURCE.md) and
writes GeoJSON (EPSG:4326) with the canonical columns of gridcover.gis.schemas plus provenance
columns: cameras, buildings, roads, grids (3 levels from real street blocks), posts
(illustrative) and sites (real OSM features). Deterministic: the same input gives the same files.
README.md in this folder says what is real, what is derived and what is illustrative.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import box

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cameras
import _grid
import _sites

from gridcover.gis.schemas import SCHEMAS

# PBF header bbox of Helsinki.osm.pbf (tests/data/helsinki-osm-center/SOURCE.md)
EXTRACT_BBOX = (24.9351762, 60.1641550, 24.9534145, 60.1791130)
EDGE_INSET_M = 1.0  # the grid area is the box shrunk by 1 m, so streets cut at the edge cross it
CODE_PREFIX = "110101001"  # illustrative 9-digit county+street prefix of the 12-digit codes
COMMUNITY_NAME_PLACES = ("suburb", "quarter", "neighbourhood")
DERIVED = {
    1: "union of the level-2 blocks grouped by major roads (primary/secondary)",
    2: "street block: face of the OSM street network (classes in _grid.BLOCK_CLASSES)",
    3: "Voronoi cell of the block's largest buildings, clipped to the block",
}


def metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """Local metric CRS for metre maths (gridcover's choice when available, else UTM)."""
    try:
        from gridcover.gis.crs import local_metric_crs
    except ImportError:
        return gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).estimate_utm_crs()
    return pyproj.CRS(local_metric_crs(lon, lat))


def _canonical(kind: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Canonical columns first (all of them, empty when unknown), then the extras, then geometry."""
    cols = SCHEMAS[kind].columns
    for c in cols:
        if c not in gdf.columns:
            gdf[c] = None
    extras = [c for c in gdf.columns if c not in cols and c != "geometry"]
    return gdf[[*cols, *extras, "geometry"]]


def _osm_height(value: object) -> float | None:
    m = (
        re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:m)?\s*", value)
        if isinstance(value, str)
        else None
    )
    return float(m.group(1)) if m else None


def _tag(other_tags: pd.Series, key: str) -> pd.Series:
    return other_tags.fillna("").str.extract(rf'"{re.escape(key)}"=>"([^"]*)"')[0]


def buildings_layer(src: Path) -> gpd.GeoDataFrame:
    """The 489 OSM buildings: building_id osm-way-N / osm-relation-N, height_m from OSM height."""
    b = gpd.read_file(src / "buildings.geojson")
    is_way = b["osm_way_id"].notna()
    osm_type = np.where(is_way, "way", "relation")
    osm_id = np.where(is_way, b["osm_way_id"], b["osm_id"]).astype("int64")
    out = gpd.GeoDataFrame(
        {
            "building_id": [f"osm-{t}-{i}" for t, i in zip(osm_type, osm_id, strict=True)],
            "height_m": _tag(b["other_tags"], "height").map(_osm_height).astype(float),
            "building": b["building"],
            "name": b["name"],
            "levels": pd.to_numeric(_tag(b["other_tags"], "building:levels"), errors="coerce"),
            "osm_type": osm_type,
            "osm_id": osm_id,
        },
        geometry=b.geometry.to_numpy(),
        crs=4326,
    )
    return _canonical("buildings", out.sort_values("building_id", ignore_index=True))


def roads_layer(src: Path) -> gpd.GeoDataFrame:
    """The 2,504 OSM highway lines: road_id osm-way-N, class = highway value, name."""
    h = gpd.read_file(src / "highways.geojson")
    out = gpd.GeoDataFrame(
        {
            "road_id": "osm-way-" + h["osm_id"].astype("int64").astype(str),
            "class": h["highway"],
            "name": h["name"],
            "osm_id": h["osm_id"].astype("int64"),
        },
        geometry=h.geometry.to_numpy(),
        crs=4326,
    )
    return _canonical("roads", out.sort_values("osm_id", ignore_index=True))


def _rank(geoms: np.ndarray) -> np.ndarray:
    """Order north to south, then west to east (of the interior point, 1 m rounding)."""
    xy = np.round(shapely.get_coordinates(shapely.point_on_surface(geoms)))
    return np.lexsort((xy[:, 0], -xy[:, 1]))


def _community_names(
    comms_m: np.ndarray, places: gpd.GeoDataFrame, roads_m: gpd.GeoDataFrame
) -> list[str]:
    """A real name per community: the OSM place node inside it nearest its interior point,
    else the longest named street inside it."""
    names: list[str] = []
    for comm in comms_m:
        inside = places[places.within(comm) & ~places["name"].isin(names)]
        if len(inside):
            d = inside.distance(shapely.point_on_surface(comm))
            names.append(str(inside.loc[d.sort_values(kind="stable").index[0], "name"]))
            continue
        clipped = roads_m[roads_m["name"].notna()].clip(comm)
        length = (
            clipped.length.groupby(clipped["name"])
            .sum()
            .sort_values(ascending=False, kind="stable")
        )
        names.append(str(length.index[0]))
    return names


def grids_layer(
    grid: _grid.Grid, buildings_m: np.ndarray, names: list[str], metric: pyproj.CRS
) -> gpd.GeoDataFrame:
    """Level 1/2/3 rows with hierarchical codes, names and building counts (EPSG:4326)."""
    pts = shapely.point_on_surface(buildings_m)
    rows: list[tuple[str, str | None, int, str, int, shapely.Geometry]] = []

    def count(geom: shapely.Geometry) -> int:
        return int(shapely.contains_properly(geom, pts).sum())

    for i, c in enumerate(_rank(grid.communities), start=1):
        code1 = f"{CODE_PREFIX}{i:03d}"
        rows.append(
            (code1, None, 1, f"社区{i} {names[c]}", count(grid.communities[c]), grid.communities[c])
        )
        blocks = np.flatnonzero(grid.block_community == c)
        for j, b in enumerate(blocks[_rank(grid.blocks[blocks])], start=1):
            code2 = f"{code1}{j:02d}"
            rows.append(
                (
                    code2,
                    code1,
                    2,
                    f"社区{i} 第{j:02d}网格 (block {j:02d})",
                    count(grid.blocks[b]),
                    grid.blocks[b],
                )
            )
            cells = np.flatnonzero(grid.cell_block == b)
            for k, cell in enumerate(cells[_rank(grid.cells[cells])], start=1):
                name = f"社区{i} 第{j:02d}网格 {k:03d}单元 (cell {j:02d}-{k:03d})"
                rows.append(
                    (f"{code2}{k:03d}", code2, 3, name, count(grid.cells[cell]), grid.cells[cell])
                )
    df = pd.DataFrame(
        rows, columns=["code", "parent_code", "level", "name", "n_buildings", "geometry"]
    )
    df["derived_how"] = df["level"].map(DERIVED)
    out = gpd.GeoDataFrame(df, geometry="geometry", crs=metric).to_crs(4326)
    return _canonical("grids", out)


def grid_from_layer(grids: gpd.GeoDataFrame, metric: pyproj.CRS) -> _grid.Grid:
    """Rebuild the Grid arrays (metric) from a grids layer, to verify what was written."""
    g = grids.to_crs(metric)
    lv = {k: g[g["level"].astype(int) == k].reset_index(drop=True) for k in (1, 2, 3)}
    pos1 = {c: i for i, c in enumerate(lv[1]["code"])}
    pos2 = {c: i for i, c in enumerate(lv[2]["code"])}
    return _grid.Grid(
        cells=lv[3].geometry.to_numpy(),
        cell_block=lv[3]["parent_code"].map(pos2).to_numpy(),
        blocks=lv[2].geometry.to_numpy(),
        block_community=lv[2]["parent_code"].map(pos1).to_numpy(),
        communities=lv[1].geometry.to_numpy(),
    )


def write(gdf: gpd.GeoDataFrame, path: Path) -> None:
    path.unlink(missing_ok=True)
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio", layer=path.stem)


def build(src: Path, out: Path) -> dict[str, int]:
    """Write every sample layer into ``out``; return feature counts per file."""
    out.mkdir(parents=True, exist_ok=True)
    bbox = shapely.segmentize(box(*EXTRACT_BBOX), 1e-4)
    metric = metric_crs(bbox.centroid.x, bbox.centroid.y)
    area = gpd.GeoSeries([bbox], crs=4326).to_crs(metric).iloc[0]
    area = shapely.set_precision(area.buffer(-EDGE_INSET_M, join_style="mitre"), _grid.GRID_SIZE_M)

    buildings = buildings_layer(src)
    roads = roads_layer(src)
    roads_m = roads.to_crs(metric)
    buildings_m = buildings.to_crs(metric).geometry.to_numpy()
    block_lines = roads_m.geometry[roads_m["class"].isin(_grid.BLOCK_CLASSES)].to_numpy()
    major_lines = roads_m.geometry[roads_m["class"].isin(_grid.MAJOR_CLASSES)].to_numpy()
    grid = _grid.build_grid(block_lines, major_lines, buildings_m, area)
    problems = _grid.check_grid(grid, area)
    if problems:
        raise RuntimeError("grid check failed:\n" + "\n".join(problems))

    pts = gpd.read_file(src / "Helsinki.osm.pbf", layer="points", engine="pyogrio")
    places = pts[pts["place"].isin(COMMUNITY_NAME_PLACES) & pts["name"].notna()].to_crs(metric)
    names = _community_names(grid.communities, places.sort_values("osm_id"), roads_m)
    grids = grids_layer(grid, buildings_m, names, metric)

    extent = shapely.union_all(grids.geometry[grids["level"] == 1].to_numpy())
    cams_src = gpd.read_file(src / "surveillance_cameras.geojson")
    cameras = _canonical(
        "cameras", _cameras.camera_table(cams_src, buildings, roads, extent, metric)
    )
    posts = _canonical("posts", _sites.posts(block_lines, grid.communities, roads, metric))
    sites = _canonical("sites", _sites.read_sites(src / "Helsinki.osm.pbf"))

    layers = {
        "cameras": cameras,
        "buildings": buildings,
        "roads": roads,
        "grids": grids,
        "posts": posts,
        "sites": sites,
    }
    for name, gdf in layers.items():
        write(gdf, out / f"{name}.geojson")
    written = _grid.check_grid(grid_from_layer(gpd.read_file(out / "grids.geojson"), metric), area)
    if written:
        raise RuntimeError("grid check of the written file failed:\n" + "\n".join(written))
    return {name: len(gdf) for name, gdf in layers.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True, help="helsinki-osm-center folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    counts = build(args.src, args.out)
    for name, n in counts.items():
        size = (args.out / f"{name}.geojson").stat().st_size
        print(f"{name}.geojson: {n} features, {size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
