"""Camera views, H3 cells, coverage, gaps, statistics, reach, patrol zones, siting. Pure."""
