"""Police-post reach: straight-line radius and T-minute travel, nearest post per cell.

Travel time from a post to a cell (``travel_times``) is computed one of three ways:

* ``"network"`` (a :class:`~gridcover.coverage.reach.network.StreetNetwork` is given): the post and
  the cell centroid are snapped to the nearest node of the largest connected part of the
  mode's street graph; time = access leg + shortest path + access leg, access legs being
  straight lines at the mode's default speed. A cell (or post) farther than ``max_snap_m``
  from that network falls back to straight-line time and is flagged in ``fallback``.
* ``"grid"``: no streets; paths step between adjacent H3 cells of the area at the mode's
  default speed (so travel goes around holes instead of across them). Every cell is flagged.
* ``"straight"``: straight-line distance at the mode's default speed. Every cell is flagged.

A cell no post can reach is *unreachable* (``travel_s`` = inf, ``nearest_post`` = -1).
``patrol_target`` checks the common patrol target "police within 1 km by day, a patrol car
within 15 minutes by night" per cell; ``target_by_grid`` sums it per grid polygon.
Core: :func:`reach_cells` (arrays); adapter: :func:`post_reach` (layers -> ReachReport).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from gridcover.coverage.cell_graph import neighbours
from gridcover.coverage.cells import Cells
from gridcover.coverage.reach.network import StreetNetwork, build_network
from gridcover.coverage.reach.times import (
    METHODS,
    TravelTimes,
    radius_matrix,
    travel_times,
    within_time_matrix,
)
from gridcover.errors import InputError

__all__ = [
    "METHODS",
    "ReachReport",
    "ReachResult",
    "TargetResult",
    "TravelTimes",
    "nearest_posts",
    "patrol_target",
    "post_reach",
    "radius_matrix",
    "reach_cells",
    "target_by_grid",
    "travel_times",
    "within_time_matrix",
]


def nearest_posts(tt: TravelTimes) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: index of the post with the least travel time (-1 if none) and that time (s)."""
    if tt.seconds.shape[1] == 0:
        n = tt.seconds.shape[0]
        return np.full(n, -1, np.int64), np.full(n, np.inf)
    best = np.argmin(tt.seconds, axis=1)
    t = tt.seconds[np.arange(best.size), best]
    return np.where(np.isfinite(t), best, -1), t


@dataclass(frozen=True, eq=False)
class ReachResult:
    """Per-cell and per-post reach (arrays aligned with ``cells`` / with the posts).

    ``nearest_post``/``travel_s``: fastest post and its travel time (s; -1 / inf when
    unreachable); ``nearest_post_straight``/``distance_m``: closest post in a straight line;
    ``fallback``: per cell, time not along streets (see ``method``); ``within_radius`` and
    ``within_time``: sparse (n_cells, n_posts) booleans for ``radius_m`` and ``minutes``.
    """

    cells: np.ndarray
    nearest_post: np.ndarray
    travel_s: np.ndarray
    nearest_post_straight: np.ndarray
    distance_m: np.ndarray
    fallback: np.ndarray
    within_radius: sparse.csc_matrix
    within_time: sparse.csc_matrix
    radius_m: float
    minutes: float
    method: str

    @property
    def unreachable(self) -> np.ndarray:
        """Cells no post reaches at all (no path)."""
        return self.nearest_post < 0

    def post_table(self, area_m2: np.ndarray, post_ids: np.ndarray) -> pd.DataFrame:
        """Per post: cells and km² within the radius and within the minutes, cells it is nearest."""
        n_posts = self.within_radius.shape[1]
        rad = np.asarray(self.within_radius.sum(axis=0)).ravel()
        tim = np.asarray(self.within_time.sum(axis=0)).ravel()
        near = np.bincount(self.nearest_post[self.nearest_post >= 0], minlength=n_posts)
        return pd.DataFrame(
            {
                "post_id": post_ids,
                "cells_within_radius": rad,
                "km2_within_radius": (self.within_radius.T @ area_m2) / 1e6,
                "cells_within_minutes": tim,
                "km2_within_minutes": (self.within_time.T @ area_m2) / 1e6,
                "cells_nearest": near,
            }
        )


