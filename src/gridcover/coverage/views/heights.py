"""Building heights for 3D occlusion: ``height_m``, else ``levels`` x 3 m, else a default.

Metres above ground. Used by ``--visibility 3d`` (docs/VIEWS.md); the 2D model treats every
building as infinitely tall and never reads these columns.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["DEFAULT_BUILDING_HEIGHT_M", "STOREY_M", "building_heights"]

STOREY_M = 3.0
"""Height of one storey (metres) when only the number of levels is known."""
DEFAULT_BUILDING_HEIGHT_M = 9.0
"""Height of a building with neither ``height_m`` nor ``levels`` (three storeys)."""


def building_heights(
    buildings: pd.DataFrame, default_m: float = DEFAULT_BUILDING_HEIGHT_M
) -> npt.NDArray[np.float64]:
    """Per building row, its height in metres: ``height_m`` (> 0), else ``levels`` x
    ``STOREY_M`` (``building:levels`` is read too), else ``default_m`` (``inf`` allowed:
    an infinitely tall wall, as in the 2D model)."""
    n = len(buildings)
    out = np.full(n, np.nan)
    for col, scale in (("height_m", 1.0), ("levels", STOREY_M), ("building:levels", STOREY_M)):
        if col not in buildings.columns:
            continue
        v = pd.to_numeric(buildings[col], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        take = np.isnan(out) & np.isfinite(v) & (v > 0)
        out[take] = v[take] * scale
    return np.where(np.isnan(out), float(default_m), out)
