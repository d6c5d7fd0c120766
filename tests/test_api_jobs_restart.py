"""Jobs survive a restart, and several server processes start safely on one new store.

On both backends: a finished job reads the same through GET /jobs/{id} from a new app on the
same store; a job whose server process was killed reads failed after the next start, while
a second process started beside a live one leaves its running job alone; two processes
loading the bundled sample into one new store at once end with one copy of each layer
(rows counted against the sample files as the reader validates them, and one
``create_layer`` audit row per layer, no ``replace_layer``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient

import api_write_data as w
from gridcover.api.app import create_app
from gridcover.api.jobs.manager import JobManager, JobOutput
from gridcover.api.jobs.records import INTERRUPTED
from gridcover.api.store import open_store
from gridcover.api.store.audit import read_entries
from gridcover.api.store.publish import INPUT_KINDS
from gridcover.api.store.sql_target import target_for
from gridcover.gis import read_layer
from gridcover.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"


@pytest.fixture(params=w.BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    s = w.settings_for(request.param, tmp_path)
    w.fill_store(s)
    return s


@pytest.fixture
def key(settings: Settings) -> dict[str, str]:
    return {"X-API-Key": w.add_key(settings, "planner")}


def _client(settings: Settings, key: dict[str, str]) -> TestClient:
    client = TestClient(create_app(settings))
    client.headers.update(key)
    return client


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "GRIDCOVER_DATA_DIR": str(settings.data_dir), **extra}
    env["GRIDCOVER_LOAD_SAMPLE"] = "1" if settings.load_sample else "0"
    if settings.database_url:
        env["GRIDCOVER_DATABASE_URL"] = settings.database_url
    return env


def test_a_finished_job_reads_the_same_after_a_restart(
    settings: Settings, key: dict[str, str]
) -> None:
    with _client(settings, key) as client:
        r = client.post("/analysis/grid-check", json={})
        assert r.status_code == 201, r.text
        job_id = r.json()["jobID"]
        client.app.state.jobs.wait(job_id, timeout=300)  # type: ignore[attr-defined]
        before = client.get(f"/jobs/{job_id}").json()
    assert before["status"] == "successful" and before["collections"] == ["grid_issues"]
    with _client(settings, key) as client:  # a new process would build exactly this app
        after = client.get(f"/jobs/{job_id}")
        assert after.status_code == 200
        assert after.json() == before
        listed = client.get("/jobs").json()["jobs"]
        assert [j for j in listed if j["jobID"] == job_id] == [before]
        assert client.get("/collections/grid_issues").status_code == 200
        assert client.get("/jobs/000000000000").status_code == 404


_RUNNING_JOB = """
import sys, threading
from gridcover.api.app import create_app
from gridcover.api.jobs.manager import JobOutput
app = create_app()
def forever(job_id, progress):
    progress(0.5, "halfway")
    threading.Event().wait()
    return JobOutput()
job = app.state.jobs.submit("probe", {"n": 7}, forever)
while app.state.jobs.get(job.id).status != "running":
    threading.Event().wait(0.01)
print(job.id, flush=True)
threading.Event().wait()
"""


def test_a_job_left_running_reads_failed_after_the_next_start(
    settings: Settings, key: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNING_JOB],
        env=_env(settings, GRIDCOVER_KEY_CACHE_SECONDS="0"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        job_id = proc.stdout.readline().strip()
        assert job_id, "the job process printed no job id"
        # A second worker starting beside the live one leaves its running job alone.
        with _client(settings, key) as client:
            doc = client.get(f"/jobs/{job_id}").json()
        assert (doc["status"], doc["processID"], doc["parameters"]) == (
            "running",
            "probe",
            {"n": 7},
        )
    finally:
        proc.kill()
        proc.wait()
    with _client(settings, key) as client:
        doc = client.get(f"/jobs/{job_id}").json()
        assert (doc["status"], doc["message"], doc["error"]) == ("failed", INTERRUPTED, INTERRUPTED)
        assert doc["started"] and doc["finished"] and doc["parameters"] == {"n": 7}
        assert [j["status"] for j in client.get("/jobs").json()["jobs"]] == ["failed"]


class _CountingRecords:
    """Stands in for ``JobRecords``: counts the snapshots a manager stores."""

    def __init__(self) -> None:
        self.saved: list[tuple[str, float]] = []

    def fail_orphans(self) -> list[str]:
        return []

    def save(self, job: Any) -> None:
        self.saved.append((job.status, job.progress))

    def prune(self, keep: int) -> None:
        pass

    def get(self, job_id: str) -> None:
        return None

    def close(self) -> None:
        pass


def test_progress_updates_are_stored_at_most_once_per_interval() -> None:
    records = _CountingRecords()
    jobs = JobManager(records=records, progress_interval=3600)  # type: ignore[arg-type]

    def chatty(job_id: str, progress: Any) -> JobOutput:
        for i in range(100):
            progress(i / 100, f"step {i}")
        return JobOutput()

    job = jobs.submit("probe", {}, chatty)
    assert jobs.wait(job.id).status == "successful"
    jobs.shutdown()
    # accepted and running at submit and start, then the final state; no progress in between
    assert records.saved == [("accepted", 0.0), ("running", 0.0), ("successful", 1.0)]


_LOAD_SAMPLE = """
import sys, time
from pathlib import Path
from gridcover.api.store.audit import with_audit
from gridcover.api.store.publish import load_sample_if_new
from gridcover.api.store import open_store
from gridcover.gis import read_layer
from gridcover.settings import Settings
settings = Settings()
store = with_audit(open_store(settings))
Path(sys.argv[1]).touch()
while not Path(sys.argv[2]).exists():
    time.sleep(0.005)
print(",".join(load_sample_if_new(store, settings)), flush=True)
store.close()
"""


@pytest.fixture(params=w.BACKENDS)
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    s = w.settings_for(request.param, tmp_path / "data")
    yield s.model_copy(update={"load_sample": True, "sample_dir": SAMPLE})


def test_two_processes_starting_on_a_new_store_load_the_sample_once(
    new_store: Settings, tmp_path: Path
) -> None:
    env = _env(new_store, GRIDCOVER_SAMPLE_DIR=str(SAMPLE))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LOAD_SAMPLE, str(tmp_path / f"ready{i}"), str(go)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()  # both stores are open and both see an empty store: load at once
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    files = {f.stem: f for f in SAMPLE.glob("*.geojson")}
    assert sorted(o for o in outputs if o) == [",".join(k for k in INPUT_KINDS if k in files)]
    store = open_store(new_store)
    try:
        assert sorted(store.layers()) == sorted(files)
        for layer, path in files.items():
            rows = sum(c.count for c in store.collections() if c.layer == layer)
            dup: Literal["raise", "keep"] = "keep" if layer == "grids" else "raise"  # as loaded
            assert rows == len(read_layer(path, layer, duplicates=dup)), layer
    finally:
        store.close()
    writes = [(e.action, e.collection) for e in read_entries(target_for(new_store), limit=100)]
    assert sorted(writes) == sorted(("create_layer", layer) for layer in files)
