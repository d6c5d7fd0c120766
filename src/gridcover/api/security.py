"""Wiring of the write side into the app: routes, auth, body limits, CORS, log redaction.

``create_app`` calls ``install_security(app, settings, store)`` once, after its own routers.
Middleware order, outermost first: CORS (answers preflights), auth (keys, roles, rate limit,
Cache-Control, request id), body limit, then the routes.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gridcover.api.auth import AuthMiddleware, install_log_redaction
from gridcover.api.features_write import features_write_router
from gridcover.api.store import Store
from gridcover.api.store.keys import KeyStore
from gridcover.api.uploads import BodyLimitMiddleware, uploads_router
from gridcover.settings import Settings


def install_security(app: FastAPI, settings: Settings, store: Store) -> None:
    """Add the upload and feature-editing routes and the security middleware to ``app``."""
    keys = KeyStore(store.sql_target())
    keys.ensure_schema()
    app.state.keys = keys
    install_log_redaction()
    app.include_router(uploads_router())
    app.include_router(features_write_router())
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(AuthMiddleware, settings=settings, keys=keys)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
            allow_credentials=False,
            max_age=600,
        )
