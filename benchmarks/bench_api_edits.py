"""Benchmark: single-feature edits at scale on the GeoPackage and PostGIS stores (issue 13).

The same synthetic layer of 250,000 cameras (``bench_api.synthetic_cameras``) is stored in a
GeoPackage and in PostgreSQL + PostGIS (a throwaway cluster from ``tests/postgis_server.py``,
or ``--database-url``); one uvicorn process serves each. Then, one client at a time over
loopback with keep-alive, it times:

- ``Store.edit_feature`` alone (lock, read, write the row and its index entry, commit),
- ``PATCH`` of one camera's status (the request a grid chief makes: key check, the
  foundation's checks of the changed value, scope, edit, audit row),
- ``GET`` + ``PATCH`` with ``If-Match`` (a versioned read-modify-write), and
- ``PATCH`` of a value never sent before (an azimuth with random decimals): the foundation's
  reader checks it on a one-feature file, as every PATCH did before values it accepted were
  remembered (``api/checked_values.py``): the old path, measured in the same run,

and prints p50 / p95 / max per backend, with the load average when each figure was taken.
The GeoPackage edit updates the row and its R-tree entry in place in one transaction (it used
to rewrite the whole layer: 7-8 s at 250,000).

    python benchmarks/bench_api_edits.py
    python benchmarks/bench_api_edits.py --cameras 20000 --edits 30 --backend gpkg
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
from bench_api import server, synthetic_cameras

from gridcover.api.store import open_store
from gridcover.api.store.edits import FeatureRow, becomes
from gridcover.api.store.keys import KeyStore
from gridcover.api.store.publish import store_layer
from gridcover.api.store.sql_target import target_for
from gridcover.settings import Settings


def _figures(label: str, seconds: list[float]) -> None:
    ms = np.array(seconds) * 1000
    print(
        f"{label}: n={len(ms)}  p50 {np.percentile(ms, 50):.1f} ms  "
        f"p95 {np.percentile(ms, 95):.1f} ms  max {ms.max():.1f} ms  "
        f"(load {os.getloadavg()[0]:.1f})",
        flush=True,
    )


def bench_backend(name: str, settings: Settings, a: argparse.Namespace) -> None:
    cams = synthetic_cameras(a.cameras)
    store = open_store(settings)
    t0 = time.perf_counter()
    store_layer(store, "cameras", cams)
    store.close()
    print(f"[{name}] stored {a.cameras:,} cameras in {time.perf_counter() - t0:.1f} s", flush=True)
    key = KeyStore(target_for(settings)).add("bench", "planner").token
    rng = np.random.default_rng(1)
    ids = [str(i) for i in rng.choice(cams["camera_id"].to_numpy(), 2 * a.edits, replace=False)]
    store = open_store(settings)
    direct = []
    for cid in ids[a.edits :]:  # the store's own edit: lock, read, write row + index, commit
        page = store.feature("cameras", cid)
        row = FeatureRow(page.geometries[0], {**page.properties[0], "status": "offline"})
        t0 = time.perf_counter()
        store.edit_feature("cameras", cid, becomes(row), mode="replace")
        direct.append(time.perf_counter() - t0)
    store.close()
    _figures(f"[{name}] {a.cameras:,} cameras, Store.edit_feature (no HTTP, no checks)", direct)
    ids = ids[: a.edits]
    with (
        server(settings.data_dir, False, settings.database_url) as base,
        httpx.Client(base_url=base, timeout=120, headers={"X-API-Key": key}) as client,
    ):
        client.get(f"/collections/cameras/items/{ids[0]}")  # warm the connection and caches
        plain, versioned, fresh = [], [], []
        for cid in ids:
            url = f"/collections/cameras/items/{cid}"
            status = str(rng.choice(["online", "offline"]))
            t0 = time.perf_counter()
            r = client.patch(url, json={"properties": {"status": status}})
            plain.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"PATCH failed: {r.status_code} {r.text[:200]}")
            t0 = time.perf_counter()
            etag = client.get(url).headers["etag"]
            r = client.patch(
                url, json={"properties": {"height_m": 5.5}}, headers={"If-Match": etag}
            )
            versioned.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"If-Match PATCH failed: {r.status_code} {r.text[:200]}")
            azimuth = round(float(rng.uniform(0, 360)), 6)  # never sent before: the reader runs
            t0 = time.perf_counter()
            r = client.patch(url, json={"properties": {"azimuth_deg": azimuth}})
            fresh.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"PATCH failed: {r.status_code} {r.text[:200]}")
    _figures(f"[{name}] {a.cameras:,} cameras, PATCH one camera", plain)
    _figures(f"[{name}] {a.cameras:,} cameras, GET + PATCH with If-Match", versioned)
    _figures(f"[{name}] {a.cameras:,} cameras, PATCH a value never seen (old path)", fresh)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cameras", type=int, default=250_000, help="synthetic cameras (250k)")
    ap.add_argument("--edits", type=int, default=50, help="cameras edited, timed (50)")
    ap.add_argument("--backend", choices=["both", "gpkg", "postgis"], default="both")
    ap.add_argument("--database-url", help="PostGIS database (default: a throwaway cluster)")
    a = ap.parse_args()
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} python={sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="gridcover-bench-") as tmp:
        if a.backend in ("both", "gpkg"):
            bench_backend("gpkg", Settings(data_dir=Path(tmp) / "gpkg", load_sample=False), a)
        if a.backend in ("both", "postgis"):
            url = a.database_url
            if url is None:
                from postgis_server import fresh_database_url

                url = fresh_database_url()
            pg = Settings(data_dir=Path(tmp) / "pg", load_sample=False, database_url=url)
            bench_backend("postgis", pg, a)


if __name__ == "__main__":
    main()
