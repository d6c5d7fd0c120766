"""The changed cells of a scenario comparison: the one definition the CLI's ``scenario compare``
(``compare_<a>_<b>_cells.geojson``), the API's ``/scenarios/{a}/compare/cells`` and the web
app's changed-cells layer share.

A cell changed when its covered flag, its number of counted cameras or (after a 3D run) its
detail level differs between A and B. Each changed cell gets one kind, the most important
difference first:

- ``gained`` / ``lost``: covered in B only / in A only;
- ``level_up`` / ``level_down``: covered in both, best detail level (1 detect .. 4 identify)
  higher / lower in B;
- ``more_cameras`` / ``fewer_cameras``: covered in both at the same level, more / fewer
  counted cameras in B.

Two entry points: ``classify`` on plain per-cell arrays and ``cell_changes`` on two analysis
results of the same cells (a baseline and what-if runs on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt

from gridcover.coverage.analysis import AnalysisResult
from gridcover.errors import InputError

__all__ = ["CHANGES", "CellChanges", "cell_changes", "changes_table", "classify"]

#: The kinds of change, in the order of ``classify``'s codes 1..6 (0 = unchanged).
CHANGES = ("gained", "lost", "level_up", "level_down", "more_cameras", "fewer_cameras")


def classify(
    covered_a: npt.ArrayLike,
    covered_b: npt.ArrayLike,
    cameras_a: npt.ArrayLike,
    cameras_b: npt.ArrayLike,
    level_a: npt.ArrayLike | None = None,
    level_b: npt.ArrayLike | None = None,
) -> npt.NDArray[np.int8]:
    """Per cell, the code of its change: 0 unchanged, else 1 + the index in ``CHANGES``.

    ``covered_*``: bool per cell; ``cameras_*``: counted cameras per cell; ``level_*``: best
    detail level per cell (0-4) of a 3D run, or None (2D: no level changes).
    """
    ca, cb = np.asarray(covered_a, bool), np.asarray(covered_b, bool)
    na, nb = np.asarray(cameras_a, np.int64), np.asarray(cameras_b, np.int64)
    code = np.zeros(ca.shape, np.int8)
    both = ca & cb
    if level_a is not None and level_b is not None:
        la, lb = np.asarray(level_a, np.int16), np.asarray(level_b, np.int16)
    else:
        la = lb = np.zeros(ca.shape, np.int16)
    same_level = la == lb
    code[both & same_level & (nb < na)] = 6
    code[both & same_level & (nb > na)] = 5
    code[both & (lb < la)] = 4
    code[both & (lb > la)] = 3
    code[ca & ~cb] = 2
    code[~ca & cb] = 1
    return code


@dataclass(frozen=True, eq=False)
class CellChanges:
    """The changed cells of A -> B as arrays aligned with each other (only changed cells).

    ``cells``: H3 int64 at ``res``; ``lon``/``lat``: cell centres (EPSG:4326 degrees);
    ``code``: 1 + index in ``CHANGES``; ``cameras_a``/``cameras_b``: counted cameras;
    ``level_a``/``level_b``: best detail level (0-4) or None for a 2D run; ``index``: the
    cells' positions in the analysis' cell table.
    """

    res: int
    index: np.ndarray
    cells: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    code: np.ndarray
    cameras_a: np.ndarray
    cameras_b: np.ndarray
    level_a: np.ndarray | None
    level_b: np.ndarray | None

    def __len__(self) -> int:
        return int(self.cells.size)

    @property
    def change(self) -> np.ndarray:
        """Kind of each change as text (``CHANGES``)."""
        return np.asarray(CHANGES, dtype=object)[self.code.astype(np.int64) - 1]

    def counts(self) -> dict[str, int]:
        """Number of changed cells per kind (every kind, zeros included)."""
        n = np.bincount(self.code.astype(np.int64), minlength=len(CHANGES) + 1)
        return {k: int(n[i + 1]) for i, k in enumerate(CHANGES)}

    def bbox(self) -> list[float] | None:
        """[min lon, min lat, max lon, max lat] of the changed cells' centres, None if none."""
        if not len(self):
            return None
        return [float(self.lon.min()), float(self.lat.min()),
                float(self.lon.max()), float(self.lat.max())]  # fmt: skip


def _level(r: AnalysisResult) -> np.ndarray | None:
    d = r.state.detail
    return None if d is None else np.asarray(d.detail_level)


def cell_changes(ra: AnalysisResult, rb: AnalysisResult) -> CellChanges:
    """The cells whose coverage differs between ``ra`` and ``rb`` (two runs on the same cells,
    e.g. what-if runs on one baseline); see the module docstring for the kinds."""
    cells_a, cells_b = ra.state.cells, rb.state.cells
    if cells_a.h3.shape != cells_b.h3.shape or not np.array_equal(cells_a.h3, cells_b.h3):
        raise InputError(
            "The two results cover different H3 cells; compare scenarios of one analysis "
            "(the same area, resolution and inputs)."
        )
    cov_a, cov_b = ra.state.coverage, rb.state.coverage
    la, lb = _level(ra), _level(rb)
    if (la is None) != (lb is None):
        la = lb = None  # one 2D, one 3D run: compare coverage and cameras only
    code = classify(cov_a.covered, cov_b.covered, cov_a.counts, cov_b.counts, la, lb)
    idx = np.flatnonzero(code)
    return CellChanges(
        res=cells_a.res,
        index=idx,
        cells=cells_a.h3[idx],
        lon=cells_a.lon[idx],
        lat=cells_a.lat[idx],
        code=code[idx],
        cameras_a=np.asarray(cov_a.counts)[idx],
        cameras_b=np.asarray(cov_b.counts)[idx],
        level_a=None if la is None else la[idx],
        level_b=None if lb is None or la is None else lb[idx],
    )


def changes_table(
    ch: CellChanges, ra: AnalysisResult, geometry: str = "polygon"
) -> gpd.GeoDataFrame:
    """The changed cells as a GeoDataFrame in EPSG:4326: h3, change, cameras_a, cameras_b,
    (detail_level_a, detail_level_b after a 3D run), weight, priority, cell hexagon (or
    centre with ``geometry="point"``)."""
    prio = ra.state.priority
    cols: dict[str, np.ndarray] = {
        "change": ch.change,
        "cameras_a": ch.cameras_a,
        "cameras_b": ch.cameras_b,
    }
    if ch.level_a is not None and ch.level_b is not None:
        cols["detail_level_a"] = ch.level_a
        cols["detail_level_b"] = ch.level_b
    cols["weight"] = np.asarray(prio.weight)[ch.index]
    cols["priority"] = np.asarray(prio.priority)[ch.index]
    table = ra.state.cells.subset(ch.index).to_geodataframe(geometry, **cols)
    return table.drop(columns=["cell", "lon", "lat", "area_m2"])
