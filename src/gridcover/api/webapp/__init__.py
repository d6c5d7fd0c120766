"""The planners' and grid chiefs' web app at ``/app/``: its page, its assets and the few
routes it needs beyond the OGC API (who am I, zoom-level aggregates, QA verdicts).

Every data request of the page goes through the same API, auth and scope checks as any other
client; these routes add no back door (see docs/APP.md).
"""

from __future__ import annotations

from fastapi import APIRouter

from gridcover.api.webapp.review_routes import reviews_router
from gridcover.api.webapp.routes import pages_router
from gridcover.api.webapp.zoom import ZoomCache, zoom_router

__all__ = ["webapp_router"]
#: The dense layers the map's first view aggregates (read ahead when the page is served).
PRELOAD = ("coverage_cells", "cameras")


def webapp_router() -> APIRouter:
    """Every route of the web app (page, assets, session, aggregates, QA verdicts)."""
    router = APIRouter()
    cache = ZoomCache()
    router.include_router(pages_router(lambda store: cache.prewarm(store, PRELOAD)))
    router.include_router(zoom_router(cache))
    router.include_router(reviews_router())
    return router
