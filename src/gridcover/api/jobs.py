"""Analysis jobs: run long analyses in a worker pool, with status and progress.

Status values follow OGC API - Processes: accepted, running, successful, failed. A job's
function receives ``progress(fraction 0..1, message)`` and returns a ``JobOutput`` (the
collections it stored and a summary). Jobs live in memory: a restart forgets the job list,
never the stored results (those are layers with their run parameters recorded).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from gridcover.errors import GridcoverError, NotFound

log = logging.getLogger("gridcover.api")

Status = Literal["accepted", "running", "successful", "failed"]
ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class JobOutput:
    """What a finished job produced: stored collection ids and summary figures."""

    collections: tuple[str, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """A snapshot of one job (immutable; the manager replaces it as the job advances)."""

    id: str
    kind: str
    params: Mapping[str, Any]
    status: Status = "accepted"
    progress: float = 0.0
    message: str = "queued"
    created: str = ""
    started: str | None = None
    finished: str | None = None
    output: JobOutput | None = None
    error: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JobManager:
    """Runs jobs on ``workers`` threads and keeps their latest snapshot (the last ``keep``)."""

    def __init__(self, workers: int = 1, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gridcover-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def submit(
        self, kind: str, params: Mapping[str, Any], fn: Callable[[str, ProgressFn], JobOutput]
    ) -> Job:
        """Queue ``fn(job_id, progress)``; returns the accepted job at once."""
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, params=dict(params), created=_now())
        with self._lock:
            self._jobs[job.id] = job
            if len(self._jobs) > self._keep:
                done = [j for j in self._jobs.values() if j.status in ("successful", "failed")]
                for old in done[: len(self._jobs) - self._keep]:
                    del self._jobs[old.id]
        # Run in a copy of the caller's context so the audit log records the real caller.
        self._pool.submit(contextvars.copy_context().run, self._run, job.id, fn)
        return job

    def _run(self, job_id: str, fn: Callable[[str, ProgressFn], JobOutput]) -> None:
        self._update(job_id, status="running", started=_now(), message="started")

        def progress(fraction: float, message: str) -> None:
            self._update(job_id, progress=max(0.0, min(1.0, float(fraction))), message=message)

        try:
            out = fn(job_id, progress)
        except GridcoverError as exc:
            self._update(job_id, status="failed", finished=_now(), error=str(exc), message="failed")
        except Exception as exc:  # an unexpected bug: keep the server up, log it
            log.exception("job %s failed", job_id)
            self._update(
                job_id,
                status="failed",
                finished=_now(),
                message="failed",
                error=f"internal error ({type(exc).__name__}); see the server log",
            )
        else:
            self._update(
                job_id,
                status="successful",
                finished=_now(),
                progress=1.0,
                message="done",
                output=out,
            )

    def get(self, job_id: str) -> Job:
        """The job's latest snapshot; raises ``NotFound``."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} does not exist (jobs are kept in memory until restart)")
        return job

    def list(self) -> list[Job]:
        """All kept jobs, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job finished (tests, CLI); returns its snapshot."""
        deadline = threading.Event()
        waited = 0.0
        while waited < timeout:
            job = self.get(job_id)
            if job.status in ("successful", "failed"):
                return job
            deadline.wait(0.02)
            waited += 0.02
        return self.get(job_id)

    def shutdown(self) -> None:
        """Stop taking jobs; running ones finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
