"""The value an edit of ``whatif_session.WhatIfSession`` returns (private helper)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.whatif import Scenario
from gridcover.errors import InputError


@dataclass(frozen=True, eq=False)
class LiveResult:
    """The figures after an edit, as a full run of ``scenario`` gives them.

    ``summary`` / ``summary_deltas``: overall figures and their change from the baseline;
    ``counts`` / ``counts_other`` / ``cell_cluster``: per cell, counted and other cameras
    and the blind-spot id (0 = none); ``cells_changed``: positions of the cells whose
    counts changed in this edit; ``views_recomputed``: cameras whose view was recomputed;
    ``cameras_added``: added cameras in the layer (within reach of the grids).
    The tables (``blind_spots``, ``grid_stats``, ``grid_deltas``; EPSG:4326) are built on
    first use from columns kept with the result.
    """

    scenario: Scenario
    summary: Mapping[str, Any]
    summary_deltas: Mapping[str, float]
    counts: np.ndarray
    counts_other: np.ndarray
    cell_cluster: np.ndarray
    cells_changed: np.ndarray
    views_recomputed: int
    _spots: Mapping[str, Any] = field(repr=False)
    _stats: Mapping[str, Any] = field(repr=False)
    _grids: gpd.GeoSeries = field(repr=False)
    _deltas: _GridDeltas = field(repr=False)
    cameras_added: int = 0

    @cached_property
    def blind_spots(self) -> gpd.GeoDataFrame:
        cols = dict(self._spots)
        cols["geometry"] = gpd.array.from_shapely(cols["geometry"], crs="EPSG:4326")
        return gpd.GeoDataFrame(cols, geometry="geometry", crs="EPSG:4326")

    @cached_property
    def grid_stats(self) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(dict(self._stats), geometry=self._grids.values, crs="EPSG:4326")

    @cached_property
    def grid_deltas(self) -> pd.DataFrame:
        """``whatif.grid_deltas`` of the baseline's and this edit's grid statistics."""
        return self._deltas(self._stats)


class _GridDeltas:
    """``whatif.grid_deltas`` against one baseline, its side prepared once (same table)."""

    def __init__(self, base: pd.DataFrame) -> None:
        b = base.set_index("code")
        self.num = [
            c
            for c in b.columns
            if c != "level"
            and pd.api.types.is_numeric_dtype(b[c])
            and not pd.api.types.is_bool_dtype(b[c])
        ]
        self.base = {c: b[c].to_numpy() for c in self.num}
        self.head = {"code": b.index.to_numpy(), "level": b["level"].to_numpy()}
        self.met = b["targets_met"].to_numpy()

    def __call__(self, new: Mapping[str, Any]) -> pd.DataFrame:
        if not np.array_equal(np.asarray(new["code"]), self.head["code"]):
            raise InputError("What-if session: the grids changed; start a new session.")
        cols: dict[str, Any] = dict(self.head)
        for c in self.num:
            cols[f"d_{c}"] = np.asarray(new[c]) - self.base[c]
        cols["targets_met_before"] = self.met
        cols["targets_met_after"] = np.asarray(new["targets_met"])
        return pd.DataFrame(cols)
