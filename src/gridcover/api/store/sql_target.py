"""Where the service's own tables live (API keys, audit log, jobs): the store's own database.

With the GeoPackage store that is the GeoPackage file itself (plain SQLite tables next to
the layers, opened with the standard ``sqlite3`` only, never GDAL's SQLite); with PostGIS it
is the PostgreSQL database of ``GRIDCOVER_DATABASE_URL``. SQL texts use ``?`` placeholders;
``run`` converts them for psycopg.
"""

from __future__ import annotations

import fcntl
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gridcover.settings import Settings


def is_postgres_url(url: str | None) -> bool:
    """True if ``url`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return bool(url) and str(url).split("://", 1)[0] in ("postgresql", "postgres")


def run(conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    """Execute ``sql`` (``?`` placeholders) on a sqlite3 or psycopg connection; the cursor."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute(sql, tuple(params))
    if not params:
        return conn.execute(sql)
    return conn.execute(sql.replace("?", "%s"), tuple(params))


@contextmanager
def sqlite_transaction(conn: sqlite3.Connection, *, write: bool = True) -> Iterator[None]:
    """One SQLite transaction on ``conn`` (opened with ``isolation_level=None``): committed
    when the block ends, rolled back on any error. ``write`` takes the write lock at once
    (``BEGIN IMMEDIATE``), so a read inside the block sees what the commit will change."""
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class SqlTarget:
    """A database holding the service tables: a SQLite/GeoPackage file or a PostgreSQL URL."""

    kind: Literal["sqlite", "postgres"]
    location: str

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Any]:
        """A connection inside one transaction, committed on success, rolled back on error."""
        if self.kind == "sqlite":
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.location, isolation_level=None, timeout=30.0)
            try:
                conn.execute("PRAGMA busy_timeout = 30000")
                with sqlite_transaction(conn, write=write):
                    yield conn
            finally:
                conn.close()
            return
        import psycopg

        with psycopg.connect(self.location, autocommit=True) as pconn, pconn.transaction():
            yield pconn


@contextmanager
def exclusive(target: SqlTarget, name: str) -> Iterator[None]:
    """Hold the lock ``name`` on ``target`` against every other process and thread.

    SQLite: ``flock`` on the file ``<database>.<name>.lock`` beside the database (never a
    lock on the database file itself, whose POSIX locks belong to SQLite). PostgreSQL:
    ``pg_advisory_xact_lock`` in a transaction held open while the block runs.
    """
    if target.kind == "sqlite":
        path = Path(f"{target.location}.{name}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return
    with target.transaction() as conn:
        run(conn, "SELECT pg_advisory_xact_lock(7274004, hashtext(?))", [name])
        yield


def target_for(settings: Settings) -> SqlTarget:
    """The database of the store the settings name."""
    url = getattr(settings, "database_url", None)
    if is_postgres_url(url):
        return SqlTarget("postgres", str(url))
    return SqlTarget("sqlite", str(settings.store_path))


def safe_url(url: str) -> str:
    """The URL without its password (``user:password@`` and a ``password=`` parameter)."""
    url = re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url)
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}@{host}"


def store_label(settings: Settings) -> str:
    """Where the settings' store lives, for messages: a file path or a URL without password."""
    if is_postgres_url(settings.database_url):
        return f"the PostGIS database {safe_url(str(settings.database_url))}"
    return f"the GeoPackage {settings.store_path}"
