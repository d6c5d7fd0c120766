"""Camera views, H3 cells, coverage, gaps, statistics, reach, patrol zones, siting. Pure.

The public entry points are importable from here; each is loaded on first use, so importing
one small module (``gridcover.coverage.cells``) does not load the whole engine.

- coverage analysis: ``run_analysis`` (``AnalysisConfig`` -> ``AnalysisResult``),
  ``write_analysis``; what-if: ``run_scenario`` with a ``Scenario``;
- steps: ``camera_views``, ``cells_for_area``, ``priority_from_layers``, ``load_weights``,
  ``find_blind_spots``, ``grid_statistics``;
- police posts: ``post_reach``, ``patrol_zones``; siting: ``site_cameras``, ``site_posts``;
- the same analysis on Dask: ``run_distributed``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridcover.coverage.analysis import AnalysisConfig, AnalysisResult, run_analysis
    from gridcover.coverage.cells import cells_for_area
    from gridcover.coverage.distributed import run_distributed
    from gridcover.coverage.gaps import find_blind_spots
    from gridcover.coverage.output import write_analysis
    from gridcover.coverage.patrol import patrol_zones
    from gridcover.coverage.priority import priority_from_layers
    from gridcover.coverage.reach import post_reach
    from gridcover.coverage.siting import site_cameras, site_posts
    from gridcover.coverage.stats import grid_statistics
    from gridcover.coverage.views import camera_views
    from gridcover.coverage.weights import load_weights
    from gridcover.coverage.whatif import Scenario, run_scenario

_WHERE = {
    "AnalysisConfig": "analysis",
    "AnalysisResult": "analysis",
    "run_analysis": "analysis",
    "cells_for_area": "cells",
    "run_distributed": "distributed",
    "find_blind_spots": "gaps",
    "write_analysis": "output",
    "patrol_zones": "patrol",
    "priority_from_layers": "priority",
    "post_reach": "reach",
    "site_cameras": "siting",
    "site_posts": "siting",
    "grid_statistics": "stats",
    "camera_views": "views",
    "load_weights": "weights",
    "Scenario": "whatif",
    "run_scenario": "whatif",
}

__all__ = [
    "AnalysisConfig",
    "AnalysisResult",
    "Scenario",
    "camera_views",
    "cells_for_area",
    "find_blind_spots",
    "grid_statistics",
    "load_weights",
    "patrol_zones",
    "post_reach",
    "priority_from_layers",
    "run_analysis",
    "run_distributed",
    "run_scenario",
    "site_cameras",
    "site_posts",
    "write_analysis",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"gridcover.coverage.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'gridcover.coverage' has no attribute {name!r}")
