"""Service settings, read from ``GRIDCOVER_*`` environment variables when constructed.

Settings are built, never imported: ``create_app(Settings())`` and the CLI construct them;
nothing reads the environment at import time. Tests pass ``Settings(data_dir=tmp_path)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of the web service (``GRIDCOVER_`` prefix, e.g. ``GRIDCOVER_DATA_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="GRIDCOVER_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("gridcover-data"),
        description="Folder of the embedded GeoPackage store; created on first start.",
    )
    store_file: str = Field(
        default="gridcover.gpkg", description="File name of the GeoPackage inside data_dir."
    )
    load_sample: bool = Field(
        default=True,
        description="Load the bundled sample layers when the store is created (first start).",
    )
    sample_analyses: bool = Field(
        default=True,
        description="After loading the sample on first start, run the grid check, coverage "
        "(with blind spots and per-grid statistics), patrol zones and siting on it as "
        "background jobs, so every result collection is there to browse.",
    )
    sample_dir: Path | None = Field(
        default=None,
        description="Folder of sample layers to load on first start (default: the bundled sample).",
    )
    title: str = Field(default="gridcover", description="Service title on the landing page.")
    description: str = Field(
        default=(
            "Public-safety video coverage planning: grids, cameras, posts, buildings, roads, "
            "sites and analysis results (camera views, coverage cells, blind spots, statistics)."
        ),
        description="Service description on the landing page.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL used in links (e.g. behind a proxy); default: the request's URL.",
    )
    default_limit: int = Field(default=10, ge=1, description="Items per page when no limit.")
    max_limit: int = Field(
        default=10_000,
        ge=1,
        description="Largest items page; larger limits are clamped to it, never refused.",
    )
    job_workers: int = Field(default=1, ge=1, le=32, description="Analysis jobs run at once.")
    max_cells: int = Field(
        default=2_000_000,
        ge=1,
        description="Largest number of H3 cells an analysis may use (larger runs answer 400).",
    )
    host: str = Field(default="127.0.0.1", description="Address 'gridcover serve' listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port 'gridcover serve' uses.")
    # -- storage backend, access control, limits (web service part 2) -----------------------
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL + PostGIS URL (postgresql://user:password@host:5432/db); when "
        "set the store is that database instead of the GeoPackage in data_dir.",
    )
    read_access: Literal["auto", "open", "closed"] = Field(
        default="auto",
        description="Who may read: open (anyone), closed (any valid API key), auto (open until "
        "the first API key exists, closed after).",
    )
    query_key: bool = Field(
        default=False,
        description="Accept the API key as ?api_key=... (desktop GIS without custom headers); "
        "such keys are redacted from the logs.",
    )
    key_cache_seconds: float = Field(
        default=2.0, ge=0, description="How long the server caches the list of active keys."
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description="Requests per minute per API key (anonymous: per client "
        "address), sustained; 0 turns the limit off.",
    )
    rate_limit_burst: int = Field(
        default=600,
        ge=1,
        description="Requests allowed at once before the per-minute rate applies: a desktop GIS "
        "opening a project pages through every layer at full speed (GDAL/QGIS send 5-10 "
        "requests per layer before the first page), so this is generous.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed by CORS, exactly (e.g. https://gis.example.org); "
        "empty: no CORS headers. '*' is refused.",
    )
    max_upload_bytes: int = Field(
        default=64 * 1024**2, ge=1, description="Largest layer upload body (413 above it)."
    )
    max_body_bytes: int = Field(
        default=4 * 1024**2, ge=1, description="Largest body of every other request (413)."
    )
    max_json_depth: int = Field(
        default=64, ge=4, description="Deepest nesting accepted in uploaded or posted JSON."
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="Addresses of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto "
        "'gridcover serve' trusts (comma-separated IPs or networks, e.g. 10.0.0.5); default: "
        "none, so per-address limits count the real peer and a client cannot reset them.",
    )
    zip_max_entries: int = Field(default=200, ge=1, description="Most entries in an uploaded zip.")
    zip_max_bytes: int = Field(
        default=2 * 1024**3, ge=1, description="Largest declared unzipped size of an upload."
    )
    zip_max_ratio: float = Field(
        default=100.0, gt=1, description="Largest compression ratio of an uploaded zip member."
    )

    @field_validator("cors_origins")
    @classmethod
    def _explicit_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin.strip() in ("*", "") or "*" in origin:
                raise ValueError(
                    "cors_origins lists exact origins such as https://gis.example.org; "
                    "wildcards ('*') are not allowed"
                )
        return [o.strip().rstrip("/") for o in origins]

    @property
    def store_path(self) -> Path:
        """Path of the GeoPackage file of the store."""
        return self.data_dir / self.store_file
