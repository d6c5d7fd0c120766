"""Budget siting on real layers: candidate poles x catalogue models, forbidden places out.

``site_within_budget`` turns candidate sites (points, e.g. ``candidate_sites``) into camera
rows of every catalogue model (``catalogue.model_candidates``), drops poles where no camera
may stand (``forbidden_sites``), sees every candidate through the occluded view engine and
chooses within the budget (``budget_solver.choose_within_budget``), the existing cameras kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from gridcover.coverage.cells import Cells
from gridcover.coverage.cover import cover_from_views
from gridcover.coverage.road_classes import weight_classes
from gridcover.coverage.siting.budget_solver import BudgetResult, choose_within_budget
from gridcover.coverage.siting.cameras import candidate_coverage
from gridcover.coverage.siting.catalogue import Catalogue, load_catalogue, model_candidates
from gridcover.coverage.views.sectors import camera_views
from gridcover.coverage.weights import Weights, load_weights
from gridcover.errors import InputError

__all__ = ["EXCLUDED_CLASSES", "BudgetSiting", "forbidden_sites", "site_within_budget"]

EXCLUDED_CLASSES = ("motorway", "motorway_link")


def _truthy(values: np.ndarray) -> np.ndarray:
    s = np.array([str(v).strip().lower() for v in values], dtype=object)
    return ~np.isin(s, ["", "no", "0", "false", "none", "nan", "<na>"])


def forbidden_sites(
    sites: gpd.GeoDataFrame,
    crs: object,
    *,
    roads: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    exclude_classes: tuple[str, ...] = EXCLUDED_CLASSES,
    buffer_m: float = 8.0,
    weights: Weights | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Per site, True where no camera may stand: within ``buffer_m`` metres of a road of an
    excluded class (after the class mapping of ``road_classes``; motorways by default) or of
    a bridge / overpass (a truthy ``bridge`` column or ``layer`` > 0), or inside a building.
    ``weights``: whose road class mapping applies (None = packaged). Returns the mask and the
    count per reason."""
    pts = np.asarray(sites.to_crs(crs).geometry.values)
    bad = np.zeros(len(pts), bool)
    why = {"motorway or overpass": 0, "inside a building": 0}
    if roads is not None and len(roads):
        r = roads.to_crs(crs)
        cls = weight_classes(
            r["class"] if "class" in r else ["other"] * len(r), weights or load_weights()
        )
        no = np.isin(cls.classes, exclude_classes)
        if "bridge" in r.columns:
            no |= _truthy(r["bridge"].to_numpy(dtype=object))
        if "layer" in r.columns:
            lay = np.asarray(gpd.pd.to_numeric(r["layer"], errors="coerce"), float)
            no |= np.nan_to_num(lay) > 0
        lines = np.asarray(r.geometry.values)[no]
        if lines.size:
            hit = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=buffer_m)[0]
            why["motorway or overpass"] = int(np.unique(hit).size)
            bad[hit] = True
    if buildings is not None and len(buildings):
        b = np.asarray(buildings.to_crs(crs).geometry.values)
        hit = shapely.STRtree(b).query(pts, predicate="within")[0]
        why["inside a building"] = int(np.unique(hit[~bad[hit]]).size)
        bad[hit] = True
    return bad, why


@dataclass(frozen=True, eq=False)
class BudgetSiting:
    """``result`` (see ``BudgetResult``), ``chosen`` camera rows (EPSG:4326, with model
    and price), ``excluded`` sites per reason, ``catalogue``."""

    result: BudgetResult
    chosen: gpd.GeoDataFrame
    excluded: dict[str, int]
    catalogue: Catalogue


