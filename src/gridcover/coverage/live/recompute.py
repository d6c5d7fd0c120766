"""The new views of a few cameras of a what-if session and the cells they cover (private
helper of ``whatif_session.WhatIfSession``): 2D views against the baseline's prepared walls
and ``cover_pairs``, or 3D views among the same building prisms and ``cover_3d_pairs`` with
the cells' roof heights computed once."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from gridcover.coverage.analysis import AnalysisState, compute_views
from gridcover.coverage.cover import Sectors, cover_pairs
from gridcover.coverage.cover3d import cover_3d_pairs
from gridcover.coverage.live.level_counts import LiveDetail
from gridcover.coverage.views.sight import Optics
from gridcover.coverage.views.views3d import camera_views_3d


@dataclass(frozen=True)
class Recomputed:
    """Per live camera row: its view (one-row frame, metric CRS), its covered cells (cell
    positions, sorted) and, in 3D, their levels and night flags and its optics."""

    views: dict[int, gpd.GeoDataFrame] = field(default_factory=dict)
    hits: dict[int, np.ndarray] = field(default_factory=dict)
    levels: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    optics: dict[int, Optics] = field(default_factory=dict)


def recompute(
    st: AnalysisState, detail: LiveDetail | None, cams: gpd.GeoDataFrame, rows: np.ndarray
) -> Recomputed:
    """Views and cells of ``cams`` (EPSG:4326), the cameras of the live rows ``rows``, with
    the run's configuration; 3D when the run is (``detail`` given)."""
    out = Recomputed()
    if not rows.size:
        return out
    cfg, v3 = st.config, st.views3d
    if v3 is not None and detail is not None:
        new3 = camera_views_3d(
            cams, v3.prisms, metric_crs=st.crs, target_height_m=cfg.target_height_m,
            defaults=cfg.camera_defaults, optics_defaults=cfg.optics_defaults,
        )  # fmt: skip
        sp = cover_3d_pairs(
            new3, st.cells, target_height_m=cfg.target_height_m, threads=cfg.threads,
            roof_m=detail.roof_m,
        )  # fmt: skip
        new, ci, ki = new3.views, sp.cell_idx, sp.camera_idx
    else:
        walls = st.walls if st.walls is not None else st.buildings
        new = compute_views(cams, walls, cfg, st.crs)
        ci, ki = cover_pairs(
            np.asarray(new.geometry.values),
            st.cells.x,
            st.cells.y,
            threads=cfg.threads,
            tree=st.cells.tree,
            sectors=Sectors.from_views(new),
        )
    new.index = rows
    for j, r in enumerate(rows):
        at = np.flatnonzero(ki == j)
        at = at[np.argsort(ci[at], kind="stable")]
        out.views[int(r)] = new.iloc[[j]]
        out.hits[int(r)] = ci[at]
        if v3 is not None and detail is not None:
            out.levels[int(r)] = (sp.level[at], sp.night[at])
            out.optics[int(r)] = new3.optics.subset([j])
    return out
