"""Key sites (real OSM features) and illustrative police posts for the bundled sample.

Used by build_sample.py; not part of gridcover.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.gis.schemas import POST_KIND_ZH

# (canonical kind, OSM key, OSM values); the first rule that matches a feature wins.
SITE_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("station", "railway", ("station", "halt", "subway_entrance")),
    ("station", "public_transport", ("station",)),
    ("station", "amenity", ("bus_station",)),
    ("station", "building", ("train_station",)),
    ("hospital", "amenity", ("hospital", "clinic")),
    ("hospital", "healthcare", ("hospital",)),
    ("kindergarten", "amenity", ("kindergarten",)),
    ("school", "amenity", ("school", "college", "university")),
    ("bank", "amenity", ("bank",)),
    ("market", "amenity", ("marketplace",)),
    ("market", "shop", ("mall", "department_store")),
    ("entrance", "entrance", ("main",)),
    ("other", "amenity", ("embassy", "townhall", "courthouse", "fire_station", "police")),
)
_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')
POST_KINDS = ("station", "office", "office", "mobile")
POST_NOTE = (
    "illustrative: placed by build_sample.py at a real street intersection; the OSM extract "
    "has no police post (amenity=police)"
)


def _tags(row: pd.Series, columns: list[str]) -> dict[str, str]:
    tags = {k: row[k] for k in columns if isinstance(row[k], str)}
    tags.update(_TAG.findall(row["other_tags"]) if isinstance(row["other_tags"], str) else [])
    return tags


def _match(tags: dict[str, str]) -> tuple[str, str] | None:
    for kind, key, values in SITE_RULES:
        if tags.get(key) in values:
            return kind, f"{key}={tags[key]}"
    return None


def read_sites(pbf: Path) -> gpd.GeoDataFrame:
    """Key sites from the OSM PBF (GDAL OSM driver): points as they are, areas as interior points.

    Returns the canonical sites layer (EPSG:4326) plus provenance columns
    (osm_type, osm_id, osm_tag = the tag that decided the kind), sorted by site_id.
    """
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: unclosed rings at the box edge
        for layer in ("points", "multipolygons"):
            gdf = gpd.read_file(pbf, layer=layer, engine="pyogrio", on_invalid="ignore")
            columns = [c for c in gdf.columns if c not in ("geometry", "other_tags", "osm_id")]
            for _, row in gdf.iterrows():
                found = _match(_tags(row, columns))
                if found is None or row.geometry is None or row.geometry.is_empty:
                    continue
                if layer == "points":
                    osm_type, osm_id = "node", row["osm_id"]
                elif isinstance(row.get("osm_way_id"), str):
                    osm_type, osm_id = "way", row["osm_way_id"]
                else:
                    osm_type, osm_id = "relation", row["osm_id"]
                geom = row.geometry if layer == "points" else shapely.point_on_surface(row.geometry)
                name = row["name"] if isinstance(row["name"], str) else None
                rows.append(
                    {
                        "site_id": f"osm-{osm_type}-{int(osm_id)}",
                        "kind": found[0],
                        "name": name,
                        "weight": None,
                        "osm_type": osm_type,
                        "osm_id": int(osm_id),
                        "osm_tag": found[1],
                        "derived_how": None
                        if layer == "points"
                        else "point_on_surface of OSM area",
                        "geometry": geom,
                    }
                )
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    return out.sort_values("site_id", ignore_index=True)


def intersections(lines_m: np.ndarray, min_degree: int = 3) -> np.ndarray:
    """Points (metric) where at least ``min_degree`` noded street segments meet."""
    noded = shapely.get_parts(shapely.union_all(lines_m, grid_size=0.01))
    ends = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(noded, 0)),
            shapely.get_coordinates(shapely.get_point(noded, -1)),
        ]
    )
    uniq, counts = np.unique(ends, axis=0, return_counts=True)
    return shapely.points(uniq[counts >= min_degree])


def posts(
    street_lines_m: np.ndarray,
    communities_m: np.ndarray,
    roads: gpd.GeoDataFrame,
    metric: pyproj.CRS,
    n: int = len(POST_KINDS),
) -> gpd.GeoDataFrame:
    """Illustrative police posts: one per largest community, at the street intersection
    nearest that community's interior point. ``roads`` (EPSG:4326) names the meeting streets.
    """
    nodes = intersections(street_lines_m)
    order = np.argsort(-shapely.area(communities_m), kind="stable")[:n]
    rows = []
    roads_m = roads.to_crs(metric)
    tree = shapely.STRtree(roads_m.geometry.to_numpy())
    for i, c in enumerate(order, start=1):
        inside = nodes[shapely.contains_properly(communities_m[c], nodes)]
        target = shapely.point_on_surface(communities_m[c])
        node = inside[np.argmin(shapely.distance(inside, target))]
        near = tree.query(node, predicate="dwithin", distance=0.5)
        names = sorted({x for x in roads_m["name"].iloc[near] if isinstance(x, str)})
        kind = POST_KINDS[i - 1]
        rows.append(
            {
                "post_id": f"sample-post-{i}",
                "name": f"示例{POST_KIND_ZH[kind]} {i} (illustrative)",
                "kind": kind,
                "at_streets": " / ".join(names) or None,
                "sample_note": POST_NOTE,
                "geometry": node,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=metric).to_crs(4326)
