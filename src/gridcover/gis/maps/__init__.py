"""Offline maps of grids, coverage, blind spots, cameras, posts, patrol zones, siting and QA.

Leaflet (from the ``xstatic-leaflet`` package) is inlined in a standalone HTML file or served
by the API from its own static route; nothing is fetched from a CDN. See docs/MAPS.md.
"""

from gridcover.gis.maps.assets import absolute_urls, asset_files
from gridcover.gis.maps.basemaps import BASEMAP_NAMES, Basemap, resolve_basemap
from gridcover.gis.maps.budget import FEATURE_BUDGET, aggregate_cells
from gridcover.gis.maps.builder import GridcoverMap, build_map, map_html
from gridcover.gis.maps.i18n import label

__all__ = [
    "BASEMAP_NAMES",
    "FEATURE_BUDGET",
    "Basemap",
    "GridcoverMap",
    "absolute_urls",
    "aggregate_cells",
    "asset_files",
    "build_map",
    "label",
    "map_html",
    "resolve_basemap",
]