def reach_cells(
    cells: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    post_x: np.ndarray,
    post_y: np.ndarray,
    *,
    radius_m: float = 1000.0,
    minutes: float = 15.0,
    method: str = "network",
    network: StreetNetwork | None = None,
    mode: str = "car",
    max_snap_m: float = 250.0,
    post_cells: np.ndarray | None = None,
    nbr: np.ndarray | None = None,
) -> ReachResult:
    """Reach of every post over the cells (metric x/y in one CRS; see :func:`travel_times`)."""
    if radius_m < 0 or minutes < 0:
        raise InputError("radius_m and minutes must be >= 0.")
    tt = travel_times(
        x,
        y,
        post_x,
        post_y,
        method=method,
        network=network,
        mode=mode,
        max_snap_m=max_snap_m,
        post_cells=post_cells,
        nbr=nbr,
    )
    best, t = nearest_posts(tt)
    rad = radius_matrix(x, y, post_x, post_y, radius_m)
    if np.size(post_x):
        d, i = cKDTree(np.c_[post_x, post_y]).query(np.c_[x, y])
    else:
        d, i = np.full(np.size(x), np.inf), np.full(np.size(x), -1)
    return ReachResult(
        cells=np.asarray(cells, np.int64),
        nearest_post=best,
        travel_s=t,
        nearest_post_straight=np.asarray(i, np.int64),
        distance_m=np.asarray(d, float),
        fallback=tt.fallback,
        within_radius=rad,
        within_time=sparse.csc_matrix(tt.seconds <= minutes * 60.0),
        radius_m=float(radius_m),
        minutes=float(minutes),
        method=method,
    )


@dataclass(frozen=True, eq=False)
class TargetResult:
    """The patrol target per cell: ``day_ok`` (a post within ``day_radius_m`` straight line),
    ``night_ok`` (a post reached within ``night_minutes`` by ``night_mode``), ``both``."""

    cells: np.ndarray
    day_ok: np.ndarray
    night_ok: np.ndarray
    day_distance_m: np.ndarray
    night_travel_s: np.ndarray
    fallback: np.ndarray
    day_radius_m: float
    night_minutes: float
    night_mode: str

    @property
    def both(self) -> np.ndarray:
        return self.day_ok & self.night_ok

    def share(self, area_m2: np.ndarray) -> dict[str, float]:
        """Area share (0-1) of the cells meeting the day, night and both targets."""
        tot = float(np.sum(area_m2)) or 1.0
        return {
            "day": float(area_m2[self.day_ok].sum() / tot),
            "night": float(area_m2[self.night_ok].sum() / tot),
            "both": float(area_m2[self.both].sum() / tot),
        }


def patrol_target(
    reach_day: ReachResult, reach_night: ReachResult, *, night_mode: str = "car"
) -> TargetResult:
    """Combine a day reach (straight-line ``radius_m``) and a night reach (``minutes``)."""
    return TargetResult(
        cells=reach_day.cells,
        day_ok=reach_day.distance_m <= reach_day.radius_m,
        night_ok=reach_night.travel_s <= reach_night.minutes * 60.0,
        day_distance_m=reach_day.distance_m,
        night_travel_s=reach_night.travel_s,
        fallback=reach_night.fallback,
        day_radius_m=reach_day.radius_m,
        night_minutes=reach_night.minutes,
        night_mode=night_mode,
    )


