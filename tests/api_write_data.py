"""Shared set-up of the write-side API tests: real layers, both backends, keys, a live server.

Layers are real Chicago open data read with the foundation's ``read_layer``: police
districts (level 1, codes ``D<n>``) and beats (level 2, ``B<nnnn>`` with parent ``D<n>``) as
grids, dissolved by code so codes are unique, and the 160 speed cameras. ``backend`` is
"gpkg" (a GeoPackage in a temporary folder) or "postgis" (a fresh database in the test
cluster of ``postgis_server``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pandas as pd
import shapely

from api_server import CHICAGO, chicago_grids
from gridcover.api.store import open_store
from gridcover.api.store.audit import layer_digest
from gridcover.api.store.keys import KeyStore
from gridcover.api.store.publish import store_layer
from gridcover.api.store.sql_target import target_for
from gridcover.gis import read_layer
from gridcover.settings import Settings

BACKENDS = ("gpkg", "postgis")


@functools.cache
def grids() -> gpd.GeoDataFrame:
    """Chicago districts and beats as a 2-level grid with unique codes."""
    g = chicago_grids()
    parts = []
    for (code, level), part in g.groupby(["code", "level"], sort=False):
        parts.append(
            {
                "code": code,
                "parent_code": part["parent_code"].iloc[0],
                "level": int(level),
                "name": part["name"].iloc[0],
                "geometry": shapely.union_all(part.geometry.values),
            }
        )
    return gpd.GeoDataFrame(pd.DataFrame(parts), geometry="geometry", crs=g.crs)


@functools.cache
def cameras() -> gpd.GeoDataFrame:
    """The 160 Chicago speed cameras, validated by ``read_layer``."""
    return read_layer(CHICAGO / "speed_camera_locations.csv", "cameras")


def settings_for(backend: str, folder: Path, **extra: Any) -> Settings:
    """Settings of a store of ``backend`` with its data in ``folder`` (or a fresh database)."""
    url = None
    if backend == "postgis":
        from postgis_server import fresh_database_url

        url = fresh_database_url()
    return Settings(
        data_dir=folder, load_sample=False, database_url=url, key_cache_seconds=0, **extra
    )


def fill_store(settings: Settings) -> None:
    """Store the grids and cameras layers in the settings' store."""
    store = open_store(settings)
    try:
        store_layer(store, "grids", grids())
        store_layer(store, "cameras", cameras())
    finally:
        store.close()


def add_key(settings: Settings, role: str, grid: str | None = None, name: str = "") -> str:
    """A new API key token of ``role`` in the settings' store."""
    keys = KeyStore(target_for(settings))
    return keys.add(name or f"test {role} {grid or ''}".strip(), role, grid).token


def stored_digest(settings: Settings, layer: str) -> str:
    """Content digest of a stored layer, read through a fresh store connection."""
    store = open_store(settings)
    try:
        return layer_digest(store.read_layer(layer))
    finally:
        store.close()


def camera_inside(code: str, n: int = 0) -> tuple[str, shapely.Point]:
    """The n-th camera lying inside grid ``code`` (checked with plain shapely)."""
    area = grids().set_index("code").geometry[code]
    cams = cameras()
    inside = cams[shapely.covers(area, cams.geometry.values)]
    return str(inside["camera_id"].iloc[n]), inside.geometry.iloc[n]


def feature_sha(doc: dict[str, Any]) -> str:
    """SHA-256 of a GeoJSON feature as the audit log and the ETag define it: its 2D WKB, then
    its properties as JSON with sorted keys (computed from the HTTP answer, not by the server's
    code)."""
    geom = shapely.geometry.shape(doc["geometry"])
    wkb = shapely.to_wkb(geom, output_dimension=2, byte_order=1)
    props = json.dumps(doc["properties"], sort_keys=True).encode()
    return hashlib.sha256(wkb + props).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_server(
    settings: Settings, log: Path | None = None, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``create_app()`` under uvicorn (env from ``settings``, ``workers`` processes);
    yield (base URL, process)."""
    port = _free_port()
    env = {
        **os.environ,
        "GRIDCOVER_DATA_DIR": str(settings.data_dir),
        "GRIDCOVER_LOAD_SAMPLE": "0",
        "GRIDCOVER_KEY_CACHE_SECONDS": "0",
    }
    if settings.database_url:
        env["GRIDCOVER_DATABASE_URL"] = settings.database_url
    for name in ("max_upload_bytes", "query_key", "rate_limit_per_minute"):
        env[f"GRIDCOVER_{name.upper()}"] = str(getattr(settings, name)).lower()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "gridcover.api.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "info",
        *(["--workers", str(workers)] if workers > 1 else []),
    ]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {proc.returncode}")
            try:
                if httpx.get(base + "/conformance", timeout=2).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer within 60 s")
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]
