"""Analysis routes: start jobs (grid check, coverage, blind spots, patrol, siting), follow
them, and evaluate what-if scenarios.

``POST /analysis/{name}`` validates the parameters (400 on anything unknown or out of
range), checks the H3 cell budget, queues a job and answers 201 with the job document and a
``Location`` header. ``GET /jobs/{jobId}`` reports status and progress; a successful job
links the collections it stored (their ``gridcover:params`` hold the run's parameters).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import h3
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from gridcover.api.analysis_models import (
    CoverageParams,
    GridCheckParams,
    JobDoc,
    JobList,
    PatrolParams,
    SitingParams,
    WhatIfRequest,
    WhatIfResult,
    _Strict,
)
from gridcover.api.deps import get_jobs, get_settings, get_store, links_base
from gridcover.api.jobs import plans as an
from gridcover.api.jobs.manager import Job, JobManager, JobOutput, ProgressFn
from gridcover.api.jobs.patrol_siting import run_patrol, run_siting
from gridcover.api.openapi import responses_for
from gridcover.api.params import plain_params
from gridcover.api.store import Store
from gridcover.errors import InputError
from gridcover.settings import Settings

JSON = "application/json"


def job_doc(job: Job, base: str) -> dict[str, Any]:
    out: JobOutput | None = job.output
    links = [{"href": f"{base}/jobs/{job.id}", "rel": "self", "type": JSON, "title": "job"}]
    for cid in out.collections if out else ():
        links.append(
            {"href": f"{base}/collections/{cid}", "rel": "results", "type": JSON, "title": cid}
        )
    return {
        "jobID": job.id,
        "processID": job.kind,
        "status": job.status,
        "progress": round(100 * job.progress),
        "message": job.message,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "parameters": dict(job.params),
        "collections": list(out.collections) if out else [],
        "summary": dict(out.summary) if out else {},
        "error": job.error,
        "links": links,
    }


def check_cell_budget(store: Store, res: int, max_cells: int) -> None:
    """Refuse (400) a run whose H3 cells over the grids' extents would exceed ``max_cells``."""
    area = 0.0
    for c in store.collections():
        if c.layer == "grids" and c.bbox is not None:
            x0, y0, x1, y1 = c.bbox
            lat = math.radians((y0 + y1) / 2)
            w = (x1 - x0) * 111_320 * math.cos(lat)
            area = max(area, w * (y1 - y0) * 110_574)
    cells = area / h3.average_hexagon_area(res, unit="m^2")
    if cells > max_cells:
        raise InputError(
            f"H3 resolution {res} gives about {cells:,.0f} cells over the grids' extent, more "
            f"than the server allows ({max_cells:,}); use a coarser resolution (smaller res)"
        )


