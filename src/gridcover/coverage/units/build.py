"""Work units from a finished analysis: split, name, locate, suggest a fix, rank.

``work_units(result, roads=..., sites=..., config=UnitConfig())`` takes the blind priority
cells of ``result`` (a run with detail levels: the priority cells below their required
level, ``levels``; or any cell mask) and
returns a :class:`WorkUnits` value: the unit table (EPSG:4326 outlines) and the proposed
camera rows, ranked by priority weight closed per camera needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from gridcover.coverage.analysis import AnalysisResult
from gridcover.coverage.gaps import add_nearest
from gridcover.coverage.priority import road_radius_m
from gridcover.coverage.road_classes import weight_classes
from gridcover.coverage.siting.catalogue import Catalogue, load_catalogue, select_models
from gridcover.coverage.units.fixes import Fix, fix_cost, fix_text, new_cameras, repairs
from gridcover.coverage.units.levels import below_required, repair_pair_ok, unit_levels
from gridcover.coverage.units.naming import StreetNames
from gridcover.coverage.units.split import (
    KINDS,
    cap_units,
    merge_streets,
    seed_cells,
    unit_labels,
)
from gridcover.errors import InputError

__all__ = ["UnitConfig", "WorkUnits", "work_units"]


@dataclass(frozen=True)
class UnitConfig:
    """Unit size cap and fix search. ``max_extent_m``: largest distance across a unit
    (metres; default 100, two bullets back to back with the default 60 m range);
    ``max_area_m2``: largest unit area (m²; default 3,000, what two default bullets
    cover); ``fixes_for``: how many units, heaviest first, get a suggested fix (the rest
    are listed without one); ``max_new``: new cameras per unit (1 or 2);
    ``candidate_points`` / ``near_m`` / ``azimuths``: the candidate poles of a unit (see
    fixes.py); ``exclude_classes``: road classes no camera is proposed on (within the road
    buffer); buildings are always excluded; ``catalogue`` (TOML path, None = the packaged
    one) and ``models`` (names, () = all): the camera models a fix chooses from in a run
    with detail levels, as in ``gridcover site`` (``siting.catalogue``); ``level_caps``:
    (extent m, area m²) per required level 1-4 (detect .. identify), the size two of those
    models can bring to that level: a unit is capped by the strictest level among its
    cells, and never above ``max_extent_m`` / ``max_area_m2``."""

    max_extent_m: float = 100.0
    max_area_m2: float = 3000.0
    fixes_for: int = 200
    max_new: int = 2
    candidate_points: int = 10
    near_m: float = 30.0
    azimuths: int = 8
    exclude_classes: tuple[str, ...] = ("motorway", "motorway_link")
    catalogue: str | None = None
    models: tuple[str, ...] = ()
    level_caps: tuple[tuple[float, float], ...] = ((100.0, 3000.0), (60.0, 1500.0),
                                                   (40.0, 600.0), (20.0, 300.0))  # fmt: skip

    def __post_init__(self) -> None:
        if self.max_extent_m <= 0 or self.max_area_m2 <= 0:
            raise InputError("The unit cap (max_extent_m, max_area_m2) must be positive.")
        if len(self.level_caps) != 4 or min(min(c) for c in self.level_caps) <= 0:
            raise InputError(
                "level_caps needs 4 positive (extent m, area m²) pairs, detect..identify."
            )
        if self.max_new not in (1, 2):
            raise InputError(f"max_new is {self.max_new}; a unit fix proposes 1 or 2 cameras.")

    def level_cap(self, required: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cell, the (extent m, area m²) cap of its ``required`` level (0-4)."""
        caps = np.array([(self.max_extent_m, self.max_area_m2), *self.level_caps])
        caps = np.minimum(caps, caps[0])
        lv = np.clip(np.asarray(required, np.int64), 0, 4)
        return caps[lv, 0], caps[lv, 1]


@dataclass(frozen=True, eq=False)
class WorkUnits:
    """``table``: one row per unit (rank order); ``cell_unit``: per analysed cell the
    unit's row position or -1; ``proposals``: one row per camera to repair or add
    (EPSG:4326 points) with its unit; ``config``."""

    table: gpd.GeoDataFrame
    cell_unit: np.ndarray
    proposals: gpd.GeoDataFrame
    config: UnitConfig


def _metric(layer: gpd.GeoDataFrame | None, crs: object) -> gpd.GeoDataFrame | None:
    if layer is None or len(layer) == 0:
        return None
    if layer.crs is None:
        raise InputError("A layer given to work_units has no CRS; read it with gis.read_layer.")
    out = layer.to_crs(crs)
    return out[~(out.geometry.isna() | out.geometry.is_empty)].reset_index(drop=True)


