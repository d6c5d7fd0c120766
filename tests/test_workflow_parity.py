"""One workflow per job: the CLI and the API give the same tables for the same inputs.

Each job runs through ``gridcover ...`` (the CLI's own argument parsing and file reading) and
through ``POST /analysis/...`` on a store loaded with the same sample files, with each door's
defaults; the result tables are compared row for row. The defaults (resolution, which layers
feed the priority weight) must agree for this to pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from gridcover.api.app import create_app
from gridcover.cli import main
from gridcover.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("parity"),
        sample_dir=SAMPLE,
        max_cells=500_000,
        rate_limit_per_minute=0,
        sample_analyses=False,
    )
    with TestClient(create_app(settings)) as c:
        c.headers["X-API-Key"] = c.app.state.keys.add("parity", "planner").token  # type: ignore[attr-defined]
        yield c


def _api(client: TestClient, kind: str, body: dict[str, Any], *layers: str) -> dict[str, Any]:
    r = client.post(f"/analysis/{kind}", json=body)
    assert r.status_code == 201, r.text
    client.app.state.jobs.wait(r.json()["jobID"], timeout=600)  # type: ignore[attr-defined]
    job = client.get(f"/jobs/{r.json()['jobID']}").json()
    assert job["status"] == "successful", job
    out: dict[str, Any] = {"summary": job["summary"]}
    for layer in layers:
        got = client.get(f"/collections/{layer}/download?format=geojson")
        assert got.status_code == 200
        out[layer] = gpd.read_file(got.content)
    return out


def _same(a: pd.DataFrame, b: pd.DataFrame, key: str, columns: list[str]) -> None:
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    assert a[key].astype(str).tolist() == b[key].astype(str).tolist()
    for col in columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number):
            np.testing.assert_allclose(x.astype(float), y.astype(float), rtol=1e-9, atol=1e-9)
        else:
            assert [None if pd.isna(v) else str(v) for v in x] == [
                None if pd.isna(v) else str(v) for v in y
            ], col


def test_patrol_cli_and_api_agree(client: TestClient, tmp_path: Path) -> None:
    api = _api(client, "patrol", {}, "patrol_zones", "patrol_cells")
    zones, cells = tmp_path / "zones.geojson", tmp_path / "cells.geojson"
    code = main(
        ["patrol", str(SAMPLE / "grids.geojson"), str(SAMPLE / "posts.geojson")]
        + [f"--{k}={SAMPLE / f'{k}.geojson'}" for k in ("roads", "sites", "buildings")]
        + ["--out", str(zones), "--cells-out", str(cells)]
    )
    assert code == 0
    cli_zones, cli_cells = gpd.read_file(zones), gpd.read_file(cells)
    assert api["summary"]["res"] == 10 and len(cli_cells) == api["summary"]["cells"]
    figures = [c for c in ("cells", "area_km2", "workload") if c in cli_zones.columns]
    assert figures, cli_zones.columns
    _same(cli_zones, api["patrol_zones"], "post_id", figures)
    _same(cli_cells, api["patrol_cells"], "h3", ["post_id"])


@pytest.mark.parametrize("visibility", ["3d", "2d"])
def test_siting_cli_and_api_agree(client: TestClient, tmp_path: Path, visibility: str) -> None:
    """3D (the default: no visibility given) and 2D siting give the same proposal tables,
    camera model and mounting included, through both doors."""
    body: dict[str, Any] = {"k": 3, "azimuths": 4, "method": "greedy"}
    argv = ["-k", "3", "--azimuths", "4", "--method", "greedy"]
    if visibility == "2d":
        body["visibility"] = "2d"
        argv += ["--visibility", "2d"]
    api = _api(client, "siting", body, "siting_proposals")
    out = tmp_path / "chosen.parquet"
    code = main(
        ["site", "cameras", str(SAMPLE / "grids.geojson"), *argv, "--out", str(out)]
        + [f"--{k}={SAMPLE / f'{k}.geojson'}" for k in ("roads", "buildings", "sites", "cameras")]
    )
    assert code == 0
    cli = gpd.read_parquet(out)
    assert len(cli) == api["summary"]["chosen"] == 3
    assert api["summary"]["visibility"] == visibility
    cols = ["site_id", "azimuth_deg", "marginal_gain"]
    if visibility == "3d":  # which camera to buy and how to mount it
        cols += ["camera_id", "model", "type", "resolution", "fov_deg", "lens_fov_deg",
                 "height_m", "tilt_deg", "price"]  # fmt: skip
        assert set(cols) <= set(cli.columns)
        assert cli["model"].notna().all() and (cli["height_m"] > 0).all()
        _check_required_share(out, api["summary"])
    _same(cli, api["siting_proposals"], "rank", cols)


@pytest.mark.parametrize("visibility", ["3d", "2d"])
def test_budget_siting_cli_and_api_agree(
    client: TestClient, tmp_path: Path, visibility: str
) -> None:
    """Siting within a budget: the same cameras (model, price and, from the catalogue, how to
    mount them) through both doors, 3D by default; in 3D the priority cells the plan claims
    at their required level before and after are recomputed by a what-if analysis."""
    # two of the catalogue's four models keep the run short; mixing models is still tested
    body: dict[str, Any] = {"budget": 12000, "method": "exact", "models": ["bullet_4mm", "dome"]}
    argv = ["--budget", "12000", "--method", "exact", "--model", "bullet_4mm", "--model", "dome"]
    if visibility == "2d":
        body["visibility"] = "2d"
        argv += ["--visibility", "2d"]
    api = _api(client, "siting", body, "siting_proposals")
    out, rep = tmp_path / "chosen.parquet", tmp_path / "report.txt"
    code = main(
        ["site", "cameras", str(SAMPLE / "grids.geojson"), *argv, "--out", str(out)]
        + ["--report", str(rep)]
        + [f"--{k}={SAMPLE / f'{k}.geojson'}" for k in ("roads", "buildings", "sites", "cameras")]
    )
    assert code == 0
    cli, s = gpd.read_parquet(out), api["summary"]
    assert s["visibility"] == visibility and s["k"] is None and s["res"] == 12
    assert len(cli) == s["chosen"] >= 1 and 0 < cli["price"].sum() == s["cost"] <= 12000
    assert s["gap"] == pytest.approx(0.0, abs=1e-6) and s["method"] == "exact"
    cols = ["rank", "site_id", "model", "type", "price", "azimuth_deg", "resolution", "fov_deg",
            "lens_fov_deg", "height_m", "tilt_deg", "marginal_gain"]  # fmt: skip
    assert (cli["height_m"] > 0).all() and set(cli["model"]) <= {"bullet_4mm", "dome"}
    _same(cli, api["siting_proposals"], "camera_id", cols)
    text = rep.read_text("utf-8")
    assert s["report"] in text and "View model: " + visibility.upper() in text
    if visibility == "3d":
        assert "Priority cells at their required detail level:" in text
        _check_required_share(out, s)
    else:
        assert "required_cells" not in s and "required detail level" not in text


def test_budget_siting_refuses_k_siting_options(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dome and backup shape K siting's candidates; with a budget both doors refuse them
    with the fix (the catalogue's models), instead of ignoring them."""
    r = client.post("/analysis/siting", json={"budget": 9000, "dome": True})
    assert r.status_code == 400 and "choose them with models" in r.text
    assert client.post("/analysis/siting", json={"budget": -1}).status_code == 400
    out = tmp_path / "x.geojson"
    argv = ["site", "cameras", str(SAMPLE / "grids.geojson"), "--budget", "9000", "--backup",
            "2", f"--roads={SAMPLE / 'roads.geojson'}", "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    assert "choose them with --model" in capsys.readouterr().err
    assert not out.exists()


def _check_required_share(proposals: Path, summary: dict[str, Any]) -> None:
    """Second path: the proposals, read back from the CLI's file as a camera layer, are
    added to the sample's default (3D) analysis as a what-if; the priority cells seen at
    their required level must go from and to the counts the plan claims."""
    from gridcover.coverage.whatif import Scenario, run_scenario
    from gridcover.gis import read_layer
    from sample_analysis import default_result

    base = default_result(12)
    added = read_layer(proposals, "cameras")
    after = run_scenario(base, Scenario(name="proposals", added=added)).result
    for res, key in ((base, "at_required_before"), (after, "at_required_after")):
        c = res.cells
        need = c["required_level"].to_numpy() > 0
        met = need & (c["detail_level"].to_numpy() >= c["required_level"].to_numpy())
        assert int(need.sum()) == summary["required_cells"]
        assert int(met.sum()) == summary[key], key
        assert 100 * met.sum() / need.sum() == pytest.approx(summary[f"{key}_pct"])
    assert summary["at_required_after"] > summary["at_required_before"]


def test_coverage_cli_and_api_agree(client: TestClient, tmp_path: Path) -> None:
    levels = [f"grid_stats_level{lv}" for lv in (1, 2, 3)]
    # no model named: both doors take the default (3D) model and give the same tables
    api = _api(client, "coverage", {"res": 11}, *levels, "blind_spots")
    assert api["summary"]["visibility"] == "3d"
    api_stats = pd.concat([api[name] for name in levels], ignore_index=True)
    argv = ["analyze", "--sample", "--res", "11", "--out", str(tmp_path)]
    assert main([*argv, "--no-progress"]) == 0
    stats = gpd.read_file(tmp_path / "grid_stats.geojson")
    numeric = [c for c in ("area_km2", "covered_pct", "priority_covered_pct") if c in stats]
    assert numeric, stats.columns
    _same(stats, api_stats, "code", numeric)
    spots = gpd.read_file(tmp_path / "blind_spots.geojson")
    assert len(spots) == len(api["blind_spots"])


def test_every_door_has_the_same_visibility_default() -> None:
    """The CLI parser does not import the core (it stays light), so its default is checked."""
    import argparse

    from gridcover.api.analysis_models import CoverageParams
    from gridcover.commands import analyze
    from gridcover.coverage.analysis import DEFAULT_VISIBILITY, AnalysisConfig

    parser = argparse.ArgumentParser()
    analyze.configure(parser)
    cli = parser.parse_args(["--sample", "--out", "x"]).visibility
    api = CoverageParams().visibility
    assert cli == api == AnalysisConfig().visibility == DEFAULT_VISIBILITY
    from gridcover.commands import view_options as vo

    cfg = AnalysisConfig()
    assert vo.DEFAULT_VISIBILITY == DEFAULT_VISIBILITY
    assert (
        cfg.target_height_m,
        cfg.building_height_m,
    ) == (vo.TARGET_HEIGHT_M, vo.BUILDING_HEIGHT_M)
    # siting: the same default model through every door
    from gridcover.api.analysis_models import SitingParams
    from gridcover.commands import site
    from gridcover.coverage.siting.plan import SitingConfig

    sp = argparse.ArgumentParser()
    site.configure(sp)
    cli_site = sp.parse_args(["cameras", "area.geojson", "-k", "1", "--out", "x"]).visibility
    assert cli_site == SitingParams().visibility == SitingConfig().visibility == DEFAULT_VISIBILITY
