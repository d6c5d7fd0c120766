"""The app's page and assets (files of the ``gridcover.web`` package folder) and ``/app/session``.

The page and its JavaScript/CSS hold no data, so they are served without a key (the sign-in
form is on the page); every data request the page makes carries the user's key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from gridcover.api.auth import get_actor
from gridcover.api.deps import get_store
from gridcover.api.openapi import responses_for
from gridcover.api.store import Store
from gridcover.errors import NotFound

APP_PAGE = "/app/"
MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def object_response(what: str, media: str = "application/json") -> dict[str, Any]:
    return {"description": what, "content": {media: {"schema": {"type": "object"}}}}


def web_dir() -> Path:
    """The folder of the app's own static files (inside the installed package)."""
    return Path(__file__).resolve().parents[2] / "web"


@cache
def web_files() -> dict[str, Path]:
    """{path relative to the web folder: file} for every servable file."""
    root = web_dir()
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in MEDIA and p.name != "index.html"
    }


def pages_router(preload: Callable[[Store], None] | None = None) -> APIRouter:
    """``/app/`` (the page), ``/app/static/...`` (its files) and ``/app/session``.

    ``preload(store)`` runs in a background thread when the page is served (the zoom cache
    reads the dense layers while the browser loads the scripts and signs in).
    """
    router = APIRouter(tags=["Web app"])

    @router.get("/app", include_in_schema=False)
    def to_page() -> RedirectResponse:
        return RedirectResponse(APP_PAGE, status_code=308)

    @router.get(APP_PAGE, include_in_schema=False)
    def page(store: Annotated[Store, Depends(get_store)]) -> FileResponse:
        if preload is not None:
            threading.Thread(target=preload, args=(store,), daemon=True).start()
        return FileResponse(web_dir() / "index.html", media_type=MEDIA[".html"])

    @router.get("/app/static/{path:path}", include_in_schema=False)
    def asset(path: str) -> FileResponse:
        files = web_files()
        if path not in files:
            raise NotFound(f"No app file '{path}'; the app has: {', '.join(files)}.")
        return FileResponse(files[path], media_type=MEDIA[files[path].suffix])

    @router.get(
        "/app/session",
        summary="Who the request's API key belongs to: name, role, grid (the app's sign-in)",
        responses={
            200: object_response("name, role, grid_code, signed_in, key_id"),
            **responses_for(None, 400),
        },
    )
    def session(request: Request) -> JSONResponse:
        actor = get_actor(request)
        body: dict[str, Any] = {
            "name": actor.name,
            "role": actor.role,
            "grid_code": actor.grid_code,
            "signed_in": actor.key_id is not None,
            "key_id": actor.key_id,
        }
        return JSONResponse(body)

    return router
