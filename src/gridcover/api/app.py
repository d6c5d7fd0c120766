"""The app factory: ``create_app(settings)`` builds a FastAPI app over a store.

Nothing happens at import time. The store is opened (and, on first start, loaded with the
bundled sample, whose analyses are then queued as jobs) when the app is created; it is closed
when the app shuts down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gridcover import __version__
from gridcover.api.analysis_routes import analysis_router, start_sample_runs
from gridcover.api.downloads import downloads_router
from gridcover.api.errors import install_error_handlers
from gridcover.api.jobs.manager import JobManager
from gridcover.api.jobs.plans import BaselineCache
from gridcover.api.jobs.records import JobRecords
from gridcover.api.maps_routes import maps_router
from gridcover.api.ogc import ogc_router
from gridcover.api.scenario_routes import scenario_router
from gridcover.api.security import install_security
from gridcover.api.store import Store, open_store
from gridcover.api.store.audit import with_audit
from gridcover.api.store.publish import load_sample_if_new
from gridcover.api.units_routes import units_router
from gridcover.api.webapp import ZoomCache, webapp_router
from gridcover.settings import Settings


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """A new app. ``settings`` default to ``Settings()`` (``GRIDCOVER_*`` environment)."""
    settings = settings if settings is not None else Settings()
    store = with_audit(store if store is not None else open_store(settings))
    loaded = load_sample_if_new(store, settings)

    jobs = JobManager(settings.job_workers, records=JobRecords(store.sql_target()))
    cache = BaselineCache()
    if loaded and settings.sample_analyses:
        start_sample_runs(store, jobs, cache, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        store.close()

    app = FastAPI(
        title=settings.title,
        description=settings.description,
        version=__version__,
        openapi_url=None,  # the 3.0 document is served at /api (ogc.py)
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.jobs = jobs
    app.state.openapi_cache = {}
    install_error_handlers(app)
    app.include_router(ogc_router(settings))
    app.include_router(downloads_router())
    app.include_router(analysis_router(cache))
    app.include_router(scenario_router(cache))
    app.include_router(units_router(cache))
    app.include_router(maps_router())
    # warmed by `gridcover serve` (webapp.warm_up); arrays kept on disk for the next start
    app.state.zoom_cache = ZoomCache(folder=settings.data_dir / "cache")
    app.include_router(webapp_router(app.state.zoom_cache))
    install_security(app, settings, store)
    return app
