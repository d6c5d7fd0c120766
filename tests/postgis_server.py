"""A throwaway PostgreSQL + PostGIS cluster for the tests (one per test process).

``pg_cluster()`` runs ``initdb`` and ``pg_ctl`` from the Debian binaries
(``/usr/lib/postgresql/<version>/bin``) in a temporary folder, listening on a free loopback
port, trusts local connections and prepares a template database with PostGIS.
``fresh_database_url()`` clones that template into a new database and returns its URL.

PostgreSQL refuses to run as root: under root (CI containers) the cluster folder is owned by
the ``postgres`` user and the binaries run through ``runuser -u postgres``. When the binaries
or the PostGIS extension are missing the tests are skipped with the reason, except when the
environment says ``CI=true``: there a missing database is a failure, never a silent skip.
"""

from __future__ import annotations

import atexit
import functools
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

TEMPLATE = "gridcover_template"


@dataclass(frozen=True)
class Cluster:
    """A running test cluster: its folder, port and superuser name."""

    folder: Path
    port: int
    user: str
    bindir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _has_postgis(bindir: Path) -> bool:
    try:
        share = subprocess.run(
            [str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        share = str(
            bindir.parent.parent.parent.parent / "share" / "postgresql" / bindir.parent.name
        )
    return Path(share, "extension", "postgis.control").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], as_postgres: bool) -> subprocess.CompletedProcess[str]:
    full = ["runuser", "-u", "postgres", "--", *cmd] if as_postgres else cmd
    return subprocess.run(full, capture_output=True, text=True, check=False)


def _start() -> Cluster:
    bindir = _bindir()
    if bindir is None:
        raise _Unavailable(
            "PostgreSQL binaries (initdb, pg_ctl) are not installed; install the Debian "
            "packages postgresql and postgresql-15-postgis-3"
        )
    if not _has_postgis(bindir):
        raise _Unavailable(
            f"PostGIS is not installed for {bindir}; install postgresql-15-postgis-3"
        )
    as_postgres = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="gridcover-pg-"))
    data = folder / "data"
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    user = "postgres" if as_postgres else os.environ.get("USER", "postgres")
    init = _run(
        [str(bindir / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8",
         "--no-locale", "--no-sync"],
        as_postgres,
    )  # fmt: skip
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr}")
    port = _free_port()
    opts = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    start = _run(
        [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(folder / "log"),
         "-w", "-t", "60", "start"],
        as_postgres,
    )  # fmt: skip
    if start.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {start.stderr}\n{log}")
    cluster = Cluster(folder, port, user, bindir)
    atexit.register(_stop, cluster, as_postgres)
    _create_template(cluster)
    return cluster


def _stop(cluster: Cluster, as_postgres: bool) -> None:
    _run(
        [str(cluster.bindir / "pg_ctl"), "-D", str(cluster.folder / "data"), "-m", "immediate",
         "-w", "stop"],
        as_postgres,
    )  # fmt: skip
    shutil.rmtree(cluster.folder, ignore_errors=True)


def _create_template(cluster: Cluster) -> None:
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    with psycopg.connect(cluster.url(TEMPLATE), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")


class _Unavailable(Exception):
    pass


@functools.cache
def _cluster_or_reason() -> Cluster | str:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed; pip install 'gridcover[postgis]'"
    try:
        return _start()
    except _Unavailable as exc:
        return str(exc)


def pg_cluster() -> Cluster:
    """The test process's cluster, started on first use (skips/fails when unavailable)."""
    got = _cluster_or_reason()
    if isinstance(got, str):
        _skip_or_fail(got)
        raise AssertionError("unreachable")
    return got


def fresh_database_url() -> str:
    """A new, empty database with PostGIS in the test cluster; returns its URL."""
    import psycopg

    cluster = pg_cluster()
    name = "t_" + uuid.uuid4().hex[:12]
    for attempt in range(20):
        try:
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
            break
        except psycopg.errors.ObjectInUse:  # the template is briefly in use by another clone
            time.sleep(0.1 * (attempt + 1))
    return cluster.url(name)
