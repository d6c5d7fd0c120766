"""Benchmark: camera siting, lazy greedy vs HiGHS vs PySAL spopt MCLP (PuLP + CBC).

Synthetic city at ``--lon/--lat`` (default Shenzhen, 114.06 E 22.54 N): a square holding
about ``--cells`` H3 cells at ``--res`` (default 50,000 at res 13, ≈ 2.2 km²), a street grid
every 120 m, priority weights (0.2 everywhere, +1 within 15 m of a street, +2..8 around
random hotspots), 400 existing cameras (fixed). Candidate sites are random street points;
each site has 8 bullet azimuths (fov 60-90°, range 60-150 m) and every candidate's cells
come from the real view engine (``views.view_polygons`` sectors, no buildings) and the
cover step (``cover.cover_pairs``, centroid-in-view rule). Same instance for every solver.

Prints, each measured in this run:
  A. 2,000 candidates, K=100: row merging (rows before/after), lazy greedy time (best of 5),
     HiGHS LP relaxation (the proven bound when the exact solve is not run) and its time,
     HiGHS exact MILP (greedy start, ``--time-limit``), greedy/optimum ratio and gap;
  B. 500 candidates, K=20: our exact mode (merge + HiGHS) vs spopt ``MCLP.from_cost_matrix``
     (model build with PuLP, solve with CBC), objective values and the speed-up.
No assertions. Run: ``python -m benchmarks.bench_siting [--cells 50000] [--no-spopt]``.
"""

from __future__ import annotations

import argparse
import time

import h3.api.numpy_int as h3n
import numpy as np
import pyproj
import shapely
from scipy import sparse

from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.cover import cover_pairs
from gridcover.coverage.siting.cameras import choose_sites
from gridcover.coverage.siting.solvers import celf_greedy, prepare, solve_mip
from gridcover.coverage.views.sectors import view_polygons


