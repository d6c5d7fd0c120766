"""The siting job, one plan for every door: layers + ``SitingConfig`` -> ``SitingRun``.

``gridcover site`` and the service's siting job both translate their inputs into a
``SitingConfig`` and call :func:`plan_siting`; the defaults live here only:

- resolution ``DEFAULT_RES`` (12), the coverage analysis' own, so that siting closes the
  blind spots the analysis reports, on the same cells;
- the priority weight comes from the same layers as the coverage analysis
  (``PRIORITY_LAYERS``: roads, key sites, buildings and incident counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd

from gridcover.coverage.cells import DEFAULT_RES, Cells, cells_for_area, check_res
from gridcover.coverage.priority import priority_from_layers
from gridcover.coverage.siting.cameras import SitingResult, key_site_levels, site_cameras
from gridcover.coverage.siting.candidates import camera_candidates, candidate_sites
from gridcover.coverage.siting.posts import site_posts
from gridcover.errors import InputError

__all__ = ["PRIORITY_LAYERS", "SitingConfig", "SitingRun", "plan_siting"]

PRIORITY_LAYERS = ("roads", "sites", "buildings", "incidents")
"""Layers that feed the priority weight of a siting run (as in the coverage analysis)."""

Progress = Callable[[float, str], None]
"""progress(fraction done 0-1, message)."""


@dataclass(frozen=True)
class SitingConfig:
    """Parameters of a siting run. ``what``: "cameras" or "posts"; ``k``: new sites;
    ``res``: H3 resolution; ``method``: auto/greedy/exact; ``time_limit``: HiGHS seconds;
    candidates: road ``intersections`` and/or points every ``every_m`` metres along roads (and
    a user layer); cameras: ``azimuths`` bullet orientations per site and/or a 360° ``dome``;
    ``backup``: K-fold coverage wanted near key sites; posts: reach within ``radius_m`` metres
    (straight line) or ``minutes`` by ``mode`` along streets."""

    k: int = 10
    what: Literal["cameras", "posts"] = "cameras"
    res: int = DEFAULT_RES
    method: str = "auto"
    time_limit: float = 60.0
    intersections: bool = True
    every_m: float | None = None
    azimuths: int = 8
    dome: bool = False
    backup: int = 1
    radius_m: float = 1000.0
    minutes: float | None = None
    mode: str = "car"

    def __post_init__(self) -> None:
        check_res(self.res)
        if self.what not in ("cameras", "posts"):
            raise InputError(f"what must be 'cameras' or 'posts', not {self.what!r}.")
        if self.k < 1:
            raise InputError(f"k must be at least 1 (new sites to choose), not {self.k}.")
        if self.method not in ("auto", "greedy", "exact"):
            raise InputError(f"method must be auto, greedy or exact, not {self.method!r}.")
        if self.backup < 1:
            raise InputError(f"backup must be at least 1, not {self.backup}.")


@dataclass(frozen=True, eq=False)
class SitingRun:
    """A siting run: ``chosen`` sites (EPSG:4326, ranked), their ``views`` (cameras only,
    else None), the solver ``result``, the candidate ``sites`` count and the reach ``rule``."""

    config: SitingConfig
    chosen: gpd.GeoDataFrame
    views: gpd.GeoDataFrame | None
    result: SitingResult
    cells: Cells
    sites: int
    rule: str

    def summary(self) -> dict[str, Any]:
        """Key figures (JSON-ready values)."""
        r = self.result
        return {
            "what": self.config.what,
            "res": self.config.res,
            "chosen": int(r.chosen.size),
            "candidates": int(r.n_candidates),
            "sites": self.sites,
            "objective": float(r.objective),
            "upper_bound": float(r.upper_bound),
            "gap": float(r.gap),
            "bound_source": r.bound_source,
            "method": r.method,
        }

    def report(self) -> str:
        """Objective, bound, gap and the ranking, for people."""
        r, k = self.result, self.config.k
        what = "Cameras" if self.config.what == "cameras" else "Posts"
        lines = [
            f"{what}: chose {r.chosen.size} of K={k} among {r.n_candidates} candidates "
            f"({self.rule}); {r.n_cells} cells, {r.n_rows} distinct demand rows after merging.",
            f"Weight newly covered: {r.objective:.3f}; proven upper bound {r.upper_bound:.3f} "
            f"({r.bound_source}); gap {r.gap:.2%}; method {r.method}"
            + (f", greedy {r.greedy_objective:.3f}" if r.method == "exact" else ""),
            "Time: " + ", ".join(f"{name} {v:.3f} s" for name, v in r.seconds.items()),
        ]
        lines += [f"Note: {n}" for n in r.notes]
        cols = [
            c
            for c in (
                "rank",
                "camera_id",
                "site_id",
                "azimuth_deg",
                "marginal_gain",
                "removal_loss",
            )
            if c in self.chosen.columns
        ]
        table = self.chosen[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}")
        return "\n".join([*lines, table])


def plan_siting(
    area: gpd.GeoDataFrame,
    config: SitingConfig | None = None,
    *,
    roads: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    cameras: gpd.GeoDataFrame | None = None,
    posts: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
) -> SitingRun:
    """Choose ``config.k`` new cameras (or posts) over ``area`` (polygons, EPSG:4326).

    Existing ``cameras`` (``posts``) are kept; ``candidates`` is an optional layer of
    candidate points added to the road-derived ones. Layers are canonical (EPSG:4326).
    """
    cfg = config or SitingConfig()
    step = progress or (lambda _f, _m: None)
    step(0.05, "H3 cells and priority")
    cells = cells_for_area(area, cfg.res)
    prio = priority_from_layers(
        cells, roads=roads, sites=sites, buildings=buildings, incidents=incidents
    )
    step(0.2, "candidate sites")
    use_roads = cfg.intersections or cfg.every_m is not None
    points = candidate_sites(
        roads if use_roads else None,
        intersections=cfg.intersections,
        every_m=cfg.every_m,
        layer=candidates,
        area=area.geometry.union_all(),
    )
    levels = (
        key_site_levels(cells, sites, cfg.backup) if sites is not None and cfg.backup > 1 else None
    )
    opts: dict[str, Any] = {"method": cfg.method, "time_limit": cfg.time_limit}
    if cfg.what == "cameras":
        cand = camera_candidates(points, azimuths=cfg.azimuths, dome=cfg.dome)
        step(0.35, f"views of {len(cand)} candidates and the choice")
        out = site_cameras(
            cells, prio.weight, cand, cfg.k, existing=cameras, buildings=buildings, levels=levels,
            **opts,
        )  # fmt: skip
        rule = f"{len(points)} sites x orientations"
        return SitingRun(cfg, out.chosen, out.views, out.result, cells, len(points), rule)
    step(0.35, f"reach of {len(points)} candidate posts and the choice")
    pout = site_posts(
        cells, prio.weight, points, cfg.k, existing=posts, radius_m=cfg.radius_m,
        minutes=cfg.minutes, roads=roads, mode=cfg.mode, levels=levels, **opts,
    )  # fmt: skip
    return SitingRun(cfg, pout.chosen, None, pout.result, cells, len(points), pout.rule)
