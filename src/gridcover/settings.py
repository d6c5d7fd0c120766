"""Service settings, read from ``GRIDCOVER_*`` environment variables when constructed.

Settings are built, never imported: ``create_app(Settings())`` and the CLI construct them;
nothing reads the environment at import time. Tests pass ``Settings(data_dir=tmp_path)``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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

    @property
    def store_path(self) -> Path:
        """Path of the GeoPackage file of the store."""
        return self.data_dir / self.store_file
