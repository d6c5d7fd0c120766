"""Camera siting: choose K new cameras that cover the most priority weight not yet covered.

Core: :func:`choose_sites` takes a cells x candidates 0/1 matrix (sparse), the priority
weight per cell and the existing cameras' coverage count per cell (fixed), and returns a
:class:`SitingResult` with the chosen candidates ranked by marginal gain, the objective
(newly covered weight), a proven upper bound and the optimality gap.

Solvers (``siting.solvers``): lazy greedy (CELF) always runs (it is also the MILP's first
incumbent); the exact MILP runs with HiGHS when ``method="exact"``, or with
``method="auto"`` when the merged instance is small (``exact_max_nnz``). When the exact
solve is not run the bound is the LP relaxation's optimum from HiGHS (``bound=True``),
tightened by the greedy's own submodular bound.

Adapter: :func:`site_cameras` builds every candidate's view with the same occlusion-aware
engine as the coverage (``views.camera_views`` + ``cover.cover_pairs``, centroid-in-view
rule) and maps the result back to camera rows. Candidate rows come from
``siting_candidates`` (road intersections, points along roads every N m, or a user layer,
each with 8 bullet azimuths or one 360° dome).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from gridcover.coverage.cells import Cells
from gridcover.coverage.cover import cover_from_views, cover_pairs
from gridcover.coverage.siting.solvers import (
    Instance,
    celf_greedy,
    evaluate,
    prepare,
    solve_mip,
)
from gridcover.coverage.views.sectors import camera_views
from gridcover.errors import InputError

__all__ = [
    "CameraSiting",
    "SitingResult",
    "candidate_coverage",
    "choose_sites",
    "key_site_levels",
    "rank_chosen",
    "site_cameras",
]

METHODS = ("auto", "greedy", "exact")


@dataclass(frozen=True, eq=False)
class SitingResult:
    """What :func:`choose_sites` found (weights in the units of the priority weights).

    ``chosen``: candidate indexes in ranking order; ``objective``: weight the chosen add;
    ``upper_bound``: proven bound on the best possible addition; ``gap`` = (bound -
    objective) / bound; ``bound_source``; ``ranking``: per chosen candidate its rank,
    ``marginal_gain`` (greedy order within the chosen set), ``cumulative`` and
    ``removal_loss`` (weight lost if only it were dropped); ``notes``: documented
    behaviours that applied (e.g. K above the number of useful candidates).
    """

    chosen: np.ndarray
    objective: float
    upper_bound: float
    gap: float
    method: str
    bound_source: str
    optimal: bool
    status: str
    greedy_objective: float
    exact_objective: float | None
    ranking: pd.DataFrame
    n_cells: int
    n_rows: int
    n_candidates: int
    seconds: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def rank_chosen(inst: Instance, chosen: np.ndarray) -> pd.DataFrame:
    """Rank chosen candidates by greedy marginal gain within the set; add removal losses.

    Candidates that add nothing once the others are in are dropped (a solver may switch on
    useless columns when K exceeds the useful candidates): by submodularity the rest keep
    the whole value.
    """
    chosen = np.asarray(chosen, np.int64)
    if chosen.size == 0:
        return pd.DataFrame(
            {"rank": [], "candidate": [], "marginal_gain": [], "cumulative": [], "removal_loss": []}
        )
    sub = Instance(inst.A[:, chosen], inst.values, inst.n_cells)
    g = celf_greedy(sub, chosen.size)
    order = chosen[g.chosen]
    gains = np.asarray(g.gains, float)
    _, cnt = evaluate(inst.A, inst.values, order)
    L = inst.values.shape[1]
    loss = np.zeros(order.size)
    for i, j in enumerate(order):
        rows = inst.A.indices[inst.A.indptr[j] : inst.A.indptr[j + 1]]
        c = cnt[rows]
        ok = c <= L
        loss[i] = float(inst.values[rows[ok], c[ok] - 1].sum())
    return pd.DataFrame(
        {
            "rank": np.arange(1, order.size + 1),
            "candidate": order,
            "marginal_gain": gains,
            "cumulative": np.cumsum(gains),
            "removal_loss": loss,
        }
    )


def choose_sites(
    coverage: sparse.spmatrix,
    weight: np.ndarray,
    k: int,
    *,
    existing: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    backup_weight: float = 0.5,
    site: np.ndarray | None = None,
    max_per_site: int = 1,
    method: str = "auto",
    time_limit: float = 60.0,
    exact_max_nnz: int = 200_000,
    bound: bool = True,
) -> SitingResult:
    """Choose up to ``k`` candidates (columns of ``coverage``, cells x candidates, 0/1).

    ``weight``: priority weight per cell (>= 0); ``existing``: counted cameras already
    covering each cell (those cells earn nothing unless ``levels`` asks for backup);
    ``levels``: coverage levels wanted per cell (key sites: 2 or more; each level after the
    first earns ``backup_weight`` x weight); ``site``: site id per candidate, with at most
    ``max_per_site`` picks per site (orientations of one pole); ``method``: auto, greedy or
    exact; ``time_limit``: seconds for HiGHS. K above the number of candidates is allowed:
    every candidate that adds weight is chosen and a note says so.
    """
    if method not in METHODS:
        raise InputError(f"Unknown siting method {method!r}: use one of {', '.join(METHODS)}.")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise InputError(f"K (the number of new sites) must be a positive integer, not {k!r}.")
    k = int(k)
    cov = sparse.csr_matrix(coverage)
    n, c = cov.shape
    w = np.asarray(weight, float)
    if w.shape != (n,):
        raise InputError(f"weight has {w.size} values but coverage has {n} cells (rows).")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise InputError("Priority weights must be finite and >= 0.")
    if not 0.0 <= backup_weight <= 1.0:
        raise InputError(
            f"backup_weight is {backup_weight}; use a value from 0 to 1 (a second view of a "
            "key site is worth at most as much as the first)."
        )
    site_arr = None if site is None else pd.factorize(np.asarray(site))[0].astype(np.int64)
    notes: list[str] = []
    capacity = c if site_arr is None else int(np.minimum(np.bincount(site_arr), max_per_site).sum())
    if k > capacity:
        notes.append(
            f"K={k} exceeds the {capacity} candidate(s) that can be chosen (sites x "
            f"max_per_site); at most {capacity} were considered."
        )
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    inst = prepare(cov, w, existing=existing, levels=levels, backup_weight=backup_weight)
    secs["prepare"] = time.perf_counter() - t0
    g = celf_greedy(inst, k, site=site_arr, max_per_site=max_per_site)
    secs["greedy"] = g.seconds
    if g.chosen.size < min(k, capacity):
        notes.append(
            f"Only {g.chosen.size} of the K={k} new sites add any weight; the others would "
            "see nothing not already covered, so they were not chosen."
        )
    run_exact = method == "exact" or (method == "auto" and inst.A.nnz <= exact_max_nnz)
    chosen, objective, ub, src = g.chosen, g.objective, g.bound, "greedy submodular bound"
    optimal, status, exact_obj = False, "greedy", None
    if run_exact and inst.n_rows:
        m = solve_mip(
            inst,
            k,
            site=site_arr,
            max_per_site=max_per_site,
            time_limit=time_limit,
            start=g.chosen,
        )
        secs["exact"] = m.seconds
        exact_obj, status = m.objective, m.status
        if m.objective >= objective:
            chosen, objective = m.chosen, m.objective
        ub, src = min(ub, m.bound), "HiGHS MIP dual bound"
        optimal = m.optimal
    elif bound and inst.n_rows:
        r = solve_mip(
            inst, k, site=site_arr, max_per_site=max_per_site, time_limit=time_limit, relax=True
        )
        secs["lp_bound"] = r.seconds
        if r.optimal and r.bound < ub:
            ub, src = r.bound, "HiGHS LP relaxation"
    ub = max(ub, objective)
    gap = (ub - objective) / ub if ub > 0 else 0.0
    optimal = optimal or gap <= 1e-9
    rank = rank_chosen(inst, chosen)
    if len(rank) < np.size(chosen):
        solver = "exact" if run_exact else "greedy"
        notes.append(
            f"{np.size(chosen) - len(rank)} candidate(s) of the {solver} solution add no "
            "weight beyond the others and were dropped."
        )
    return SitingResult(
        chosen=rank["candidate"].to_numpy(np.int64),
        objective=float(objective),
        upper_bound=float(ub),
        gap=float(gap),
        method="exact" if run_exact else "greedy",
        bound_source=src,
        optimal=bool(optimal),
        status=status,
        greedy_objective=float(g.objective),
        exact_objective=exact_obj,
        ranking=rank,
        n_cells=n,
        n_rows=inst.n_rows,
        n_candidates=c,
        seconds=secs,
        notes=tuple(notes),
    )


@dataclass(frozen=True, eq=False)
class CameraSiting:
    """Camera siting on real layers: ``result`` (see :class:`SitingResult`), ``chosen``
    (camera rows, EPSG:4326, with rank / marginal_gain / removal_loss), ``views`` (their
    view polygons, EPSG:4326), ``coverage`` (cells x candidates sparse), ``existing_count``
    (counted existing cameras per cell), ``weight`` (priority per cell)."""

    result: SitingResult
    chosen: gpd.GeoDataFrame
    views: gpd.GeoDataFrame
    coverage: sparse.csr_matrix
    existing_count: np.ndarray
    weight: np.ndarray


def candidate_coverage(
    cells: Cells, candidates: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None = None
) -> tuple[sparse.csr_matrix, gpd.GeoDataFrame]:
    """(cells x candidates) 0/1 coverage of candidate camera rows, and their views (metric)."""
    views = camera_views(candidates, buildings, metric_crs=cells.crs)
    ci, ki = cover_pairs(np.asarray(views.geometry.values), cells.x, cells.y)
    m = sparse.csr_matrix(
        (np.ones(ci.size, np.int8), (ci, ki)), shape=(len(cells), len(candidates))
    )
    return m, views


def site_cameras(
    cells: Cells,
    weight: np.ndarray,
    candidates: gpd.GeoDataFrame,
    k: int,
    *,
    existing: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    levels: np.ndarray | None = None,
    include_offline: bool = False,
    **options: object,
) -> CameraSiting:
    """Choose ``k`` of the ``candidates`` (canonical camera rows with a ``site_id`` column;
    see ``siting_candidates.camera_candidates``) over ``cells`` weighted by ``weight``.

    Existing cameras are fixed: their occluded views (same engine, same buildings) give the
    coverage already there; offline ones count only with ``include_offline``.
    ``options`` go to :func:`choose_sites` (method, time_limit, max_per_site, ...).
    """
    if len(candidates) == 0:
        raise InputError("There are no candidate sites: give roads, a spacing or a site layer.")
    cov, views = candidate_coverage(cells, candidates, buildings)
    count = np.zeros(len(cells), np.int64)
    if existing is not None and len(existing):
        ex_views = camera_views(existing, buildings, metric_crs=cells.crs)
        count = cover_from_views(ex_views, cells, include_offline=include_offline).counts
        count = count.astype(np.int64)
    site = candidates["site_id"].to_numpy() if "site_id" in candidates else None
    res = choose_sites(
        cov,
        weight,
        k,
        existing=count,
        levels=levels,
        site=site,
        **options,  # type: ignore[arg-type]
    )
    rank = res.ranking
    pick = candidates.iloc[rank["candidate"].to_numpy()].copy()
    pick["rank"] = rank["rank"].to_numpy()
    pick["marginal_gain"] = rank["marginal_gain"].to_numpy()
    pick["removal_loss"] = rank["removal_loss"].to_numpy()
    pick = pick.to_crs("EPSG:4326") if pick.crs is not None else pick
    v = views.iloc[rank["candidate"].to_numpy()].to_crs("EPSG:4326")
    return CameraSiting(res, pick, v, cov, count, np.asarray(weight, float))


def key_site_levels(
    cells: Cells, sites: gpd.GeoDataFrame, k: int = 2, radius_m: float = 30.0
) -> np.ndarray:
    """Coverage levels per cell for backup coverage: ``k`` for cells whose centroid is
    within ``radius_m`` metres of a key site (point or polygon, any CRS), 1 elsewhere."""
    if k < 1:
        raise InputError(f"Backup coverage levels must be >= 1, not {k}.")
    if sites.crs is None:
        raise InputError("The key-sites layer has no CRS; read it with gis.read_layer.")
    geoms = np.asarray(sites.to_crs(cells.crs).geometry.values)
    levels = np.ones(len(cells), np.int64)
    if geoms.size:
        pts = shapely.points(cells.x, cells.y)
        hit, _ = shapely.STRtree(geoms).query(pts, predicate="dwithin", distance=radius_m)
        levels[np.unique(hit)] = k
    return levels
