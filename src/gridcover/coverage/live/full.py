"""The complete ``AnalysisResult`` of a what-if session's cumulative scenario (private helper
of ``whatif_session.WhatIfSession.full_result``): the camera layer as ``whatif.run_scenario``
builds it (added cameras beyond reach left out, with the same notes), the views table with
the recomputed rows, the covering pairs, counts and (3D) detail levels of the live state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage._tables import run_summary
from gridcover.coverage.analysis import AnalysisResult, camera_notes
from gridcover.coverage.beyond_reach import beyond_line, split_beyond_reach
from gridcover.coverage.cover import Coverage
from gridcover.coverage.live.added import AddedCameras
from gridcover.coverage.live.result import LiveResult
from gridcover.coverage.live.state import LiveState
from gridcover.coverage.views.sight import Optics
from gridcover.coverage.views.views3d import Views3D
from gridcover.coverage.whatif import apply_scenario


def full_result(
    baseline: AnalysisResult,
    live: LiveState,
    added: AddedCameras,
    new_views: Mapping[int, gpd.GeoDataFrame],
    new_optics: Mapping[int, Optics],
    last: LiveResult,
) -> AnalysisResult:
    """A session's cumulative scenario (``last.scenario``) as a complete result: ``live``
    its live state, ``added`` its added cameras, ``new_views`` / ``new_optics`` the view
    rows and (3D) optics recomputed per live row, ``last`` its latest ``LiveResult``."""
    st = baseline.state
    n = len(st.cameras)
    cams = apply_scenario(st.cameras, last.scenario)
    notes = st.notes
    if len(cams) > n:  # as run_scenario: beyond reach left out, notes on the added ones
        area = added.area()
        kept, beyond = split_beyond_reach(cams.iloc[n:], area, st.crs, st.config.camera_defaults)
        cams = gpd.GeoDataFrame(pd.concat([cams.iloc[:n], kept], ignore_index=True), crs=4326)
        notes = tuple(line for line in (beyond_line(beyond, None),) if line) + notes
        notes += tuple(camera_notes(cams.iloc[n:], area, st.crs, first_row=n))
    rows = np.r_[np.arange(n), added.live_rows()].astype(np.int64)
    out = {int(r): i for i, r in enumerate(rows)}  # live row -> the layer's row
    views = st.views.copy()
    views["status"] = cams["status"].to_numpy()[:n]
    known = st.known_lonlat()
    lonlat = None if known is None else np.r_[known, np.full(len(rows) - n, None, object)]
    if new_views:
        at = sorted(out[r] for r in new_views)
        new = pd.concat([new_views[int(rows[i])] for i in at])
        new.index = at
        views = pd.concat([views.drop(index=[i for i in at if i < n]), new]).sort_index()
        views = gpd.GeoDataFrame(views, geometry="geometry", crs=st.crs)
        status = views["status"].to_numpy(dtype=object).copy()
        status[:n] = cams["status"].to_numpy()[:n]  # a re-aimed camera disabled later
        views["status"] = status
        if lonlat is not None:
            lonlat[at] = None
    cell_idx, cam_idx = live.pairs(rows)
    counted = live.counted[rows]
    coverage = Coverage(len(st.cells), cell_idx, cam_idx, counted, live.counts, live.counts_other)
    v3, detail = st.views3d, None
    if v3 is not None and live.detail is not None:
        v3 = _with_optics(v3, {out[r]: o for r, o in new_optics.items()})
        detail = live.detail.coverage(cell_idx, cam_idx, counted.copy(), rows)
    points = st.camera_points
    if points is not None:
        points = live.cam_pts[rows]
    state = dataclasses.replace(
        st,
        cameras=cams,
        views=views,
        views_lonlat=lonlat,
        coverage=coverage,
        camera_grid=live.cam_grid[rows],
        notes=notes,
        camera_points=points,
        views3d=v3,
        detail=detail,
    )
    table, stats = last.blind_spots, last.grid_stats
    summary = run_summary(state, stats, table)
    if live.detail is not None:
        summary.update(live.detail.summary())
    return AnalysisResult(
        table,
        stats,
        MappingProxyType(summary),
        notes,
        state,
        last.cell_cluster,
        baseline.required_level,
    )


def _with_optics(v3: Views3D, optics: Mapping[int, Optics]) -> Views3D:
    """``v3`` with the optics of the recomputed camera rows (the layer's rows) replaced."""
    if not optics:
        return v3
    rows = sorted(optics)
    fields = Optics.__dataclass_fields__
    new = Optics(*(np.concatenate([getattr(optics[r], f) for r in rows]) for f in fields))
    return dataclasses.replace(v3, optics=v3.optics.updated(rows, new))
