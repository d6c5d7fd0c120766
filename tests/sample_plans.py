"""Shared by the map tests: real patrol zones, camera and post siting and grid QA on the sample.

Not a test module; imported by test_maps_plans.py and test_maps_chromium.py. Everything is
computed by the gridcover functions a planner would call, at sizes that take a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
from shapely import affinity

from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.patrol.zones import PatrolPlan, patrol_zones
from gridcover.coverage.priority import priority_from_layers
from gridcover.coverage.siting.cameras import CameraSiting, site_cameras
from gridcover.coverage.siting.candidates import camera_candidates, candidate_sites
from gridcover.coverage.siting.posts import PostSiting, site_posts
from gridcover.gis.qa.check import check_grids
from sample_analysis import sample_layers


@dataclass(frozen=True)
class SamplePlans:
    """Patrol plan (res 11, streets), 4 new cameras, 2 new posts, grid QA issues (the sample
    is clean: one level-3 grid is moved 25 m east to plant an overlap and a gap)."""

    patrol: PatrolPlan
    cameras: CameraSiting
    posts: PostSiting
    qa_issues: gpd.GeoDataFrame


@lru_cache(maxsize=1)
def sample_plans() -> SamplePlans:
    lay = sample_layers()
    area = lay["grids"][lay["grids"]["level"] == 1]
    plan = patrol_zones(area, lay["posts"], res=11, roads=lay["roads"])
    cells = cells_for_area(area, 11)
    weight = priority_from_layers(
        cells, roads=lay["roads"], sites=lay["sites"], buildings=lay["buildings"]
    ).weight
    sites = candidate_sites(lay["roads"], area=area.geometry.union_all())
    cams = site_cameras(
        cells,
        weight,
        camera_candidates(sites.iloc[::4].reset_index(drop=True), azimuths=4),
        4,
        existing=lay["cameras"],
        buildings=lay["buildings"],
    )
    posts = site_posts(cells, weight, sites, 2, existing=lay["posts"], radius_m=150.0)
    grids = lay["grids"].copy()
    i = int(np.flatnonzero(grids["level"].to_numpy() == 3)[0])
    moved = affinity.translate(grids.geometry.iloc[i], xoff=0.00045)
    grids.geometry = grids.geometry.where(np.arange(len(grids)) != i, moved)
    return SamplePlans(plan, cams, posts, check_grids(grids).issues)
