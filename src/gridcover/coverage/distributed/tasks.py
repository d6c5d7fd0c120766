"""Halo subsets and partition jobs, built on the client (see plan.py for the rules).

``Halo`` holds, per partition, the row positions of every layer it needs (from one
vectorised STRtree distance query per layer over all partition regions) and turns them
into :class:`~gridcover.coverage.distributed.worker.PartitionJob` values one at a time, so the
client never materialises all subsets at once. Layers are projected once to the metric
CRS of the area (the same projection, coordinate by coordinate, as on one machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gridcover.coverage.analysis import AnalysisConfig
from gridcover.coverage.declared_areas import declared_reach_m
from gridcover.coverage.distributed.plan import Partition, near_pairs
from gridcover.coverage.distributed.worker import PartitionJob, prepass_partition
from gridcover.coverage.priority import road_reach_m
from gridcover.coverage.views.snapping import DEFAULT_SNAP_OFFSET_M
from gridcover.coverage.weights import Weights
from gridcover.errors import InputError

__all__ = [
    "Halo",
    "area_incident_rows",
    "metric_layer",
    "prepass_indexed",
    "slices",
]

ORPHAN_CHUNK = 20_000  # cameras per views-only job (cameras whose view reaches no partition)
_NONE = np.iinfo(np.int64).max


def slices(pairs: tuple[np.ndarray, np.ndarray], n: int) -> list[np.ndarray]:
    """Per region 0..n-1, the geometry positions paired with it (pairs sorted by region)."""
    ri, gi = pairs
    bounds = np.searchsorted(ri, np.arange(n + 1))
    return [gi[bounds[i] : bounds[i + 1]] for i in range(n)]


def area_incident_rows(incidents: gpd.GeoDataFrame | None) -> np.ndarray:
    """Row positions of the incidents given as areas (not points): their count is shared
    over all the cells of the area, across partitions."""
    if incidents is None or len(incidents) == 0:
        return np.empty(0, dtype=np.int64)
    kind = shapely.get_type_id(np.asarray(incidents.geometry.values))
    return np.flatnonzero(~np.isin(kind, (-1, 0, 4))).astype(np.int64)


def prepass_indexed(
    i: int,
    area: BaseGeometry,
    part: Partition,
    res: int,
    crs: pyproj.CRS,
    incident_areas: np.ndarray,
    cache: str | None = None,
) -> tuple[int, np.ndarray]:
    """``prepass_partition`` tagged with the partition position ``i`` (runs on a worker)."""
    return i, prepass_partition(area, part, res, crs, incident_areas, cache)


def metric_layer(gdf: gpd.GeoDataFrame | None, crs: Any, kind: str) -> gpd.GeoDataFrame | None:
    """``gdf`` in the metric ``crs`` (None stays None)."""
    if gdf is None:
        return None
    if gdf.crs is None:
        raise InputError(f"The {kind} layer has no CRS; read it with gis.read_layer.")
    return gdf.to_crs(crs)


@dataclass(eq=False)
class Halo:
    """Per-partition halo subsets of every layer, and the jobs built from them."""

    parts: list[Partition]
    clips: list[BaseGeometry]
    res: int
    crs: pyproj.CRS
    config: AnalysisConfig
    weights: dict[str, Any]
    out_dir: Path
    gather_limit: int
    cameras: gpd.GeoDataFrame  # EPSG:4326, index 0..n-1
    cam_xy: np.ndarray  # metric points
    ranges: np.ndarray
    buildings: gpd.GeoDataFrame | None  # metric
    layers: dict[str, gpd.GeoDataFrame | None]  # roads, sites, incidents, declared (metric)
    grids: gpd.GeoDataFrame  # code, level, gidx, geometry (EPSG:4326)
    inc_rows: np.ndarray | None = None  # area-incident row positions
    inc_pairs: list[np.ndarray] | None = None  # per partition, positions in inc_rows
    inc_partial: list[np.ndarray] | None = None  # per partition, area of its cells (m²)

    def prepass_jobs(self) -> Iterator[tuple[Any, ...]]:
        """Arguments of ``prepass_indexed`` per partition (empty when there are no area
        incidents, the only figure priority needs from other partitions)."""
        n = len(self.parts)
        inc = self.layers.get("incidents")
        rows = area_incident_rows(inc)
        geoms = np.asarray(inc.geometry.values)[rows] if inc is not None else rows[:0]
        regions = np.array([p.region for p in self.parts], dtype=object)
        self.inc_rows = rows
        self.inc_pairs = slices(near_pairs(regions, geoms, 1.0), n) if rows.size else [rows] * n
        self.inc_partial = [np.zeros(0)] * n
        self.cache: list[str | None] = [None] * n
        if not rows.size:
            return iter(())
        scratch = self.out_dir / "_scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        self.cache = [str(scratch / f"p{i:05d}.npz") for i in range(n)]
        return (
            (i, self.clips[i], p, self.res, self.crs, geoms[self.inc_pairs[i]], self.cache[i])
            for i, p in enumerate(self.parts)
        )

    def add_prepass(self, i: int, inside: np.ndarray) -> None:
        """Record the pre-pass result of partition ``i``."""
        assert self.inc_partial is not None
        self.inc_partial[i] = inside

    def select(self, weights: Weights) -> None:
        """Run the distance queries (one per layer over all partition regions)."""
        n = len(self.parts)
        regions = np.array([p.region for p in self.parts], dtype=object)
        snap = DEFAULT_SNAP_OFFSET_M
        self.cam_of = slices(near_pairs(regions, self.cam_xy, self.ranges + snap + 1.0), n)
        max_r = float(self.ranges.max()) if self.ranges.size else 0.0
        reach = 2 * max_r + 2 * snap + 2.0 if self.config.occlusion else 1.0
        self.bld_of = None
        if self.buildings is not None:
            geoms = np.asarray(self.buildings.geometry.values)
            self.bld_of = slices(near_pairs(regions, geoms, reach), n)
        road = road_reach_m(self.res, weights.road_buffer_m)
        p_reach = 1.0 + max(
            road, weights.intersection_radius_m, weights.site_radius_m, weights.incident_radius_m,
            declared_reach_m(weights),
        )  # fmt: skip
        self.lay_of: dict[str, list[np.ndarray]] = {}
        for name, layer in self.layers.items():
            if layer is not None:
                geoms = np.asarray(layer.geometry.values)
                self.lay_of[name] = slices(near_pairs(regions, geoms, p_reach), n)
        g_m = np.asarray(self.grids.geometry.to_crs(self.crs).values)
        self.grid_of = slices(near_pairs(regions, g_m, 1.0), n)
        self.owner = np.full(len(self.cameras), _NONE, dtype=np.int64)
        for i, idx in enumerate(self.cam_of):
            np.minimum.at(self.owner, idx, i)
        self.owned: dict[str, np.ndarray] = {}

    def _incidents(self, i: int) -> gpd.GeoDataFrame | None:
        inc = self.layers.get("incidents")
        if inc is None:
            return None
        rows = self.lay_of["incidents"][i]
        sub = inc.iloc[rows].copy()
        if self.inc_rows is None or self.inc_rows.size == 0:
            return sub
        # count x (area here / area everywhere): priority then shares count / area everywhere
        if self.inc_pairs is None or self.inc_partial is None:
            raise RuntimeError("area incidents need the pre-pass (Halo.inc_partial) first")
        total = getattr(self, "_inc_total", None)
        if total is None:
            total = np.zeros(self.inc_rows.size)
            for pairs, part in zip(self.inc_pairs, self.inc_partial, strict=True):
                np.add.at(total, pairs, part)
            self._inc_total = total
        here = np.zeros(self.inc_rows.size)
        here[self.inc_pairs[i]] = self.inc_partial[i]
        pos = np.searchsorted(self.inc_rows, rows)
        is_area = (pos < self.inc_rows.size) & (
            self.inc_rows[np.minimum(pos, self.inc_rows.size - 1)] == rows
        )
        factor = np.ones(rows.size)
        k = pos[is_area]
        factor[is_area] = np.divide(here[k], total[k], out=np.zeros(k.size), where=total[k] > 0)
        sub["count"] = sub["count"].to_numpy(float) * factor
        return sub

    def job(self, i: int) -> PartitionJob:
        """The job of partition ``i`` (its halo subsets, in layer order)."""
        p = self.parts[i]
        ci = self.cam_of[i]
        key = f"p{i:05d}-{h3.int_to_str(p.parent)}"
        owned = self.owner[ci] == i
        self.owned[key] = ci[owned]
        lay = {k: self.layers[k].iloc[v[i]] for k, v in self.lay_of.items() if k != "incidents"}  # type: ignore[union-attr]
        return PartitionJob(
            key=key,
            part=p,
            res=self.res,
            crs=self.crs,
            config=self.config,
            weights=self.weights,
            area=self.clips[i],
            cameras=self.cameras.iloc[ci],
            owned=owned,
            buildings=None if self.bld_of is None else self.buildings.iloc[self.bld_of[i]],  # type: ignore[union-attr]
            roads=lay.get("roads"),
            sites=lay.get("sites"),
            incidents=self._incidents(i),
            declared=lay.get("declared"),
            grids=self.grids.iloc[self.grid_of[i]],
            out_dir=str(self.out_dir),
            gather_limit=self.gather_limit,
            cells_cache=self.cache[i],
        )

    def orphan_jobs(self) -> list[PartitionJob]:
        """Views-only jobs for the cameras no partition needs (their views are still output)."""
        orphans = np.flatnonzero(self.owner == _NONE)
        out = []
        snap = DEFAULT_SNAP_OFFSET_M
        chunks = np.array_split(orphans, max(1, -(-orphans.size // ORPHAN_CHUNK)))
        for j, ci in enumerate(c for c in chunks if c.size):
            bld = None
            if self.buildings is not None and self.config.occlusion:
                tree = shapely.STRtree(np.asarray(self.buildings.geometry.values))
                _, bi = tree.query(
                    self.cam_xy[ci], predicate="dwithin", distance=self.ranges[ci] + snap + 1.0
                )
                bld = self.buildings.iloc[np.unique(bi)]
            key = f"v{j:05d}"
            self.owned[key] = ci
            out.append(
                PartitionJob(
                    key=key,
                    part=None,
                    res=self.res,
                    crs=self.crs,
                    config=self.config,
                    weights=self.weights,
                    area=None,
                    cameras=self.cameras.iloc[ci],
                    owned=np.ones(ci.size, bool),
                    buildings=bld,
                    out_dir=str(self.out_dir),
                )
            )
        return out
