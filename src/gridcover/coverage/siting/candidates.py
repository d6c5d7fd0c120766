"""Candidate sites for new cameras or posts, and candidate camera rows (site x orientation).

Sites (points, EPSG:4326, columns ``site_id`` and ``source``) come from:

* ``"intersections"``: nodes of the planar-noded street network where at least
  ``min_degree`` street pieces meet (``network.build_network``);
* ``"along"``: points every ``every_m`` metres along each road line (from its start);
* a user layer: its points (polygons: their centroid), ids from ``site_id`` (or
  ``post_id`` / ``camera_id``, else the row number).

Points closer than ``merge_m`` metres are merged (the first one is kept).
``camera_candidates`` turns sites into canonical camera rows: ``azimuths`` bullet
orientations (8 = every 45°) and/or one 360° dome per site.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from gridcover.coverage.cells import metric_crs_for
from gridcover.coverage.reach.network import build_network
from gridcover.errors import InputError

__all__ = ["camera_candidates", "candidate_sites"]


def _merge_close(x: np.ndarray, y: np.ndarray, merge_m: float) -> np.ndarray:
    """Indexes of points kept after dropping each point within ``merge_m`` of an earlier one."""
    if x.size == 0 or merge_m <= 0:
        return np.arange(x.size)
    pairs = cKDTree(np.c_[x, y]).query_pairs(merge_m, output_type="ndarray")
    drop = np.zeros(x.size, bool)
    if pairs.size:
        drop[np.maximum(pairs[:, 0], pairs[:, 1])] = True
    return np.flatnonzero(~drop)


def candidate_sites(
    roads: gpd.GeoDataFrame | None = None,
    *,
    intersections: bool = True,
    every_m: float | None = None,
    layer: gpd.GeoDataFrame | None = None,
    min_degree: int = 3,
    merge_m: float = 5.0,
    area: object = None,
) -> gpd.GeoDataFrame:
    """Candidate site points (EPSG:4326) from roads and/or a user layer (see module doc).

    ``area``: optional polygon (EPSG:4326) the sites must lie in.
    """
    parts: list[pd.DataFrame] = []
    crs = None
    if roads is not None and len(roads):
        net = build_network(roads)
        crs = net.crs
        if intersections:
            nodes = np.flatnonzero(net.degree >= min_degree)
            parts.append(
                pd.DataFrame(
                    {
                        "site_id": [f"X{i}" for i in nodes],
                        "source": "intersection",
                        "x": net.node_x[nodes],
                        "y": net.node_y[nodes],
                    }
                )
            )
        if every_m is not None:
            if every_m <= 0:
                raise InputError(f"every_m must be > 0 metres, not {every_m}.")
            lines = np.asarray(roads.to_crs(crs).geometry.values)
            lines = shapely.line_merge(lines) if lines.size else lines
            lines = shapely.get_parts(lines)
            lines = lines[shapely.get_type_id(lines) == 1]
            lengths = shapely.length(lines)
            count = np.floor(lengths / every_m).astype(np.int64) + 1
            which = np.repeat(np.arange(lines.size), count)
            offs = (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)) * every_m
            pts = shapely.line_interpolate_point(lines[which], offs)
            parts.append(
                pd.DataFrame(
                    {
                        "site_id": [f"R{i}" for i in range(pts.size)],
                        "source": "along",
                        "x": shapely.get_x(pts),
                        "y": shapely.get_y(pts),
                    }
                )
            )
    if layer is not None and len(layer):
        if layer.crs is None:
            raise InputError("The candidate-site layer has no CRS; read it with gis.read_layer.")
        if crs is None:
            b = layer.to_crs(4326).total_bounds
            crs = metric_crs_for((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        g = shapely.centroid(np.asarray(layer.to_crs(crs).geometry.values))
        col = next((c for c in ("site_id", "post_id", "camera_id") if c in layer.columns), None)
        ids = layer[col].astype(str).to_numpy() if col else np.arange(len(layer)).astype(str)
        parts.append(
            pd.DataFrame(
                {"site_id": ids, "source": "layer", "x": shapely.get_x(g), "y": shapely.get_y(g)}
            )
        )
    if not parts or crs is None:
        raise InputError(
            "No candidate sites: give a roads layer (intersections / every_m) or a site layer."
        )
    df = pd.concat(parts, ignore_index=True)
    df = df[np.isfinite(df["x"]) & np.isfinite(df["y"])]
    df = df.iloc[_merge_close(df["x"].to_numpy(), df["y"].to_numpy(), merge_m)]
    out = gpd.GeoDataFrame(
        df[["site_id", "source"]].reset_index(drop=True),
        geometry=gpd.points_from_xy(df["x"], df["y"]),
        crs=crs,
    ).to_crs("EPSG:4326")
    if area is not None:
        out = out[shapely.contains(area, np.asarray(out.geometry.values))].reset_index(drop=True)
    return out


def camera_candidates(
    sites: gpd.GeoDataFrame,
    *,
    azimuths: int | Sequence[float] = 8,
    camera_type: str = "bullet",
    fov_deg: float | None = None,
    range_m: float | None = None,
    dome: bool = False,
    dome_range_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Canonical camera rows for every site x orientation (EPSG:4326 points).

    ``azimuths``: a count (evenly spaced from north, 8 = every 45°) or explicit degrees; 0
    for none. ``dome``: also one 360° dome per site. Empty ``fov_deg`` / ``range_m`` take the
    camera-type defaults of the view engine. ``camera_id`` is ``site_id@azimuth``.
    """
    if isinstance(azimuths, int | np.integer):
        az = np.arange(int(azimuths)) * (360.0 / max(int(azimuths), 1))
    else:
        az = np.asarray(list(azimuths), dtype=float)
    if az.size == 0 and not dome:
        raise InputError("Give at least one azimuth or dome=True for the candidate cameras.")
    rows = []
    n = len(sites)
    sid = sites["site_id"].astype(str).to_numpy()
    for a in az:
        rows.append(
            pd.DataFrame(
                {
                    "site_id": sid,
                    "azimuth_deg": a,
                    "fov_deg": fov_deg,
                    "range_m": range_m,
                    "type": camera_type,
                    "pos": np.arange(n),
                }
            )
        )
    if dome:
        rows.append(
            pd.DataFrame(
                {
                    "site_id": sid,
                    "azimuth_deg": np.nan,
                    "fov_deg": 360.0,
                    "range_m": dome_range_m,
                    "type": "dome",
                    "pos": np.arange(n),
                }
            )
        )
    df = pd.concat(rows, ignore_index=True)
    az_txt = np.where(df["azimuth_deg"].isna(), "360", df["azimuth_deg"].round(1).astype(str))
    df.insert(0, "camera_id", df["site_id"] + "@" + az_txt)
    df["status"] = "online"
    for c in ("fov_deg", "range_m"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    geom = np.asarray(sites.to_crs("EPSG:4326").geometry.values)[df.pop("pos").to_numpy()]
    return gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
