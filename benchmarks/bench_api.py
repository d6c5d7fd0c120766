"""Benchmark: 1,000-feature OGC API items pages over loopback, p50 / p99 latency and req/s.

Two stores: the bundled sample (loaded on first start; pages of roads and of the 7,055
coverage cells after a coverage run) and a synthetic store of 100,000 cameras (random
points over central Helsinki with canonical camera columns). The server is ``uvicorn`` (one
process) on 127.0.0.1 in a subprocess; clients are threads with keep-alive connections.
Each scenario is bounded by a request count and a time limit.

    python -m benchmarks.bench_api            # or: python benchmarks/bench_api.py
    python benchmarks/bench_api.py --requests 300 --concurrency 4 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import shapely

from gridcover.api.jobs.plans import BaselineCache, run_coverage
from gridcover.api.store.gpkg.store import GeoPackageStore
from gridcover.api.store.publish import load_sample_if_new, store_layer
from gridcover.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"


def synthetic_cameras(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` cameras with canonical columns at random points over central Helsinki."""
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {
            "camera_id": [f"syn-{i:06d}" for i in range(n)],
            "azimuth_deg": rng.uniform(0, 360, n).round(1),
            "fov_deg": rng.choice([60.0, 90.0, 360.0], n),
            "range_m": rng.uniform(20, 80, n).round(1),
            "height_m": rng.uniform(3, 8, n).round(1),
            "type": rng.choice(["bullet", "dome", "ptz"], n),
            "status": rng.choice(["online", "offline"], n, p=[0.95, 0.05]),
            "owner": rng.choice(["city", "police", "private"], n),
        },
        geometry=shapely.points(rng.uniform(24.90, 24.98, n), rng.uniform(60.15, 60.19, n)),
        crs="EPSG:4326",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(data_dir: Path, load_sample: bool, database_url: str | None = None) -> Iterator[str]:
    """uvicorn serving the store in ``data_dir`` (or the PostGIS ``database_url``), no rate
    limit; yields the base URL once /conformance answers (200, or 401 when keys exist)."""
    port = _free_port()
    env = {**os.environ, "GRIDCOVER_DATA_DIR": str(data_dir),
           "GRIDCOVER_LOAD_SAMPLE": "1" if load_sample else "0",
           "GRIDCOVER_SAMPLE_DIR": str(SAMPLE), "GRIDCOVER_RATE_LIMIT_PER_MINUTE": "0"}  # fmt: skip
    if database_url:
        env["GRIDCOVER_DATABASE_URL"] = database_url
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "gridcover.api.app:create_app",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/conformance", timeout=2).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def load(
    base: str, paths: list[str], requests: int, concurrency: int, seconds: float
) -> dict[str, float]:
    """Issue up to ``requests`` GETs from ``concurrency`` threads (stop after ``seconds``)."""
    lat: list[float] = []
    sizes: list[int] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.perf_counter() + seconds
    errors = 0

    def worker(seed: int) -> None:
        nonlocal errors
        rnd = random.Random(seed)
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/conformance")  # open the keep-alive connection
            while time.perf_counter() < deadline:
                with lock:
                    if next(counter, None) is None:
                        return
                path = rnd.choice(paths)
                t0 = time.perf_counter()
                r = client.get(path)
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code != 200:
                        errors += 1
                    lat.append(dt)
                    sizes.append(len(r.content))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = np.array(lat) * 1000
    return {
        "n": len(lat), "errors": errors, "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)), "req_s": len(lat) / wall,
        "mb_per_page": float(np.mean(sizes)) / 1e6,
    }  # fmt: skip


def pages(collection: str, total: int, limit: int = 1000, extra: str = "") -> list[str]:
    offsets = range(0, max(total - limit, 0) + 1, limit) if total > limit else [0]
    return [f"/collections/{collection}/items?limit={limit}&offset={o}{extra}" for o in offsets]


TARGET_P50_MS = 50.0  # issue 4: p50 <= 50 ms for a 1,000-feature page


def report(name: str, res: dict[str, float]) -> None:
    verdict = "met" if res["p50_ms"] <= TARGET_P50_MS else "MISSED"
    print(
        f"{name:<58} n={res['n']:>4.0f} err={res['errors']:.0f}  p50 {res['p50_ms']:7.1f} ms  "
        f"p99 {res['p99_ms']:7.1f} ms  {res['req_s']:6.1f} req/s  {res['mb_per_page']:.2f} MB  "
        f"target p50<={TARGET_P50_MS:.0f} ms {verdict}"
    )


def bbox_and_crs(
    base: str, cameras: int, a: argparse.Namespace, label: str, rng: np.random.Generator
) -> None:
    """The bbox scenario (50 random ~280 x 450 m boxes over central Helsinki, from ``rng``)
    and the EPSG:4490 output scenario on ``cameras``; report lines start with ``label``."""
    boxes = []
    for _ in range(50):
        x, y = rng.uniform(24.90, 24.975), rng.uniform(60.15, 60.186)
        boxes.append(f"&bbox={x:.5f},{y:.5f},{x + 0.005:.5f},{y + 0.004:.5f}")
    paths = [p for b in boxes for p in pages("cameras", 1000, extra=b)]
    res = load(base, paths, a.requests, a.concurrency, a.seconds)
    report(f"{label}bbox (~{cameras // 270} hits) c={a.concurrency}", res)
    crs = "&crs=http://www.opengis.net/def/crs/EPSG/0/4490"
    res = load(base, pages("cameras", cameras, extra=crs), a.requests, a.concurrency, a.seconds)
    report(f"{label}limit=1000 crs=EPSG:4490 c={a.concurrency}", res)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200, help="requests per scenario (200)")
    ap.add_argument("--concurrency", type=int, default=4, help="client threads (4)")
    ap.add_argument("--seconds", type=float, default=30.0, help="time cap per scenario (30)")
    ap.add_argument("--cameras", type=int, default=100_000, help="synthetic cameras (100k)")
    a = ap.parse_args()
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} python={sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="gridcover-bench-") as tmp:
        sample_dir = Path(tmp) / "sample"
        store = GeoPackageStore(sample_dir / "gridcover.gpkg")
        load_sample_if_new(store, Settings(data_dir=sample_dir, sample_dir=SAMPLE))
        run_coverage(store, BaselineCache(), {"res": 12}, "bench", lambda _f, _m: None)
        store.close()
        with server(sample_dir, load_sample=False) as base:
            counts = {c["id"]: c["gridcover:numberOfFeatures"]
                      for c in httpx.get(base + "/collections").json()["collections"]}  # fmt: skip
            for cid in ("roads", "coverage_cells", "cameras"):
                for conc in (1, a.concurrency):
                    res = load(base, pages(cid, counts[cid]), a.requests, conc, a.seconds)
                    report(f"sample {cid} ({counts[cid]}) limit=1000 c={conc}", res)
        big_dir = Path(tmp) / "big"
        t0 = time.perf_counter()
        store = GeoPackageStore(big_dir / "gridcover.gpkg")
        store_layer(store, "cameras", synthetic_cameras(a.cameras))
        store.close()
        print(f"stored {a.cameras} synthetic cameras in {time.perf_counter() - t0:.1f} s")
        with server(big_dir, load_sample=False) as base:
            for conc in (1, a.concurrency):
                res = load(base, pages("cameras", a.cameras), a.requests, conc, a.seconds)
                report(f"{a.cameras} cameras limit=1000 random offset c={conc}", res)
            bbox_and_crs(base, a.cameras, a, f"{a.cameras} cameras ", np.random.default_rng(1))


if __name__ == "__main__":
    main()