def site_within_budget(
    cells: Cells,
    weight: np.ndarray,
    sites: gpd.GeoDataFrame,
    budget: float,
    *,
    catalogue: Catalogue | None = None,
    k: int | None = None,
    existing: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    allow_motorway: bool = False,
    allow_buildings: bool = False,
    include_offline: bool = False,
    method: str = "auto",
    time_limit: float = 60.0,
    max_per_site: int = 1,
    weights: Weights | None = None,
) -> BudgetSiting:
    """Choose catalogue cameras at ``sites`` (points with ``site_id``, any CRS) within
    ``budget`` (currency of the catalogue), maximising newly covered ``weight`` per cell."""
    cat = catalogue or load_catalogue()
    bad, why = forbidden_sites(
        sites,
        cells.crs,
        roads=None if allow_motorway else roads,
        buildings=None if allow_buildings else buildings,
        weights=weights,
    )
    ok = sites[~bad].reset_index(drop=True)
    if len(ok) == 0:
        raise InputError(
            f"All {len(sites)} candidate sites are forbidden ({why}); give other sites or "
            "allow motorways / buildings."
        )
    cands = model_candidates(ok, cat)
    cov, _ = candidate_coverage(cells, cands, buildings)
    count = np.zeros(len(cells), np.int64)
    if existing is not None and len(existing):
        ex = camera_views(existing, buildings, metric_crs=cells.crs)
        count = cover_from_views(ex, cells, include_offline=include_offline).counts.astype(np.int64)
    res = choose_within_budget(
        cov, weight, cands["price"].to_numpy(float), budget, k=k, existing=count,
        site=cands["site_id"].to_numpy(), max_per_site=max_per_site, method=method,
        time_limit=time_limit,
    )  # fmt: skip
    return BudgetSiting(res, cands.iloc[res.chosen].reset_index(drop=True), why, cat)


@dataclass(frozen=True)
class BudgetConfig:
    """A budget siting run: ``budget`` (catalogue currency), optional ``k`` (at most K
    cameras), ``catalogue`` (TOML path, None = packaged), ``res``, ``method``,
    ``time_limit`` (HiGHS seconds), candidate poles at road ``intersections`` and/or every
    ``every_m`` metres, ``allow_motorway`` / ``allow_buildings``."""

    budget: float
    k: int | None = None
    catalogue: str | None = None
    res: int = 12
    method: str = "auto"
    time_limit: float = 60.0
    intersections: bool = True
    every_m: float | None = None
    allow_motorway: bool = False
    allow_buildings: bool = False
    weights: str | None = None  # priority weights file (TOML path; None = packaged)


def plan_budget_siting(
    area: gpd.GeoDataFrame,
    config: BudgetConfig,
    *,
    roads: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    cameras: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> tuple[BudgetSiting, str]:
    """The budget siting job over ``area`` (polygons, EPSG:4326): cells and priority as in
    ``siting.plan``, candidate poles, ``site_within_budget``; returns it and a report."""
    from gridcover.coverage.cells import cells_for_area
    from gridcover.coverage.priority import priority_from_layers
    from gridcover.coverage.siting.candidates import candidate_sites

    cells = cells_for_area(area, config.res)
    weights = load_weights(config.weights)
    prio = priority_from_layers(
        cells, roads=roads, sites=sites, buildings=buildings, incidents=incidents,
        cameras=cameras, weights=weights,
    )  # fmt: skip
    use_roads = config.intersections or config.every_m is not None
    points = candidate_sites(
        roads if use_roads else None, intersections=config.intersections,
        every_m=config.every_m, layer=candidates, area=area.geometry.union_all(),
    )  # fmt: skip
    out = site_within_budget(
        cells, prio.weight, points, config.budget, catalogue=load_catalogue(config.catalogue),
        k=config.k, existing=cameras, buildings=buildings, roads=roads,
        allow_motorway=config.allow_motorway, allow_buildings=config.allow_buildings,
        method=config.method, time_limit=config.time_limit, weights=weights,
    )  # fmt: skip
    r, cur = out.result, out.catalogue.currency
    lines = [
        f"Cameras within a budget of {r.budget:,.0f} {cur}"
        + (f" and at most K={config.k}" if config.k else "")
        + f": chose {r.chosen.size} costing {r.cost:,.0f} {cur} among {len(points)} poles "
        f"({sum(out.excluded.values())} excluded: "
        + ", ".join(f"{v} {k}" for k, v in out.excluded.items())
        + ").",
        f"Weight newly covered: {r.objective:.3f}; proven upper bound {r.upper_bound:.3f}; "
        f"gap {r.gap:.2%}; method {r.method} ({r.status}); greedy {r.greedy_objective:.3f}.",
    ]
    lines += [f"Note: {n}" for n in r.notes]
    cols = ["camera_id", "model", "type", "azimuth_deg", "price"]
    lines.append(out.chosen[cols].to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    return out, "\n".join(lines)
