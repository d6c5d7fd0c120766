"""gridcover: plan public-safety video coverage, blind spots and patrol areas on H3 cells.

The package has three parts: ``gridcover.gis`` (reading, validation, CRS, grid QA),
``gridcover.coverage`` (camera views, H3 coverage, gaps, patrol zones, siting) and
``gridcover.api`` (the web service). The first two are pure and never import the third.
"""

__version__ = "0.1.0"
