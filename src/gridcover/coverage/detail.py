"""Detail levels per cell and per grid (the 3D model's DORI levels, day and night).

Per cell, from the (cell, camera) pairs of :func:`gridcover.coverage.views.sight.sight_pairs`
and the counted-camera mask (online cameras, as for ``cameras``):

* ``detail_level``: the best level (0-4) among the counted cameras that see it;
* ``n_cameras_l1`` .. ``n_cameras_l4``: counted cameras that see it at level >= k
  (``n_cameras_l1`` equals ``n_cameras``);
* ``night_n_cameras`` / ``night_detail_level``: the same with only the cameras whose own
  light reaches it at night.

Per grid (every level of the grid map): the covered share of its area at level >= k, day and
night, and the same weighted by priority (``pct_l1`` .. ``night_wpct_l4``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridcover.coverage.stats import LEVELS, GridIndex
from gridcover.errors import InputError

__all__ = [
    "LEVEL_BY_NAME",
    "DetailCoverage",
    "add_levels",
    "blind_cells",
    "check_3d",
    "detail_columns",
    "detail_cover",
    "level_statistics",
    "level_summary",
    "pseudo_detail",
    "report_lines",
    "required_level",
]

LEVEL_BY_NAME = {"none": 0, "detect": 1, "observe": 2, "recognise": 3, "identify": 4}


@dataclass(frozen=True, eq=False)
class DetailCoverage:
    """Levels of every pair (aligned with ``Coverage.cell_idx``) and the per-cell results."""

    pair_level: npt.NDArray[np.int8]
    pair_night: npt.NDArray[np.bool_]
    detail_level: npt.NDArray[np.int8]
    n_by_level: npt.NDArray[np.int32]  # (cells, 4): counted cameras at level >= k
    night_detail_level: npt.NDArray[np.int8]
    night_n: npt.NDArray[np.int32]

    def at_least(self, level: int, night: bool = False) -> npt.NDArray[np.bool_]:
        """Cells seen at ``level`` or better (1-4), by day or at night."""
        best = self.night_detail_level if night else self.detail_level
        return np.asarray(best >= level)


def detail_cover(
    n_cells: int,
    cell_idx: npt.ArrayLike,
    camera_idx: npt.ArrayLike,
    level: npt.ArrayLike,
    night: npt.ArrayLike,
    counted: npt.ArrayLike,
) -> DetailCoverage:
    """Aggregate (cell, camera, level, night) pairs of all cameras into per-cell levels,
    counting only the ``counted`` cameras (a bool per camera)."""
    ci = np.asarray(cell_idx, dtype=np.int64)
    ki = np.asarray(camera_idx, dtype=np.int64)
    lv = np.asarray(level, dtype=np.int8)
    nt = np.asarray(night, dtype=bool)
    on = np.asarray(counted, dtype=bool)[ki] if ki.size else np.zeros(0, bool)
    best = np.zeros(n_cells, dtype=np.int8)
    np.maximum.at(best, ci[on], lv[on])
    nbest = np.zeros(n_cells, dtype=np.int8)
    sel = on & nt
    np.maximum.at(nbest, ci[sel], lv[sel])
    n_by = np.zeros((n_cells, 4), dtype=np.int32)
    for k in range(4):
        n_by[:, k] = np.bincount(ci[on & (lv >= k + 1)], minlength=n_cells)
    night_n = np.bincount(ci[sel], minlength=n_cells).astype(np.int32)
    return DetailCoverage(lv, nt, best, n_by, nbest, night_n)


def detail_columns(detail: DetailCoverage, required: npt.ArrayLike | None = None) -> dict:
    """The per-cell output columns (see the module docstring), plus ``required_level`` and
    ``below_required`` when the required level per cell is given."""
    cols: dict[str, np.ndarray] = {
        "n_cameras": detail.n_by_level[:, 0],
        "detail_level": detail.detail_level,
        **{f"n_cameras_l{k}": detail.n_by_level[:, k - 1] for k in range(1, 5)},
        "night_n_cameras": detail.night_n,
        "night_detail_level": detail.night_detail_level,
    }
    if required is not None:
        req = np.asarray(required, dtype=np.int8)
        cols["required_level"] = req
        cols["below_required"] = detail.detail_level < req
    return cols


def required_level(
    components: Mapping[str, np.ndarray], priority: np.ndarray, targets: Mapping[str, int]
) -> npt.NDArray[np.int8]:
    """Per cell, the detail level its priority classes require: the highest target among
    the components present in the cell (weight > 0), at least 1 (detect) on priority cells,
    0 elsewhere. ``targets``: component name -> level (1-4), from the weights file."""
    prio = np.asarray(priority, dtype=bool)
    req = np.where(prio, 1, 0).astype(np.int8)
    for name, lvl in targets.items():
        comp = components.get(name)
        if comp is not None:
            need = prio & (np.asarray(comp) > 0)
            req = np.where(need, np.maximum(req, int(lvl)), req).astype(np.int8)
    return req


def blind_cells(
    priority: Any, covered: np.ndarray, detail: DetailCoverage | None, targets: Mapping[str, int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Blind cells of a run and the required level per cell: 2D (``detail`` None): priority
    cells not covered, no levels; 3D: priority cells below their :func:`required_level`.
    ``priority``: a ``coverage.priority.Priority``."""
    if detail is None:
        return priority.priority & ~covered, None
    required = required_level(priority.components, priority.priority, targets)
    return priority.priority & (detail.detail_level < required), required


