"""The app's page and assets (files of the ``gridcover.web`` package folder) and ``/app/session``.

The page and its JavaScript/CSS hold no data, so they are served without a key (the sign-in
form is on the page); every data request the page makes carries the user's key.

Caching: the page (``no-cache``) names its files under ``/app/static/v/<version>/...``, where
the version is a digest of the files' names, sizes and modification times (and of the
installed Leaflet), so those URLs are served ``immutable`` for a year and an edited file gets
a new URL at the next page load. ES module imports are relative, so they carry the version
too; the page also lists every module as ``modulepreload`` (fetched at once, not level by
level of the import graph). Leaflet is served under the same versioned folder (``lib/``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from gridcover.api.auth import get_actor
from gridcover.api.deps import get_store
from gridcover.api.openapi import responses_for
from gridcover.api.store import Store
from gridcover.errors import NotFound

APP_PAGE = "/app/"
STATIC = "/app/static/"
LIB = "lib/"  # Leaflet (gridcover.gis.maps.asset_files) under the app's versioned folder
IMMUTABLE = "public, max-age=31536000, immutable"
MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".map": "application/json",
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


@cache
def lib_files() -> dict[str, Path]:
    """Leaflet's files (the map pages' local assets; importing the map builder is slow, so
    this runs once, at start-up when warmed)."""
    from gridcover.gis.maps import asset_files

    return asset_files()


def assets_version() -> str:
    """Digest of the app's files and Leaflet's (name, size, modification time): changes
    whenever a file is edited or a package upgraded."""
    h = hashlib.sha256()
    for name, p in [
        *web_files().items(),
        *lib_files().items(),
        ("index.html", web_dir() / "index.html"),
    ]:
        st = p.stat()
        h.update(f"{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:12]


def page_html(version: str) -> str:
    """index.html with versioned asset URLs and a modulepreload link per module."""
    html = (web_dir() / "index.html").read_text(encoding="utf-8")
    base = f"{STATIC}v/{version}/"
    html = html.replace("/static/maps/", f"{base}{LIB}").replace(STATIC + "js/", f"{base}js/")
    html = html.replace(STATIC + "app.css", f"{base}app.css")
    preload = "".join(
        f'<link rel="modulepreload" href="{base}{name}">\n'
        for name in web_files()
        if name.endswith(".js")
    )
    return html.replace("<!--modulepreload-->\n", preload)


def pages_router(preload: Callable[[Store], None] | None = None) -> APIRouter:
    """``/app/`` (the page), ``/app/static/...`` (its files) and ``/app/session``.

    ``preload(store)`` runs in a background thread when the page is served (the zoom cache
    reads the dense layers again if they changed since start-up).
    """
    router = APIRouter(tags=["Web app"])

    @router.get("/app", include_in_schema=False)
    def to_page() -> RedirectResponse:
        return RedirectResponse(APP_PAGE, status_code=308)

    @router.get(APP_PAGE, include_in_schema=False)
    def page(store: Annotated[Store, Depends(get_store)]) -> HTMLResponse:
        if preload is not None:
            threading.Thread(target=preload, args=(store,), daemon=True).start()
        return HTMLResponse(page_html(assets_version()), headers={"Cache-Control": "no-cache"})

    @router.get(STATIC + "{path:path}", include_in_schema=False)
    def asset(path: str) -> FileResponse:
        cache_control = "no-cache"  # unversioned URL: revalidate (ETag / Last-Modified)
        parts = path.split("/", 2)
        if len(parts) == 3 and parts[0] == "v":
            path = parts[2]
            if parts[1] == assets_version():
                cache_control = IMMUTABLE
        files = {**web_files(), **{LIB + k: v for k, v in lib_files().items()}}
        if path not in files:
            raise NotFound(f"No app file '{path}'; the app has: {', '.join(web_files())}.")
        media = MEDIA.get(files[path].suffix)
        return FileResponse(files[path], media_type=media, headers={"Cache-Control": cache_control})

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