def target_by_grid(
    target: TargetResult,
    lon: np.ndarray,
    lat: np.ndarray,
    area_m2: np.ndarray,
    grids: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """Per grid polygon (EPSG:4326, ``code`` and ``level`` columns): cells, area and the share
    of area meeting the day, night and both targets. A cell counts in a grid when its
    centroid (``lon``/``lat``) is inside; nested levels each get their own rows.

    A grid smaller than a cell may hold no centroid: it is then judged by the cell whose
    centroid is nearest to its representative point (``point_sample`` True, ``cells`` 0).
    ``meets_target``: the whole grid meets both targets (NA for an empty geometry).
    """
    if grids.crs is None or not grids.crs.equals("EPSG:4326"):
        raise InputError("The grids layer must be in EPSG:4326; read it with gis.read_layer.")
    geoms = np.asarray(grids.geometry.values)
    pts = shapely.points(np.asarray(lon), np.asarray(lat))
    cell_i, grid_i = shapely.STRtree(pts).query(geoms, predicate="contains")[::-1]
    g = len(grids)
    a = np.asarray(area_m2, float)[cell_i]

    def _sum(mask: np.ndarray) -> np.ndarray:
        return np.bincount(grid_i, weights=np.where(mask[cell_i], a, 0.0), minlength=g)

    area = np.bincount(grid_i, weights=a, minlength=g)
    safe = np.where(area > 0, area, np.nan)
    shares = {k: _sum(m) / safe for k, m in (("day", target.day_ok), ("night", target.night_ok),
                                             ("both", target.both))}  # fmt: skip
    empty = np.flatnonzero(area <= 0)
    sample = np.zeros(g, dtype=bool)
    if empty.size and np.size(lon):
        rp = shapely.point_on_surface(geoms[empty])
        rx, ry = shapely.get_x(rp), shapely.get_y(rp)
        ok = np.isfinite(rx)
        k = np.cos(np.radians(np.nanmean(np.asarray(lat, float))))
        _, pos = cKDTree(np.c_[np.asarray(lon) * k, np.asarray(lat)]).query(
            np.c_[rx[ok] * k, ry[ok]]
        )
        sample[empty[ok]] = True
        for key, m in (("day", target.day_ok), ("night", target.night_ok), ("both", target.both)):
            shares[key][empty[ok]] = m[pos].astype(float)
    both = shares["both"]
    out = pd.DataFrame(
        {
            "code": grids["code"].to_numpy() if "code" in grids else np.arange(g),
            "level": grids["level"].to_numpy() if "level" in grids else 1,
            "cells": np.bincount(grid_i, minlength=g),
            "area_km2": area / 1e6,
            "day_share": shares["day"],
            "night_share": shares["night"],
            "both_share": both,
            "point_sample": sample,
        }
    )
    meets = pd.array(both >= 1.0 - 1e-12, dtype="boolean")
    meets[np.isnan(both)] = pd.NA
    out["meets_target"] = meets
    return out


@dataclass(frozen=True, eq=False)
class ReachReport:
    """Reach of real posts over an area (GeoDataFrame adapter result, EPSG:4326).

    ``cells``: one row per cell (h3, nearest_post, travel_min, distance_m, fallback,
    unreachable, day_ok, night_ok); ``posts``: per post (``ReachResult.post_table``);
    ``grids``: the target per grid (None without grids); ``share``: area shares meeting the
    day / night / both targets; ``result``/``target``: the array-level results.
    """

    cells: gpd.GeoDataFrame
    posts: pd.DataFrame
    grids: pd.DataFrame | None
    share: dict[str, float]
    result: ReachResult
    target: TargetResult


def post_reach(
    cells: Cells,
    posts: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    grids: gpd.GeoDataFrame | None = None,
    day_radius_m: float = 1000.0,
    night_minutes: float = 15.0,
    mode: str = "car",
    max_snap_m: float = 250.0,
) -> ReachReport:
    """Reach and the day/night patrol target for ``posts`` (points, any CRS) over ``cells``.

    Travel runs along ``roads`` when given, else over the cell grid (flagged as fallback).
    ``grids``: polygons with ``code``/``level`` (EPSG:4326) to report the target per grid.
    """
    if posts.crs is None:
        raise InputError("The posts layer has no CRS; read it with gis.read_layer.")
    if len(posts) == 0:
        raise InputError("The posts layer is empty: give at least one police post.")
    pts = posts.to_crs(4326)
    centre = shapely.centroid(np.asarray(pts.geometry.values))
    lon, lat = shapely.get_x(centre), shapely.get_y(centre)
    tr = pyproj.Transformer.from_crs("EPSG:4326", cells.crs, always_xy=True)
    px, py = (np.asarray(v, float) for v in tr.transform(lon, lat))
    network = build_network(roads, crs=cells.crs) if roads is not None else None
    method = "network" if network is not None else "grid"
    nbr = own = None
    if network is None:
        nbr = neighbours(cells.h3)
        ids = [
            h3n.latlng_to_cell(float(b), float(a), cells.res) for a, b in zip(lon, lat, strict=True)
        ]
        own = cells.index_of(np.array(ids, dtype=np.uint64).astype(np.int64))
        if (own < 0).any():
            method = "straight"  # a post off the cells cannot start a grid walk
    r = reach_cells(
        cells.h3,
        cells.x,
        cells.y,
        px,
        py,
        radius_m=day_radius_m,
        minutes=night_minutes,
        method=method,
        network=network,
        mode=mode,
        max_snap_m=max_snap_m,
        post_cells=own,
        nbr=nbr,
    )
    tgt = patrol_target(r, r, night_mode=mode)
    pid = (pts["post_id"] if "post_id" in pts else pd.Series(pts.index)).astype(str).to_numpy()
    near = np.array([*pid, None], dtype=object)
    cells_gdf = cells.to_geodataframe(
        "polygon",
        nearest_post=near[np.where(r.nearest_post >= 0, r.nearest_post, pid.size)],
        travel_min=r.travel_s / 60.0,
        distance_m=r.distance_m,
        fallback=r.fallback,
        unreachable=r.unreachable,
        day_ok=tgt.day_ok,
        night_ok=tgt.night_ok,
    )
    per_grid = None
    if grids is not None:
        per_grid = target_by_grid(tgt, cells.lon, cells.lat, cells.area_m2, grids.to_crs(4326))
    return ReachReport(
        cells_gdf, r.post_table(cells.area_m2, pid), per_grid, tgt.share(cells.area_m2), r, tgt
    )
