"""Merging the small per-partition aggregates into the tables of a whole analysis.

**Blind spots across partition edges.** Each partition clusters its own blind cells
(``gaps.cluster_cells``) and returns, per local cluster, its weight, area, cell count,
smallest cell id and outline, plus its *border* cells (blind cells with an H3 neighbour
owned by another partition) and those neighbours. Two local clusters are one blind spot
when a border cell of one is an H3 neighbour of a border cell of the other; the blind
spots are the connected components of that graph, which is exactly H3 adjacency over the
union of all blind cells. A blind spot lying in one partition keeps the partition's
figures, computed from the same cells in the same order as the single machine (bit for
bit). A blind spot spanning partitions is recomputed from its cells when every piece was
small enough to be sent (``gather_limit``), again bit for bit; otherwise its weight and
area are the sums of the pieces' sums (float summation order differs: relative error
≈ 1e-16 per piece) and its outline the union of the pieces' outlines.

**Per-grid statistics** come from ``stats.grid_statistics`` run on one pseudo-cell per
(grid, covered, in building, priority, component flags, blind spot): the function reads
nothing else of a cell, so the figures are the same sums, added in a different order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from gridcover.coverage.cover import camera_counted
from gridcover.coverage.detail import level_statistics, level_summary, pseudo_detail
from gridcover.coverage.distributed.blind import outline
from gridcover.coverage.distributed.nearest import add_nearest_cameras
from gridcover.coverage.distributed.shared import make_cells
from gridcover.coverage.distributed.worker import (
    FLAGS,
    GROUP_KEYS,
    PartitionOutput,
)
from gridcover.coverage.gaps import add_nearest
from gridcover.coverage.priority import COMPONENTS
from gridcover.coverage.stats import grid_statistics, index_grids

__all__ = ["MergedBlindSpots", "merge_blind_spots", "merge_grid_stats", "merge_summary"]


@dataclass(frozen=True, eq=False)
class MergedBlindSpots:
    """The global blind-spot table and, per partition output, local label -> global rank.

    ``spanning``: blind spots with cells in more than one partition; ``approximate``: how
    many of them were merged from partial sums (not recomputed from their cells)."""

    table: gpd.GeoDataFrame
    rank_of: list[np.ndarray]
    spanning: int
    approximate: int


def _seq_sum(values: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """Per group, the sum of ``values`` added one by one in array order (as bincount does)."""
    return np.bincount(groups, weights=values, minlength=k)


def _components(outputs: Sequence[PartitionOutput]) -> tuple[np.ndarray, np.ndarray, int]:
    sizes = np.array([len(o.clusters) for o in outputs], dtype=np.int64)
    offset = np.r_[0, np.cumsum(sizes)]
    n = int(offset[-1])
    bc = np.concatenate([o.border["cell"].to_numpy(np.int64) for o in outputs] + [[]]).astype(
        np.int64
    )
    bn = np.concatenate(
        [o.border["label"].to_numpy(np.int64) + offset[i] for i, o in enumerate(outputs)] + [[]]
    ).astype(np.int64)
    ln = np.concatenate(
        [o.links["label"].to_numpy(np.int64) + offset[i] for i, o in enumerate(outputs)] + [[]]
    ).astype(np.int64)
    lc = np.concatenate([o.links["neighbor"].to_numpy(np.int64) for o in outputs] + [[]]).astype(
        np.int64
    )
    order = np.argsort(bc)
    bc, bn = bc[order], bn[order]
    pos = np.clip(np.searchsorted(bc, lc), 0, max(bc.size - 1, 0))
    hit = (bc[pos] == lc) if bc.size else np.zeros(lc.size, bool)
    graph = sparse.coo_matrix(
        (np.ones(int(hit.sum()), np.int8), (ln[hit], bn[pos[hit]])), shape=(n, n)
    )
    k, comp = connected_components(graph, directed=False)
    return comp.astype(np.int64), offset, int(k)


def _exact_cells(
    outputs: Sequence[PartitionOutput], comp: np.ndarray, offset: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The gathered cells of the blind spots marked in ``keep`` (by component), as arrays
    sorted by cell id (stable: partitions in order): component, cell, weight, area, grid.
    Only the kept rows of each partition are copied, once, straight into the result."""
    picks = []
    for i, o in enumerate(outputs):
        if len(o.gathered):
            c = comp[o.gathered["label"].to_numpy(np.int64) + offset[i]]
            picks.append((o.gathered, c, np.flatnonzero(keep[c])))
    n = sum(p[2].size for p in picks)
    out = [np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n), np.empty(n)]
    out.append(np.empty(n, np.int64))
    at = 0
    for gat, c, rows in picks:
        end = at + rows.size
        out[0][at:end] = c[rows]
        for j, name in enumerate(("cell", "weight", "area", "grid"), start=1):
            out[j][at:end] = gat[name].to_numpy()[rows]
        at = end
    order = np.argsort(out[1], kind="stable")
    return tuple(a[order] for a in out)


