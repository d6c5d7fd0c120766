"""Patrol zones: one contiguous, workload-balanced zone of H3 cells per police post.

``zones`` is the GeoDataFrame entry point (``patrol_zones``); ``core`` the array core;
``cell_inputs`` turns layers into per-cell arrays; ``balance`` holds the assignment steps;
``figures`` the per-zone bookkeeping and the explanation of imbalance; ``compactness`` the
Polsby-Popper floor (zones of close posts re-split by straight cuts or, from ``cuts``,
sectors around the posts); ``causes`` the
measured quantities behind each explanation (distance to a close post, reach, heavy cells).
"""

from gridcover.coverage.patrol.zones import PatrolPlan, agreement, patrol_zones

__all__ = ["PatrolPlan", "agreement", "patrol_zones"]
