"""Compare two scenarios (or the baseline and one): KPIs per grid level, changed cells, text.

The one workflow of a comparison, used by ``gridcover scenario compare`` and the API's
``/scenarios/{a}/compare``: check that both scenarios were made on the current inputs and
analysis parameters (else ``StaleScenario``), apply each to the baseline with the what-if
engine (only changed cameras' views are recomputed), and tabulate.

KPIs per level (every grid of that level together): ``covered_pct`` (covered area / area),
``priority_weighted_pct`` (covered weight / weight), ``blind_spot_area_m2``,
``grids_meeting_targets``; and for the whole area (level ``all``): the summary's
``covered_pct``, ``priority_weighted_pct``, ``blind_spots``, ``blind_spot_area_m2``,
``cameras_counted``, and per camera owner ``covered_m2_by_<owner>`` and
``cameras_counted_<owner>`` (``coverage.owners``). ``delta`` = B - A.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.analysis import AnalysisResult
from gridcover.coverage.owners import owner_kpis
from gridcover.coverage.scenarios.changes import CellChanges, cell_changes, changes_table
from gridcover.coverage.scenarios.spec import ScenarioSpec
from gridcover.coverage.scenarios.versions import stale_inputs
from gridcover.coverage.whatif import run_scenario
from gridcover.errors import InputError

__all__ = ["Comparison", "StaleScenario", "compare_scenarios", "scenario_result"]

SUMMARY_KPIS = ("covered_pct", "priority_weighted_pct", "blind_spots", "blind_spot_area_m2",
                "cameras_counted")  # fmt: skip
CONFIG_KEYS = ("res", "occlusion", "include_offline", "unknown_online", "weights")


class StaleScenario(InputError):
    """A scenario was made on other input versions or analysis parameters."""


@dataclass(frozen=True, eq=False)
class Comparison:
    """``kpis``: rows (level, kpi, a, b, delta); ``grid_deltas``: per grid, covered and
    weighted % of A and B and their deltas; ``changed_cells``: cells (EPSG:4326 hexagons)
    whose covered flag, counted cameras or detail level differ, ``change`` one of
    ``changes.CHANGES`` (gained, lost, level_up, ...); ``changes``: the same as arrays (for
    map layers); ``text``."""

    a: str
    b: str
    kpis: pd.DataFrame
    grid_deltas: pd.DataFrame
    changed_cells: gpd.GeoDataFrame
    text: str
    results: tuple[AnalysisResult, AnalysisResult]
    changes: CellChanges

    def to_dict(self) -> dict[str, Any]:
        """JSON form (API and CLI ``--json``)."""
        return {
            "a": self.a,
            "b": self.b,
            "kpis": _records(self.kpis),
            "grid_deltas": _records(self.grid_deltas),
            "changed_cells": self.changes.counts(),
            "changed_bbox": self.changes.bbox(),
            "text": self.text,
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        row = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and v != v:
                v = None
            row[str(k)] = v
        out.append(row)
    return out


def check_current(spec: ScenarioSpec, inputs: Mapping[str, str], config: Mapping[str, Any]) -> None:
    """Raise ``StaleScenario`` when ``spec`` was made on other inputs or parameters."""
    why = stale_inputs(spec.inputs, inputs)
    for k in CONFIG_KEYS:
        if k in spec.config and k in config and spec.config[k] != config[k]:
            why.append(f"analysis parameter {k} was {spec.config[k]!r}, now {config[k]!r}")
    if why:
        raise StaleScenario(
            f"Scenario {spec.name!r} was made on other inputs: {'; '.join(why)}. Its results "
            "would be stale: recreate it on the current inputs (gridcover scenario create, or "
            "POST /scenarios) or restore the inputs it was made on."
        )


def scenario_result(baseline: AnalysisResult, spec: ScenarioSpec | None) -> AnalysisResult:
    """The analysis as ``spec`` leaves it (the baseline itself for None)."""
    if spec is None:
        return baseline
    return run_scenario(baseline, spec.to_whatif(baseline.state.cameras)).result


def _level_kpis(r: AnalysisResult) -> dict[tuple[str, str], float]:
    g = r.grid_stats
    out: dict[tuple[str, str], float] = {}
    for k in SUMMARY_KPIS:
        out[("all", k)] = float(r.summary[k])
    for _, row in owner_kpis(r).iterrows():  # per owner: what its counted cameras cover
        out[("all", f"covered_m2_by_{row['owner']}")] = float(row["covered_m2"])
        out[("all", f"cameras_counted_{row['owner']}")] = float(row["cameras_counted"])
    for lv in sorted(g["level"].unique()):
        s = g[g["level"] == lv]
        area, w = float(s["area_m2"].sum()), float(s["weight"].sum())
        out[(str(lv), "covered_pct")] = (
            100 * float(s["covered_m2"].sum()) / area if area else np.nan
        )
        out[(str(lv), "priority_weighted_pct")] = (
            100 * float(s["weight_covered"].sum()) / w if w else np.nan
        )
        out[(str(lv), "blind_spot_area_m2")] = float(s["blind_spot_area_m2"].sum())
        out[(str(lv), "grids_meeting_targets")] = float(s["targets_met"].sum())
    return out


def compare_scenarios(
    baseline: AnalysisResult,
    a: ScenarioSpec | None,
    b: ScenarioSpec | None,
    *,
    inputs: Mapping[str, str],
    config: Mapping[str, Any],
) -> Comparison:
    """Compare scenario ``a`` with ``b`` (None = the baseline) on ``baseline``.

    ``inputs``: current layer versions (``versions.versions``); ``config``: the current
    analysis parameters (``scenario_config``); both scenarios must match them.
    """
    for spec in (a, b):
        if spec is not None:
            check_current(spec, inputs, config)
    ra, rb = scenario_result(baseline, a), scenario_result(baseline, b)
    name_a = a.name if a else "baseline"
    name_b = b.name if b else "baseline"
    ka, kb = _level_kpis(ra), _level_kpis(rb)
    rows = [
        {"level": lv, "kpi": kpi, "a": ka[(lv, kpi)], "b": kb.get((lv, kpi), np.nan),
         "delta": kb.get((lv, kpi), np.nan) - ka[(lv, kpi)]}
        for (lv, kpi) in ka
    ]  # fmt: skip
    kpis = pd.DataFrame(rows)
    ga, gb = ra.grid_stats.set_index("code"), rb.grid_stats.set_index("code")
    grid = pd.DataFrame({"code": ga.index, "level": ga["level"].to_numpy()})
    for k in ("covered_pct", "priority_weighted_pct", "blind_spot_area_m2"):
        grid[f"{k}_a"] = ga[k].to_numpy()
        grid[f"{k}_b"] = gb[k].reindex(ga.index).to_numpy()
        grid[f"{k}_delta"] = grid[f"{k}_b"] - grid[f"{k}_a"]
    grid["targets_met_a"] = ga["targets_met"].to_numpy()
    grid["targets_met_b"] = gb["targets_met"].reindex(ga.index).to_numpy()
    changes = cell_changes(ra, rb)
    changed = changes_table(changes, ra)
    text = _text(name_a, name_b, kpis, changes)
    return Comparison(name_a, name_b, kpis, grid, changed, text, (ra, rb), changes)


def _text(a: str, b: str, kpis: pd.DataFrame, changes: CellChanges) -> str:
    k = kpis.set_index(["level", "kpi"])

    def line(kpi: str, unit: str, scale: float = 1.0, fmt: str = ".1f") -> str:
        va, vb = k.loc[("all", kpi), "a"] * scale, k.loc[("all", kpi), "b"] * scale
        return f"{kpi}: {va:{fmt}}{unit} -> {vb:{fmt}}{unit} ({vb - va:+{fmt}}{unit})"

    n = changes.counts()
    others = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in n.items() if v and k not in
                       ("gained", "lost"))  # fmt: skip
    lines = [
        f"Scenario comparison: {a} -> {b}",
        "  " + line("covered_pct", " %"),
        "  " + line("priority_weighted_pct", " %"),
        "  " + line("blind_spot_area_m2", " km²", 1e-6, ".3f"),
        "  " + line("blind_spots", "", 1.0, ".0f"),
        "  " + line("cameras_counted", "", 1.0, ".0f"),
        f"  cells: {n['gained']} gained coverage, {n['lost']} lost it"
        + (f" ({others})." if others else "."),
    ]
    for lv in sorted({lv for lv, _ in k.index if lv != "all"}):
        d = k.loc[(lv, "grids_meeting_targets")]
        lines.append(
            f"  level {lv}: grids meeting targets {d['a']:.0f} -> {d['b']:.0f}; weighted "
            f"{k.loc[(lv, 'priority_weighted_pct'), 'a']:.1f} % -> "
            f"{k.loc[(lv, 'priority_weighted_pct'), 'b']:.1f} %"
        )
    return "\n".join(lines) + "\n"
