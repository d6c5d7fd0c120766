"""Dependencies shared by the routers: the app's store, settings, jobs and link base URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from gridcover.api.store import Store
from gridcover.settings import Settings

if TYPE_CHECKING:
    from gridcover.api.jobs.manager import JobManager


def get_store(request: Request) -> Store:
    """The store of the running app (built by ``create_app``)."""
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_jobs(request: Request) -> JobManager:
    """The app's analysis job manager."""
    jobs: JobManager = request.app.state.jobs
    return jobs


def links_base(request: Request) -> str:
    """Base URL of absolute links: ``settings.public_url`` or the request's base URL."""
    public = get_settings(request).public_url
    return (public or str(request.base_url)).rstrip("/")
