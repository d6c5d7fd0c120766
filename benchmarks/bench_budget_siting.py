"""Benchmark: siting within a budget on the sample, 3D (detail levels) against 2D (sectors).

Prints, for each view model and solver, on the bundled Helsinki sample (all grids, roads,
buildings, key sites, existing cameras): candidate poles and camera rows, the cameras chosen,
their cost, the objective, bound and gap, the solver seconds and the whole plan's wall-clock
seconds; 3D also the priority cells at their required detail level before -> after.
2-core shared machine: expect noise.

    python -m benchmarks.bench_budget_siting --res 12 --budget 20000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--res", type=int, default=12)
    p.add_argument("--budget", type=float, default=20000.0)
    args = p.parse_args(argv)

    from gridcover.coverage.siting.budget import BudgetConfig, plan_budget_siting
    from gridcover.gis import read_layer

    s = ROOT / "sample_geodata"
    kinds = ("grids", "cameras", "buildings", "roads", "sites")
    lay = {k: read_layer(s / f"{k}.geojson", k) for k in kinds}
    grids = lay.pop("grids")
    for vis in ("3d", "2d"):
        for method in ("greedy", "exact"):
            cfg = BudgetConfig(budget=args.budget, res=args.res, method=method, visibility=vis)
            t = time.perf_counter()
            out, _ = plan_budget_siting(grids, cfg, **lay)
            wall = time.perf_counter() - t
            r, lv = out.result, out.levels
            solver = ", ".join(f"{k} {v:.2f} s" for k, v in r.seconds.items())
            print(
                f"{vis} {method}: {out.candidates:,} camera rows, {r.chosen.size} chosen, cost "
                f"{r.cost:,.0f} of {r.budget:,.0f}, objective {r.objective:.1f}, bound "
                f"{r.upper_bound:.1f}, gap {r.gap:.2%}; solver {solver}; plan {wall:.2f} s"
                + (
                    f"; priority cells at required level {lv['at_required_before']} -> "
                    f"{lv['at_required_after']} of {lv['required_cells']}"
                    if lv
                    else ""
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
