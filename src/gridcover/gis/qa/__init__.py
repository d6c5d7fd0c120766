"""Grid QA: is a multi-level grid map clean? ``check_grids`` returns one issue table.

``rules``: thresholds, issue rows, grid units, the sliver rule; ``codes``: duplicate codes and
parent links; ``topology``: slivers, overlaps, gaps; ``nesting``: children against parents;
``check``: the whole check.
"""

from gridcover.gis.qa.check import CHECKS, COLUMNS, GridCheck, check_grids

__all__ = ["CHECKS", "COLUMNS", "GridCheck", "check_grids"]
