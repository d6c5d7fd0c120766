"""Reading, validating and converting layers; CRS handling; grid QA. Pure: no web imports.

Public entry points: :func:`read_layer` (any supported file -> validated GeoDataFrame in
EPSG:4326 with canonical columns), :func:`list_layers`, and the layer schemas.
"""

from gridcover.gis.io import list_layers, read_layer
from gridcover.gis.schemas import (
    BUILDINGS,
    CAMERAS,
    GRIDS,
    INCIDENTS,
    KINDS,
    POSTS,
    ROADS,
    SCHEMAS,
    SITES,
    Field,
    LayerSchema,
)

__all__ = [
    "BUILDINGS",
    "CAMERAS",
    "GRIDS",
    "INCIDENTS",
    "KINDS",
    "POSTS",
    "ROADS",
    "SCHEMAS",
    "SITES",
    "Field",
    "LayerSchema",
    "list_layers",
    "read_layer",
]
