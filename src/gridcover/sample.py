"""Where the bundled sample lives: package data in an installed wheel, or the checkout's
``sample_geodata/`` folder in an editable install."""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_sample_dir"]

_PACKAGE = Path(__file__).resolve().parent


def bundled_sample_dir() -> Path | None:
    """The bundled sample folder (holding ``grids.geojson``), or None when not shipped."""
    for candidate in (_PACKAGE / "data" / "sample_geodata", _PACKAGE.parents[1] / "sample_geodata"):
        if (candidate / "grids.geojson").is_file():
            return candidate
    return None
