"""Grid QA: is a multi-level grid map clean? One issue table for people and for GIS.

``check_grids(grids)`` takes the canonical grids layer (columns code, parent_code, level, name,
geometry; EPSG:4326; one layer holding every level) and returns a :class:`GridCheck`: a
GeoDataFrame of issues (EPSG:4326) and counts per check. Areas are m² in a local metric CRS.

Checks (``CHECKS``; details and thresholds in docs/GRID_QA.md):
invalid, duplicate_code, orphan, level_mismatch, code_mismatch, sliver, overlap, gap,
outside_parent, not_tiled.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.errors import CRSError, SchemaError
from gridcover.gis.crs import local_metric_crs, transformer
from gridcover.gis.qa.codes import duplicate_codes, hierarchy, link_parents
from gridcover.gis.qa.mask import mask_geometry
from gridcover.gis.qa.nesting import nesting
from gridcover.gis.qa.rules import GeomArray, Issue, Thresholds, Units, polygonal
from gridcover.gis.qa.topology import overlaps, sliver_grids, top_gaps

__all__ = ["CHECKS", "COLUMNS", "GridCheck", "Thresholds", "check_grids"]

#: Every check, in the order tables list them.
CHECKS: tuple[str, ...] = (
    "invalid",
    "duplicate_code",
    "orphan",
    "level_mismatch",
    "code_mismatch",
    "overlap",
    "gap",
    "outside_parent",
    "not_tiled",
    "sliver",
)
#: Columns of ``GridCheck.issues`` (plus geometry).
COLUMNS: tuple[str, ...] = (
    "severity",
    "check",
    "level",
    "code",
    "other_code",
    "area_m2",
    "message",
)

_LOCATION = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)")


@dataclass(frozen=True)
class GridCheck:
    """Result of :func:`check_grids`.

    ``issues``: GeoDataFrame (EPSG:4326) with columns ``COLUMNS`` + geometry (the problem area,
    or the grid, or the spot of a self-intersection), errors first. ``summary``: one row per
    check in ``CHECKS`` order with columns errors, warnings, area_m2. ``metric_crs``: the CRS
    the areas were measured in. ``thresholds``: the tolerances used.
    """

    issues: gpd.GeoDataFrame
    summary: pd.DataFrame
    metric_crs: pyproj.CRS
    thresholds: Thresholds

    @property
    def n_errors(self) -> int:
        return int((self.issues["severity"] == "error").sum())

    @property
    def n_warnings(self) -> int:
        return int((self.issues["severity"] == "warning").sum())

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.n_errors == 0


def _metric_crs(gdf: gpd.GeoDataFrame) -> pyproj.CRS:
    """Local metric CRS for the extent of ``gdf`` (EPSG:4326)."""
    x0, y0, x1, y1 = gdf.total_bounds
    return local_metric_crs(np.array([x0, x1]), np.array([y0, y1]))


def _text(values: pd.Series) -> np.ndarray:
    """Codes as stripped strings; empty strings and nulls become None."""
    s = values.astype("string").str.strip()
    return np.array([None if pd.isna(v) or v == "" else str(v) for v in s], dtype=object)


def _prepare(
    grids: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(grids, gpd.GeoDataFrame):
        raise SchemaError(
            "check_grids needs a GeoDataFrame of grids (use gis.read_layer(path, 'grids'))."
        )
    missing = [c for c in ("code", "level") if c not in grids.columns]
    if missing:
        raise SchemaError(
            f"The grids table has no column(s) {', '.join(missing)}; read it with "
            "gis.read_layer(path, 'grids') or rename the columns to code and level."
        )
    if grids.crs is None:
        raise CRSError("The grids GeoDataFrame has no CRS; set it (EPSG:4326) before checking.")
    if not pyproj.CRS.from_user_input(grids.crs).equals(pyproj.CRS.from_epsg(4326)):
        grids = grids.to_crs(4326)
    code = _text(grids["code"])
    if any(c is None for c in code):
        rows = [str(i) for i, c in zip(grids.index, code, strict=True) if c is None][:10]
        raise SchemaError(f"Grid rows {', '.join(rows)} have no code; every grid needs a code.")
    level = pd.to_numeric(grids["level"], errors="coerce")
    if level.isna().any() or (level % 1 != 0).any():
        rows = [str(i) for i in grids.index[level.isna() | (level % 1 != 0)][:10]]
        raise SchemaError(
            f"Grid rows {', '.join(rows)} have no whole-number level; set level 1, 2 or 3."
        )
    parent = (
        _text(grids["parent_code"]) if "parent_code" in grids else np.full(len(grids), None, object)
    )
    name = _text(grids["name"]) if "name" in grids else np.full(len(grids), None, object)
    return grids, code, level.to_numpy(dtype=np.int64), parent, name


def _invalid(grids: gpd.GeoDataFrame, code: np.ndarray, level: np.ndarray) -> list[Issue]:
    """Missing, empty, non-polygon and invalid geometries (geometry: the spot, in EPSG:4326)."""
    geoms = grids.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygon = np.isin(
        shapely.get_type_id(geoms),
        (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON),
    )
    bad = empty | ~polygon | ~shapely.is_valid(geoms)
    issues = []
    for k in np.flatnonzero(bad):
        g = geoms[k]
        if empty[k]:
            why, spot, used = "is empty or missing", None, "it was left out of the other checks"
        elif not polygon[k]:
            why, spot = f"is a {g.geom_type}, not a polygon", g
            has_area = not shapely.is_empty(polygonal(np.array([g], dtype=object))[0])
            used = (
                "the other checks used its polygon parts"
                if has_area
                else "it was left out of the other checks"
            )
        else:
            reason = str(shapely.is_valid_reason(g))
            hit = _LOCATION.search(reason)
            spot = shapely.Point(float(hit[1]), float(hit[2])) if hit else g
            why = f"is invalid: {reason}"
            used = "the other checks used a make_valid repair of it"
        issues.append(
            Issue(
                "error",
                "invalid",
                int(level[k]),
                str(code[k]),
                None,
                0.0,
                f"Grid {code[k]} (level {level[k]}, row {grids.index[k]}) {why}; fix the shape "
                f"in your GIS ({used}).",
                spot,
            )
        )
    return issues


def _units(
    code: np.ndarray, level: np.ndarray, parent: np.ndarray, name: np.ndarray, geom: GeomArray
) -> Units:
    """Merge rows sharing (code, level) into one unit (shapes unioned, first parent/name)."""
    df = pd.DataFrame({"code": code, "level": level, "row": np.arange(len(code))})
    key = df.groupby(["code", "level"], sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(code))).groupby(key).first().to_numpy()
    merged = geom[first].copy()
    sizes = np.bincount(key)
    for k in np.flatnonzero(sizes > 1):
        merged[k] = shapely.union_all(geom[key == k])
    pick_parent = pd.Series(parent).groupby(key).first().to_numpy()
    pick_name = pd.Series(name).groupby(key).first().to_numpy()
    pick_parent = np.array([None if pd.isna(v) else v for v in pick_parent], dtype=object)
    pick_name = np.array([None if pd.isna(v) else v for v in pick_name], dtype=object)
    c, lv = code[first], level[first]
    return Units(c, lv, pick_parent, pick_name, polygonal(merged), link_parents(c, lv, pick_parent))


def check_grids(
    grids: gpd.GeoDataFrame,
    *,
    sliver_max_area_m2: float = 100.0,
    sliver_thinness: float = 0.05,
    gap_min_area_m2: float = 1.0,
    tolerance_m: float = 1.0,
    ignore_below_m2: float = 0.01,
    mask: gpd.GeoDataFrame | None = None,
) -> GridCheck:
    """Check a multi-level grid layer (EPSG:4326, canonical grids columns) for topology errors.

    Thresholds are in metres / m² (see :class:`Thresholds`): problem parts smaller than
    ``gap_min_area_m2`` or with mean width below ``tolerance_m`` are warnings (slivers), not
    errors; parts below ``ignore_below_m2`` are dropped. ``mask``: polygons (any CRS) of
    water, rail yards or closed areas that belong to no grid on purpose: gaps and uncovered
    parent edges inside them are not reported (``qa.mask``). Issues carry the grid chief
    (``chief_name``, ``chief_phone`` of the grid, else of its parent) when the grids give one.
    Returns a :class:`GridCheck`.
    """
    th = Thresholds(
        sliver_max_area_m2, sliver_thinness, gap_min_area_m2, tolerance_m, ignore_below_m2
    )
    grids, code, level, parent, name = _prepare(grids)
    crs = _metric_crs(grids) if len(grids) else pyproj.CRS.from_epsg(3857)
    issues = _invalid(grids, code, level)
    to_m = transformer(4326, crs)
    geom = polygonal(grids.geometry.to_numpy())
    geom = polygonal(shapely.transform(geom, to_m.transform, interleaved=False))
    issues = [i._replace(geometry=_project(i.geometry, to_m)) for i in issues]
    issues += duplicate_codes(code, level, parent, name, geom)
    u = _units(code, level, parent, name, geom)
    found, top = hierarchy(u)
    issues += found
    cut = mask_geometry(mask, crs)
    issues += overlaps(u, th) + top_gaps(u, top, th, cut) + nesting(u, th, cut)
    issues += sliver_grids(u, th)
    return _with_chiefs(_result(issues, crs, th), grids)


def _with_chiefs(result: GridCheck, grids: gpd.GeoDataFrame) -> GridCheck:
    """Add the grid chief of each issue's grid (else of the other grid it names)."""
    cols = [c for c in ("chief_name", "chief_phone") if c in grids.columns]
    if not cols or not len(result.issues):
        return result
    by_code = pd.DataFrame(grids[["code", *cols]]).astype({"code": str}).drop_duplicates("code")
    by_code = by_code.set_index("code")
    out = result.issues.copy()
    for c in cols:
        own = out["code"].map(by_code[c])
        other = out["other_code"].map(by_code[c])
        out[c] = own.where(own.notna() & (own.astype(str).str.strip() != ""), other)
    return dataclasses.replace(result, issues=out)


