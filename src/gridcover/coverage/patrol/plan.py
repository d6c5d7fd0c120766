"""The patrol job, one plan for every door: layers + ``PatrolConfig`` -> ``PatrolRun``.

``gridcover patrol`` and the service's patrol job both translate their inputs into a
``PatrolConfig`` and call :func:`plan_patrol`; the defaults live here only. The priority part
of the workload comes from roads, key sites and buildings (``PRIORITY_LAYERS``); incident
counts are a workload share of their own (``weights["incidents"]``), so they do not feed the
priority weight as well (that would count them twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import geopandas as gpd

from gridcover.coverage.cells import Cells, cells_for_area, check_res
from gridcover.coverage.patrol.compactness import DEFAULT_MIN_COMPACTNESS
from gridcover.coverage.patrol.figures import pct_text
from gridcover.coverage.patrol.zones import PatrolPlan, patrol_zones
from gridcover.coverage.priority import priority_from_layers
from gridcover.coverage.reach import ReachReport, post_reach
from gridcover.errors import InputError

__all__ = ["DEFAULT_PATROL_RES", "PRIORITY_LAYERS", "PatrolConfig", "PatrolRun", "plan_patrol"]

DEFAULT_PATROL_RES = 10
"""H3 resolution of patrol zones (res 10 cells are about 0.015 km²)."""

PRIORITY_LAYERS = ("roads", "sites", "buildings")
"""Layers whose priority weight enters the workload (incidents are their own share)."""

MODES = ("walk", "bike", "car")

Progress = Callable[[float, str], None]
"""progress(fraction done 0-1, message)."""


@dataclass(frozen=True)
class PatrolConfig:
    """Parameters of a patrol run. ``res``: H3 resolution (9-13); ``mode``: walk/bike/car
    (travel speed); ``target_ratio``: wanted max/min workload; ``weights``: workload mix of
    area / priority / road_length / incidents (None = equal shares); ``exclaves``: "attach"
    or "leave"; ``boundary_field``: region key of the boundary polygons (None = ``code``);
    ``use_roads``: travel along streets when roads are given; ``use_priority``: priority
    weight in the workload; ``reach``: also check the target "a post within
    ``day_radius_m`` metres (straight line) by day, ``night_minutes`` by ``mode`` at night";
    ``min_compactness``: Polsby-Popper floor of the zones, enforced by re-splitting the zones
    of close posts (0 = off; ``coverage.patrol.compactness``)."""

    res: int = DEFAULT_PATROL_RES
    mode: str = "car"
    target_ratio: float = 1.15
    weights: Mapping[str, float] | None = None
    exclaves: str = "attach"
    boundary_field: str | None = None
    use_roads: bool = True
    use_priority: bool = True
    reach: bool = True
    day_radius_m: float = 1000.0
    night_minutes: float = 15.0
    min_compactness: float = DEFAULT_MIN_COMPACTNESS

    def __post_init__(self) -> None:
        check_res(self.res)
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}.")
        if self.exclaves not in ("attach", "leave"):
            raise InputError(f"exclaves must be 'attach' or 'leave', not {self.exclaves!r}.")
        if not self.target_ratio >= 1.0:
            raise InputError(f"target_ratio must be 1 or more, not {self.target_ratio!r}.")
        if not 0.0 <= self.min_compactness < 0.9:
            raise InputError(
                f"min_compactness must be from 0 (off) to below 0.9 (a single hexagon scores "
                f"0.91), not {self.min_compactness!r}."
            )
        if self.weights is not None:
            object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))


@dataclass(frozen=True, eq=False)
class PatrolRun:
    """A patrol run: the zones (``plan``), the cells, and the day/night target (``reach``,
    None when not asked). Tables are in EPSG:4326."""

    config: PatrolConfig
    plan: PatrolPlan
    cells: Cells
    reach: ReachReport | None
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        """Key figures (JSON-ready values)."""
        a = self.plan.assignment
        out: dict[str, Any] = {
            "method": self.plan.method,
            "res": self.plan.res,
            "balance_ratio": float(a.balance_ratio),
            "initial_ratio": float(a.initial_ratio),
            "zones": int((a.anchors >= 0).sum()),
            "posts": int(a.anchors.size),
            "cells": len(self.plan.cells),
            "min_compactness": float(a.min_compactness),
            "close_splits": len(a.close),
        }
        if self.reach is not None:
            out.update({f"target_{k}_share": float(v) for k, v in self.reach.share.items()})
        return out

    def report(self) -> str:
        """The text a planner reads: balance, one line per zone, the day/night target."""
        cfg = self.config
        lines = [self.plan.report(), self.plan.zone_lines()]
        if self.reach is not None:
            sh, per = self.reach.share, self.reach.grids
            lines.append(
                f"Patrol target: {pct_text(sh['day'])} of the area within {cfg.day_radius_m:g} m "
                f"of a post (straight line), {pct_text(sh['night'])} within "
                f"{cfg.night_minutes:g} min by {cfg.mode}, {pct_text(sh['both'])} both."
            )
            if per is not None:
                for lv, g in per.groupby("level", sort=True):
                    small = int(g["point_sample"].sum())
                    lines.append(
                        f"  level-{lv} grids meeting both: {int(g['meets_target'].sum())} of "
                        f"{len(g)}"
                        + (
                            f" ({small} smaller than a cell, judged at a point inside)"
                            if small
                            else ""
                        )
                    )
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def plan_patrol(
    area: gpd.GeoDataFrame,
    posts: gpd.GeoDataFrame,
    config: PatrolConfig | None = None,
    *,
    roads: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    boundary: gpd.GeoDataFrame | None = None,
    locked: gpd.GeoDataFrame | None = None,
    grids: gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
) -> PatrolRun:
    """One contiguous, balanced patrol zone per post over ``area`` (polygons, EPSG:4326).

    ``boundary``: polygons zones must not cross; ``locked``: polygons with ``post_id`` whose
    cells stay with that post; ``grids``: grids to report the target per grid (default
    ``area``). Every layer is a canonical layer from ``gis.read_layer`` (EPSG:4326).
    """
    cfg = config or PatrolConfig()
    step = progress or (lambda _f, _m: None)
    step(0.1, "H3 cells of the area")
    cells = cells_for_area(area, cfg.res)
    given = {"roads": roads, "sites": sites, "buildings": buildings}
    priority = None
    if cfg.use_priority and any(given[k] is not None for k in PRIORITY_LAYERS):
        step(0.2, "priority weights")
        priority = priority_from_layers(cells, **given).weight
    travel_roads = roads if cfg.use_roads else None
    step(0.3, "travel times and zones")
    plan = patrol_zones(
        area,
        posts,
        cells=cells,
        roads=travel_roads,
        boundary=boundary,
        boundary_field=cfg.boundary_field,
        priority=priority,
        incidents=incidents,
        locked=locked,
        weights=dict(cfg.weights) if cfg.weights is not None else None,
        mode=cfg.mode,
        target_ratio=cfg.target_ratio,
        exclaves=cfg.exclaves,
        min_compactness=cfg.min_compactness,
    )
    reach = None
    if cfg.reach:
        step(0.8, "day/night patrol target")
        reach = post_reach(
            cells,
            posts,
            roads=travel_roads,
            grids=grids if grids is not None else area,
            day_radius_m=cfg.day_radius_m,
            night_minutes=cfg.night_minutes,
            mode=cfg.mode,
        )
    return PatrolRun(cfg, plan, cells, reach)