StoreDep = Annotated[Store, Depends(get_store)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
BaseDep = Annotated[str, Depends(links_base)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Runner = Callable[[Store, dict[str, Any], str, ProgressFn], JobOutput]
_JOB_RESPONSES = {
    201: {"description": "Job accepted", "model": JobDoc},
    **responses_for(None, 400),
}


def _start(
    kind: str, params: dict[str, Any], runner: Runner, store: Store, jobs: JobManager, base: str
) -> JSONResponse:
    job = jobs.submit(kind, params, lambda jid, progress: runner(store, params, jid, progress))
    return JSONResponse(
        job_doc(job, base), status_code=201, headers={"Location": f"{base}/jobs/{job.id}"}
    )


_OUTPUTS = ("camera_views", "coverage_cells", "blind_spots", "grid_stats")


def _coverage_runner(cache: an.BaselineCache, outputs: tuple[str, ...]) -> Runner:
    def run(store: Store, params: dict[str, Any], jid: str, progress: ProgressFn) -> JobOutput:
        return an.run_coverage(store, cache, params, jid, progress, outputs)

    return run


def analysis_router(cache: an.BaselineCache) -> APIRouter:
    """Routes of the analyses and jobs; ``cache`` keeps the last coverage for what-if."""
    router = APIRouter(tags=["Analysis"])

    def coverage_runner(outputs: tuple[str, ...]) -> Runner:
        return _coverage_runner(cache, outputs)

    @router.post(
        "/analysis/coverage",
        status_code=201,
        responses=_JOB_RESPONSES,
        summary="Coverage: camera views, covered cells, blind spots, grid statistics",
    )
    def coverage(
        body: CoverageParams, store: StoreDep, jobs: JobsDep, base: BaseDep, settings: SettingsDep
    ) -> JSONResponse:
        check_cell_budget(store, body.res, settings.max_cells)
        return _start("coverage", body.model_dump(), coverage_runner(_OUTPUTS), store, jobs, base)

    @router.post(
        "/analysis/blind-spots",
        status_code=201,
        responses=_JOB_RESPONSES,
        summary="Blind spots only (same run as coverage; stores blind_spots)",
    )
    def blind_spots(
        body: CoverageParams, store: StoreDep, jobs: JobsDep, base: BaseDep, settings: SettingsDep
    ) -> JSONResponse:
        check_cell_budget(store, body.res, settings.max_cells)
        runner = coverage_runner(("blind_spots",))
        return _start("blind-spots", body.model_dump(), runner, store, jobs, base)

    @router.post(
        "/analysis/grid-check",
        status_code=201,
        responses=_JOB_RESPONSES,
        summary="Grid QA: overlaps, gaps, nesting, invalid shapes, slivers, codes",
    )
    def grid_check(
        body: GridCheckParams, store: StoreDep, jobs: JobsDep, base: BaseDep
    ) -> JSONResponse:
        return _start("grid-check", body.model_dump(), an.run_grid_check, store, jobs, base)

    @router.post(
        "/analysis/patrol",
        status_code=201,
        responses=_JOB_RESPONSES,
        summary="Patrol zones: one contiguous, balanced zone per post",
    )
    def patrol(
        body: PatrolParams, store: StoreDep, jobs: JobsDep, base: BaseDep, settings: SettingsDep
    ) -> JSONResponse:
        check_cell_budget(store, body.res, settings.max_cells)
        return _start("patrol", body.model_dump(), run_patrol, store, jobs, base)

    @router.post(
        "/analysis/siting",
        status_code=201,
        responses=_JOB_RESPONSES,
        summary="Camera siting: K new cameras (or within a budget) covering the most "
        "uncovered priority",
    )
    def siting(
        body: SitingParams, store: StoreDep, jobs: JobsDep, base: BaseDep, settings: SettingsDep
    ) -> JSONResponse:
        check_cell_budget(store, body.res, settings.max_cells)
        params = body.model_dump()
        if body.budget is not None and (body.dome or body.backup != 1):
            raise InputError(
                "dome and backup apply to K siting; with a budget the catalogue's models are "
                'the candidates (choose them with models, e.g. ["dome"]).'
            )
        if body.budget is not None and "k" not in body.model_fields_set:
            params["k"] = None  # a budget alone: as many cameras as it buys
        return _start("siting", params, run_siting, store, jobs, base)

    @router.post(
        "/analysis/whatif",
        response_model=WhatIfResult,
        responses=responses_for(None, 400),
        summary="What-if: KPI deltas of disabling, adding or re-aiming cameras",
    )
    def whatif(body: WhatIfRequest, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
        check_cell_budget(store, body.config.res, settings.max_cells)
        return an.whatif_deltas(store, cache, body.config.model_dump(), _scenario(body))

    @router.get(
        "/jobs",
        response_model=JobList,
        responses=responses_for(None, 400),
        dependencies=[Depends(plain_params())],
        summary="Analysis jobs, newest first",
    )
    def list_jobs(jobs: JobsDep, base: BaseDep) -> dict[str, Any]:
        return {
            "jobs": [job_doc(j, base) for j in jobs.list()],
            "links": [{"href": f"{base}/jobs", "rel": "self", "type": JSON, "title": "jobs"}],
        }

    @router.get(
        "/jobs/{jobId}",
        response_model=JobDoc,
        responses=responses_for(None, 400, 404),
        dependencies=[Depends(plain_params())],
        summary="Status of one job",
    )
    def get_job(jobId: str, jobs: JobsDep, base: BaseDep) -> dict[str, Any]:
        return job_doc(jobs.get(jobId), base)

    return router


def start_sample_runs(
    store: Store, jobs: JobManager, cache: an.BaselineCache, settings: Settings
) -> list[Job]:
    """Queue the grid check, coverage, patrol and siting with default parameters (first start).

    Each runs only when its input layers are stored and its cells fit ``max_cells``; the jobs
    are listed at /jobs like any other (actor ``system`` in the audit log).
    """
    stored = set(store.layers())
    plans: list[tuple[str, type[_Strict], tuple[str, ...], Runner]] = [
        ("grid-check", GridCheckParams, ("grids",), an.run_grid_check),
        ("coverage", CoverageParams, ("grids", "cameras"), _coverage_runner(cache, _OUTPUTS)),
        ("patrol", PatrolParams, ("grids", "posts"), run_patrol),
        ("siting", SitingParams, ("grids", "roads"), run_siting),
    ]
    started = []
    for kind, model, needs, runner in plans:
        params = model.model_validate({}).model_dump()
        if not set(needs) <= stored:
            continue
        try:
            if "res" in params:
                check_cell_budget(store, int(params["res"]), settings.max_cells)
        except InputError:
            continue
        started.append(jobs.submit(kind, params, _bind(runner, store, params)))
    return started


def _bind(
    runner: Runner, store: Store, params: dict[str, Any]
) -> Callable[[str, ProgressFn], JobOutput]:
    return lambda jid, progress: runner(store, params, jid, progress)


def _scenario(body: WhatIfRequest) -> Any:
    import geopandas as gpd

    from gridcover.coverage.whatif import Scenario

    added = None
    if body.added:
        rows = [a.model_dump() for a in body.added]
        added = gpd.GeoDataFrame(
            [{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in rows],
            geometry=gpd.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows]),
            crs="EPSG:4326",
        )
    reaimed = {cid: r.model_dump(exclude_unset=True) for cid, r in body.reaimed.items()}
    return Scenario(body.name, tuple(body.disabled), added, reaimed)
