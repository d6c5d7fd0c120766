"""Read-only download of a whole collection as GeoJSON, GeoPackage or GeoParquet."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import pyogrio
from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from gridcover.api.deps import get_store
from gridcover.api.openapi import responses_for
from gridcover.api.params import plain_params
from gridcover.api.store import Store

Format = Literal["geojson", "gpkg", "parquet"]
MEDIA: dict[str, str] = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "parquet": "application/vnd.apache.parquet",
}


def downloads_router() -> APIRouter:
    """``GET /collections/{collectionId}/download?format=geojson|gpkg|parquet``."""
    router = APIRouter(tags=["Downloads"])

    @router.get(
        "/collections/{collectionId}/download",
        summary="Download a whole collection (GeoJSON, GeoPackage or GeoParquet, EPSG:4326)",
        responses={
            200: {
                "description": "The collection as a file",
                "content": {
                    MEDIA["geojson"]: {"schema": {"type": "object"}},
                    MEDIA["gpkg"]: {"schema": {"type": "string", "format": "binary"}},
                    MEDIA["parquet"]: {"schema": {"type": "string", "format": "binary"}},
                },
            },
            **responses_for(None, 400, 404),
        },
        dependencies=[Depends(plain_params("format"))],
    )
    def download(
        collectionId: str,
        store: Annotated[Store, Depends(get_store)],
        format: Annotated[Format, Query(description="File format")] = "geojson",
    ) -> Response:
        gdf = store.read_collection(collectionId)
        tmp = Path(tempfile.mkdtemp(prefix="gridcover-dl-"))
        try:
            path = tmp / f"{collectionId}.{format}"
            if format == "parquet":
                gdf.to_parquet(path, index=False)
            elif format == "gpkg":  # a separate file: GDAL never opens the store itself
                pyogrio.write_dataframe(gdf, path, layer=collectionId, driver="GPKG")
            else:
                pyogrio.write_dataframe(gdf, path, driver="GeoJSON", layer=collectionId)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return FileResponse(
            path,
            media_type=MEDIA[format],
            filename=path.name,
            background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
        )

    return router
