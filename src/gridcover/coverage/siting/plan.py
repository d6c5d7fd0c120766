"""The siting job, one plan for every door: layers + ``SitingConfig`` -> ``SitingRun``.

``gridcover site`` and the service's siting job both translate their inputs into a
``SitingConfig`` and call :func:`plan_siting`; the defaults live here only:

- resolution ``DEFAULT_RES`` (12), the coverage analysis' own, so that siting closes the
  blind spots the analysis reports, on the same cells;
- the priority weight comes from the same layers as the coverage analysis
  (``PRIORITY_LAYERS``: roads, key sites, buildings and incident counts);
- the visibility model is the analysis' default (``DEFAULT_VISIBILITY``, "3d"): cameras are
  sited for the priority cells below their required detail level (``[detail]`` of the
  weights file), and every candidate is a camera model of the catalogue
  (``siting.catalogue``: type, resolution, lens, mounting height, tilt) seen through the
  3D model (``siting.detail_sites``); "2d" sites bullet/dome sectors for uncovered cells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np

from gridcover.coverage.analysis import DEFAULT_VISIBILITY
from gridcover.coverage.cells import DEFAULT_RES, Cells, cells_for_area, check_res
from gridcover.coverage.detail import check_3d, required_level
from gridcover.coverage.priority import priority_from_layers
from gridcover.coverage.siting.cameras import (
    CameraSiting,
    SitingResult,
    key_site_levels,
    site_cameras,
)
from gridcover.coverage.siting.candidates import camera_candidates, candidate_sites
from gridcover.coverage.siting.catalogue import load_catalogue, model_candidates, select_models
from gridcover.coverage.siting.detail_sites import at_required_counts, site_cameras_3d
from gridcover.coverage.siting.posts import site_posts
from gridcover.coverage.weights import load_weights
from gridcover.errors import InputError

__all__ = ["PRIORITY_LAYERS", "SitingConfig", "SitingRun", "plan_siting"]

PRIORITY_LAYERS = ("roads", "sites", "buildings", "incidents")
"""Layers that feed the priority weight of a siting run (as in the coverage analysis)."""

PROPOSAL_COLUMNS = ("rank", "camera_id", "site_id", "model", "type", "resolution", "fov_deg",
                    "lens_fov_deg", "height_m", "tilt_deg", "azimuth_deg", "marginal_gain",
                    "removal_loss")  # fmt: skip
"""Columns of the printed proposal table (those present): which camera, how to mount it."""

Progress = Callable[[float, str], None]
"""progress(fraction done 0-1, message)."""


@dataclass(frozen=True)
class SitingConfig:
    """Parameters of a siting run. ``what``: "cameras" or "posts"; ``k``: new sites;
    ``res``: H3 resolution; ``method``: auto/greedy/exact; ``time_limit``: HiGHS seconds;
    candidates: road ``intersections`` and/or points every ``every_m`` metres along roads (and
    a user layer); cameras: ``azimuths`` bullet orientations per site and/or a 360° ``dome``;
    ``backup``: K-fold coverage wanted near key sites; posts: reach within ``radius_m`` metres
    (straight line) or ``minutes`` by ``mode`` along streets. ``visibility`` "3d" (cameras):
    candidates are the ``models`` (names; empty = all) of the ``catalogue`` (TOML path; None
    = packaged) with ``azimuths`` directions for directional models, seen from their
    mounting height at a target ``target_height_m`` metres above ground, buildings without
    a height ``building_height_m`` metres tall; ``dome`` is 2D only. ``weights``: the priority
    weights file (TOML path; None = packaged), as for the coverage analysis."""

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
    visibility: str = DEFAULT_VISIBILITY
    target_height_m: float = 1.5
    building_height_m: float = 9.0
    models: tuple[str, ...] = ()
    catalogue: str | None = None
    weights: str | None = None

    def __post_init__(self) -> None:
        check_res(self.res)
        check_3d(self.visibility, self.target_height_m, self.building_height_m)
        object.__setattr__(self, "models", tuple(str(m) for m in self.models))
        if self.dome and self.visibility == "3d" and self.what == "cameras":
            raise InputError(
                "dome applies to 2D siting; in 3D the catalogue's 360° models are candidates "
                "(choose them with models, e.g. --model dome), or ask for visibility '2d'."
            )
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
    levels: dict[str, float] | None = None  # 3D: priority cells at their required level

    def summary(self) -> dict[str, Any]:
        """Key figures (JSON-ready values); 3D runs add the priority cells that meet their
        required detail level before and after the proposals (count and %)."""
        r = self.result
        extra = {"visibility": self.config.visibility} if self.config.what == "cameras" else {}
        return (
            extra
            | (self.levels or {})
            | {
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
        )

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
        if self.levels:
            lv = self.levels
            lines.append(
                f"Priority cells at their required detail level: {lv['at_required_before']} "
                f"-> {lv['at_required_after']} of {lv['required_cells']} "
                f"({lv['at_required_before_pct']:.1f}% -> {lv['at_required_after_pct']:.1f}%)."
            )
        lines += [f"Note: {n}" for n in r.notes]
        cols = [c for c in PROPOSAL_COLUMNS if c in self.chosen.columns]
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
    weights = load_weights(cfg.weights)
    prio = priority_from_layers(
        cells, roads=roads, sites=sites, buildings=buildings, incidents=incidents,
        cameras=cameras, weights=weights,
    )  # fmt: skip
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
    if cfg.what == "cameras" and cfg.visibility == "3d":
        cat = select_models(load_catalogue(cfg.catalogue), cfg.models)
        cand = model_candidates(points, cat, azimuths=cfg.azimuths)
        required = required_level(prio.components, prio.priority, weights.detail_targets)
        step(0.35, f"3D views of {len(cand)} candidates and the choice")
        out = site_cameras_3d(
            cells, prio.weight, required, cand, cfg.k, existing=cameras, buildings=buildings,
            target_height_m=cfg.target_height_m, building_height_m=cfg.building_height_m,
            levels=levels, **opts,
        )  # fmt: skip
        rule = f"{len(points)} sites x {len(cat.models)} catalogue models x orientations (3D)"
        return SitingRun(cfg, out.chosen, out.views, out.result, cells, len(points), rule,
                         _at_required(out, required))  # fmt: skip
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


def _at_required(out: CameraSiting, required: np.ndarray) -> dict[str, float]:
    """Priority cells (required level >= 1) seen at their required level by the counted
    existing cameras, and with the chosen ones added (counts and % of those cells)."""
    return at_required_counts(required, out.existing_count, out.coverage, out.result.chosen)
