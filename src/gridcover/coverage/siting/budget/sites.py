"""Budget siting on real layers: candidate poles x catalogue models, forbidden places out.

``site_within_budget`` turns candidate sites (points, e.g. ``candidate_sites``) into camera
rows of every catalogue model (``catalogue.model_candidates``), drops poles where no camera
may stand (``forbidden_sites``), sees every candidate through the run's view model
(``matrix.budget_cover``: 3D, the default as in every other door, counts a cell only when a
candidate sees it at its required detail level; 2D, the sector model) and chooses within the
budget (``solver.choose_within_budget``), the existing cameras kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from gridcover.coverage.analysis import DEFAULT_VISIBILITY
from gridcover.coverage.cells import DEFAULT_RES, Cells
from gridcover.coverage.detail import check_3d
from gridcover.coverage.road_classes import weight_classes
from gridcover.coverage.siting.budget.matrix import budget_cover, drawn_views
from gridcover.coverage.siting.budget.solver import BudgetResult, choose_within_budget
from gridcover.coverage.siting.catalogue import (
    Catalogue,
    load_catalogue,
    model_candidates,
    select_models,
)
from gridcover.coverage.siting.detail_sites import at_required_counts
from gridcover.coverage.views.heights import DEFAULT_BUILDING_HEIGHT_M
from gridcover.coverage.views.views3d import DEFAULT_TARGET_HEIGHT_M
from gridcover.coverage.weights import Weights, load_weights
from gridcover.errors import InputError

__all__ = [
    "EXCLUDED_CLASSES",
    "BudgetConfig",
    "BudgetSiting",
    "forbidden_sites",
    "plan_budget_siting",
    "site_within_budget",
]

EXCLUDED_CLASSES = ("motorway", "motorway_link")

PROPOSAL_COLUMNS = {
    "2d": ("rank", "camera_id", "model", "type", "azimuth_deg", "price", "marginal_gain"),
    "3d": ("rank", "camera_id", "model", "type", "resolution", "fov_deg", "lens_fov_deg",
           "height_m", "tilt_deg", "azimuth_deg", "price", "marginal_gain"),
}  # fmt: skip
"""Columns of the printed proposal table per view model (those present): the order to buy
in (``rank``, by ``marginal_gain`` within the chosen set), which camera and, in 3D, how to
mount it (metres, degrees)."""


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
    """``result`` (see ``BudgetResult``), ``chosen`` camera rows (EPSG:4326, ranked: ``rank``,
    ``marginal_gain``, ``removal_loss``; with model, price and, from the catalogue,
    resolution, lens, ``height_m``, ``tilt_deg``), ``excluded``
    sites per reason, ``catalogue``, the ``visibility`` model, the chosen cameras' ``views``
    (EPSG:4326), ``candidates`` (camera rows tried) and, in 3D, ``levels``: the priority cells
    at their required detail level before and after the chosen cameras (counts and %)."""

    result: BudgetResult
    chosen: gpd.GeoDataFrame
    excluded: dict[str, int]
    catalogue: Catalogue
    visibility: str = "2d"
    views: gpd.GeoDataFrame | None = None
    candidates: int = 0
    levels: dict[str, float] | None = None

    def summary(self) -> dict[str, object]:
        """Key figures (plain values): view model, budget, cost, chosen, objective, bound,
        gap, solver, poles left out per reason; 3D adds ``required_cells``,
        ``at_required_before/after`` (and ``_pct``)."""
        r = self.result
        head: dict[str, object] = {"visibility": self.visibility}
        return (
            head
            | (self.levels or {})
            | {
                "budget": r.budget,
                "currency": self.catalogue.currency,
                "cost": r.cost,
                "chosen": int(r.chosen.size),
                "candidates": self.candidates,
                "excluded_sites": sum(self.excluded.values()),
                **{f"excluded_{k.replace(' ', '_')}": v for k, v in self.excluded.items()},
                "objective": r.objective,
                "upper_bound": r.upper_bound,
                "gap": r.gap,
                "method": r.method,
                "status": r.status,
                "optimal": r.optimal,
                "greedy_objective": r.greedy_objective,
            }
        )


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
    visibility: str = DEFAULT_VISIBILITY,
    target_height_m: float = DEFAULT_TARGET_HEIGHT_M,
    building_height_m: float = DEFAULT_BUILDING_HEIGHT_M,
    required: np.ndarray | None = None,
) -> BudgetSiting:
    """Choose catalogue cameras at ``sites`` (points with ``site_id``, any CRS) within
    ``budget`` (currency of the catalogue), maximising the newly served ``weight`` per cell.

    ``visibility`` "3d" (default): a candidate serves a cell when, mounted as its model says,
    it sees the cell at ``max(required, 1)`` (``required``: level per cell from
    ``coverage.detail.required_level``; None = detect on every cell of weight > 0), the
    objective is the weight of cells with a required level newly brought to it, and existing
    cameras count the same way (status rule ``cover.camera_counted``); ``target_height_m``
    (target above ground) and ``building_height_m`` (buildings without a height), metres.
    "2d": a cell is served when its centroid is in a candidate's sector cut by buildings."""
    cat = catalogue or load_catalogue()
    check_3d(visibility, target_height_m, building_height_m)
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
    bc = budget_cover(
        cells, weight, cands, visibility=visibility, existing=existing, buildings=buildings,
        include_offline=include_offline, required=required, target_height_m=target_height_m,
        building_height_m=building_height_m,
    )  # fmt: skip
    res = choose_within_budget(
        bc.coverage, bc.weight, cands["price"].to_numpy(float), budget, k=k,
        existing=bc.existing, site=cands["site_id"].to_numpy(), max_per_site=max_per_site,
        method=method, time_limit=time_limit,
    )  # fmt: skip
    levels = None
    if bc.required is not None:
        levels = at_required_counts(bc.required, bc.existing, bc.coverage, res.chosen)
    rank = res.ranking
    order = res.chosen if rank is None else rank["candidate"].to_numpy()
    heights = {"target_height_m": target_height_m, "building_height_m": building_height_m}
    views = drawn_views(cells, bc, cands, order, buildings=buildings, **heights)
    chosen = cands.iloc[order].reset_index(drop=True)
    if rank is not None:
        for col in ("rank", "marginal_gain", "removal_loss"):
            chosen[col] = rank[col].to_numpy()
    return BudgetSiting(res, chosen, why, cat, visibility, views, len(cands), levels)


