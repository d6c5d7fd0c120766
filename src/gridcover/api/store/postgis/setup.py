"""First-start set-up of a PostGIS store: extension, tables, roles, policies (idempotent).

Runs in one transaction under an advisory lock, so several server processes starting at
once do not race. The security part (``postgis_sql.security_ddl``) runs again only when
``SCHEMA_VERSION`` changes.
"""

from __future__ import annotations

from typing import Any

from gridcover.api.store.postgis import sql as q
from gridcover.errors import GridcoverError


def init_schema(conn: Any, psycopg: Any, where: str) -> None:
    """Create what is missing, inside the caller's transaction (``where``: URL for messages)."""
    conn.execute("SELECT pg_advisory_xact_lock(7274000)")
    found = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
    if found is None:
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error as exc:
            raise GridcoverError(
                f"PostGIS is not installed in the database {where}; run "
                f"'CREATE EXTENSION postgis' as a superuser ({exc})"
            ) from exc
    for statement in q.TABLES_DDL:
        conn.execute(statement)
    row = conn.execute("SELECT value FROM gridcover.meta WHERE key = 'schema'").fetchone()
    if row is not None and row[0] == q.SCHEMA_VERSION:
        return
    schema = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'postgis'"
    ).fetchone()[0]
    try:
        for statement in q.security_ddl(schema):
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise GridcoverError(
            "the database user may not set up the gridcover roles and policies "
            f"({exc.diag.message_primary}); run the service once as the owner of the "
            "database with CREATEROLE, or see docs/SECURITY.md for the SQL a database "
            "administrator runs instead"
        ) from exc
    conn.execute(
        "INSERT INTO gridcover.meta VALUES ('schema', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (q.SCHEMA_VERSION,),
    )