def _pct(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(100.0 * num, den, out=np.full(num.shape, np.nan), where=den > 0)


def level_statistics(
    index: GridIndex, area_m2: np.ndarray, weight: np.ndarray, detail: DetailCoverage
) -> pd.DataFrame:
    """Per grid (rows aligned with ``index.grids``): ``pct_l1..4`` (area % seen at level >= k
    by day), ``night_pct_l1..4``, and the priority-weighted ``wpct_l1..4`` /
    ``night_wpct_l1..4``. A grid sums the cells whose ancestor at its level is itself."""
    n = len(index.grids)
    area = np.zeros(n)
    wsum = np.zeros(n)
    cols: dict[str, np.ndarray] = {}
    sums: dict[str, np.ndarray] = {}
    for lv in LEVELS:
        g = index.at_level(index.cell_grid, lv)
        ok = g >= 0
        area += np.bincount(g[ok], weights=area_m2[ok], minlength=n)
        wsum += np.bincount(g[ok], weights=weight[ok], minlength=n)
        for night in (False, True):
            pre = "night_" if night else ""
            for k in range(1, 5):
                seen = ok & detail.at_least(k, night)
                for key, w in ((f"{pre}pct_l{k}", area_m2), (f"{pre}wpct_l{k}", weight)):
                    add = np.bincount(g[seen], weights=w[seen], minlength=n)
                    sums[key] = sums.get(key, np.zeros(n)) + add
    for key, num in sums.items():
        cols[key] = _pct(num, wsum if "wpct" in key else area)
    order = [f"{p}{w}pct_l{k}" for p in ("", "night_") for w in ("", "w") for k in range(1, 5)]
    return pd.DataFrame({k: cols[k] for k in order})


def pseudo_detail(detail_level: npt.ArrayLike, night_detail_level: npt.ArrayLike) -> DetailCoverage:
    """A ``DetailCoverage`` holding only per-cell best levels (for per-level sums over groups
    of cells, e.g. a partitioned run's pseudo-cells); pair arrays and counts are empty."""
    n = np.asarray(detail_level).size
    e = np.zeros(0)
    return DetailCoverage(
        e.astype(np.int8),
        e.astype(bool),
        np.asarray(detail_level, np.int8),
        np.zeros((n, 4), np.int32),
        np.asarray(night_detail_level, np.int8),
        np.zeros(n, np.int32),
    )


def level_summary(
    area_m2: np.ndarray,
    weight: np.ndarray,
    detail: DetailCoverage,
    required: np.ndarray,
    counts: np.ndarray | None = None,
) -> dict[str, float | int]:
    """Whole-area figures: % of area and of priority weight at level >= k, day and night,
    and the number of priority cells below their required level (``counts``: cells per
    row when rows are groups of cells)."""
    out: dict[str, float | int] = {}
    a, w = area_m2.sum(), weight.sum()
    for night in (False, True):
        pre = "night_" if night else ""
        for k, name in enumerate(("detect", "observe", "recognise", "identify"), start=1):
            seen = detail.at_least(k, night)
            out[f"{pre}{name}_pct"] = float(100 * area_m2[seen].sum() / a) if a > 0 else np.nan
            out[f"{pre}{name}_weighted_pct"] = (
                float(100 * weight[seen].sum() / w) if w > 0 else np.nan
            )
    below = (detail.detail_level < required) & (required > 0)
    n = np.ones(below.size, np.int64) if counts is None else np.asarray(counts, np.int64)
    out["cells_below_required_level"] = int(n[below].sum())
    return out


def check_3d(visibility: str, target_height_m: float, building_height_m: float) -> None:
    """Check the 3D fields of a run's configuration (raise ``InputError`` naming the fix)."""
    if visibility not in ("2d", "3d"):
        raise InputError(f"visibility must be '2d' or '3d', not {visibility!r}.")
    if not (0.0 <= target_height_m < 100.0):
        raise InputError(
            f"target_height_m is {target_height_m}; give metres above ground (0 to 100)."
        )
    if not building_height_m > 0:
        raise InputError(f"building_height_m is {building_height_m}; give a positive height.")


def add_levels(
    state: Any,
    required: np.ndarray,
    stats: pd.DataFrame,
    cells: pd.DataFrame | None,
    summary: dict[str, Any],
) -> tuple[Any, Any]:
    """Add the detail-level columns to a run's grid statistics and cells table and the
    whole-area figures to its summary (in place); ``state``: an ``AnalysisState`` with
    ``detail`` set. Returns the new (stats, cells) tables (cells None when not given: the
    lazily built cells table adds :func:`detail_columns` itself)."""
    det: DetailCoverage = state.detail
    area, weight = state.cells.area_m2, state.priority.weight
    levels = level_statistics(state.grid_index, area, weight, det)
    stats = stats.assign(**{c: levels[c].to_numpy() for c in levels.columns})
    if cells is not None:
        cells = cells.assign(**detail_columns(det, required))
    summary["visibility"] = "3d"
    summary["target_height_m"] = float(state.config.target_height_m)
    summary.update(level_summary(area, weight, det, required))
    return stats, cells


def report_lines(summary: Mapping[str, Any]) -> list[str]:
    """Lines of the text report on detail levels (empty for a 2D run's summary)."""
    if summary.get("visibility") != "3d":
        return []

    def row(pre: str) -> str:
        return "  ".join(
            f"{n} {summary[f'{pre}{n}_pct']:5.1f}% ({summary[f'{pre}{n}_weighted_pct']:5.1f}% w)"
            for n in ("detect", "observe", "recognise", "identify")
        )

    return [
        f"Detail levels (3D line of sight, target {summary['target_height_m']:g} m above "
        "ground; IEC 62676-4 DORI: detect 25, observe 62.5, recognise 125, identify 250 px/m), "
        "share of the area seen at each level or better (priority-weighted in brackets):",
        f"  day:   {row('')}",
        f"  night: {row('night_')}",
        f"Priority cells below their required level ([detail] in the weights file): "
        f"{summary['cells_below_required_level']}; they make up the blind spots.",
        "",
    ]
