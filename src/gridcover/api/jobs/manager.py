"""Analysis jobs: run long analyses in a worker pool, with status and progress.

Status values follow OGC API - Processes: accepted, running, successful, failed. A job's
function receives ``progress(fraction 0..1, message)`` and returns a ``JobOutput`` (the
collections it stored and a summary). The manager keeps each job's latest snapshot in memory
and, given ``JobRecords``, writes it to the store's database at submit and at each status
change (progress at most once per ``progress_interval`` seconds), so the job list survives
a restart and every server process answers for every job.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from gridcover.errors import GridcoverError, NotFound

if TYPE_CHECKING:
    from gridcover.api.jobs.records import JobRecords

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
    """Runs jobs on ``workers`` threads and keeps their latest snapshot (the last ``keep``).

    With ``records`` every snapshot is also stored (see the module docstring); on start the
    jobs a stopped process left unfinished are marked failed.
    """

    def __init__(
        self,
        workers: int = 1,
        keep: int = 200,
        records: JobRecords | None = None,
        progress_interval: float = 1.0,
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gridcover-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep
        self._records = records
        self._interval = progress_interval
        self._saved_at: dict[str, float] = {}
        if records is not None:
            records.fail_orphans()

    def _update(self, job_id: str, *, status_change: bool = True, **changes: Any) -> None:
        with self._lock:
            job = self._jobs[job_id] = replace(self._jobs[job_id], **changes)
        self._save(job, force=status_change)

    def _save(self, job: Job, *, force: bool) -> None:
        """Store the snapshot (progress-only updates at most once per interval)."""
        if self._records is None:
            return
        now = time.monotonic()
        if not force and now - self._saved_at.get(job.id, -1e9) < self._interval:
            return
        self._saved_at[job.id] = now
        try:
            self._records.save(job)
        except Exception:  # the job goes on; only its stored record lags behind
            log.exception("could not store the record of job %s", job.id)
        if job.status in ("successful", "failed"):
            self._saved_at.pop(job.id, None)

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
        self._save(job, force=True)
        if self._records is not None:
            try:
                self._records.prune(self._keep)
            except Exception:
                log.exception("could not prune the stored job records")
        # Run in a copy of the caller's context so the audit log records the real caller.
        self._pool.submit(contextvars.copy_context().run, self._run, job.id, fn)
        return job

    def _run(self, job_id: str, fn: Callable[[str, ProgressFn], JobOutput]) -> None:
        self._update(job_id, status="running", started=_now(), message="started")

        def progress(fraction: float, message: str) -> None:
            fraction = max(0.0, min(1.0, float(fraction)))
            self._update(job_id, status_change=False, progress=fraction, message=message)

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
        """The job's latest snapshot (this process's, else the stored record); ``NotFound``."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None and self._records is not None:
            job = self._records.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} does not exist; GET /jobs lists the jobs")
        return job

    def list(self) -> list[Job]:
        """The newest ``keep`` jobs (stored ones and this process's), newest first."""
        stored = self._records.recent(self._keep) if self._records is not None else []
        with self._lock:
            mine = dict(self._jobs)
        jobs = {j.id: j for j in stored} | mine
        return sorted(jobs.values(), key=lambda j: (j.created, j.id), reverse=True)[: self._keep]

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
        """Stop taking jobs; running ones finish in the background (then the owner lease of
        the stored records is given up, so queued jobs left behind read as interrupted)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        records = self._records
        if records is not None:

            def close_when_idle() -> None:
                self._pool.shutdown(wait=True)
                records.close()

            threading.Thread(target=close_when_idle, name="gridcover-jobs-close").start()
