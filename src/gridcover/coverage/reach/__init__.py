"""Police-post reach: the street network (``network``), travel times from posts to cells
(``times``) and per-cell / per-grid reach and the patrol target (``nearest_post``)."""

from gridcover.coverage.reach.nearest_post import (
    METHODS,
    ReachReport,
    ReachResult,
    TargetResult,
    TravelTimes,
    nearest_posts,
    patrol_target,
    post_reach,
)
from gridcover.coverage.reach.network import StreetNetwork, build_network, travel_mode

__all__ = [
    "METHODS",
    "ReachReport",
    "ReachResult",
    "StreetNetwork",
    "TargetResult",
    "TravelTimes",
    "build_network",
    "nearest_posts",
    "patrol_target",
    "post_reach",
    "travel_mode",
]
