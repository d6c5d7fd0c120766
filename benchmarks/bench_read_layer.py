"""How long read_layer takes on larger inputs built from the test data (prints, no asserts).

Run: python benchmarks/bench_read_layer.py
Builds in a temporary folder: a 300,000-row GB18030 CSV of cameras with Chinese headers, and
a GeoPackage of the valid Helsinki buildings repeated 400 times (~188,000 polygons).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.gis import read_layer

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        n = 300_000
        cams = pd.DataFrame(
            {
                "设备编码": [f"4403{i:016d}" for i in range(n)],
                "经度": rng.uniform(113.8, 114.5, n).round(6),
                "纬度": rng.uniform(22.4, 22.8, n).round(6),
                "朝向": rng.integers(0, 360, n),
                "类型": rng.choice(["球机", "枪机", "半球"], n),
                "状态": rng.choice(["在线", "离线"], n),
            }
        )
        csv_path = Path(tmp) / "cams.csv"
        cams.to_csv(csv_path, index=False, encoding="gb18030")
        t = time.perf_counter()
        gdf = read_layer(csv_path, "cameras")
        print(
            f"CSV cameras: {len(gdf):,} rows in {time.perf_counter() - t:.2f} s "
            f"(encoding {gdf.attrs['gridcover']['encoding']})"
        )

        b = gpd.read_file(DATA / "helsinki-osm-center" / "buildings.geojson")
        b = b[b.is_valid]
        big = pd.concat([b] * 400, ignore_index=True)
        big["osm_id"] = np.arange(len(big)).astype(str)
        big["osm_way_id"] = None
        gpkg = Path(tmp) / "buildings.gpkg"
        gpd.GeoDataFrame(big, crs=4326).to_file(gpkg)
        t = time.perf_counter()
        gdf = read_layer(gpkg, "buildings")
        print(f"GPKG buildings: {len(gdf):,} polygons in {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