def _col(layer: gpd.GeoDataFrame | None, name: str, default: str = "") -> np.ndarray:
    if layer is None:
        return np.empty(0, dtype=object)
    if name in layer.columns:
        return layer[name].to_numpy(dtype=object)
    return np.full(len(layer), default, dtype=object)


def _line_nodes(lines: np.ndarray, nodes_xy: np.ndarray) -> dict[int, np.ndarray]:
    """Per line, the intersection node indexes on it, in order along the line."""
    if len(nodes_xy) == 0 or len(lines) == 0:
        return {}
    pts = shapely.points(nodes_xy)
    ni, li = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=0.5)
    pos = shapely.line_locate_point(lines[li], pts[ni])
    order = np.lexsort((pos, li))
    li, ni = li[order], ni[order]
    cut = np.flatnonzero(np.diff(li)) + 1
    return {int(g[0]): n for g, n in zip(np.split(li, cut), np.split(ni, cut), strict=True)}


def _grid_columns(result: AnalysisResult, anchor: np.ndarray) -> dict[str, np.ndarray]:
    index = result.state.grid_index
    g = index.grids
    codes = g["code"].astype(str).to_numpy()
    deep = index.cell_grid[anchor]
    cols: dict[str, np.ndarray] = {}
    for lv in sorted(index.ancestor):
        a = index.at_level(deep, lv)
        col = np.full(len(a), None, dtype=object)
        col[a >= 0] = codes[a[a >= 0]]
        cols[f"grid_l{lv}"] = col
    for field in ("chief_name", "chief_phone"):
        vals = np.full(len(anchor), None, dtype=object)
        if field in g.columns:
            raw = g[field].to_numpy(dtype=object)
            for lv in sorted(index.ancestor):  # the deepest grid that names one wins
                a = index.at_level(deep, lv)
                v = np.where(a >= 0, raw[np.maximum(a, 0)], None)
                ok = np.array([x is not None and x == x and str(x).strip() != "" for x in v])
                vals[ok] = v[ok]
        cols[field] = vals
    return cols