def merge_blind_spots(
    outputs: Sequence[PartitionOutput],
    *,
    grid_codes: np.ndarray,
    crs: pyproj.CRS,
    cameras: pd.DataFrame | None,
    posts: gpd.GeoDataFrame | None,
    counted: np.ndarray | None = None,
) -> MergedBlindSpots:
    """Global ranked blind spots from the partitions' local clusters (see module doc).

    ``cameras``: a ``nearest.camera_table``; ``counted``: per camera row, True when it
    counts towards coverage (default: ``cover.camera_counted`` of its status, as
    ``gaps.add_nearest``).
    """
    comp, offset, k = _components(outputs)
    cl = pd.concat([o.clusters for o in outputs], ignore_index=True)
    outl = np.concatenate([o.outlines for o in outputs] + [np.empty(0, object)])
    pieces = np.bincount(comp, minlength=k)
    w = _seq_sum(cl["weight"].to_numpy(float), comp, k)
    area = _seq_sum(cl["area"].to_numpy(float), comp, k)
    count = np.bincount(comp, weights=cl["cells"].to_numpy(float), minlength=k).astype(np.int64)
    min_cell = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(min_cell, comp, cl["min_cell"].to_numpy(np.int64))
    geoms = np.empty(k, dtype=object)
    single = pieces[comp] == 1
    geoms[comp[single]] = outl[single]
    cg = pd.concat(
        [o.cluster_grid.assign(c=o.cluster_grid["c"] + offset[i]) for i, o in enumerate(outputs)],
        ignore_index=True,
    )
    cg["c"] = comp[cg["c"].to_numpy(np.int64)] if len(cg) else cg["c"]
    multi = np.flatnonzero(pieces > 1)
    approx = 0
    if multi.size:
        gathered = cl["gathered"].to_numpy(bool)
        all_gathered = np.bincount(comp, weights=~gathered, minlength=k) == 0
        exact = multi[all_gathered[multi]]
        approx = int(multi.size - exact.size)
        is_exact = np.zeros(k, bool)
        is_exact[exact] = True
        cid, cell, gw, ga, gg = _exact_cells(outputs, comp, offset, is_exact)
        # exact: the cluster's cells in ascending id order, summed as the single machine does
        w[exact] = _seq_sum(gw, cid, k)[exact]
        area[exact] = _seq_sum(ga, cid, k)[exact]
        by_c = np.argsort(cid, kind="stable")  # per cluster, its cells still in id order
        bounds = np.flatnonzero(np.diff(cid[by_c])) + 1
        for run in np.split(by_c, bounds) if by_c.size else []:
            geoms[int(cid[run[0]])] = outline(cell[run])
        ok = gg >= 0
        exact_cg = pd.DataFrame({"c": cid[ok], "g": gg[ok], "a": ga[ok]})
        exact_cg = exact_cg.groupby(["c", "g"], sort=True)["a"].sum().reset_index()
        cg = pd.concat([cg[~np.isin(cg["c"].to_numpy(), exact)], exact_cg], ignore_index=True)
        for c in multi[~all_gathered[multi]]:
            geoms[c] = shapely.union_all(outl[comp == c])
    cg = cg.groupby(["c", "g"], sort=True)["a"].sum().reset_index()
    ranking = np.lexsort((min_cell, -area, -w))
    rank_of_comp = np.empty(k, np.int64)
    rank_of_comp[ranking] = np.arange(1, k + 1)
    cg["c"] = rank_of_comp[cg["c"].to_numpy(np.int64)] if len(cg) else cg["c"]
    main = np.full(k, None, dtype=object)
    if len(cg):
        best = cg.sort_values(["c", "a", "g"], ascending=[True, False, True])
        best = best.drop_duplicates("c")
        main[best["c"].to_numpy() - 1] = np.asarray(grid_codes)[best["g"].to_numpy()]
    table = gpd.GeoDataFrame(
        {
            "blind_spot": np.arange(1, k + 1),
            "grid_code": main,
            "weight": w[ranking],
            "area_m2": area[ranking],
            "cells": count[ranking],
        },
        geometry=geoms[ranking] if k else gpd.GeoSeries([], crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    add_nearest(table, None, posts, crs)  # the posts; the camera columns are set next
    if cameras is not None:
        if counted is None:
            counted = (
                camera_counted(cameras["status"].to_numpy())
                if "status" in cameras.columns
                else np.ones(len(cameras), bool)
            )
        add_nearest_cameras(table, cameras, crs, counted)
    rank_node = rank_of_comp[comp] if k else np.empty(0, np.int64)
    rank_of = [rank_node[offset[i] : offset[i + 1]] for i in range(len(outputs))]
    return MergedBlindSpots(table, rank_of, int(multi.size), approx)


def pseudo_cells(outputs: Sequence[PartitionOutput], rank_of: Sequence[np.ndarray]) -> pd.DataFrame:
    """One row per (grid, covered, in building, priority, flags, blind spot rank): count,
    area and weight sums over the cells of every partition."""
    frames = []
    for o, ranks in zip(outputs, rank_of, strict=True):
        g = o.groups.copy()
        lab = g["label"].to_numpy(np.int64)
        g["label"] = np.where(lab >= 0, np.r_[ranks, 0][np.where(lab >= 0, lab, -1)], 0)
        frames.append(g)
    if not frames:
        return pd.DataFrame(columns=[*GROUP_KEYS, "count", "area", "weight"])
    df = pd.concat(frames, ignore_index=True)
    return df.groupby(list(GROUP_KEYS), sort=True).sum().reset_index()


def merge_grid_stats(
    pseudo: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    *,
    res: int,
    crs: pyproj.CRS,
    camera_grid: np.ndarray,
    camera_status: np.ndarray,
    targets: Mapping[str, float],
    levels: bool = False,
) -> gpd.GeoDataFrame:
    """``stats.grid_statistics`` over the pseudo-cells (grids: EPSG:4326, index 0..n-1);
    ``levels``: add the per-level columns of a 3D run (``detail.level_statistics``)."""
    n = len(pseudo)
    z = np.zeros(n)
    cells = make_cells(
        res, np.arange(n, dtype=np.int64), z, z, z, z, pseudo["area"].to_numpy(), crs
    )
    e = np.empty(0)
    empty = make_cells(res, np.empty(0, np.int64), e, e, e, e, e, crs)
    index = replace(index_grids(grids, empty), cell_grid=pseudo["grid"].to_numpy(np.int64))
    stats = grid_statistics(
        index,
        cells,
        covered=pseudo["covered"].to_numpy(bool),
        weight=pseudo["weight"].to_numpy(float),
        components={k: pseudo[f].to_numpy(float) for f, k in zip(FLAGS, COMPONENTS, strict=True)},
        in_building=pseudo["in_building"].to_numpy(bool),
        blind_cluster=pseudo["label"].to_numpy(np.int64),
        camera_grid=camera_grid,
        camera_status=camera_status,
        targets=targets,
    )
    if not levels:
        return stats
    det = pseudo_detail(pseudo["detail_level"].to_numpy(), pseudo["night_detail_level"].to_numpy())
    lv = level_statistics(index, cells.area_m2, pseudo["weight"].to_numpy(float), det)
    return stats.assign(**{c: lv[c].to_numpy() for c in lv.columns})


def merge_summary(
    pseudo: pd.DataFrame,
    stats: gpd.GeoDataFrame,
    spots: gpd.GeoDataFrame,
    *,
    base: Mapping[str, Any],
    status: np.ndarray,
    counted: np.ndarray,
    camera_grid: np.ndarray,
) -> dict[str, Any]:
    """The run summary (the keys of ``AnalysisResult.summary``) from the pseudo-cells."""
    a = pseudo["area"].to_numpy(float)
    wt = pseudo["weight"].to_numpy(float)
    cov = pseudo["covered"].to_numpy(bool)
    open_ = ~pseudo["in_building"].to_numpy(bool)
    n_status = pd.Series(pd.Categorical(status)).value_counts()  # no string per camera

    def pct(num: float, den: float) -> float:
        return float(100.0 * num / den) if den > 0 else float("nan")

    out = {
        "res": base["res"],
        "metric_crs": base["metric_crs"],
        "cells": int(pseudo["count"].sum()),
        "area_m2": float(a.sum()),
        "covered_m2": float(a[cov].sum()),
        "covered_pct": pct(a[cov].sum(), a.sum()),
        "open_area_m2": float(a[open_].sum()),
        "open_covered_pct": pct(a[open_ & cov].sum(), a[open_].sum()),
        "priority_cells": int(pseudo["count"][pseudo["priority"].to_numpy(bool)].sum()),
        "priority_weighted_pct": pct(wt[cov].sum(), wt.sum()),
        "cameras": len(status),
        "cameras_online": int(n_status.get("online", 0)),
        "cameras_offline": int(n_status.get("offline", 0)),
        "cameras_unknown": len(status)
        - int(n_status.get("online", 0) + n_status.get("offline", 0)),
        "cameras_counted": int(np.asarray(counted, bool).sum()),
        "cameras_outside_grids": int((np.asarray(camera_grid) < 0).sum()),
        "blind_spots": len(spots),
        "blind_spot_area_m2": float(spots["area_m2"].sum()) if len(spots) else 0.0,
        "blind_spot_weight": float(spots["weight"].sum()) if len(spots) else 0.0,
        "grids": len(stats),
        "grids_missing_targets": int((~stats["targets_met"]).sum()),
    }
    out.update({k: base[k] for k in ("occlusion", "uniform_priority", "weights")})
    if base.get("visibility") == "3d":  # the same keys, in the same order, as a 3D run
        det = pseudo_detail(
            pseudo["detail_level"].to_numpy(), pseudo["night_detail_level"].to_numpy()
        )
        req = pseudo["required_level"].to_numpy()
        out |= {"visibility": "3d", "target_height_m": float(base["target_height_m"])}
        out |= level_summary(a, wt, det, req, counts=pseudo["count"].to_numpy())
    return out
