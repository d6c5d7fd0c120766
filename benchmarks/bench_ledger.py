"""Benchmark: reading camera ledgers (GBK CSV, XLSX, GB/T 28181 Catalog XML) and the offset
fit against roads, buildings and grids, at city size.

The 221 real sample cameras moved to Shenzhen (tests/_china_ledger.py) are repeated with
small shifts to ``--copies`` times their number; the fit uses the moved sample's 2,504 roads,
489 buildings and 398 grids. Prints seconds per step and cameras per second; no asserts.

    python benchmarks/bench_ledger.py --copies 20
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _china_ledger import (  # noqa: E402
    moved_layers,
    truth_cameras,
    write_catalog_xml,
    write_gbk_csv,
    write_xlsx,
)
from gridcover.gis import read_layer  # noqa: E402
from gridcover.gis.offset_fit import fit_offsets  # noqa: E402


def _many(copies: int) -> gpd.GeoDataFrame:
    base = truth_cameras()
    parts = []
    rng = np.random.default_rng(12)
    for k in range(copies):
        part = base.copy()
        dx, dy = rng.normal(0, 2e-5, len(base)), rng.normal(0, 2e-5, len(base))
        xy = shapely.points(part.geometry.x + dx, part.geometry.y + dy)
        part = part.set_geometry(gpd.GeoSeries(xy, crs=4326, index=part.index))
        part["camera_id"] = [f"c{k}-{i}" for i in range(len(base))]
        parts.append(part)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20, help="copies of the 221 cameras (20)")
    args = ap.parse_args()
    cams = _many(args.copies)
    n = len(cams)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        refs = {k: read_layer(p, k) for k, p in moved_layers(folder).items()}
        files = {
            "GBK CSV": write_gbk_csv(folder / "l.csv", cams),
            "XLSX": write_xlsx(folder / "l.xlsx", cams),
            "Catalog XML": write_catalog_xml(folder / "l.xml", cams),
        }
        print(f"{n} cameras; references: {', '.join(f'{k} {len(v)}' for k, v in refs.items())}")
        for what, path in files.items():
            t = time.perf_counter()
            gdf = read_layer(path, "cameras", coord_sys="gcj02")
            s = time.perf_counter() - t
            mb = path.stat().st_size / 1e6
            print(f"  read {what:<12} {s:7.2f} s  {n / s:9,.0f} cameras/s  ({mb:.1f} MB)")
        raw = read_layer(files["GBK CSV"], "cameras")
        t = time.perf_counter()
        fit = fit_offsets(raw, refs)
        s = time.perf_counter() - t
        print(f"  offset fit      {s:7.2f} s  -> {fit.best}; {fit.describe()}")
        print(f"  kept {len(gdf)} of {n} cameras")


if __name__ == "__main__":
    main()