def work_units(
    result: AnalysisResult,
    *,
    roads: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    config: UnitConfig | None = None,
    blind: np.ndarray | None = None,
) -> WorkUnits:
    """Split the blind cells of ``result`` into work units (see the package doc).

    ``roads`` / ``sites``: the layers the analysis used (canonical, any CRS), for names and
    seeds; ``blind``: per analysed cell, the cells to split (default: priority cells no
    counted camera covers; in a run with detail levels, priority cells below their required
    level, and the table gains ``required_level`` / ``detail_level``, see ``levels``).
    """
    cfg = config or UnitConfig()
    st = result.state
    cells, prio, w = st.cells, st.priority, st.weights
    lv = below_required(st)  # a run with detail levels: cells below their required level
    mask = prio.priority & ~st.coverage.covered if lv is None else lv[0]
    mask = mask if blind is None else np.asarray(blind, bool)
    if mask.shape != (len(cells),):
        raise InputError(f"blind has {mask.size} values for {len(cells)} cells: one per cell.")
    b = np.flatnonzero(mask)
    r = _metric(roads, st.crs)
    s = _metric(sites, st.crs)
    src_lines = np.empty(0, object) if r is None else np.asarray(r.geometry.values)
    classes = weight_classes(_col(r, "class", "other"), w).classes if r is not None else src_lines
    class_w = np.array([w.road_weight(c) for c in classes], dtype=float)
    lines, src, street_name = merge_streets(src_lines, _col(r, "name"), class_w)
    names = StreetNames(lines, street_name, classes[src] if src.size else classes)
    site_geoms = np.empty(0, object) if s is None else np.asarray(s.geometry.values)
    seeds = seed_cells(
        cells.x[b],
        cells.y[b],
        nodes_xy=prio.intersections_xy,
        intersection_radius_m=w.intersection_radius_m,
        sites=site_geoms,
        site_radius_m=w.site_radius_m,
        roads=lines,
        road_radius_m=road_radius_m(cells.area_m2[b], w.road_buffer_m),
        road_weight=class_w[src] if src.size else class_w,
        grid=st.grid_index.cell_grid[b],
    )
    key = (seeds.kind * 10**7 + seeds.ref + 1) * 10**5 + seeds.stretch
    labels = unit_labels(cells.h3[b], key)
    edge = float(np.sqrt(2 * cells.area_m2[b].max() / (3 * np.sqrt(3)))) if b.size else 0.0
    labels = cap_units(
        labels,
        cells.h3[b],
        cells.x[b],
        cells.y[b],
        cells.area_m2[b],
        edge * 1.02,
        max_extent_m=cfg.max_extent_m if lv is None else cfg.level_cap(lv[1][b])[0],
        max_area_m2=cfg.max_area_m2 if lv is None else cfg.level_cap(lv[1][b])[1],
    )
    k = int(labels.max()) + 1 if labels.size else 0
    weight = prio.weight
    df = pd.DataFrame(
        {"u": labels, "cell": b, "w": weight[b], "h3": cells.h3[b], "a": cells.area_m2[b]}
    )
    # anchor = heaviest cell, ties by smallest id
    anchor_pos = df.sort_values(["u", "w", "h3"], ascending=[True, False, True]).drop_duplicates(
        "u"
    )
    anchor_rows = anchor_pos.index.to_numpy()
    anchor = b[anchor_rows]
    groups = [g.to_numpy() for _, g in df.groupby("u", sort=True)["cell"]]
    kind = seeds.kind[anchor_rows]
    ref = seeds.ref[anchor_rows]
    stretch = seeds.stretch[anchor_rows]
    on_line = _line_nodes(lines, prio.intersections_xy)
    grid_cols = _grid_columns(result, anchor)
    unit_names, streets = [], []
    for u in range(k):
        kd = KINDS[kind[u]]
        xy = np.array([cells.x[anchor[u]], cells.y[anchor[u]]])
        street = ""
        if kd == "intersection":
            node = prio.intersections_xy[ref[u]]
            nm = names.crossing_name(node) or "unnamed intersection"
            street = nm
        elif kd == "site":
            site_name = _text(_col(s, "name")[ref[u]])
            site_kind = _text(_col(s, "kind", "site")[ref[u]]) or "site"
            street = names.nearest(xy, 100.0)
            where = site_name or (f"by {street}" if street else "unnamed")
            nm = f"{site_kind}: {where}"
        elif kd == "road":
            line = int(ref[u])
            nodes = on_line.get(line, np.empty(0, np.int64))
            j = int(stretch[u])
            ends = (
                prio.intersections_xy[nodes[j - 1]] if 0 < j <= nodes.size else None,
                prio.intersections_xy[nodes[j]] if j < nodes.size else None,
            )
            nm = names.road_name(line, ends)
            street = names.street_of(line)[0]
        else:
            near = names.nearest(xy, 60.0)
            code = grid_cols.get(f"grid_l{max(st.grid_index.ancestor)}", [None] * k)[u]
            nm = f"open area of grid {code}" + (f" near {near}" if near else "")
            street = near
        unit_names.append(nm)
        streets.append(street or None)
    h3_anchor = cells.h3[anchor]
    unit_id = [
        f"{KINDS[kd][0].upper()}-{h3.int_to_str(int(c))}"
        for kd, c in zip(kind, h3_anchor, strict=True)
    ]
    geoms = [shape(h3n.cells_to_h3shape(cells.h3[g].astype(np.uint64)).__geo_interface__)
             for g in groups]  # fmt: skip
    table = gpd.GeoDataFrame(
        {
            "unit_id": unit_id,
            "kind": [KINDS[i] for i in kind],
            "name": unit_names,
            "street": streets,
            **grid_cols,
            "weight": np.bincount(labels, weights=weight[b], minlength=k),
            "area_m2": np.bincount(labels, weights=cells.area_m2[b], minlength=k),
            "cells": np.bincount(labels, minlength=k),
            "lon": cells.lon[anchor],
            "lat": cells.lat[anchor],
        },
        geometry=gpd.GeoSeries(geoms, crs="EPSG:4326") if k else gpd.GeoSeries([], crs=4326),
        crs="EPSG:4326",
    )
    if lv is not None:
        req, cur = unit_levels(labels, lv[1][b], lv[2][b], k)
        table["required_level"], table["detail_level"] = req, cur
    add_nearest(table, st.cameras, st.posts, st.crs, counted=st.coverage.counted)
    cell_unit = np.full(len(cells), -1, np.int64)
    cell_unit[b] = labels
    cat = None if lv is None else select_models(load_catalogue(cfg.catalogue), cfg.models)
    need = None if lv is None else lv[1]
    fixes = _fixes(result, r, classes, groups, cell_unit, table, cfg, need, cat)
    return _ranked(table, cell_unit, fixes, cfg, None if cat is None else cat.currency)