def instance(n_cells: int, res: int, lon: float, lat: float, n_cand: int, seed: int = 7):
    """Cells, weights, existing coverage counts and a (cells x candidates) matrix."""
    rng = np.random.default_rng(seed)
    side_deg = np.sqrt(n_cells * h3n.average_hexagon_area(res, "m^2")) / 111_320.0
    box = shapely.box(lon, lat, lon + side_deg / np.cos(np.radians(lat)), lat + side_deg)
    cells = cells_for_area(box, res)
    x0, y0, x1, y1 = cells.x.min(), cells.y.min(), cells.x.max(), cells.y.max()
    # Street grid every 120 m; distance of each cell centroid to the nearest street.
    dx = np.abs(((cells.x - x0) + 60) % 120 - 60)
    dy = np.abs(((cells.y - y0) + 60) % 120 - 60)
    w = 0.2 + (np.minimum(dx, dy) <= 15).astype(float)
    hot = rng.uniform([x0, y0], [x1, y1], (60, 2))
    for (hx, hy), amp in zip(hot, rng.uniform(2, 8, hot.shape[0]), strict=True):
        w += amp * (np.hypot(cells.x - hx, cells.y - hy) <= 40)

    def street_points(n: int) -> np.ndarray:
        t = rng.uniform(0, 1, (n, 2)) * [x1 - x0, y1 - y0] + [x0, y0]
        on_x = rng.random(n) < 0.5  # snap one coordinate to the street grid
        t[on_x, 0] = x0 + np.round((t[on_x, 0] - x0) / 120) * 120
        t[~on_x, 1] = y0 + np.round((t[~on_x, 1] - y0) / 120) * 120
        return t

    def coverage(pts: np.ndarray, az: np.ndarray, fov: np.ndarray, rng_m: np.ndarray):
        views = view_polygons(pts[:, 0], pts[:, 1], az, fov, rng_m)
        ci, ki = cover_pairs(views, cells.x, cells.y)
        return sparse.csr_matrix(
            (np.ones(ci.size, np.int8), (ci, ki)), shape=(len(cells), pts.shape[0])
        )

    ex = street_points(400)
    ex_cov = coverage(ex, rng.uniform(0, 360, 400), np.full(400, 90.0), np.full(400, 80.0))
    existing = np.asarray(ex_cov.sum(axis=1)).ravel().astype(np.int64)
    sites = street_points(n_cand // 8)
    pts = np.repeat(sites, 8, axis=0)
    az = np.tile(np.arange(8) * 45.0, sites.shape[0])
    fov = np.repeat(rng.uniform(60, 90, sites.shape[0]), 8)
    rr = np.repeat(rng.uniform(60, 150, sites.shape[0]), 8)
    return cells, w, existing, coverage(pts, az, fov, rr)


def part_a(cov, w, existing, k: int, time_limit: float) -> None:
    t = time.perf_counter()
    inst = prepare(cov, w, existing=existing)
    t_prep = time.perf_counter() - t
    plain = prepare(cov, w, existing=existing, merge=False)
    times = []
    for _ in range(5):
        g = celf_greedy(inst, k)
        times.append(g.seconds)
    t = time.perf_counter()
    e2e = choose_sites(cov, w, k, existing=existing, method="greedy", bound=False)
    t_e2e = time.perf_counter() - t
    lp = solve_mip(inst, k, relax=True, time_limit=time_limit)
    mip = solve_mip(inst, k, start=g.chosen, time_limit=time_limit)
    opt = mip.objective
    print(f"A. {cov.shape[1]} candidates x {cov.shape[0]} cells (nnz {cov.nnz}), K={k}")
    print(
        f"   demand rows: {plain.n_rows} open & coverable -> {inst.n_rows} after merging "
        f"identical rows ({plain.n_rows / max(inst.n_rows, 1):.1f}x fewer), {t_prep:.3f} s"
    )
    print(
        f"   lazy greedy: {min(times):.4f} s (best of 5; {g.evaluations} gain evaluations), "
        f"objective {g.objective:.2f}; choose_sites(greedy, no bound) end to end {t_e2e:.3f} s"
    )
    print(f"   greedy's own submodular bound {g.bound:.2f}")
    print(
        f"   HiGHS LP relaxation (proven bound): {lp.bound:.2f} in {lp.seconds:.2f} s -> greedy "
        f"gap vs LP bound {(lp.bound - g.objective) / lp.bound:.2%}"
    )
    print(
        f"   HiGHS exact MILP: {opt:.2f} ({mip.status}, dual bound {mip.bound:.2f}, gap "
        f"{mip.gap:.3%}) in {mip.seconds:.1f} s"
    )
    print(
        f"   greedy / best known = {g.objective / opt:.4f} ({(opt - g.objective) / opt:.2%} "
        f"below); e2e objective {e2e.objective:.2f}"
    )


def part_b(cov, w, existing, k: int, time_limit: float, run_spopt: bool) -> None:
    n, c = cov.shape
    t = time.perf_counter()
    ours = choose_sites(cov, w, k, existing=existing, method="exact", time_limit=time_limit)
    t_ours = time.perf_counter() - t
    print(
        f"B. {c} candidates x {n} cells, K={k}: ours (merge + greedy start + HiGHS MILP) "
        f"{t_ours:.2f} s, objective {ours.objective:.2f} ({ours.status}, gap {ours.gap:.3%})"
    )
    if not run_spopt:
        print("   spopt: skipped (--no-spopt)")
        return
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError as exc:  # pragma: no cover - benchmark only
        print(f"   spopt: not installed ({exc}); pip install -e '.[bench]' (spopt, pulp)")
        return
    # Same objective: cells already covered by existing cameras weigh 0.
    wo = np.where(existing > 0, 0.0, w)
    cost = np.where(cov.toarray() > 0, 0.0, 1.0)
    t = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, wo, service_radius=0.5, p_facilities=k)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=3600))
    t_solve = time.perf_counter() - t
    obj = float(pulp.value(model.problem.objective))
    total = t_build + t_solve
    print(
        f"   spopt MCLP (PuLP + CBC): build {t_build:.1f} s + solve {t_solve:.1f} s = "
        f"{total:.1f} s, objective {obj:.2f} (ours {ours.objective:.2f}, difference "
        f"{abs(obj - ours.objective):.2e})"
    )
    print(f"   speed-up: {total / t_ours:.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=50_000)
    ap.add_argument("--res", type=int, default=13)
    ap.add_argument("--lon", type=float, default=114.06)
    ap.add_argument("--lat", type=float, default=22.54)
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--no-spopt", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    cells, w, existing, cov = instance(args.cells, args.res, args.lon, args.lat, 2000)
    crs = pyproj.CRS.from_user_input(cells.crs)
    print(
        f"Instance: {len(cells)} H3 res-{args.res} cells ({cells.total_area_m2 / 1e6:.1f} km², "
        f"{crs.name}), {int((existing > 0).sum())} cells seen by 400 existing cameras, "
        f"built in {time.perf_counter() - t:.1f} s"
    )
    part_a(cov, w, existing, 100, args.time_limit)
    part_b(cov[:, :500], w, existing, 20, args.time_limit, not args.no_spopt)


if __name__ == "__main__":
    main()
