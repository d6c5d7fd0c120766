"""Blind-spot work units: blind priority cells split into pieces a planner can fix.

A unit is a road stretch between intersections (named after its street and the cross
streets), an intersection (the streets that meet), a key site's surroundings (its name)
or a leftover open-area piece of a lowest-level grid, never larger than the cap
(``UnitConfig.max_extent_m`` / ``max_area_m2``). Each unit carries its grid codes (all
levels), grid chief, weight, area, nearest counted / not-counted camera and a suggested
fix (repair camera X, or one or two new cameras from the view engine), ranked by weight
closed per camera. ``write_proposals`` writes the placement proposal table (点位建议表).
"""

from gridcover.coverage.units.build import UnitConfig, WorkUnits, work_units
from gridcover.coverage.units.export import proposal_table, write_proposals

__all__ = ["UnitConfig", "WorkUnits", "proposal_table", "work_units", "write_proposals"]
