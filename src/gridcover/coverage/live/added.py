"""The cameras a what-if session adds (private helper of ``whatif_session.WhatIfSession``).

Each added camera is kept as its own row (EPSG:4326) with a key of its values, so a
scenario posted again (the API's stateless what-if) recomputes only the added cameras that
are new or changed. An added camera that cannot reach the grids is left out of the layer,
as ``whatif.run_scenario`` (and a full run) leaves it out: it stays in the scenario with no
row of the live state.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridcover.coverage.analysis import AnalysisState
from gridcover.coverage.beyond_reach import split_beyond_reach
from gridcover.errors import InputError

OUT = -1  # the row of an added camera left out (beyond reach)


class AddedCameras:
    """Added camera id -> its row (one-row GeoDataFrame, EPSG:4326), its key and its row in
    the live state (``OUT`` when beyond reach); in the order they were added."""

    def __init__(self, st: AnalysisState, base_ids: Container[str]) -> None:
        """``base_ids``: the baseline's camera ids (a set or dict: looked up one by one)."""
        self.st = st
        self.base_ids = base_ids
        self.rows: dict[str, gpd.GeoDataFrame] = {}
        self.keys: dict[str, tuple[Any, ...]] = {}
        self.slot: dict[str, int] = {}
        self._area: shapely.Geometry | None = None
        self._frame: gpd.GeoDataFrame | None = None  # ``frame()``, until the next change

    def put(self, cid: str, row: gpd.GeoDataFrame, key: tuple[Any, ...], slot: int) -> None:
        """Add camera ``cid`` (one-row frame, EPSG:4326; ``key``: its ``keys_of``) at live
        row ``slot`` (or ``OUT``)."""
        self.rows[cid], self.keys[cid], self.slot[cid] = row, key, slot
        self._frame = None

    def drop(self, cid: str) -> int:
        """Forget added camera ``cid``; returns its live row (or ``OUT``)."""
        del self.rows[cid], self.keys[cid]
        self._frame = None
        return self.slot.pop(cid)

    def area(self) -> shapely.Geometry:
        """The union of the grids (EPSG:4326), built on first use."""
        if self._area is None:
            self._area = shapely.union_all(np.asarray(self.st.grid_index.grids.geometry.values))
        return self._area

    def split(self, cameras: gpd.GeoDataFrame, what: str) -> tuple[gpd.GeoDataFrame, list[str]]:
        """``cameras`` (any CRS; ``camera_id`` and Point geometries) in EPSG:4326 indexed
        0..n-1, and their ids; InputError naming the row when a row cannot be added."""
        if "camera_id" not in cameras.columns or cameras.crs is None:
            raise InputError(
                f"What-if session: the {what} cameras need a camera_id column and a CRS "
                "(read them with gis.read_layer(path, 'cameras'))."
            )
        cams = cameras.to_crs("EPSG:4326").reset_index(drop=True)
        ids = cams["camera_id"].astype(str).to_numpy()
        bad = ~np.asarray(shapely.get_type_id(cams.geometry.values) == 0)
        for i in np.flatnonzero(bad)[:1]:
            raise InputError(
                f"What-if session: {what} camera row {i + 1} ({ids[i]!r}) is not a point; "
                "give each camera a point location."
            )
        dup = pd.Index(ids)
        clash = sorted(set(ids[dup.duplicated()]) | {i for i in ids if i in self.base_ids})
        if clash:
            raise InputError(
                f"What-if session: {what} camera id(s) {', '.join(map(repr, clash[:10]))} repeat "
                "an id of the layer or of another added camera; give new cameras new ids."
            )
        return cams, [str(i) for i in ids]

    @staticmethod
    def keys_of(cams: gpd.GeoDataFrame) -> list[tuple[Any, ...]]:
        """Per row, its values (missing ones left out) and its point: equal keys, same
        camera."""
        recs = cams.drop(columns=cams.geometry.name).to_dict("records")
        wkb = shapely.to_wkb(np.asarray(cams.geometry.values))
        return [
            (*sorted((str(k), repr(v)) for k, v in rec.items() if not _missing(v)), w)
            for rec, w in zip(recs, wkb, strict=True)
        ]

    def frame(self) -> gpd.GeoDataFrame | None:
        """Every added camera (EPSG:4326, in the order added), or None."""
        if not self.rows:
            return None
        if self._frame is None:
            rows = list(self.rows.values())
            self._frame = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), crs="EPSG:4326")
        return self._frame.copy()  # the caller may change its copy

    def in_reach(self, frame: gpd.GeoDataFrame) -> np.ndarray:
        """Per row of ``frame``, whether it can see into the grids (``split_beyond_reach``;
        a camera inside the grids always can)."""
        area = self.area()
        shapely.prepare(area)
        if shapely.intersects_xy(
            area, frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
        ).all():
            return np.ones(len(frame), bool)
        _, beyond = split_beyond_reach(
            frame, self.area(), self.st.crs, self.st.config.camera_defaults
        )
        ids = frame["camera_id"].astype(str).to_numpy()
        return ~np.isin(ids, beyond["camera_id"].astype(str).to_numpy())

    def reorder(self, ids: list[str]) -> None:
        """Keep the added cameras in the order of ``ids`` (every added id, e.g. a scenario's;
        their rows in the live state must already follow it)."""
        self.rows = {c: self.rows[c] for c in ids}
        self.keys = {c: self.keys[c] for c in ids}
        self.slot = {c: self.slot[c] for c in ids}
        self._frame = None

    def live_rows(self) -> np.ndarray:
        """Rows in the live state of the added cameras in the layer, in the layer's order."""
        return np.array([r for r in self.slot.values() if r != OUT], dtype=np.int64)


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
