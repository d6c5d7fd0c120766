"""Coverage by camera owner (天网/雪亮 public security, community, 社会面 social units).

The sample's real OSM cameras carry no owner, so owners are assigned in memory (every third
camera "social", Chinese names for some rows to exercise the synonyms); each figure is
checked against plain shapely point-in-view tests on the run's own view polygons.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.owners import owner_kpis, owners_of
from gridcover.coverage.scenarios import ScenarioSpec, compare_scenarios
from sample_analysis import sample_layers


@pytest.fixture(scope="module")
def result():
    lay = dict(sample_layers())
    cams = lay["cameras"].copy()
    n = len(cams)
    third = np.arange(n) % 3
    cams["owner"] = np.where(third == 0, "社会面", np.where(third == 1, "public_security", "天网"))
    lay["cameras"] = cams
    return run_analysis(**lay, config=AnalysisConfig(res=11))


def test_owner_kpis_match_point_in_view_tests(result) -> None:
    owners = owners_of(result.state.cameras)
    assert set(owners) == {"social", "public_security"}
    k = owner_kpis(result).set_index("owner")
    views, cells = result.views, result.cells
    for o in ("social", "public_security"):
        mine = views[(owners == o) & views["counted"].to_numpy()]
        seen = np.zeros(len(cells), bool)
        for g in mine.geometry:
            seen |= shapely.contains_xy(g, cells["lon"].to_numpy(), cells["lat"].to_numpy())
        assert k.loc[o, "covered_m2"] == pytest.approx(cells.loc[seen, "area_m2"].sum(), rel=0.01)
        assert k.loc[o, "cameras_counted"] == len(mine)


def test_connecting_social_cameras_is_one_scenario(result) -> None:
    public = ScenarioSpec("public", counted_owners=("public_security", "community"))
    comp = compare_scenarios(result, public, None, inputs={}, config={})
    kpi = comp.kpis.set_index(["level", "kpi"])
    only_social = owner_kpis(result).set_index("owner").loc["social", "only_m2"]
    gained = comp.results[1].summary["covered_m2"] - comp.results[0].summary["covered_m2"]
    assert gained == pytest.approx(only_social, rel=1e-9)
    assert kpi.loc[("all", "cameras_counted_social"), "a"] == 0
    assert kpi.loc[("all", "cameras_counted_social"), "delta"] > 0
