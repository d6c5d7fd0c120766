"""Cameras beyond reach of the analysed area: left out of a run, counted once, listed.

A city's camera file usually holds far more cameras than the district analysed. A camera
whose view cannot reach the area (its distance to the grids is more than its useful range:
``range_m``, or the default range of its type) can change nothing there, so it is left out
of the views, the coverage and the report's totals. The run says so in one line and lists
the cameras (id, distance, reach) in a table; cameras outside the grids but within reach are
kept and named in one aggregated note, never one note per camera.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.coverage.views.defaults import CameraDefaults

BEYOND_COLUMNS = ("camera_id", "distance_m", "reach_m", "lon", "lat")
_SHOWN = 5


def _distances_m(cams: gpd.GeoDataFrame, area: shapely.Geometry, crs: pyproj.CRS) -> np.ndarray:
    """Distance (m, in ``crs``) from each camera (EPSG:4326) to the area; 0 inside."""
    lon, lat = cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy()
    shapely.prepare(area)
    out = np.flatnonzero(~shapely.intersects_xy(area, lon, lat))
    d = np.zeros(len(cams))
    if out.size:
        pts = cams.geometry.iloc[out].to_crs(crs)
        area_m = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).iloc[0]
        d[out] = shapely.distance(area_m, np.asarray(pts.values))
    return d


def split_beyond_reach(
    cams: gpd.GeoDataFrame,
    area: shapely.Geometry,
    crs: pyproj.CRS,
    defaults: CameraDefaults | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """(cameras that can see into ``area``, table of those that cannot).

    ``cams``: EPSG:4326 with camera_id, type and optional range_m; ``area`` in EPSG:4326;
    distances in metres in the metric ``crs``. Reach = range_m, else the type's default
    range. The kept cameras are re-indexed 0..n-1 in their original order.
    """
    d = _distances_m(cams, area, crs)
    kinds = cams["type"].to_numpy() if "type" in cams.columns else np.full(len(cams), "other")
    reach = (defaults or CameraDefaults()).range_for(kinds)
    if "range_m" in cams.columns:
        given = pd.to_numeric(cams["range_m"], errors="coerce").to_numpy(dtype=float)
        usable = np.isfinite(given) & (given > 0)  # bad ranges are the views step's to report
        reach = np.where(usable, given, reach)
    beyond = d > reach
    table = pd.DataFrame(
        {
            "camera_id": cams["camera_id"].to_numpy()[beyond],
            "distance_m": np.round(d[beyond], 1),
            "reach_m": reach[beyond],
            "lon": cams.geometry.x.to_numpy()[beyond],
            "lat": cams.geometry.y.to_numpy()[beyond],
        },
        columns=list(BEYOND_COLUMNS),
    )
    return cams[~beyond].reset_index(drop=True), table


BEYOND_FILE = "cameras_beyond_area.csv"


def beyond_line(beyond: pd.DataFrame, listed_in: str | None = BEYOND_FILE) -> str:
    """The one line a run says about the cameras it left out ('' when none); ``listed_in``
    names the file listing them, or None to name the first ids in the line itself."""
    if not len(beyond):
        return ""
    ids = [str(i) for i in beyond["camera_id"]]
    where = (
        f"listed in {listed_in}"
        if listed_in
        else "ids " + ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    )
    return (
        f"{len(beyond)} camera(s) lie beyond reach of the area (farther from the grids than "
        f"their range, {beyond['distance_m'].min():.0f} m to {beyond['distance_m'].max():.0f} m "
        f"away): left out of the analysis and its totals; {where}"
    )


def outside_note(cams: gpd.GeoDataFrame, area: shapely.Geometry, crs: pyproj.CRS) -> list[str]:
    """One aggregated note for the cameras outside the grids but within reach (kept)."""
    d = _distances_m(cams, area, crs)
    out = np.flatnonzero(d > 0)
    if not out.size:
        return []
    named = ", ".join(
        f"camera {cams['camera_id'].iloc[i]} ({d[i]:.0f} m)" for i in out[:_SHOWN]
    ) + (f" and {out.size - _SHOWN} more" if out.size > _SHOWN else "")
    return [
        f"{out.size} camera(s) lie outside the area of interest (the grids) but within reach: "
        f"{named}; they are kept and count only where their views reach into the area."
    ]


def split_indoor(cams: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str]:
    """(cameras that can see outdoor cells, the line saying which indoor ones were left out).

    ``room_type == 'indoor'`` (GB/T 28181 RoomType 2) cameras watch a lobby or a corridor:
    the H3 cells of a run are outdoor ground, so they cover none of them.
    """
    if "room_type" not in cams.columns:
        return cams, ""
    indoor = (cams["room_type"].astype(object) == "indoor").to_numpy(dtype=bool)
    if not indoor.any():
        return cams, ""
    ids = [str(i) for i in cams["camera_id"].to_numpy()[indoor]]
    shown = ", ".join(ids[:_SHOWN]) + (
        f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
    )
    line = (
        f"{len(ids)} indoor camera(s) (room_type indoor, GB/T 28181 RoomType 2) do not cover "
        f"outdoor cells: left out of the analysis and its totals ({shown})"
    )
    return cams[~indoor].reset_index(drop=True), line
