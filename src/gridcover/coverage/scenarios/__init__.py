"""Named scenarios: camera changes recorded with the inputs' versions, compared side by side.

- ``ScenarioSpec``: the scenario as a value with one JSON schema (CLI and API alike);
- ``versions`` / ``layer_version``: content digests of the input layers;
- ``compare_scenarios``: the comparison workflow (KPIs per grid level, changed cells,
  text), refusing stale scenarios (``StaleScenario``);
- ``cell_changes`` / ``classify``: the one definition of a changed cell (gained, lost,
  detail level up/down, more/fewer cameras) for the CLI, the API and the web app;
- ``FolderScenarios``: the CLI's store (``<output>/scenarios/*.json``); the API keeps the
  same JSON in its data store through the ``ScenarioStore`` protocol.
"""

from gridcover.coverage.scenarios.changes import CHANGES, CellChanges, cell_changes, classify
from gridcover.coverage.scenarios.compare import (
    Comparison,
    StaleScenario,
    compare_scenarios,
    scenario_result,
)
from gridcover.coverage.scenarios.folder import FolderScenarios, ScenarioStore
from gridcover.coverage.scenarios.spec import OWNERS, ScenarioSpec
from gridcover.coverage.scenarios.versions import layer_version, versions

__all__ = [
    "CHANGES",
    "OWNERS",
    "CellChanges",
    "Comparison",
    "FolderScenarios",
    "ScenarioSpec",
    "ScenarioStore",
    "StaleScenario",
    "cell_changes",
    "classify",
    "compare_scenarios",
    "layer_version",
    "scenario_result",
    "versions",
]
