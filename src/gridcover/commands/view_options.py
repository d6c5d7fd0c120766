"""The view-model options every command that computes camera views takes: ``--visibility``,
``--target-height-m``, ``--building-height-m`` (one definition, one set of defaults).

The core is not imported (the parser stays light); ``tests/test_workflow_parity.py`` checks
that these defaults equal ``coverage.analysis``'s."""

from __future__ import annotations

import argparse

DEFAULT_VISIBILITY = "3d"  # = coverage.analysis.DEFAULT_VISIBILITY
TARGET_HEIGHT_M = 1.5  # = AnalysisConfig.target_height_m
BUILDING_HEIGHT_M = 9.0  # = AnalysisConfig.building_height_m

VISIBILITY_HELP = (
    "3d (default): camera and building heights, tilt, resolution -> detail levels day and "
    "night; 2d: sector views, buildings infinitely tall (docs/VIEWS.md)"
)


def add_view_options(
    group: argparse._ActionsContainer, *, visibility_help: str = VISIBILITY_HELP
) -> None:
    """Add the three view-model options to a parser or argument group."""
    group.add_argument(
        "--visibility", choices=("2d", "3d"), default=DEFAULT_VISIBILITY, help=visibility_help
    )
    group.add_argument(
        "--target-height-m",
        type=float,
        default=TARGET_HEIGHT_M,
        help=f"3d: height of the target above ground, metres (default {TARGET_HEIGHT_M:g})",
    )
    group.add_argument(
        "--building-height-m",
        type=float,
        default=BUILDING_HEIGHT_M,
        help="3d: height of a building with neither height_m nor levels, metres "
        f"(default {BUILDING_HEIGHT_M:g})",
    )
