"""The changed cells of a comparison recomputed independently of ``coverage.scenarios``:
a baseline and two what-if runs through the Python API, then a plain pandas diff of their
cell tables by the rules of docs/APP.md (gained/lost, detail level up/down, more/fewer
cameras)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.whatif import Scenario, run_scenario
from gridcover.gis import read_layer

KINDS = ("grids", "cameras", "buildings", "roads", "sites", "posts")


def expected_changes(
    folder: Path, config: dict[str, Any], off_a: list[str], off_b: list[str]
) -> pd.DataFrame:
    """Independently: baseline and two what-if runs (Python API), diff of the cell tables."""
    layers = {k: read_layer(folder / f"{k}.geojson", k) for k in KINDS}
    keys = ("res", "occlusion", "include_offline", "unknown_online", "visibility")
    base = run_analysis(**layers, config=AnalysisConfig(**{k: config[k] for k in keys}))
    ta = run_scenario(base, Scenario(disabled=tuple(off_a))).result.cells
    tb = run_scenario(base, Scenario(disabled=tuple(off_b))).result.cells
    levels = "detail_level" in ta.columns
    both = ta["covered"] & tb["covered"]
    kind = pd.Series("", index=ta.index, dtype=object)
    same = ta["detail_level"] == tb["detail_level"] if levels else pd.Series(True, ta.index)
    kind[both & same & (tb["cameras"] > ta["cameras"])] = "more_cameras"
    kind[both & same & (tb["cameras"] < ta["cameras"])] = "fewer_cameras"
    if levels:
        kind[both & (tb["detail_level"] > ta["detail_level"])] = "level_up"
        kind[both & (tb["detail_level"] < ta["detail_level"])] = "level_down"
    kind[tb["covered"] & ~ta["covered"]] = "gained"
    kind[ta["covered"] & ~tb["covered"]] = "lost"
    out = pd.DataFrame({"h3": ta["h3"], "change": kind, "lon": ta["lon"], "lat": ta["lat"]})
    return out[out["change"] != ""].reset_index(drop=True)
