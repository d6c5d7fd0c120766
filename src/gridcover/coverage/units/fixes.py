"""Suggested fixes of work units: repair an offline camera, or one or two new cameras.

*Repair*: a camera that does not count (offline, or whatever the run leaves out) whose view
already holds the centroid of every cell of the unit closes it when repaired.

*New cameras*: candidate poles in the unit's neighbourhood (its own cells' centroids, evenly
thinned to ``candidate_points``, and the road intersections within ``near_m``), each with
``azimuths`` bullet directions and one 360° dome (``siting.candidates.camera_candidates``),
seen through the same view engine as the analysis (occlusion by the run's buildings,
``analysis.compute_views`` + ``cover.cover_pairs``). Candidates inside a building or on an
excluded road class (motorway by default) are dropped. The best one camera, else the best
pair (exact: every pair is evaluated), by the unit's weight they cover; ties prefer fewer
cameras, then bullets. 3D (catalogue models with prices): of the singles and pairs that
see the most weight, the cheapest (ties: one camera, then not a dome). A fix ``closes``
the unit when it covers every one of its cells.
With detail levels (3D run) "covers" means "sees at the cell's required level", for
repairs and new cameras alike, and the new cameras are the camera catalogue's models, named
with their price (``levels``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridcover.coverage.analysis import AnalysisState, compute_views
from gridcover.coverage.cover import Sectors, cover_pairs
from gridcover.coverage.siting.candidates import camera_candidates
from gridcover.coverage.siting.catalogue import Catalogue
from gridcover.coverage.units.levels import LEVEL_NAMES, level_candidates, level_pairs
from gridcover.errors import InputError

__all__ = ["Fix", "fix_cost", "fix_text", "new_cameras", "repairs"]


@dataclass(frozen=True)
class Fix:
    """A unit's suggested fix: ``action`` "repair" or "new"; ``cameras``: camera rows
    (EPSG:4326 canonical rows; for a repair the existing camera's id); ``closed_weight``;
    ``closes``: every cell of the unit covered."""

    action: str
    cameras: tuple[dict[str, object], ...]
    closed_weight: float
    closes: bool


def repairs(
    state: AnalysisState,
    unit_of_cell: np.ndarray,
    n_units: int,
    cells_per_unit: np.ndarray,
    pair_ok: np.ndarray | None = None,
) -> dict[int, str]:
    """Unit -> id of a not-counted camera that covers all its cells (ties by camera order).
    ``pair_ok``: per coverage pair, whether it counts (3D: the camera reaches the cell's
    required level, ``levels.repair_pair_ok``); None: every pair."""
    cov = state.coverage
    off = ~cov.counted[cov.camera_idx]
    if pair_ok is not None:
        off = off & pair_ok
    u = unit_of_cell[cov.cell_idx]
    sel = off & (u >= 0)
    if not sel.any():
        return {}
    df = pd.DataFrame({"u": u[sel], "c": cov.camera_idx[sel]}).drop_duplicates()
    n = df.groupby(["u", "c"]).size().rename("n").reset_index()
    full = n[n["n"].to_numpy() == cells_per_unit[n["u"].to_numpy()]]
    full = full.sort_values(["u", "c"]).drop_duplicates("u")
    ids = state.cameras["camera_id"].astype(str).to_numpy()
    return {int(a): str(ids[b]) for a, b in zip(full["u"], full["c"], strict=True)}


def _thin(idx: np.ndarray, k: int) -> np.ndarray:
    if idx.size <= k:
        return idx
    return idx[np.unique(np.linspace(0, idx.size - 1, k).round().astype(np.int64))]


def _candidate_sites(
    state: AnalysisState,
    units: list[np.ndarray],
    excluded: np.ndarray,
    *,
    candidate_points: int,
    near_m: float,
) -> gpd.GeoDataFrame:
    cells = state.cells
    nodes = state.priority.intersections_xy
    rows_x, rows_y, owner = [], [], []
    for u, idx in enumerate(units):
        pick = _thin(idx, candidate_points)
        x, y = cells.x[pick], cells.y[pick]
        if len(nodes):
            d = np.hypot(nodes[:, None, 0] - cells.x[idx][None], nodes[:, None, 1] - cells.y[idx])
            near = np.flatnonzero(d.min(axis=1) <= near_m)[:6]
            x, y = np.r_[x, nodes[near, 0]], np.r_[y, nodes[near, 1]]
        rows_x.append(x)
        rows_y.append(y)
        owner.append(np.full(x.size, u))
    x, y, o = np.concatenate(rows_x), np.concatenate(rows_y), np.concatenate(owner)
    pts = shapely.points(x, y)
    bad = np.zeros(x.size, bool)
    if len(excluded):
        bad[shapely.STRtree(excluded).query(pts, predicate="intersects")[0]] = True
    sites = gpd.GeoDataFrame(
        {"site_id": [f"u{a}-{i}" for i, a in enumerate(o)], "unit": o},
        geometry=pts,
        crs=state.crs,
    )
    return sites[~bad].reset_index(drop=True)


def new_cameras(
    state: AnalysisState,
    units: list[np.ndarray],
    weight: np.ndarray,
    excluded: np.ndarray,
    *,
    candidate_points: int = 10,
    near_m: float = 30.0,
    azimuths: int = 8,
    max_new: int = 2,
    required: np.ndarray | None = None,
    catalogue: Catalogue | None = None,
) -> list[Fix | None]:
    """Per unit (analysed-cell indexes), the best 1..``max_new`` new cameras (see module doc).

    ``excluded``: metric polygons where no camera may stand (buildings, buffered excluded
    roads). None where no candidate sees any of the unit's cells. ``required``: per analysed
    cell, the detail level a camera must reach there (a 3D run; candidates are then the
    sites fitted with each model of ``catalogue``, seen by ``levels.level_pairs``; the
    cheapest of the best, see module doc); None: 2D views.
    """
    if not units:
        return []
    sites = _candidate_sites(
        state, units, excluded, candidate_points=candidate_points, near_m=near_m
    )
    out: list[Fix | None] = [None] * len(units)
    if len(sites) == 0:
        return out
    if required is None:
        cands = camera_candidates(sites, azimuths=azimuths, dome=True)
    else:
        if catalogue is None:
            raise InputError("A 3D unit fix needs a camera catalogue (siting.load_catalogue).")
        cands = level_candidates(sites, catalogue, azimuths)
    cands["unit"] = sites["unit"].to_numpy()[
        pd.Index(sites["site_id"]).get_indexer(cands["site_id"])
    ]
    all_idx = np.concatenate(units)
    unit_of = np.repeat(np.arange(len(units)), [u.size for u in units])
    if required is None:
        walls = state.walls if state.walls is not None else state.buildings
        views = compute_views(cands, walls, state.config, state.crs).reset_index(drop=True)
        ci, ki = cover_pairs(
            np.asarray(views.geometry.values),
            state.cells.x[all_idx],
            state.cells.y[all_idx],
            sectors=Sectors.from_views(views),
        )
    else:
        ci, ki = level_pairs(state, cands, all_idx, required)
    cand_unit = cands["unit"].to_numpy()
    same = unit_of[ci] == cand_unit[ki]
    ci, ki = ci[same], ki[same]
    starts = np.r_[0, np.cumsum([u.size for u in units])]
    order = np.argsort(cand_unit[ki], kind="stable")
    ci, ki = ci[order], ki[order]
    bounds = np.searchsorted(cand_unit[ki], np.arange(len(units) + 1))
    is_dome = cands["type"].to_numpy() == "dome"
    price = cands["price"].to_numpy(float) if "price" in cands else np.zeros(len(cands))
    for u in range(len(units)):
        c_i, k_i = ci[bounds[u] : bounds[u + 1]], ki[bounds[u] : bounds[u + 1]]
        if c_i.size == 0:
            continue
        local_k, col = np.unique(k_i, return_inverse=True)
        m = np.zeros((units[u].size, local_k.size), bool)
        m[c_i - starts[u], col] = True
        w = weight[units[u]]
        total = float(w.sum())
        single = w @ m
        if required is not None:  # catalogue models: the most weight, then the cheapest
            best, value = _cheapest(single, m, w, price[local_k], is_dome[local_k], max_new)
        else:
            best = [int(np.lexsort((is_dome[local_k], -single))[0])]
            value = float(single[best[0]])
            if value < total - 1e-9 and max_new >= 2 and local_k.size > 1:
                # pair[i, j] = weight seen by i + weight seen by j and not by i
                pair = single[:, None] + (~m).T.astype(float) @ (w[:, None] * m)
                np.fill_diagonal(pair, -1.0)
                i, j = np.unravel_index(int(np.argmax(pair)), pair.shape)
                if pair[i, j] > value + 1e-9:
                    best, value = [int(i), int(j)], float(pair[i, j])
        chosen = cands.iloc[local_k[best]].drop(columns=["unit"])
        chosen["mounting"] = _mounting(state, chosen)
        rows = chosen.to_crs("EPSG:4326")
        cams = tuple(
            {**r.drop(labels="geometry").to_dict(), "lon": r.geometry.x, "lat": r.geometry.y}
            for _, r in rows.iterrows()
        )
        out[u] = Fix("new", cams, value, bool(value >= total - 1e-9))
    return out


def _cheapest(
    single: np.ndarray,
    seen: np.ndarray,
    w: np.ndarray,
    cost: np.ndarray,
    dome: np.ndarray,
    max_new: int,
) -> tuple[list[int], float]:
    """(candidate columns, weight) of the cheapest set of 1..``max_new`` candidates that
    sees the most of the unit's weight ``w`` (``seen``: cells x candidates; ``single``: the
    weight each sees; ``cost``: price each); ties prefer one camera, then not a dome."""
    top = float(single.max())
    pair = None
    if max_new >= 2 and single.size > 1:
        # pair[i, j] = weight seen by i or j (symmetric)
        pair = single[:, None] + (~seen).T.astype(float) @ (w[:, None] * seen)
        np.fill_diagonal(pair, -1.0)
        top = max(top, float(pair.max()))
    ok = np.flatnonzero(single >= top - 1e-9)
    best: list[int] = []
    spend = np.inf
    if ok.size:
        i = int(ok[np.lexsort((dome[ok], cost[ok]))[0]])
        best, spend = [i], float(cost[i])
    if pair is not None:
        pi, pj = np.nonzero(np.triu(pair >= top - 1e-9, 1))
        if pi.size:
            pc = cost[pi] + cost[pj]
            k = int(np.argmin(pc))
            if pc[k] < spend - 1e-9:
                best = [int(pi[k]), int(pj[k])]
    return best, top


def _mounting(state: AnalysisState, rows: gpd.GeoDataFrame) -> list[str]:
    """ "wall" for a candidate within 5 m of a building outline, else "pole" (new pole)."""
    if state.buildings is None or len(state.buildings) == 0:
        return ["pole"] * len(rows)
    pts = np.asarray(rows.to_crs(state.crs).geometry.values)
    tree = shapely.STRtree(np.asarray(state.buildings.geometry.values))
    near = tree.query(pts, predicate="dwithin", distance=5.0)[0]
    return ["wall" if i in set(near.tolist()) else "pole" for i in range(len(rows))]


def fix_cost(f: Fix | None) -> float:
    """What the new cameras of a fix cost (their catalogue ``price`` summed, in the
    catalogue's currency); NaN for no fix, a repair, or cameras without a price (2D run)."""
    if f is None or f.action != "new":
        return float("nan")
    prices = pd.to_numeric(pd.Series([c.get("price") for c in f.cameras]), errors="coerce")
    return float(prices.to_numpy(float).sum())


def fix_text(f: Fix | None, level: int = 0, currency: str = "CNY") -> str:
    """The fix in words; ``level``: the unit's required detail level (0: a 2D run); a
    catalogue camera is named with its model and unit price (``currency``)."""
    if f is None:
        return ""
    part = "every cell" if f.closes else "part of the unit"
    to = f" (reaches {LEVEL_NAMES[level]} on {part})" if level else ""
    if f.action == "repair":
        return f"repair camera {f.cameras[0]['camera_id']}{to}"
    parts = []
    for c in f.cameras:
        az = pd.to_numeric(pd.Series([c.get("azimuth_deg")]), errors="coerce").iloc[0]
        lat, lon = pd.to_numeric(pd.Series([c["lat"], c["lon"]])).to_numpy()
        aim = "360°" if not np.isfinite(az) else f"azimuth {az:.0f}°"
        price = pd.to_numeric(pd.Series([c.get("price")]), errors="coerce").iloc[0]
        cost = f", {price:,.0f} {currency}" if np.isfinite(price) else ""
        model = f" [{c['model']}{cost}]" if c.get("model") else ""
        parts.append(f"{c.get('type')}{model} at {lat:.6f}, {lon:.6f} ({aim})")
    total = fix_cost(f)
    spend = f"; total {total:,.0f} {currency}" if np.isfinite(total) else ""
    return f"add {len(parts)} camera(s): " + "; ".join(parts) + spend + to
