"""Analysis jobs of the service: the job manager (``manager``: worker pool, status, progress),
job records that survive a restart (``records``), and the plans that run a core workflow on
stored layers and store its tables (``plans``, ``patrol_siting``). No web framework here."""

from gridcover.api.jobs.manager import Job, JobManager, JobOutput, ProgressFn
from gridcover.api.jobs.records import JobRecords

__all__ = ["Job", "JobManager", "JobOutput", "JobRecords", "ProgressFn"]
