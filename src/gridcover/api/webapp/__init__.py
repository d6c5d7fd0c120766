"""The planners' and grid chiefs' web app at ``/app/``: its page, its assets and the few
routes it needs beyond the OGC API (who am I, zoom-level aggregates, QA verdicts).

Every data request of the page goes through the same API, auth and scope checks as any other
client; these routes add no back door (see docs/APP.md).
"""

from __future__ import annotations

from fastapi import APIRouter

from gridcover.api.webapp.review_routes import reviews_router
from gridcover.api.webapp.routes import pages_router
from gridcover.api.webapp.warm import PRELOAD, WarmUp, warm_up
from gridcover.api.webapp.zoom import ZoomCache, zoom_router

__all__ = ["WarmUp", "ZoomCache", "warm_up", "webapp_router"]


def webapp_router(cache: ZoomCache | None = None) -> APIRouter:
    """Every route of the web app (page, assets, session, aggregates, QA verdicts);
    ``cache``: the zoom arrays (``warm_up`` fills it before the server listens)."""
    router = APIRouter()
    cache = cache if cache is not None else ZoomCache()
    router.include_router(pages_router(lambda store: cache.prewarm(store, PRELOAD)))
    router.include_router(zoom_router(cache))
    router.include_router(reviews_router())
    return router
