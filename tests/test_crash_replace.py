"""SIGKILL the server in the middle of a large layer replace: the old layer survives intact.

A live uvicorn (``gridcover.api.app:create_app``) receives a 300,000-camera upload derived
from the real Chicago speed cameras. The test watches the store from outside and kills the
server (SIGKILL, no clean-up) while the new layer is being written: on GeoPackage when the
write transaction starts spilling pages into the WAL file, on PostGIS while the COPY into
the features table is running. A restarted server then serves the old layer, identical by
content digest, and accepts a new upload (nothing is left locked).
"""

from __future__ import annotations

import io
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import api_write_data as w
from api_server import CHICAGO
from gridcover.settings import Settings

N_BIG = 300_000


def _big_csv() -> bytes:
    """300,000 cameras: the real ones repeated with small offsets and new ids."""
    rng = np.random.default_rng(7)
    src = pd.read_csv(CHICAGO / "speed_camera_locations.csv", encoding="utf-8-sig")
    idx = rng.integers(0, len(src), N_BIG)
    df = pd.DataFrame(
        {
            "camera_id": [f"S{i:07d}" for i in range(N_BIG)],
            "LATITUDE": src["LATITUDE"].to_numpy()[idx] + rng.uniform(-0.003, 0.003, N_BIG),
            "LONGITUDE": src["LONGITUDE"].to_numpy()[idx] + rng.uniform(-0.003, 0.003, N_BIG),
            "type": "bullet",
            "status": "online",
        }
    )
    out = io.StringIO()
    df.to_csv(out, index=False)
    return out.getvalue().encode()


def _writing_gpkg(settings: Settings) -> bool:
    wal = Path(str(settings.store_path) + "-wal")
    return wal.exists() and wal.stat().st_mtime_ns > _writing_gpkg.since  # type: ignore[attr-defined]


def _writing_postgis(settings: Settings) -> bool:
    import psycopg

    with psycopg.connect(str(settings.database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE 'COPY gridcover.features%%'"
        ).fetchone()
    return bool(row and row[0])


def _upload(base: str, key: str, data: bytes, result: dict[str, object]) -> None:
    try:
        r = httpx.put(
            f"{base}/layers/cameras",
            files={"file": ("big.csv", data)},
            headers={"X-API-Key": key},
            timeout=120,
        )
        result["status"] = r.status_code
    except httpx.HTTPError as exc:
        result["error"] = type(exc).__name__


@pytest.mark.parametrize("backend", w.BACKENDS)
def test_sigkill_during_a_large_replace_keeps_the_old_layer(backend: str, tmp_path: Path) -> None:
    settings = w.settings_for(backend, tmp_path)
    w.fill_store(settings)
    key = w.add_key(settings, "admin")
    before = w.stored_digest(settings, "cameras")
    data = _big_csv()
    watch = _writing_gpkg if backend == "gpkg" else _writing_postgis
    with w.uvicorn_server(settings) as (base, proc):
        wal = Path(str(settings.store_path) + "-wal")
        _writing_gpkg.since = wal.stat().st_mtime_ns if wal.exists() else 0  # type: ignore[attr-defined]
        result: dict[str, object] = {}
        client = threading.Thread(target=_upload, args=(base, key, data, result))
        client.start()
        deadline = time.monotonic() + 90
        while not watch(settings):
            assert time.monotonic() < deadline, "the write never started"
            assert "status" not in result, f"the upload ended before the kill: {result}"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        client.join(timeout=60)
        assert "status" not in result  # the request died with the server
    if backend == "gpkg":
        with sqlite3.connect(settings.store_path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with w.uvicorn_server(settings) as (base, _):
        page = httpx.get(
            f"{base}/collections/cameras/items?limit=1000", headers={"X-API-Key": key}, timeout=30
        ).json()
        assert page["numberMatched"] == len(w.cameras())
        assert [f["id"] for f in page["features"]] == list(w.cameras()["camera_id"])
        assert w.stored_digest(settings, "cameras") == before
        r = httpx.put(
            f"{base}/layers/cameras",
            files={"file": ("speed.csv", (CHICAGO / "speed_camera_locations.csv").read_bytes())},
            headers={"X-API-Key": key},
            timeout=60,
        )
        assert r.status_code == 200, r.text  # nothing was left locked
    if backend == "gpkg":
        with sqlite3.connect(settings.store_path) as conn:
            used = {r[0] for r in conn.execute("SELECT table_name FROM gridcover_layers")}
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'"
                )
            }
        assert tables == used  # no half-written table left behind
