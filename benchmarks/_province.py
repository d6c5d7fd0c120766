"""The synthetic province of ``bench_dask``, generated once and cached as GeoParquet.

``province(cameras, area_km2, seed, lon, lat)``: towns of 20 km² (the ``bench_views``
city: mixed camera types, ranges 30-150 m, 60% wall-mounted, 500 buildings and 500 cameras
per km²) over 20% of a square, a 200 m street grid in every town, the 3-level grid map of
``bench_coverage`` over the square. ``cached_province(...)`` writes it once under a cache
folder (``<cache>/province-c<cameras>-a<km2>-s<seed>-<lon>-<lat>/``: one GeoParquet file
per layer and ``meta.json``) and returns that folder; ``read_province(folder)`` reads it.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coverage import grids_layer, roads_layer
from bench_views import city

from gridcover.gis.crs import local_metric_crs

TOWN_KM2 = 20.0
TOWN_SHARE = 0.2
LAYERS = ("grids", "cameras", "buildings", "roads")


def province(cameras: int, area_km2: float, seed: int, lon: float, lat: float) -> dict[str, Any]:
    """Layers (EPSG:4326) of the synthetic province and a few facts about it."""
    crs = local_metric_crs(lon, lat)
    cx, cy = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    side = math.sqrt(area_km2) * 1000.0
    x0, y0 = cx - side / 2, cy - side / 2
    towns = max(1, round(area_km2 * TOWN_SHARE / TOWN_KM2))
    town_km2 = min(TOWN_KM2, area_km2 / towns)
    per_town = np.full(towns, cameras // towns)
    per_town[: cameras % towns] += 1
    k = math.ceil(math.sqrt(towns))
    slot = side / k
    rng = np.random.default_rng(seed)
    cams, blds, roads = [], [], []
    for t in range(towns):
        scale = max(town_km2 / 100.0, per_town[t] / 100_000)
        b, c = city(scale, seed + t)
        tside = 10_000.0 * math.sqrt(scale)
        free = max(slot - tside, 0.0)
        ox = x0 + (t % k) * slot + rng.uniform(0, free)
        oy = y0 + (t // k) * slot + rng.uniform(0, free)
        keep = np.sort(rng.choice(c["x"].size, per_town[t], replace=False))
        sel = {key: v[keep] for key, v in c.items()}
        sel["x"], sel["y"] = sel["x"] + ox, sel["y"] + oy
        cams.append(sel)
        blds.append(shapely.transform(b, lambda xy, ox=ox, oy=oy: xy + np.array([ox, oy])))
        r = roads_layer(shapely.box(ox, oy, ox + tside, oy + tside), crs, 200.0)
        roads.append(r.assign(road_id=[f"t{t}-{i}" for i in range(len(r))]))
    cam = {key: np.concatenate([c[key] for c in cams]) for key in cams[0]}
    n = cam["x"].size
    fov = cam["fov_deg"]
    cam_gdf = gpd.GeoDataFrame(
        {
            "camera_id": [f"c{i}" for i in range(n)],
            "type": np.where(fov >= 360, "dome", "bullet"),
            "status": np.where(np.arange(n) % 20 == 0, "offline", "online"),
            "azimuth_deg": cam["azimuth_deg"],
            "fov_deg": fov,
            "range_m": cam["range_m"],
        },
        geometry=shapely.points(cam["x"], cam["y"]),
        crs=crs,
    ).to_crs(4326)
    b = np.concatenate(blds)
    bld = gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(b.size)]}, geometry=b, crs=crs
    ).to_crs(4326)
    square = shapely.box(x0, y0, x0 + side, y0 + side)
    layers = {
        "grids": grids_layer(square, crs),
        "cameras": cam_gdf,
        "buildings": bld,
        "roads": pd.concat(roads, ignore_index=True),
    }
    return {"layers": layers, "towns": towns, "town_km2": town_km2, "crs": crs}


def province_folder(
    cache: Path, cameras: int, area_km2: float, seed: int, lon: float, lat: float
) -> Path:
    """Where the province of these parameters is cached."""
    return Path(cache) / f"province-c{cameras}-a{area_km2:g}-s{seed}-{lon:g}-{lat:g}"


def cached_province(
    cache: Path, cameras: int, area_km2: float, seed: int, lon: float, lat: float
) -> Path:
    """The province's folder, generated and written first if it is not there yet."""
    folder = province_folder(cache, cameras, area_km2, seed, lon, lat)
    if (folder / "meta.json").exists():
        return folder
    t = time.perf_counter()
    p = province(cameras, area_km2, seed, lon, lat)
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for name in LAYERS:
        p["layers"][name].to_parquet(tmp / f"{name}.parquet")
    meta = {
        "towns": p["towns"],
        "town_km2": p["town_km2"],
        "crs": p["crs"].to_string(),
        "rows": {k: len(v) for k, v in p["layers"].items()},
        "generated_s": time.perf_counter() - t,
    }
    (tmp / "meta.json").write_text(json.dumps(meta))
    tmp.rename(folder)
    return folder


def read_province(folder: Path) -> dict[str, gpd.GeoDataFrame]:
    """The layers of a cached province (EPSG:4326)."""
    return {name: gpd.read_parquet(Path(folder) / f"{name}.parquet") for name in LAYERS}


def province_meta(folder: Path) -> dict[str, Any]:
    """Facts about a cached province (towns, rows per layer, generation seconds)."""
    meta: dict[str, Any] = json.loads((Path(folder) / "meta.json").read_text())
    return meta
