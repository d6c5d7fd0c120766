"""Camera attributes for the bundled sample (used by build_sample.py; not part of gridcover).

OSM records no camera directions in this extract. 360° cameras come from real tags
(``revolving=yes`` -> ptz, ``camera:type=dome`` -> dome); every other camera gets an
*illustrative* azimuth: the outward normal of the nearest building wall when a wall is within
WALL_MAX_M metres (wall-mounted), otherwise the direction to the nearest road.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

WALL_MAX_M = 5.0  # a camera this close to a building is taken as mounted on its nearest wall
BULLET_FOV_DEG = 90.0
OFFLINE_EVERY = 20  # every 20th camera by OSM id is marked offline (illustrative)
NON_ROAD_CLASSES = ("corridor", "elevator", "platform", "construction")

SRC_WALL = "derived: outward normal of nearest wall"
SRC_ROAD = "derived: towards nearest road"
SRC_PTZ = "osm: revolving=yes (360°)"
SRC_DOME = "osm: camera:type=dome (360°)"
NOTE_OFFLINE = (
    "illustrative: status set to offline by build_sample.py (every 20th camera by OSM id); "
    "OSM records no camera status"
)
NOTE_OUTSIDE = "outside the sample grid extent"


def _segments(geom: shapely.Geometry) -> np.ndarray:
    """All ring segments of a (multi)polygon as an (n, 2, 2) array [start, end]."""
    rings = shapely.get_rings(shapely.get_parts(geom))
    segs = []
    for ring in rings:
        xy = shapely.get_coordinates(ring)
        segs.append(np.stack([xy[:-1], xy[1:]], axis=1))
    return np.concatenate(segs)


def wall_normal(point: shapely.Point, building: shapely.Geometry) -> np.ndarray:
    """Unit outward normal (metric dx, dy) of the building wall segment nearest ``point``.

    Outward = the side of the segment where a point 0.5 m away is not inside the building.
    When the nearest point is a corner shared by two walls, the wall whose outward normal
    points most towards the camera wins.
    """
    segs = _segments(building)
    p = np.array([point.x, point.y])
    a, b = segs[:, 0], segs[:, 1]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.einsum("ij,ij->i", ab, ab), 0.0, 1.0)
    foot = a + t[:, None] * ab
    dist = np.hypot(*(p - foot).T)
    cand = np.flatnonzero(dist <= dist.min() + 0.01)
    best_normal, best_score = np.zeros(2), -np.inf
    for i in cand:
        normal = np.array([ab[i, 1], -ab[i, 0]]) / np.hypot(*ab[i])
        mid = a[i] + 0.5 * ab[i]
        if shapely.covers(building, shapely.Point(*(mid + 0.5 * normal))):
            normal = -normal
        away = p - foot[i]
        score = float(normal @ away / np.hypot(*away)) if np.hypot(*away) > 0.01 else 0.0
        if score > best_score:
            best_normal, best_score = normal, score
    return best_normal


def _azimuths(origin: np.ndarray, direction: np.ndarray, metric: pyproj.CRS) -> np.ndarray:
    """True azimuths (degrees clockwise from north, 0..360) of metric unit vectors at origins."""
    to_ll = pyproj.Transformer.from_crs(metric, 4326, always_xy=True)
    lon0, lat0 = to_ll.transform(origin[:, 0], origin[:, 1])
    tip = origin + direction
    lon1, lat1 = to_ll.transform(tip[:, 0], tip[:, 1])
    az, _, _ = pyproj.Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    return np.round(np.mod(az, 360.0), 1)


def camera_table(
    cams: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    grid_extent: shapely.Geometry,
    metric: pyproj.CRS,
) -> gpd.GeoDataFrame:
    """Canonical camera layer (EPSG:4326) from the OSM camera nodes, with provenance columns.

    ``buildings`` / ``roads`` are the sample layers (EPSG:4326, with building_id / class);
    ``grid_extent`` is the union of the level-1 grids (EPSG:4326).
    """
    cams = cams.assign(osm_id=cams["osm_id"].astype("int64")).sort_values("osm_id")
    cams = cams.reset_index(drop=True)
    n = len(cams)
    revolving = cams.get("revolving", pd.Series([None] * n)).eq("yes").to_numpy()
    dome = cams.get("camera:type", pd.Series([None] * n)).eq("dome").to_numpy() & ~revolving
    ctype = np.where(revolving, "ptz", np.where(dome, "dome", "bullet"))

    pts = cams.to_crs(metric).geometry.to_numpy()
    b_m = buildings.to_crs(metric).geometry.to_numpy()
    r = roads[~roads["class"].isin(NON_ROAD_CLASSES)]
    r_m = r.to_crs(metric).geometry.to_numpy()
    p_idx, b_idx = shapely.STRtree(b_m).query_nearest(pts, all_matches=False)
    near_b = np.full(n, -1)
    near_b[p_idx] = b_idx
    wall_dist = shapely.distance(pts, b_m[near_b])
    on_wall = (ctype == "bullet") & (wall_dist <= WALL_MAX_M)
    to_road = (ctype == "bullet") & ~on_wall

    direction = np.zeros((n, 2))
    for i in np.flatnonzero(on_wall):
        direction[i] = wall_normal(pts[i], b_m[near_b[i]])
    if to_road.any():
        q_idx, rd_idx = shapely.STRtree(r_m).query_nearest(pts[to_road], all_matches=False)
        road_of = np.empty(to_road.sum(), dtype=int)
        road_of[q_idx] = rd_idx
        foot = shapely.get_coordinates(shapely.shortest_line(pts[to_road], r_m[road_of])).reshape(
            -1, 2, 2
        )[:, 1]
        vec = foot - shapely.get_coordinates(pts[to_road])
        direction[to_road] = vec / np.hypot(*vec.T)[:, None]
    origin = shapely.get_coordinates(pts)
    azimuth = np.where(ctype == "bullet", _azimuths(origin, direction, metric), np.nan)
    source = np.select(
        [revolving, dome, on_wall, to_road], [SRC_PTZ, SRC_DOME, SRC_WALL, SRC_ROAD], ""
    )

    height = pd.to_numeric(cams.get("height"), errors="coerce")
    est = pd.to_numeric(cams.get("est_height"), errors="coerce")
    height_src = [
        "osm: height" if h else "osm: est_height" if e else None
        for h, e in zip(height.notna(), est.notna(), strict=True)
    ]

    offline = (np.arange(n) % OFFLINE_EVERY) == OFFLINE_EVERY - 1
    outside = ~shapely.covers(grid_extent, cams.geometry.to_numpy())
    notes = [
        "; ".join(s for s, on in ((NOTE_OFFLINE, off), (NOTE_OUTSIDE, out)) if on) or None
        for off, out in zip(offline, outside, strict=True)
    ]
    bid = buildings["building_id"].to_numpy()[near_b]
    data = {
        "camera_id": "osm-" + cams["osm_id"].astype(str),
        "azimuth_deg": azimuth,
        "fov_deg": np.where(ctype == "bullet", BULLET_FOV_DEG, 360.0),
        "range_m": [None] * n,
        "height_m": height.fillna(est).to_numpy(),
        "type": ctype,
        "status": np.where(offline, "offline", "online"),
        "owner": [None] * n,
        "azimuth_source": source,
        "height_source": height_src,
        "nearest_building_id": np.where(wall_dist <= WALL_MAX_M, bid, None),
        "wall_distance_m": np.round(shapely.distance(pts, shapely.boundary(b_m[near_b])), 2),
        "inside_building": shapely.contains_properly(b_m[near_b], pts),
        "osm_id": cams["osm_id"].to_numpy(),
        "osm_version": cams["osm_version"].to_numpy(),
        "osm_camera_mount": cams.get("camera:mount"),
        "sample_note": notes,
    }
    return gpd.GeoDataFrame(data, geometry=cams.geometry.to_numpy(), crs=4326)
