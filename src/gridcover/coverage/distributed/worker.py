"""The work of one partition (runs on a Dask worker; plain functions, no Dask imports).

``run_partition(job)`` calls the single-machine steps on the partition's cells and halo:
``cells_from_ids`` -> ``analysis.compute_views`` (occluded) -> ``cover_pairs`` /
``cover_cells`` -> ``priority_from_layers`` -> ``locate_points`` -> blind cells ->
``gaps.cluster_cells``. It writes the partition's cells (one GeoParquet part, the columns of
``AnalysisResult.cells``) and the views of the cameras it owns, and returns only small
aggregates (:class:`PartitionOutput`). The two parts go first to the run's scratch folder
as uncompressed Arrow IPC (the very table GeoPandas would write as GeoParquet); once the
merge knows them, ``finish_partition`` sets the global blind-spot ranks and per-camera cell
counts and writes each part once, as GeoParquet (no Parquet file is read back and
rewritten). ``prepass_partition`` returns the area of each area incident's cells owned by the
partition (an area incident's count is shared over all its cells, across partitions) and
caches the cells for ``run_partition``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from geopandas.io.arrow import _geopandas_to_arrow  # the table GeoPandas writes
from shapely.geometry.base import BaseGeometry

from gridcover.coverage.analysis import AnalysisConfig, cell_columns, compute_views
from gridcover.coverage.cells import Cells, cells_from_ids
from gridcover.coverage.cover import Sectors, camera_counted, cover_cells, cover_pairs
from gridcover.coverage.cover3d import DETAIL_GROUPS, cover_3d, detail_groups, views_3d
from gridcover.coverage.detail import DetailCoverage, blind_cells, detail_columns
from gridcover.coverage.distributed.blind import local_blind_spots
from gridcover.coverage.distributed.plan import Partition, partition_cells
from gridcover.coverage.distributed.point_table import points_table
from gridcover.coverage.distributed.shared import make_cells, weights_from_state
from gridcover.coverage.priority import COMPONENTS, Priority, priority_from_layers
from gridcover.coverage.stats import locate_points
from gridcover.gis.crs import transformer

__all__ = [
    "GROUP_KEYS",
    "PartitionJob",
    "PartitionOutput",
    "finish_partition",
    "prepass_partition",
    "run_partition",
    "scratch_path",
]

FLAGS = tuple(f"has_{k}" for k in COMPONENTS)
GROUP_KEYS = ("grid", "covered", "in_building", "priority", *FLAGS, "label", *DETAIL_GROUPS)


@dataclass(frozen=True, eq=False)
class PartitionJob:
    """Everything one partition needs. Layers are halo subsets (see plan.py): cameras in
    EPSG:4326 indexed by global camera position; buildings, roads, sites, incidents in the
    metric ``crs`` (None when the analysis has no such layer); ``grids``: the grid polygons
    near the region (EPSG:4326) with ``gidx`` (global row) and ``code``. ``part`` None:
    views only (cameras that reach no partition)."""

    key: str
    part: Partition | None
    res: int
    crs: pyproj.CRS
    config: AnalysisConfig
    weights: dict[str, Any]
    area: BaseGeometry | None
    cameras: gpd.GeoDataFrame
    owned: np.ndarray
    buildings: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    incidents: gpd.GeoDataFrame | None = None
    grids: gpd.GeoDataFrame | None = None
    declared: gpd.GeoDataFrame | None = None  # cameras declaring PositionType 8/9/10 (metric)
    out_dir: str | None = None
    gather_limit: int = 100_000
    cells_cache: str | None = None


@dataclass(frozen=True, eq=False)
class PartitionOutput:
    """Small aggregates of one partition (tables keyed by the local blind cluster ``label``)."""

    key: str
    n_cells: int
    n_cameras: int
    n_buildings: int
    cam_index: np.ndarray
    cells_seen: np.ndarray
    groups: pd.DataFrame
    clusters: pd.DataFrame
    outlines: np.ndarray
    cluster_grid: pd.DataFrame
    border: pd.DataFrame
    links: pd.DataFrame
    gathered: pd.DataFrame
    cells_path: str | None
    views_path: str | None
    seconds: dict[str, float] = field(default_factory=dict)
    rss_mb: float = 0.0


def _rss_mb() -> float:
    try:
        import psutil

        return float(psutil.Process(os.getpid()).memory_info().rss) / 2**20
    except ImportError:  # pragma: no cover - psutil ships with distributed
        return float("nan")


def _cells(job: PartitionJob) -> Cells:
    if job.cells_cache is not None and os.path.exists(job.cells_cache):
        with np.load(job.cells_cache) as z:
            h, lon, lat, x, y, area = (z[k] for k in ("h3", "lon", "lat", "x", "y", "area_m2"))
        cells = make_cells(job.res, h, lon, lat, x, y, area, job.crs)
        os.remove(job.cells_cache)
    else:
        ids = np.empty(0, np.int64)
        if job.part is not None and job.area is not None:
            ids = partition_cells(job.area, job.part, job.res)
        cells = cells_from_ids(ids, job.crs)
    if job.part is not None and len(cells):
        shapely.prepare(job.part.region)
        if not shapely.contains_xy(job.part.region, cells.x, cells.y).all():
            raise RuntimeError(
                f"partition {job.key}: a cell centroid lies outside the partition region; "
                "the halo would be incomplete (report this as a gridcover bug)."
            )
    return cells


def _empty_views(job: PartitionJob) -> gpd.GeoDataFrame:
    cols = ["camera_id", "type", "status", "azimuth_deg", "fov_deg", "range_m", "snapped"]
    return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=job.crs)


def _views(job: PartitionJob) -> gpd.GeoDataFrame:
    if len(job.cameras) == 0:
        return _empty_views(job)
    return compute_views(job.cameras, job.buildings, job.config, job.crs)


def _cell_grid(job: PartitionJob, cells: Cells) -> np.ndarray:
    if job.grids is None or len(job.grids) == 0 or len(cells) == 0:
        return np.full(len(cells), -1, dtype=np.int64)
    g = job.grids
    local = locate_points(
        np.asarray(g.geometry.values), g["level"].to_numpy(np.int64), cells.lon, cells.lat
    )
    gidx = g["gidx"].to_numpy(np.int64)
    return np.where(local >= 0, gidx[np.maximum(local, 0)], -1)


def _groups(
    cells: Cells, cov: Any, prio: Priority, grid: np.ndarray, label: np.ndarray, detail: dict
) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "grid": grid,
            "covered": cov.covered,
            "in_building": prio.in_building,
            "priority": prio.priority,
            **{
                f: np.asarray(prio.components[k]) > 0
                for f, k in zip(FLAGS, COMPONENTS, strict=True)
            },
            "label": label,
            **detail,
            "count": np.ones(len(cells), np.int64),
            "area": cells.area_m2,
            "weight": prio.weight,
        }
    )
    return df.groupby(list(GROUP_KEYS), sort=True).sum().reset_index()


def _cells_table(
    job: PartitionJob,
    cells: Cells,
    cov: Any,
    prio: Priority,
    grid: np.ndarray,
    label: np.ndarray,
    detail: dict[str, Any],
) -> Any:
    """The cells part as an Arrow table (``detail``: 3D detail columns, after the geometry).
    Points are encoded from lon/lat without shapely objects (``point_table``)."""
    codes = job.grids["code"].astype(str).to_numpy() if job.grids is not None else np.empty(0)
    gidx = job.grids["gidx"].to_numpy(np.int64) if job.grids is not None else np.empty(0, np.int64)
    pos = np.searchsorted(gidx, grid)
    grid_code = np.full(len(cells), None, dtype=object)
    has = grid >= 0
    grid_code[has] = codes[pos[has]]
    # blind_spot: local label + 1; finish_partition writes the global rank
    cols = cell_columns(grid_code, cov, prio, label + 1)
    if job.config.cell_geometry == "point":
        base = {"h3": cells.hex_ids(), "cell": cells.h3, "lon": cells.lon, "lat": cells.lat}
        before = base | {"area_m2": cells.area_m2, **cols}
        return points_table(before, cells.lon, cells.lat, detail)
    gdf = cells.to_geodataframe(job.config.cell_geometry, **cols).assign(**detail)
    return _geopandas_to_arrow(gdf, index=False, write_covering_bbox=True)


def _views_table(
    views: gpd.GeoDataFrame, counted: np.ndarray, seen: np.ndarray
) -> gpd.GeoDataFrame:
    out = views.drop(columns=[c for c in ("x_m", "y_m") if c in views.columns]).copy()
    out = out.assign(counted=counted, cells_seen=seen, view_area_m2=views.geometry.area.values)
    # as out.to_crs("EPSG:4326"), coordinate for coordinate, with a cached transformer
    geoms = np.asarray(out.geometry.values)
    xy = shapely.get_coordinates(geoms)
    lon, lat = transformer(views.crs, "EPSG:4326").transform(xy[:, 0], xy[:, 1])
    lonlat = shapely.set_coordinates(geoms.copy(), np.c_[lon, lat])
    out[out.geometry.name] = gpd.GeoSeries(lonlat, index=out.index, crs="EPSG:4326")
    return out


def run_partition(job: PartitionJob) -> PartitionOutput:
    """Compute one partition; write its cells and owned views; return small aggregates."""
    sec: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        sec[name] = now - t
        t = now

    weights = weights_from_state(job.weights)
    cells = _cells(job)
    lap("cells")
    cfg = job.config
    v3 = None
    if cfg.visibility == "3d":  # the 3D model among the partition's buildings
        h_t = cfg.target_height_m
        v3 = views_3d(job.cameras, job.buildings if cfg.occlusion else None, None, job.crs, cfg)
    views = _views(job) if v3 is None else v3.views
    lap("views")
    counted = camera_counted(
        views["status"].to_numpy(),
        include_offline=cfg.include_offline,
        unknown_online=cfg.unknown_online,
    )
    detail: DetailCoverage | None = None
    if v3 is not None:
        cov, detail = cover_3d(v3, cells, target_height_m=h_t, include_offline=cfg.include_offline,
                               unknown_online=cfg.unknown_online, threads=cfg.threads)  # fmt: skip
        ki = cov.camera_idx
    else:
        ci, ki = cover_pairs(
            np.asarray(views.geometry.values),
            cells.x,
            cells.y,
            threads=cfg.threads,
            tree=cells.tree,
            sectors=Sectors.from_views(views),
        )
        cov = cover_cells(len(cells), ci, ki, counted)
    seen = np.bincount(ki, minlength=len(views)).astype(np.int64)
    lap("cover")
    prio = priority_from_layers(
        cells,
        roads=job.roads,
        sites=job.sites,
        incidents=job.incidents,
        buildings=job.buildings,
        weights=weights,
        cameras=job.declared,
    )
    grid = _cell_grid(job, cells)
    lap("priority")
    blind, required = blind_cells(prio, cov.covered, detail, weights.detail_targets)
    parent = (job.part.parent, job.part.parent_res) if job.part is not None else (-1, 0)
    bt = local_blind_spots(cells, blind, prio.weight, grid, parent, job.gather_limit)
    dg = detail_groups(detail, required, len(cells))
    groups = _groups(cells, cov, prio, grid, bt["cell_label"], dg)
    lap("blind spots")
    cells_path = views_path = None
    if job.out_dir is not None:
        if len(cells):
            cells_path = str(Path(job.out_dir) / "cells" / f"{job.key}.parquet")
            dcols = {} if detail is None else detail_columns(detail, required)
            table = _cells_table(job, cells, cov, prio, grid, bt["cell_label"], dcols)
            _write_arrow(table, cells_path)
        owned = np.asarray(job.owned, bool)
        if owned.any():
            views_path = str(Path(job.out_dir) / "views" / f"{job.key}.parquet")
            vt = _views_table(views[owned], counted[owned], seen[owned])
            _write_arrow(_geopandas_to_arrow(vt, index=None, write_covering_bbox=True), views_path)
    lap("write")
    keep = seen > 0
    return PartitionOutput(
        key=job.key,
        n_cells=len(cells),
        n_cameras=len(views),
        n_buildings=0 if job.buildings is None else len(job.buildings),
        cam_index=np.asarray(job.cameras.index, dtype=np.int64)[keep],
        cells_seen=seen[keep],
        groups=groups,
        clusters=bt["clusters"],
        outlines=bt["outlines"],
        cluster_grid=bt["cluster_grid"],
        border=bt["border"],
        links=bt["links"],
        gathered=bt["gathered"],
        cells_path=cells_path,
        views_path=views_path,
        seconds=sec,
        rss_mb=_rss_mb(),
    )


def prepass_partition(
    area: BaseGeometry,
    part: Partition,
    res: int,
    crs: pyproj.CRS,
    incident_areas: np.ndarray | None = None,
    cache: str | None = None,
) -> np.ndarray:
    """Per area incident, the area in m² of its cells owned by the partition (what the
    incident shares need).

    ``incident_areas``: incident polygons in the metric ``crs`` (a cell is an incident's when
    the polygon contains its centroid, as in priority); ``cache``: save the cells there
    (``.npz``) for ``run_partition``, which then does not compute them again."""
    cells = cells_from_ids(partition_cells(area, part, res), crs)
    if cache is not None:
        arrays = {k: getattr(cells, k) for k in ("h3", "lon", "lat", "x", "y", "area_m2")}
        np.savez(cache, **arrays)
    polys = np.asarray(incident_areas if incident_areas is not None else [], dtype=object)
    inside: np.ndarray = np.zeros(polys.size)
    if polys.size and len(cells):
        pairs = shapely.STRtree(cells.points()).query(polys, predicate="contains")
        inside = np.bincount(pairs[0], weights=cells.area_m2[pairs[1]], minlength=polys.size)
    return inside


def scratch_path(path: str | Path) -> Path:
    """Where the part that ``finish_partition`` writes at ``path`` (``out/<kind>/<key>.parquet``)
    waits as Arrow IPC: ``out/_scratch/<kind>/<key>.arrow``."""
    p = Path(path)
    return p.parent.parent / "_scratch" / p.parent.name / f"{p.stem}.arrow"


def _write_arrow(table: Any, path: str) -> None:
    """The Arrow ``table`` of the part at ``path`` (the table ``to_parquet`` would write,
    GeoParquet metadata included), stored uncompressed at ``scratch_path(path)``."""
    import pyarrow.feather as feather

    dest = scratch_path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    feather.write_feather(table, str(dest), compression="uncompressed")


def finish_partition(
    cells_path: str | None,
    rank_of_label: np.ndarray,
    views_path: str | None,
    cells_seen: np.ndarray | None,
) -> None:
    """Write a partition's parts (GeoParquet) with global blind-spot ranks and per-camera
    cell counts, from their scratch tables.

    ``rank_of_label[label]``: global rank (1 = heaviest) of each local cluster;
    ``cells_seen``: per owned camera (in the order of the views part), cells seen overall.
    """
    if cells_path is not None:
        ranks = np.r_[0, np.asarray(rank_of_label, np.int64)]
        _finish_part(cells_path, "blind_spot", lambda local: ranks[local])
    if views_path is not None and cells_seen is not None:
        seen = np.asarray(cells_seen, np.int64)
        _finish_part(views_path, "cells_seen", lambda _old: seen)


def _finish_part(path: str, name: str, new: Any) -> None:
    """Write the scratch table of ``path`` as Parquet with one int64 column replaced (schema
    and GeoParquet metadata kept), then drop the scratch file."""
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    src = scratch_path(path)
    table = feather.read_table(str(src), memory_map=True)
    i = table.schema.get_field_index(name)
    values = new(table.column(i).to_numpy().astype(np.int64))
    table = table.set_column(i, table.schema.field(i), pa.array(values, pa.int64()))
    pq.write_table(table, path)
    del table
    src.unlink()
