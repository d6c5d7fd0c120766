"""Post siting: choose K new police posts (警务室 / mobile posts) with the camera optimiser.

A candidate post "covers" a cell when the cell centroid is within the reach target: a
straight-line ``radius_m`` (e.g. 1 km), or ``minutes`` of travel by ``mode`` along the
street network (``reach.within_time_matrix``; straight line at the mode's default speed
when no roads are given, noted in the result). Existing posts are fixed: cells they already
reach earn nothing (unless ``levels`` asks for backup reach). Then
:func:`~gridcover.coverage.siting.cameras.choose_sites` picks the K candidates that bring the most
priority weight within reach, with the same bound, gap and ranking as camera siting.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy import sparse

from gridcover.coverage.cells import Cells
from gridcover.coverage.reach.nearest_post import radius_matrix, within_time_matrix
from gridcover.coverage.reach.network import StreetNetwork, build_network
from gridcover.coverage.siting.cameras import SitingResult, choose_sites
from gridcover.errors import InputError

__all__ = ["PostSiting", "post_coverage", "site_posts"]


@dataclass(frozen=True, eq=False)
class PostSiting:
    """``result`` (see :class:`SitingResult`), ``chosen`` candidate points (EPSG:4326) with
    rank / marginal_gain / removal_loss, ``coverage`` (cells x candidates), the existing
    posts' reach count per cell, the weights, and a description of the reach ``rule``."""

    result: SitingResult
    chosen: gpd.GeoDataFrame
    coverage: sparse.csc_matrix
    existing_count: np.ndarray
    weight: np.ndarray
    rule: str


def _xy(points: gpd.GeoDataFrame, crs: pyproj.CRS, what: str) -> tuple[np.ndarray, np.ndarray]:
    if points.crs is None:
        raise InputError(f"The {what} layer has no CRS; read it with gis.read_layer.")
    g = shapely.centroid(np.asarray(points.to_crs(crs).geometry.values))
    return shapely.get_x(g), shapely.get_y(g)


def post_coverage(
    cells: Cells,
    points: gpd.GeoDataFrame,
    *,
    radius_m: float | None = 1000.0,
    minutes: float | None = None,
    network: StreetNetwork | None = None,
    mode: str = "car",
    max_snap_m: float = 250.0,
) -> tuple[sparse.csc_matrix, str]:
    """(cells x points) boolean reach matrix and a sentence describing the rule used."""
    x, y = _xy(points, cells.crs, "posts")
    if minutes is not None:
        if minutes <= 0:
            raise InputError(f"minutes must be > 0, not {minutes}.")
        method = "network" if network is not None else "straight"
        m = within_time_matrix(
            cells.x,
            cells.y,
            x,
            y,
            minutes * 60.0,
            method=method,
            network=network,
            mode=mode,
            max_snap_m=max_snap_m,
        )
        how = "along streets" if network is not None else "straight line (no roads given)"
        return m, f"within {minutes:g} min by {mode}, {how}"
    if radius_m is None or radius_m <= 0:
        raise InputError("Give a reach target: radius_m > 0 or minutes > 0.")
    return radius_matrix(cells.x, cells.y, x, y, radius_m), f"within {radius_m:g} m straight line"


def site_posts(
    cells: Cells,
    weight: np.ndarray,
    candidates: gpd.GeoDataFrame,
    k: int,
    *,
    existing: gpd.GeoDataFrame | None = None,
    radius_m: float | None = 1000.0,
    minutes: float | None = None,
    roads: gpd.GeoDataFrame | None = None,
    network: StreetNetwork | None = None,
    mode: str = "car",
    levels: np.ndarray | None = None,
    **options: object,
) -> PostSiting:
    """Choose ``k`` new posts among ``candidates`` (points, any CRS) over ``cells``.

    ``weight``: priority per cell; ``existing``: posts kept as they are; reach target:
    ``radius_m`` or ``minutes`` (with ``roads`` or a ``network`` for street travel).
    ``options`` go to :func:`choose_sites` (method, time_limit, ...).
    """
    if len(candidates) == 0:
        raise InputError("There are no candidate post sites: give a site layer or roads.")
    if network is None and roads is not None and minutes is not None:
        network = build_network(roads, crs=cells.crs)
    kw = dict(radius_m=radius_m, minutes=minutes, network=network, mode=mode)
    cov, rule = post_coverage(cells, candidates, **kw)  # type: ignore[arg-type]
    count = np.zeros(len(cells), np.int64)
    if existing is not None and len(existing):
        ex, _ = post_coverage(cells, existing, **kw)  # type: ignore[arg-type]
        count = np.asarray(ex.sum(axis=1)).ravel().astype(np.int64)
    res = choose_sites(cov, weight, k, existing=count, levels=levels, **options)  # type: ignore[arg-type]
    rank = res.ranking
    pick = candidates.iloc[rank["candidate"].to_numpy()].copy()
    pick["rank"] = rank["rank"].to_numpy()
    pick["marginal_gain"] = rank["marginal_gain"].to_numpy()
    pick["removal_loss"] = rank["removal_loss"].to_numpy()
    pick = pick.to_crs("EPSG:4326")
    return PostSiting(res, pick, cov, count, np.asarray(weight, float), rule)
