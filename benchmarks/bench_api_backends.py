"""Benchmark: the part-1 items benchmark side by side on the GeoPackage and PostGIS stores.

The same synthetic 100,000-camera layer (``bench_api.synthetic_cameras``) is stored in a
GeoPackage and in PostgreSQL + PostGIS (a throwaway cluster from ``tests/postgis_server.py``,
or ``--database-url``); one uvicorn process serves each, and ``bench_api.load`` drives
1,000-feature items pages (random offsets, bbox pages, EPSG:4490 output) over loopback.
Then it times writes: the whole-layer replace, and single-camera PATCH edits through the API
(one row and its index entry in place on GeoPackage, one row under row-level security on
PostGIS; ``bench_api_edits.py`` times edits at 250,000 cameras).

    python benchmarks/bench_api_backends.py
    python benchmarks/bench_api_backends.py --cameras 100000 --requests 200 --edits 20
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from bench_api import bbox_and_crs, load, pages, report, server, synthetic_cameras

from gridcover.api.store import open_store
from gridcover.api.store.keys import KeyStore
from gridcover.api.store.publish import store_layer
from gridcover.api.store.sql_target import target_for
from gridcover.settings import Settings


def _edits(base: str, key: str, ids: list[str], rng: np.random.Generator) -> list[float]:
    """Seconds per PATCH of a camera's status (one at a time, keep-alive)."""
    out = []
    with httpx.Client(base_url=base, timeout=120, headers={"X-API-Key": key}) as client:
        for cid in ids:
            status = str(rng.choice(["online", "offline"]))
            t0 = time.perf_counter()
            r = client.patch(
                f"/collections/cameras/items/{cid}", json={"properties": {"status": status}}
            )
            out.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"edit failed: {r.status_code} {r.text[:200]}")
    return out


def bench_backend(name: str, settings: Settings, a: argparse.Namespace) -> None:
    cams = synthetic_cameras(a.cameras)
    store = open_store(settings)
    t0 = time.perf_counter()
    store_layer(store, "cameras", cams)
    t1 = time.perf_counter()
    store_layer(store, "cameras", cams)
    t2 = time.perf_counter()
    store.close()
    print(f"[{name}] store {a.cameras} cameras: create {t1 - t0:.1f} s, replace {t2 - t1:.1f} s")
    rng = np.random.default_rng(1)
    with server(settings.data_dir, False, settings.database_url) as base:
        for conc in (1, a.concurrency):
            res = load(base, pages("cameras", a.cameras), a.requests, conc, a.seconds)
            report(f"[{name}] {a.cameras} cameras limit=1000 c={conc}", res)
        bbox_and_crs(base, a.cameras, a, f"[{name}] ", rng)
        if a.edits:
            key = KeyStore(target_for(settings)).add("bench", "planner").token
            ids = [str(i) for i in rng.choice(cams["camera_id"].to_numpy(), a.edits)]
            ms = np.array(_edits(base, key, ids, rng)) * 1000
            print(
                f"[{name}] {a.edits} single-camera PATCH edits: p50 {np.percentile(ms, 50):.0f} ms"
                f"  max {ms.max():.0f} ms"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200, help="requests per scenario (200)")
    ap.add_argument("--concurrency", type=int, default=4, help="client threads (4)")
    ap.add_argument("--seconds", type=float, default=30.0, help="time cap per scenario (30)")
    ap.add_argument("--cameras", type=int, default=100_000, help="synthetic cameras (100k)")
    ap.add_argument("--edits", type=int, default=20, help="PATCH edits timed (20; 0: none)")
    ap.add_argument("--database-url", help="PostGIS database (default: a throwaway cluster)")
    a = ap.parse_args()
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} python={sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="gridcover-bench-") as tmp:
        bench_backend("gpkg", Settings(data_dir=Path(tmp) / "gpkg", load_sample=False), a)
        url = a.database_url
        if url is None:
            from postgis_server import fresh_database_url

            url = fresh_database_url()
        pg = Settings(data_dir=Path(tmp) / "pg", load_sample=False, database_url=url)
        bench_backend("postgis", pg, a)


if __name__ == "__main__":
    main()
