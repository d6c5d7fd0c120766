"""A store's per-thread connections end with their threads (the cause of a 500 under load).

The web server's worker threads come and go (anyio stops workers idle for 10 s and starts new
ones when requests pile up). Each thread keeps a read and a write connection; they used to stay
open after the thread ended, so a busy PostGIS server crept up to ``max_connections`` and then
refused clients (the 8-client concurrency test failed once under load). Here 60 short-lived
threads each read and write through one PostGIS store; PostgreSQL's own ``pg_stat_activity``
(read over a separate connection) must show their connections gone once they have ended.
"""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import api_write_data as w
from gridcover.api.store import open_store
from gridcover.api.store.edits import FeatureRow, becomes


def _server_side(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        return int(conn.execute(sql).fetchone()[0]) - 1  # not this one


def test_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    settings = w.settings_for("postgis", tmp_path)
    w.fill_store(settings)
    url = str(settings.database_url)
    store = open_store(settings)
    cid = str(w.cameras()["camera_id"].iloc[0])
    page = store.feature("cameras", cid)
    row = FeatureRow(page.geometries[0], dict(page.properties[0]))
    idle = _server_side(url)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            store.collections()  # a read connection
            store.edit_feature("cameras", cid, becomes(row), mode="replace")  # a write one
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    try:
        for _ in range(6):  # 60 threads, ten at a time: 120 connections if none were closed
            batch = [threading.Thread(target=work) for _ in range(10)]
            for t in batch:
                t.start()
            for t in batch:
                t.join(timeout=60)
        assert not errors, errors
        gc.collect()
        assert _settled(url, idle + 2) <= idle + 2
        # the store still works from this thread after all that
        assert store.feature("cameras", cid).properties[0] == row.properties
    finally:
        store.close()
    assert _settled(url, 0) == 0  # close() closes what live threads still hold


def _settled(url: str, target: int) -> int:
    """The server-side count once it is at most ``target`` (or after 10 s): the server
    notices closed sockets asynchronously."""
    deadline = time.monotonic() + 10
    while (n := _server_side(url)) > target and time.monotonic() < deadline:
        time.sleep(0.2)
    return n
