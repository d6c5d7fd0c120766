"""A small synthetic city whose cameras straddle H3 partition edges (for test_distributed.py).

Not a test module. Everything is generated from one seed, in the local metric CRS of a
place (default Shenzhen), then returned as canonical layers in EPSG:4326:

- grids: a ``side`` x ``side`` m square split 2x2 (level 1), 3x3 (level 2), 2x2 (level 3);
- buildings: rectangles 12-40 m on a jittered 110 m lattice;
- cameras: half placed within 60 m of an edge of a res-``parent_res`` H3 cell (so their
  views cross partition edges), a quarter wall-mounted (on or 0.5 m inside a building
  outline), the rest anywhere, plus a few just outside the area (views reaching in) and
  two far away (views reaching no partition); mixed types, 20% unknown azimuth, some
  empty fov/range (type defaults), 80% online / 10% offline / 10% unknown;
- roads: a street grid every 160 m with a vertex at every crossing (degree-4 nodes);
- sites, posts, point incidents and three area incidents laid across partition edges.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pyproj
import shapely

from gridcover.gis.crs import local_metric_crs

KINDS = np.array(["bullet", "dome", "ptz", "other"], dtype=object)


def _grids(x0: float, y0: float, side: float) -> tuple[list, list, list, list]:
    rows: list[tuple[str, str | None, int, shapely.Polygon]] = []

    def split(b: tuple[float, float, float, float], n: int, level: int, parent: str | None):
        bx0, by0, bx1, by1 = b
        w, h = (bx1 - bx0) / n, (by1 - by0) / n
        for i in range(n):
            for j in range(n):
                box = (bx0 + i * w, by0 + j * h, bx0 + (i + 1) * w, by0 + (j + 1) * h)
                code = f"{parent or 'S'}{i}{j}"
                rows.append((code, parent, level, shapely.box(*box)))
                if level < 3:
                    split(box, 3 if level == 1 else 2, level + 1, code)

    split((x0, y0, x0 + side, y0 + side), 2, 1, None)
    return [list(c) for c in zip(*rows, strict=True)]  # type: ignore[return-value]


def _edge_points(
    area_ll: shapely.Polygon,
    parent_res: int,
    to_m: pyproj.Transformer,
    n: int,
    rng: np.random.Generator,
    square: shapely.Polygon,
) -> np.ndarray:
    """``n`` points (metric) within 60 m of the edges of the res-``parent_res`` cells,
    inside ``square`` (metric)."""
    shape = h3.geo_to_h3shape(area_ll.__geo_interface__)
    cells = h3.h3shape_to_cells_experimental(shape, parent_res, contain="overlap")
    lines = []
    for c in cells:
        ring = np.asarray(h3n.cell_to_boundary(h3.str_to_int(c)))
        x, y = to_m.transform(ring[:, 1], ring[:, 0])
        lines.append(shapely.LineString(np.c_[np.r_[x, x[0]], np.r_[y, y[0]]]))
    edges = shapely.union_all(lines)
    pts = shapely.line_interpolate_point(edges, rng.uniform(0, 1, 8 * n), normalized=True)
    xy = shapely.get_coordinates(pts) + rng.uniform(-60, 60, (8 * n, 2))
    return xy[shapely.contains_xy(square, xy[:, 0], xy[:, 1])][:n]


def synthetic_city(
    seed: int = 7,
    lon: float = 114.06,
    lat: float = 22.54,
    side: float = 2000.0,
    parent_res: int = 8,
    n_cameras: int = 320,
) -> dict[str, gpd.GeoDataFrame]:
    """The layers (EPSG:4326) of a synthetic city; see the module docstring."""
    rng = np.random.default_rng(seed)
    crs = local_metric_crs(lon, lat)
    to_m = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    cx, cy = to_m.transform(lon, lat)
    x0, y0 = cx - side / 2, cy - side / 2

    def layer(data: dict, geoms) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs).to_crs(4326)

    codes, parents, levels, polys = _grids(x0, y0, side)
    grids = layer({"code": codes, "parent_code": parents, "level": levels, "name": codes}, polys)
    area_ll = shapely.union_all(np.asarray(grids.geometry.values))

    per = int(side // 110)
    gx, gy = np.meshgrid(np.arange(per), np.arange(per))
    bx = x0 + (gx.ravel() + 0.5) * 110 + rng.uniform(-15, 15, gx.size)
    by = y0 + (gy.ravel() + 0.5) * 110 + rng.uniform(-15, 15, gx.size)
    bw, bh = rng.uniform(12, 40, gx.size), rng.uniform(12, 40, gx.size)
    bpoly = shapely.box(bx - bw / 2, by - bh / 2, bx + bw / 2, by + bh / 2)
    buildings = layer({"building_id": [f"b{i}" for i in range(bpoly.size)]}, bpoly)

    n_edge, n_wall = n_cameras // 2, n_cameras // 4
    n_free = n_cameras - n_edge - n_wall
    square = shapely.box(x0, y0, x0 + side, y0 + side)
    xy_edge = _edge_points(area_ll, parent_res, to_m, n_edge, rng, square)
    host = rng.integers(0, bpoly.size, n_wall)
    on = shapely.line_interpolate_point(
        shapely.boundary(bpoly[host]), rng.uniform(0, 1, n_wall), normalized=True
    )
    xy_wall = shapely.get_coordinates(on)
    inward = np.c_[bx[host], by[host]] - xy_wall
    xy_wall += (
        0.5
        * rng.uniform(0, 1, (n_wall, 1))
        * inward
        / np.linalg.norm(inward, axis=1, keepdims=True)
    )
    xy_free = np.c_[rng.uniform(x0, x0 + side, n_free), rng.uniform(y0, y0 + side, n_free)]
    xy_out = np.array(
        [
            [x0 - 40, cy],
            [x0 + side + 70, cy + 300],
            [cx, y0 - 90],
            [x0 - 900, cy],
            [cx, y0 + side + 1500],
        ]
    )
    xy = np.vstack([xy_edge, xy_wall, xy_free, xy_out])
    n = xy.shape[0]
    kind = rng.choice(KINDS, n, p=[0.5, 0.2, 0.2, 0.1])
    az = np.where(rng.uniform(size=n) < 0.2, np.nan, rng.uniform(0, 360, n))
    fov = np.where(rng.uniform(size=n) < 0.3, np.nan, rng.choice([60.0, 90.0, 120.0, 360.0], n))
    rng_m = np.where(rng.uniform(size=n) < 0.2, np.nan, rng.uniform(30, 150, n))
    status = rng.choice(
        np.array(["online", "offline", "unknown"], dtype=object), n, p=[0.8, 0.1, 0.1]
    )
    cameras = layer(
        {
            "camera_id": [f"c{i:04d}" for i in range(n)],
            "type": kind,
            "status": status,
            "azimuth_deg": az,
            "fov_deg": fov,
            "range_m": rng_m,
        },
        shapely.points(xy),
    )

    pitch = 160.0
    xs = np.arange(x0 + pitch / 2, x0 + side, pitch)
    ys = np.arange(y0 + pitch / 2, y0 + side, pitch)
    lines = [shapely.LineString(np.c_[np.full(ys.size, x), ys]) for x in xs]
    lines += [shapely.LineString(np.c_[xs, np.full(xs.size, y)]) for y in ys]
    cls = np.array(["primary", "residential", "footway", "tertiary"], dtype=object)
    roads = layer(
        {"road_id": [f"r{i}" for i in range(len(lines))], "class": cls[np.arange(len(lines)) % 4]},
        lines,
    )

    site_kinds = np.array(["school", "kindergarten", "hospital", "bank", "market"], dtype=object)
    sxy = np.c_[rng.uniform(x0, x0 + side, 25), rng.uniform(y0, y0 + side, 25)]
    sites = layer(
        {"site_id": [f"s{i}" for i in range(25)], "kind": rng.choice(site_kinds, 25)},
        shapely.points(sxy),
    )
    pxy = np.c_[rng.uniform(x0, x0 + side, 3), rng.uniform(y0, y0 + side, 3)]
    posts = layer(
        {"post_id": ["p1", "p2", "p3"], "kind": ["station", "office", "mobile"]},
        shapely.points(pxy),
    )
    ixy = np.c_[rng.uniform(x0, x0 + side, 30), rng.uniform(y0, y0 + side, 30)]
    exy = _edge_points(area_ll, parent_res, to_m, 3, rng, square)
    squares = shapely.box(exy[:, 0] - 150, exy[:, 1] - 150, exy[:, 0] + 150, exy[:, 1] + 150)
    incidents = layer(
        {"count": np.r_[rng.integers(1, 6, 30), [12, 25, 40]]},
        np.r_[shapely.points(ixy), squares],
    )
    return {
        "grids": grids,
        "cameras": cameras,
        "buildings": buildings,
        "roads": roads,
        "sites": sites,
        "posts": posts,
        "incidents": incidents,
    }