@dataclass(frozen=True)
class BudgetConfig:
    """A budget siting run: ``budget`` (catalogue currency), optional ``k`` (at most K
    cameras), ``catalogue`` (TOML path, None = packaged) and ``models`` (names; empty = all),
    ``res``, ``method``, ``time_limit`` (HiGHS seconds), candidate poles at road
    ``intersections`` and/or every ``every_m`` metres, ``allow_motorway`` /
    ``allow_buildings``; the view model ``visibility`` ("3d" default: required detail
    levels, see ``site_within_budget``; "2d": sectors), ``target_height_m`` and
    ``building_height_m`` (metres, 3D), as in ``siting.plan.SitingConfig``."""

    budget: float
    k: int | None = None
    catalogue: str | None = None
    res: int = DEFAULT_RES
    method: str = "auto"
    time_limit: float = 60.0
    intersections: bool = True
    every_m: float | None = None
    allow_motorway: bool = False
    allow_buildings: bool = False
    weights: str | None = None  # priority weights file (TOML path; None = packaged)
    visibility: str = DEFAULT_VISIBILITY
    target_height_m: float = DEFAULT_TARGET_HEIGHT_M
    building_height_m: float = DEFAULT_BUILDING_HEIGHT_M
    models: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_3d(self.visibility, self.target_height_m, self.building_height_m)
        object.__setattr__(self, "models", tuple(str(m) for m in self.models))


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
    ``siting.plan`` (3D: required levels from the weights file's ``[detail]``), candidate
    poles, ``site_within_budget``; returns it and a report."""
    from gridcover.coverage.cells import cells_for_area
    from gridcover.coverage.detail import required_level
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
    three_d = config.visibility == "3d"
    required = (
        required_level(prio.components, prio.priority, weights.detail_targets) if three_d else None
    )
    cat = select_models(load_catalogue(config.catalogue), config.models)
    out = site_within_budget(
        cells, prio.weight, points, config.budget, catalogue=cat, k=config.k, existing=cameras,
        buildings=buildings, roads=roads, allow_motorway=config.allow_motorway,
        allow_buildings=config.allow_buildings, method=config.method,
        time_limit=config.time_limit, weights=weights, visibility=config.visibility,
        target_height_m=config.target_height_m, building_height_m=config.building_height_m,
        required=required,
    )  # fmt: skip
    return out, _report(out, config, len(points))


def _report(out: BudgetSiting, config: BudgetConfig, poles: int) -> str:
    """The run for people: budget and picks, view model, solver figures, 3D levels, table."""
    r, cur = out.result, out.catalogue.currency
    if out.visibility == "3d":
        model = (
            f"3D (catalogue optics and mounting, target {config.target_height_m:g} m, "
            f"buildings without a height {config.building_height_m:g} m): a camera serves a "
            "cell it sees at the cell's required detail level"
        )
    else:
        model = "2D sectors cut by buildings: a camera serves a cell whose centroid it sees"
    lines = [
        f"Cameras within a budget of {r.budget:,.0f} {cur}"
        + (f" and at most K={config.k}" if config.k else "")
        + f": chose {r.chosen.size} costing {r.cost:,.0f} {cur} among {poles} poles "
        f"({sum(out.excluded.values())} excluded: "
        + ", ".join(f"{v} {k}" for k, v in out.excluded.items())
        + ").",
        f"View model: {model}.",
        f"Weight newly covered: {r.objective:.3f}; proven upper bound {r.upper_bound:.3f}; "
        f"gap {r.gap:.2%}; method {r.method} ({r.status}); greedy {r.greedy_objective:.3f}.",
    ]
    if out.levels:
        lv = out.levels
        lines.append(
            f"Priority cells at their required detail level: {lv['at_required_before']} "
            f"-> {lv['at_required_after']} of {lv['required_cells']} "
            f"({lv['at_required_before_pct']:.1f}% -> {lv['at_required_after_pct']:.1f}%)."
        )
    lines += [f"Note: {n}" for n in r.notes]
    cols = [c for c in PROPOSAL_COLUMNS[out.visibility] if c in out.chosen.columns]
    lines.append(out.chosen[cols].to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    return "\n".join(lines)
