"""Benchmark: blind-spot work units, scenario comparison and budget siting on the sample.

Prints wall-clock seconds (2-core shared machine: expect noise) of, on the bundled Helsinki
sample: the coverage analysis (for reference), ``work_units`` (split + names + fixes for
the ``--fixes-for`` heaviest units), ``compare_scenarios`` (baseline vs the units' fixes as
a scenario), and the budgeted siting solvers (greedy and exact, with their gap) at one
resolution.

    python -m benchmarks.bench_worklist --res 12 --fixes-for 200 --budget 20000
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
    p.add_argument("--fixes-for", type=int, default=200)
    p.add_argument("--budget", type=float, default=20000.0)
    args = p.parse_args(argv)

    from gridcover.coverage.analysis import AnalysisConfig, run_analysis
    from gridcover.coverage.scenarios import ScenarioSpec, compare_scenarios
    from gridcover.coverage.siting.budget import BudgetConfig, plan_budget_siting
    from gridcover.coverage.units import UnitConfig, work_units
    from gridcover.gis import read_layer

    s = ROOT / "sample_geodata"
    kinds = ("grids", "cameras", "buildings", "roads", "sites", "posts")
    lay = {k: read_layer(s / f"{k}.geojson", k) for k in kinds}
    t = time.perf_counter()
    res = run_analysis(**lay, config=AnalysisConfig(res=args.res))
    print(f"analysis (res {args.res}, {len(res.cells):,} cells): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    u = work_units(res, roads=lay["roads"], sites=lay["sites"],
                   config=UnitConfig(fixes_for=args.fixes_for))  # fmt: skip
    tab = u.table
    print(f"work_units: {len(tab):,} units, {int(tab['fix'].notna().sum())} fixes "
          f"({int(tab['closes'].sum())} closing), {time.perf_counter() - t:.2f} s")  # fmt: skip
    new = u.proposals[u.proposals["action"] == "new"]
    spec = ScenarioSpec("fixes", repaired=tuple(u.proposals.loc[u.proposals["action"] == "repair",
                                                                "camera_id"]),
                        added=tuple({"camera_id": r.camera_id, "lon": r.geometry.x,
                                     "lat": r.geometry.y, "type": r.type,
                                     "azimuth_deg": r.azimuth_deg, "fov_deg": r.fov_deg}
                                    for r in new.itertuples()))  # fmt: skip
    t = time.perf_counter()
    comp = compare_scenarios(res, None, spec, inputs={}, config={})
    k = comp.kpis.set_index(["level", "kpi"])
    print(f"compare baseline vs {len(spec.added)} added + {len(spec.repaired)} repaired: "
          f"{time.perf_counter() - t:.2f} s; weighted coverage "
          f"{k.loc[('all', 'priority_weighted_pct'), 'a']:.1f} % -> "
          f"{k.loc[('all', 'priority_weighted_pct'), 'b']:.1f} %")  # fmt: skip
    area = lay["grids"][lay["grids"]["level"] == 1]
    for method in ("greedy", "exact"):
        t = time.perf_counter()
        out, _ = plan_budget_siting(
            area, BudgetConfig(budget=args.budget, res=args.res, method=method),
            roads=lay["roads"], buildings=lay["buildings"], sites=lay["sites"],
            cameras=lay["cameras"],
        )  # fmt: skip
        r = out.result
        print(f"budget siting {method}: {r.chosen.size} cameras, cost {r.cost:,.0f} of "
              f"{r.budget:,.0f}, objective {r.objective:.1f}, bound {r.upper_bound:.1f}, "
              f"gap {r.gap:.2%}, {time.perf_counter() - t:.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
