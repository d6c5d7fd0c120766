"""The backend factory: which ``Store`` the settings name.

Kept apart from the protocol (``base.py``) so that the backends import the protocol and the
factory imports the backends, never the other way round.
"""

from __future__ import annotations

from gridcover.api.store.base import Store
from gridcover.api.store.gpkg.store import GeoPackageStore
from gridcover.api.store.sql_target import is_postgres_url
from gridcover.settings import Settings

__all__ = ["open_store"]


def open_store(settings: Settings) -> Store:
    """The store the settings name: the GeoPackage in ``settings.data_dir`` (created if new),
    or the PostGIS database of ``settings.database_url`` (``postgresql://...``) when set."""
    if is_postgres_url(settings.database_url):
        # psycopg is the optional [postgis] extra: imported only when a database is named.
        from gridcover.api.store.postgis.store import PostGISStore

        return PostGISStore(str(settings.database_url))
    return GeoPackageStore(settings.store_path)
