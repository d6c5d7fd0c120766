"""A store's per-thread connections end with their threads (the cause of a 500 under load).

The web server's worker threads come and go (anyio stops workers idle for 10 s and starts new
ones when requests pile up). Each thread keeps a read and a write connection; they used to stay
open after the thread ended, so a busy PostGIS server crept up to ``max_connections`` and then
refused clients (the 8-client concurrency test failed once under load). Here 60 short-lived
threads each read and write through one store; PostgreSQL's own ``pg_stat_activity`` (read
over a separate connection) or, for the GeoPackage, the process's open file descriptors on
the store file (``/proc/self/fd``) must show their connections gone once they have ended.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path

import pytest

import api_write_data as w
from gridcover.api.store import open_store
from gridcover.api.store.edits import FeatureRow, becomes


def _open_files(path: Path) -> int:
    """File descriptors of this process open on the GeoPackage file itself."""
    fds = Path("/proc/self/fd")
    n = 0
    for fd in fds.iterdir():
        try:
            n += Path(os.readlink(fd)) == path.resolve()
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
    return n


def _server_side(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        return int(conn.execute(sql).fetchone()[0]) - 1  # not this one


@pytest.mark.parametrize("backend", w.BACKENDS)
def test_connections_of_ended_threads_are_closed(backend: str, tmp_path: Path) -> None:
    settings = w.settings_for(backend, tmp_path)
    w.fill_store(settings)
    url = str(settings.database_url or settings.store_path)
    store = open_store(settings)
    cid = str(w.cameras()["camera_id"].iloc[0])
    page = store.feature("cameras", cid)
    row = FeatureRow(page.geometries[0], dict(page.properties[0]))
    idle = _count(url)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            store.collections()  # a read connection
            store.edit_feature("cameras", cid, becomes(row), mode="replace")  # a write one
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    after: list[int] = []
    try:
        for _ in range(6):  # 60 threads, ten at a time: 120 connections if none were closed
            batch = [threading.Thread(target=work) for _ in range(10)]
            for t in batch:
                t.start()
            for t in batch:
                t.join(timeout=60)
            gc.collect()
            after.append(_settled(url, idle + 2) if backend == "postgis" else _count(url))
        assert not errors, errors
        # SQLite keeps the descriptors of closed connections while others are open (POSIX
        # locks) and reuses them, so a count settles at the concurrency, never grows by batch
        assert after[-1] <= after[0] + 2, after
        if backend == "postgis":
            assert after[-1] <= idle + 2, (idle, after)
        # the store still works from this thread after all that
        assert store.feature("cameras", cid).properties[0] == row.properties
    finally:
        store.close()
    assert _settled(url, 0) == 0  # close() closes what live threads still hold


def _count(url: str) -> int:
    return _server_side(url) if url.startswith("postgres") else _open_files(Path(url))


def _settled(url: str, target: int) -> int:
    """The server-side count once it is at most ``target`` (or after 10 s): the server
    notices closed sockets asynchronously."""
    deadline = time.monotonic() + 10
    while (n := _count(url)) > target and time.monotonic() < deadline:
        time.sleep(0.2)
    return n
