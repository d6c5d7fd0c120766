"""Patrol zones: one contiguous, workload-balanced zone of H3 cells per police post.

Method (details and figures in docs/PATROL_SITING.md):

1. **Anchor** each post to the cell that holds it (``patrol.figures.anchor_posts`` documents
   what happens to posts outside the cells, sharing a cell, or cut off by the boundary).
2. **Network Voronoi**: every cell goes to the allowed post it is fastest to reach
   (``reach.travel_times``: street network when roads are given, else grid adjacency).
   Allowed = same boundary region (zones never cross the boundary layer) and not frozen.
   A price per post (seconds added to its travel times) is then tuned until the workloads
   even out (``patrol_balance.priced_labels``): an additively weighted Voronoi diagram,
   whose zones stay compact unions of shortest paths to their post.
3. **Contiguity repair**: pieces cut off from their post are released and regrown from the
   anchored zones through H3 adjacency.
4. **Local balancing**: border cells move from heavier to lighter neighbouring zones while
   the ring test guarantees the donor stays connected (``patrol_balance.balance_zones``);
   then border-shortening moves that keep the balance (``smooth_zones``), then balancing
   once more.
5. **Compactness floor**: a zone below ``min_compactness`` (Polsby-Popper 0.2) with close
   posts in its group is re-split with theirs by straight cuts or sectors around the posts,
   judged after a local repair (``patrol.compactness``, ``patrol.cuts``).
6. **Report** per zone workload, area, max/mean travel time, Polsby-Popper compactness,
   contiguity; the plan's balance ratio (max/min workload) and, above the target, a
   sentence saying why, each reason with its measured figure (``figures.explain_balance``,
   ``causes``).

Core: :func:`design_zones` (arrays). Adapter: :func:`patrol_zones` (GeoDataFrames).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import shape

from gridcover.coverage.cell_graph import neighbours
from gridcover.coverage.cells import Cells, cells_for_area
from gridcover.coverage.patrol.cell_inputs import (
    combine_workload,
    containing,
    incidents_per_cell,
    locked_cells,
    priority_per_cell,
    regions,
    road_length_per_cell,
    to_lonlat,
)
from gridcover.coverage.patrol.compactness import DEFAULT_MIN_COMPACTNESS
from gridcover.coverage.patrol.core import (
    EXCLAVE_CHOICES,
    UNASSIGNED_REASONS,
    ZoneAssignment,
    design_zones,
)
from gridcover.coverage.reach.nearest_post import travel_times
from gridcover.coverage.reach.network import build_network, travel_mode
from gridcover.errors import InputError

__all__ = [
    "EXCLAVE_CHOICES",
    "UNASSIGNED_REASONS",
    "PatrolPlan",
    "ZoneAssignment",
    "agreement",
    "design_zones",
    "patrol_zones",
]


@dataclass(frozen=True, eq=False)
class PatrolPlan:
    """Patrol zones for a set of posts over an area (EPSG:4326 GeoDataFrames).

    ``zones``: one row per post (post_id, name, figures of ``ZoneAssignment.zones``, zone
    outline; posts without a zone have an empty geometry); ``cells``: one row per cell (h3,
    post_id, travel_min, region, fallback, workload, exclave); ``method``: travel method
    (network, grid); ``weights``: workload weights used; ``assignment``: the array-level
    result.
    """

    zones: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    assignment: ZoneAssignment
    method: str
    res: int
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def balance_ratio(self) -> float:
        return self.assignment.balance_ratio

    def report(self) -> str:
        """A short plain-text report of the plan."""
        a = self.assignment
        z = self.zones
        lines = [
            f"Patrol zones: {int((a.anchors >= 0).sum())} of {a.anchors.size} posts have a "
            f"zone, {len(self.cells)} cells at H3 res {self.res}, travel by {self.method}"
            + (" (no streets: grid-adjacency fallback)" if self.method != "network" else ""),
            f"Workload weights: {', '.join(f'{k} {v:.2f}' for k, v in self.weights.items())}",
            f"Balance ratio (max/min workload): {a.balance_ratio:.3f} "
            f"(before balancing {a.initial_ratio:.3f}; target {a.target_ratio:.2f}); "
            f"{a.stats.moves} cell moves, stopped: {a.stats.stopped}",
            f"Contiguous zones: {int(z['contiguous'].sum())} of {int((a.anchors >= 0).sum())}; "
            f"Polsby-Popper median {np.nanmedian(z['polsby_popper']):.3f}",
        ]
        ex = z[z["exclaves"] > 0]
        for _, row in ex.iterrows():
            lines.append(
                f"Exclave: zone {row['post_id']!r} also holds {int(row['exclaves'])} piece(s) "
                f"of the area ({row['exclave_km2']:.2f} km²) that H3 adjacency at res "
                f"{self.res} does not connect to any post (e.g. joined by a strip narrower "
                "than a cell); given whole to the nearest post. Use a finer resolution to "
                "connect them, or exclaves='leave' (--exclaves leave) to leave them unassigned."
            )
        lines += list(a.compactness)
        if a.explanation:
            lines.append(a.explanation)
        lines += [f"Unassigned cells ({k}): {v}" for k, v in a.unassigned.items() if v]
        lines += [f"Problem: {s}" for s in a.problems]
        return "\n".join(lines)

    def zone_lines(self) -> str:
        """The per-zone figures as a plain-text table (one line per post)."""
        z = self.zones
        head = (
            f"{'post':<14} {'cells':>6} {'km²':>7} {'workload':>8} {'max min':>7} "
            f"{'mean min':>8} {'PP':>5} {'contig.':>7} {'exclaves':>8}"
        )
        rows = [head]
        for _, r in z.iterrows():
            rows.append(
                f"{str(r['post_id'])[:14]:<14} {int(r['cells']):>6} {r['area_km2']:>7.2f} "
                f"{r['workload']:>8.2f} {r['max_travel_min']:>7.1f} {r['mean_travel_min']:>8.1f} "
                f"{r['polsby_popper']:>5.2f} {'yes' if r['contiguous'] else 'NO':>7} "
                f"{int(r['exclaves']):>8}"
            )
        return "\n".join(rows)


def _outline(cell_ids: np.ndarray) -> Any:
    if cell_ids.size == 0:
        return shape({"type": "Polygon", "coordinates": []})
    return shape(h3.h3shape_to_geo(h3n.cells_to_h3shape(cell_ids.astype(np.uint64))))


def patrol_zones(
    area: Any,
    posts: gpd.GeoDataFrame,
    *,
    res: int = 9,
    roads: gpd.GeoDataFrame | None = None,
    boundary: gpd.GeoDataFrame | None = None,
    boundary_field: str | None = None,
    priority: Any = None,
    incidents: gpd.GeoDataFrame | None = None,
    locked: gpd.GeoDataFrame | None = None,
    weights: Mapping[str, float] | None = None,
    mode: str = "car",
    max_snap_m: float = 250.0,
    post_snap_m: float = 500.0,
    target_ratio: float = 1.15,
    cells: Cells | None = None,
    exclaves: str = "attach",
    min_compactness: float = DEFAULT_MIN_COMPACTNESS,
) -> PatrolPlan:
    """Patrol zones from canonical layers (any CRS; results in EPSG:4326).

    ``area``: polygon(s) or bbox to cover (ignored when ``cells`` is given); ``posts``:
    points with ``post_id`` (and ``name``); ``roads``: street lines (travel along streets,
    and road length in the workload), else grid-adjacency travel at the ``mode`` speed;
    ``boundary``: polygons zones must not cross (regions keyed by ``boundary_field``);
    ``priority``: per-cell weights (array or Series by cell); ``incidents``: counts;
    ``locked``: polygons with ``post_id`` whose cells form frozen zones; ``weights``: workload
    weights for area / priority / road_length / incidents; ``exclaves``: "attach" (pieces
    of the area not H3-connected to any post go whole to the nearest post, reported in the
    zone's ``exclaves``/``exclave_km2``) or "leave" (their cells stay unassigned);
    ``min_compactness``: Polsby-Popper floor for zones of close posts (0 = off; see
    ``patrol.compactness``).
    """
    cells = cells if cells is not None else cells_for_area(area, res)
    if len(cells) == 0:
        raise InputError("The area holds no H3 cell at this resolution; use a finer one.")
    pts = to_lonlat(posts, "posts")
    if len(pts) == 0:
        raise InputError("The posts layer is empty: give at least one police post.")
    ids = (pts["post_id"] if "post_id" in pts else pd.Series(pts.index)).astype(str).tolist()
    if len(set(ids)) != len(ids):
        raise InputError("post_id values repeat in the posts layer; make them unique.")
    centre = shapely.centroid(np.asarray(pts.geometry.values))
    lon, lat = shapely.get_x(centre), shapely.get_y(centre)
    tr = pyproj.Transformer.from_crs("EPSG:4326", cells.crs, always_xy=True)
    px, py = (np.asarray(v, float) for v in tr.transform(lon, lat))
    own_ids = np.array(
        [h3n.latlng_to_cell(float(b), float(a), cells.res) for a, b in zip(lon, lat, strict=True)],
        dtype=np.uint64,
    ).astype(np.int64)
    own = cells.index_of(own_ids)
    region = post_region = None
    rnames: list[str] | None = None
    if boundary is not None:
        region, post_region, rnames = regions(cells, boundary, lon, lat, boundary_field)
    nbr = neighbours(cells.h3)
    network = build_network(roads, crs=cells.crs) if roads is not None else None
    method = "network" if network is not None else "grid"
    own_or_near = np.where(own >= 0, own, -1)
    tt = travel_times(
        cells.x,
        cells.y,
        px,
        py,
        method=method,
        network=network,
        mode=mode,
        max_snap_m=max_snap_m,
        post_cells=own_or_near,
        nbr=nbr,
    )
    cost = tt.seconds
    if method == "grid" and (own < 0).any():
        # Posts outside the cells: straight line to each cell as the grid fallback.
        straight = travel_times(cells.x, cells.y, px, py, method="straight", mode=mode)
        cost[:, own < 0] = straight.seconds[:, own < 0]
    components = {
        "area": cells.area_m2,
        "priority": None if priority is None else priority_per_cell(cells, priority),
        "road_length": None
        if network is None
        else road_length_per_cell(cells, network.edge_geometry),
        "incidents": None if incidents is None else incidents_per_cell(cells, incidents),
    }
    work, used = combine_workload(components, weights)
    lock = None if locked is None else locked_cells(cells, locked, ids)
    names = pts["name"].astype(str).tolist() if "name" in pts else ids
    a = design_zones(
        cells.x,
        cells.y,
        cells.area_m2,
        nbr,
        own,
        px,
        py,
        cost,
        work,
        names=ids,
        region=region,
        post_region=post_region,
        region_names=rnames,
        locked=lock,
        fallback=tt.fallback,
        target_ratio=target_ratio,
        post_snap_m=post_snap_m,
        exclaves=exclaves,
        access_speed_ms=travel_mode(mode).default_ms,
        min_compactness=min_compactness,
    )
    geoms = [_outline(cells.h3[a.labels == i]) for i in range(len(ids))]
    zones = gpd.GeoDataFrame(
        a.zones.drop(columns=["post"]).assign(post_id=ids, name=names),
        geometry=geoms,
        crs="EPSG:4326",
    )
    zones = zones[["post_id", "name", *[c for c in a.zones.columns if c != "post"], "geometry"]]
    lab = a.labels
    id_arr = np.array([*ids, None], dtype=object)
    cell_gdf = cells.to_geodataframe(
        "polygon",
        post_id=id_arr[np.where(lab >= 0, lab, len(ids))],
        travel_min=a.travel_s / 60.0,
        region=None if region is None else np.array([*(rnames or []), None], object)[region],
        fallback=tt.fallback,
        workload=work,
        exclave=a.exclave >= 0,
    )
    return PatrolPlan(zones, cell_gdf, a, method, cells.res, used)


def agreement(
    plan: PatrolPlan, reference: gpd.GeoDataFrame, ref_field: str, post_key: Mapping[str, str]
) -> float:
    """Share (0-1) of the assigned cells' area whose reference polygon (``ref_field`` value,
    by centroid) equals the value ``post_key`` gives for the cell's post."""
    cells = plan.cells
    ref = to_lonlat(reference, "reference")
    poly = containing(
        np.asarray(ref.geometry.values), cells["lon"].to_numpy(), cells["lat"].to_numpy()
    )
    vals = ref[ref_field].astype(str).to_numpy()
    ref_val = np.where(poly >= 0, vals[np.maximum(poly, 0)], None)
    mine = np.array([post_key.get(p) if p is not None else None for p in cells["post_id"]])
    assigned = cells["post_id"].notna().to_numpy()
    area = cells["area_m2"].to_numpy()
    same = assigned & (mine == ref_val) & (ref_val != None)  # noqa: E711
    return float(area[same].sum() / area[assigned].sum()) if assigned.any() else float("nan")
