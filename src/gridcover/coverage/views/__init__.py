"""Camera views: validated camera rows, per-type defaults, wall snapping, occlusion by buildings
and the view polygons (metric CRS). ``camera_views`` is the entry point."""

from gridcover.coverage.views.camera_rows import validate_cameras
from gridcover.coverage.views.defaults import CameraDefaults
from gridcover.coverage.views.occlusion import Walls
from gridcover.coverage.views.sectors import camera_views, view_polygons
from gridcover.coverage.views.snapping import DEFAULT_SNAP_OFFSET_M, snap_cameras

__all__ = [
    "DEFAULT_SNAP_OFFSET_M",
    "CameraDefaults",
    "Walls",
    "camera_views",
    "snap_cameras",
    "validate_cameras",
    "view_polygons",
]