def _project(g: object, tr: pyproj.Transformer) -> object:
    return None if g is None else shapely.transform(g, tr.transform, interleaved=False)


def _result(issues: list[Issue], crs: pyproj.CRS, th: Thresholds) -> GridCheck:
    df = pd.DataFrame([i._asdict() for i in issues], columns=[*COLUMNS, "geometry"])
    geo = gpd.GeoSeries(df.pop("geometry").to_numpy(), crs=crs).to_crs(4326)
    df["level"] = df["level"].astype("Int64")
    df["area_m2"] = df["area_m2"].astype(float)
    df["rank"] = df["severity"].map({"error": 0, "warning": 1})
    df["order"] = df["check"].map({c: k for k, c in enumerate(CHECKS)})
    df = df.assign(geometry=geo.to_numpy())
    df = df.sort_values(["rank", "order", "level", "code", "other_code"], na_position="first")
    df = df.drop(columns=["rank", "order"]).reset_index(drop=True)
    out = gpd.GeoDataFrame(df, geometry="geometry", crs=4326)
    counts = pd.crosstab(out["check"], out["severity"]) if len(out) else pd.DataFrame()
    summary = pd.DataFrame(
        {
            "errors": [
                int(counts.at[c, "error"]) if c in counts.index and "error" in counts else 0
                for c in CHECKS
            ],
            "warnings": [
                int(counts.at[c, "warning"]) if c in counts.index and "warning" in counts else 0
                for c in CHECKS
            ],
            "area_m2": [float(out.loc[out["check"] == c, "area_m2"].sum()) for c in CHECKS],
        },
        index=pd.Index(CHECKS, name="check"),
    )
    return GridCheck(out, summary, crs, th)
