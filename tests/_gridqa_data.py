"""Shared pieces of the grid QA tests: the real Chicago grids built with plain geopandas, and
plain-shapely helpers used for the independent computations (no gridcover code here)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

DATA = Path(__file__).parent / "data"
CHICAGO = DATA / "chicago-cameras-police"
FLOOR = 0.01  # the default ignore_below_m2


def chicago_frame() -> gpd.GeoDataFrame:
    """Canonical grids built with plain geopandas: districts (code zero-padded like the beats'
    DISTRICT field) and beats (parent = DISTRICT)."""
    d = gpd.read_file(CHICAGO / "police_districts_2014.geojson")
    b = gpd.read_file(CHICAGO / "police_beats_2014.geojson")
    dist = pd.DataFrame(
        {
            "code": d["DIST_NUM"].str.zfill(2),
            "parent_code": None,
            "level": 1,
            "name": d["DIST_LABEL"],
        }
    )
    beat = pd.DataFrame(
        {"code": b["BEAT_NUM"], "parent_code": b["DISTRICT"], "level": 2, "name": None}
    )
    geoms = [*d.geometry, *b.geometry]
    return gpd.GeoDataFrame(pd.concat([dist, beat], ignore_index=True), geometry=geoms, crs=4326)


def polys(g: BaseGeometry) -> list[BaseGeometry]:
    """Polygon parts of any geometry (plain recursion, no gridcover code)."""
    if g.is_empty:
        return []
    if g.geom_type == "Polygon":
        return [g]
    if hasattr(g, "geoms"):
        return [p for part in g.geoms for p in polys(part)]
    return []


def shapes(grids: gpd.GeoDataFrame, crs: object) -> dict[tuple[int, str], BaseGeometry]:
    """(level, code) -> union of that code's rows, in ``crs``."""
    m = grids.to_crs(crs)
    out: dict[tuple[int, str], BaseGeometry] = {}
    for (lv, code), g in m.groupby(["level", "code"]):
        out[(int(lv), str(code))] = shapely.union_all(list(g.geometry))
    return out


def keys(issues: gpd.GeoDataFrame, severity: str) -> set[tuple[str, str | None, str | None]]:
    sel = issues[issues["severity"] == severity]
    return {
        (c, None if pd.isna(a) else a, None if pd.isna(b) else b)
        for c, a, b in zip(sel["check"], sel["code"], sel["other_code"], strict=True)
    }


def keycols(df: pd.DataFrame) -> list[tuple[str, str | None, str | None]]:
    return [
        (c, None if pd.isna(a) else a, None if pd.isna(b) else b)
        for c, a, b in zip(df["check"], df["code"], df["other_code"], strict=True)
    ]
