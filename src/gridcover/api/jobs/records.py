"""Job records in the store's database, so that the job list survives a restart.

One row per job (``gridcover_jobs`` in the GeoPackage, opened with ``sqlite3`` only;
``gridcover.jobs`` in PostgreSQL) holds what ``Job`` holds plus the *owner*: a random token
of the process running it. While a ``JobRecords`` is open its process holds a lease on its
owner token (an ``flock`` on a small file beside the GeoPackage, a session advisory lock in
PostgreSQL); the kernel or the database drops the lease when the process dies. On start,
jobs still "accepted" or "running" whose owner holds no lease are marked failed, so a worker
starting beside others (``uvicorn --workers N``) never fails a job another worker runs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from gridcover.api.jobs.manager import Job, JobOutput
from gridcover.api.store.audit import now_iso
from gridcover.api.store.sql_target import SqlTarget, run

log = logging.getLogger("gridcover.api")

INTERRUPTED = "the server stopped while this job ran; run it again"
COLUMNS = ("id", "kind", "params", "status", "progress", "message", "created", "started",
           "finished", "error", "collections", "summary", "owner")  # fmt: skip
_BODY = """(id TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
    progress DOUBLE PRECISION NOT NULL, message TEXT NOT NULL, created TEXT NOT NULL,
    started TEXT, finished TEXT, error TEXT, collections TEXT, summary TEXT,
    owner TEXT NOT NULL)"""
SQLITE_DDL = (
    f"CREATE TABLE IF NOT EXISTS gridcover_jobs {_BODY}",
    "CREATE INDEX IF NOT EXISTS gridcover_jobs_created ON gridcover_jobs (created)",
)
POSTGRES_DDL = (
    "SELECT pg_advisory_xact_lock(7274003)",
    "CREATE SCHEMA IF NOT EXISTS gridcover",
    f"CREATE TABLE IF NOT EXISTS gridcover.jobs {_BODY}",
    "CREATE INDEX IF NOT EXISTS jobs_created ON gridcover.jobs (created)",
)
_LEASE_CLASS = 7274005  # advisory lock (class, owner key) held while an owner process lives


def _owner_key(owner: str) -> int:
    """The signed 32-bit advisory-lock key of an owner token (hex)."""
    return int(owner[:8], 16) - 2**31


class JobRecords:
    """The job table of the store at ``target``; holds this process's owner lease until
    ``close``."""

    def __init__(self, target: SqlTarget) -> None:
        self.target = target
        self.table = "gridcover_jobs" if target.kind == "sqlite" else "gridcover.jobs"
        self.owner = uuid.uuid4().hex
        with target.transaction() as conn:
            for statement in SQLITE_DDL if target.kind == "sqlite" else POSTGRES_DDL:
                run(conn, statement)
        self._lease_file: IO[bytes] | None = None
        self._lease_conn: Any = None
        if target.kind == "sqlite":
            self._owners_dir.mkdir(parents=True, exist_ok=True)
            self._lease_file = open(self._owners_dir / f"{self.owner}.lock", "a+b")  # noqa: SIM115
            fcntl.flock(self._lease_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            import psycopg

            self._lease_conn = psycopg.connect(target.location, autocommit=True)
            self._lease_conn.execute(
                "SELECT pg_advisory_lock(%s, %s)", (_LEASE_CLASS, _owner_key(self.owner))
            )

    @property
    def _owners_dir(self) -> Path:
        db = Path(self.target.location)
        return db.parent / f".{db.name}.job-owners"

    def close(self) -> None:
        """Give up the owner lease (this process runs no more jobs)."""
        if self._lease_file is not None:
            self._lease_file.close()
            (self._owners_dir / f"{self.owner}.lock").unlink(missing_ok=True)
            self._lease_file = None
        if self._lease_conn is not None:
            self._lease_conn.close()
            self._lease_conn = None

    # -- rows ------------------------------------------------------------------------------
    def save(self, job: Job) -> None:
        """Insert or update the job's row (owned by this process)."""
        out = job.output
        values = [
            job.id, job.kind, json.dumps(dict(job.params), default=str, ensure_ascii=False),
            job.status, float(job.progress), job.message, job.created, job.started,
            job.finished, job.error,
            json.dumps(list(out.collections)) if out else None,
            json.dumps(dict(out.summary), default=str, ensure_ascii=False) if out else None,
            self.owner,
        ]  # fmt: skip
        marks = ", ".join("?" * len(COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
        sql = (
            f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({marks}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        with self.target.transaction() as conn:
            run(conn, sql, values)

    def get(self, job_id: str) -> Job | None:
        """The stored record of ``job_id``, or None."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE id = ?"
        with self.target.transaction(write=False) as conn:
            row = run(conn, sql, [job_id]).fetchone()
        return None if row is None else _job_of(row)

    def recent(self, limit: int) -> list[Job]:
        """The newest ``limit`` records, newest first."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM {self.table} ORDER BY created DESC, id LIMIT ?"
        with self.target.transaction(write=False) as conn:
            rows = run(conn, sql, [limit]).fetchall()
        return [_job_of(r) for r in rows]

    def prune(self, keep: int) -> None:
        """Delete finished records beyond the newest ``keep``."""
        sql = (
            f"DELETE FROM {self.table} WHERE status IN ('successful', 'failed') AND id NOT IN "
            f"(SELECT id FROM {self.table} ORDER BY created DESC, id LIMIT ?)"
        )
        with self.target.transaction() as conn:
            run(conn, sql, [keep])

    def fail_orphans(self) -> list[str]:
        """Mark failed the unfinished jobs whose owner process is gone; their ids."""
        sql = f"SELECT DISTINCT owner FROM {self.table} WHERE status IN ('accepted', 'running')"
        with self.target.transaction(write=False) as conn:
            owners = [r[0] for r in run(conn, sql).fetchall()]
        dead = [o for o in owners if o != self.owner and not self._alive(o)]
        if not dead:
            return []
        where = f"status IN ('accepted', 'running') AND owner IN ({', '.join('?' * len(dead))})"
        with self.target.transaction() as conn:
            ids = [r[0] for r in run(conn, f"SELECT id FROM {self.table} WHERE {where}", dead)]
            run(
                conn,
                f"UPDATE {self.table} SET status = 'failed', message = ?, error = ?, "
                f"finished = ? WHERE {where}",
                [INTERRUPTED, INTERRUPTED, now_iso(), *dead],
            )
        if ids:
            log.warning("marked %d interrupted job(s) failed: %s", len(ids), ", ".join(ids))
        return ids

    def _alive(self, owner: str) -> bool:
        """True while the process of ``owner`` holds its lease."""
        if self._lease_conn is not None:
            key = (_LEASE_CLASS, _owner_key(owner))
            got = self._lease_conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()
            if got[0]:
                self._lease_conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            return not got[0]
        path = self._owners_dir / f"{owner}.lock"
        try:
            fh = open(path, "r+b")  # noqa: SIM115
        except FileNotFoundError:
            return False
        with fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            path.unlink(missing_ok=True)  # a dead owner's file: tidy up
            return False


def _job_of(row: Sequence[Any]) -> Job:
    (jid, kind, params, status, progress, message, created, started, finished, error,
     collections, summary, _owner) = row  # fmt: skip
    output = None
    if collections is not None:
        output = JobOutput(tuple(json.loads(collections)), json.loads(summary or "{}"))
    return Job(
        id=jid, kind=kind, params=json.loads(params), status=status, progress=float(progress),
        message=message, created=created, started=started, finished=finished, output=output,
        error=error,
    )  # fmt: skip