def _fixes(
    result: AnalysisResult,
    roads: gpd.GeoDataFrame | None,
    classes: np.ndarray,
    groups: list[np.ndarray],
    cell_unit: np.ndarray,
    table: gpd.GeoDataFrame,
    cfg: UnitConfig,
    required: np.ndarray | None,
    catalogue: Catalogue | None,
) -> list[Fix | None]:
    st = result.state
    k = len(groups)
    sizes = np.array([g.size for g in groups], np.int64)
    ok = None if required is None else repair_pair_ok(st, required)
    repaired = repairs(st, cell_unit, k, sizes, ok)
    out: list[Fix | None] = [None] * k
    cams = st.cameras.set_index(st.cameras["camera_id"].astype(str))
    for u, cid in repaired.items():
        c = cams.loc[cid]
        row = {"camera_id": cid, "lon": c.geometry.x, "lat": c.geometry.y}
        row |= {f: c[f] for f in ("type", "azimuth_deg", "fov_deg", "range_m") if f in cams}
        out[u] = Fix("repair", (row,), float(table["weight"].iloc[u]), True)
    heavy = np.argsort(-table["weight"].to_numpy(), kind="stable")[: cfg.fixes_for]
    todo = [int(u) for u in heavy if out[int(u)] is None]
    excluded: list[shapely.Geometry] = []
    if st.buildings is not None:
        excluded += list(np.asarray(st.buildings.geometry.values))
    if roads is not None and cfg.exclude_classes:
        bad = np.isin(classes, cfg.exclude_classes)
        excluded += list(shapely.buffer(np.asarray(roads.geometry.values)[bad], 2.0))
    found = new_cameras(
        st,
        [groups[u] for u in todo],
        st.priority.weight,
        np.asarray(excluded, dtype=object),
        candidate_points=cfg.candidate_points,
        near_m=cfg.near_m,
        azimuths=cfg.azimuths,
        max_new=cfg.max_new,
        required=required,
        catalogue=catalogue,
    )
    for u, f in zip(todo, found, strict=True):
        out[u] = f
    return out


def _ranked(
    table: gpd.GeoDataFrame,
    cell_unit: np.ndarray,
    fixes: list[Fix | None],
    cfg: UnitConfig,
    currency: str | None,
) -> WorkUnits:
    n = len(table)
    action = np.array([f.action if f else None for f in fixes], dtype=object)
    needed = np.array([len(f.cameras) if f else 0 for f in fixes], np.int64)
    closed = np.array([f.closed_weight if f else np.nan for f in fixes])
    table["fix"] = action
    table["cameras_needed"] = needed
    table["closed_weight"] = closed
    table["closes"] = np.array([bool(f.closes) if f else False for f in fixes])
    table["value_per_camera"] = np.where(needed > 0, closed / np.maximum(needed, 1), np.nan)
    level = table["required_level"] if "required_level" in table else [0] * n
    if currency is not None:  # 3D: catalogue models with prices
        table["fix_cost"] = [fix_cost(f) for f in fixes]
    cur = currency or "CNY"
    table["fix_text"] = [fix_text(f, int(lv), cur) for f, lv in zip(fixes, level, strict=True)]
    score = np.nan_to_num(table["value_per_camera"].to_numpy(), nan=-1.0)
    order = np.lexsort((table["unit_id"].to_numpy(), -table["weight"].to_numpy(), -score))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, n + 1))
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    new_cell_unit = np.where(cell_unit >= 0, pos[np.maximum(cell_unit, 0)], -1)
    rows = []
    for u in order:
        f = fixes[u]
        if f is None:
            continue
        rank = int(pos[u]) + 1
        for i, cam in enumerate(f.cameras, start=1):
            row = {"rank": rank, "unit_id": table["unit_id"].iloc[rank - 1], "action": f.action}
            row.update({k: v for k, v in cam.items() if k != "site_id"})
            if f.action == "new":
                row["camera_id"] = f"NEW-{row['unit_id']}-{i}"
            rows.append(row)
    props = pd.DataFrame(rows)
    if len(props) and "lon" in props.columns:
        geom = gpd.points_from_xy(props["lon"], props["lat"])
    else:
        geom = gpd.GeoSeries([None] * len(props))
    proposals = gpd.GeoDataFrame(props, geometry=geom, crs="EPSG:4326")
    return WorkUnits(table, new_cell_unit, proposals, cfg)


def _text(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
