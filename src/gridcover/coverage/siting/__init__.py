"""Siting: where new cameras (``cameras``) or police posts (``posts``) close most of the gap.

``candidates`` builds candidate sites and camera rows; ``solvers`` holds the maximal-covering
solvers (lazy greedy, exact MILP with HiGHS) both use; ``catalogue`` holds the one camera model type
(:class:`CameraModel`, priced catalogue entries from TOML); ``detail_sites`` sites cameras with
a camera model for the detail level each cell requires (3D model).
"""

from gridcover.coverage.siting.cameras import (
    CameraSiting,
    SitingResult,
    choose_sites,
    key_site_levels,
    site_cameras,
)
from gridcover.coverage.siting.candidates import camera_candidates, candidate_sites
from gridcover.coverage.siting.catalogue import CameraModel, Catalogue, load_catalogue
from gridcover.coverage.siting.detail_sites import site_cameras_3d
from gridcover.coverage.siting.posts import PostSiting, site_posts

__all__ = [
    "CameraModel",
    "CameraSiting",
    "Catalogue",
    "PostSiting",
    "SitingResult",
    "camera_candidates",
    "candidate_sites",
    "choose_sites",
    "key_site_levels",
    "load_catalogue",
    "site_cameras",
    "site_cameras_3d",
    "site_posts",
]
