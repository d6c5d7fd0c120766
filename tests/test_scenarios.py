"""Named scenarios: CLI (output folder) and API (store) give the same KPIs, comparing a
scenario with itself gives zero deltas, stale inputs are refused, owners count or not.

Data: the bundled Helsinki sample (real OSM cameras, buildings, streets, sites), copied into
a temporary folder so that a test can edit a camera and see the scenario go stale. KPIs are
checked against an independent computation from the baseline's own cells and views.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from gridcover.api.store.publish import store_layer
from gridcover.cli import main
from gridcover.coverage.scenarios import ScenarioSpec
from gridcover.errors import InputError
from sample_api import sample_planner_client

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"
KINDS = ("grids", "cameras", "buildings", "roads", "sites", "posts")
ADDED = {"camera_id": "new-1", "lon": 24.9405, "lat": 60.1675, "type": "dome"}


def _cli(*argv: str) -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(list(argv))
    return code, buf.getvalue()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for k in KINDS:
        shutil.copy(SAMPLE / f"{k}.geojson", folder / f"{k}.geojson")
    return folder


def _layer_args(folder: Path) -> list[str]:
    return [a for k in KINDS for a in (f"--{k}", str(folder / f"{k}.geojson"))]


@pytest.fixture(scope="module")
def picks(data: Path) -> dict[str, str]:
    cams = gpd.read_file(data / "cameras.geojson")
    on = cams[cams["status"] == "online"]["camera_id"].astype(str).tolist()
    off = cams[cams["status"] == "offline"]["camera_id"].astype(str).tolist()
    return {"disable": on[0], "reaim": on[1], "repair": off[0]}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_planner_client(tmp_path_factory.mktemp("api"), "scenario tests") as c:
        yield c


def test_cli_and_api_give_the_same_kpis(
    data: Path, tmp_path: Path, picks: dict[str, str], client: TestClient
) -> None:
    add = tmp_path / "add.geojson"
    gpd.GeoDataFrame(
        [{k: v for k, v in ADDED.items() if k not in ("lon", "lat")}],
        geometry=[shapely.Point(ADDED["lon"], ADDED["lat"])],
        crs=4326,
    ).to_file(add)
    out = tmp_path / "out"
    code, _ = _cli("scenario", "create", "plan-a", "--out", str(out), *_layer_args(data),
                   "--disable", picks["disable"], "--repair", picks["repair"], "--add", str(add),
                   "--reaim", f"{picks['reaim']}=90,60,40")  # fmt: skip
    assert code == 0
    code, text = _cli("scenario", "compare", "plan-a", "--out", str(out), "--json")
    cli = json.loads(text)
    body = {"name": "plan-a", "disabled": [picks["disable"]], "repaired": [picks["repair"]],
            "added": [ADDED], "reaimed": {picks["reaim"]: {"azimuth_deg": 90, "fov_deg": 60,
                                                            "range_m": 40}}}  # fmt: skip
    r = client.post("/scenarios", json=body)
    assert r.status_code == 201, r.text
    api = client.get("/scenarios/plan-a/compare").json()
    assert (cli["a"], cli["b"]) == (api["a"], api["b"]) == ("baseline", "plan-a")
    assert len(cli["kpis"]) == len(api["kpis"]) > 10
    for c, a in zip(cli["kpis"], api["kpis"], strict=True):
        assert (c["level"], c["kpi"]) == (a["level"], a["kpi"])
        assert c["a"] == pytest.approx(a["a"], rel=1e-9, abs=1e-9)
        assert c["b"] == pytest.approx(a["b"], rel=1e-9, abs=1e-9)
    assert cli["changed_cells"] == api["changed_cells"]
    # the same JSON schema in both stores
    saved = json.loads((out / "scenarios" / "plan-a.json").read_text("utf-8"))
    stored = client.get("/scenarios/plan-a").json()
    assert set(saved) == set(stored)
    assert saved["disabled"] == stored["disabled"] and saved["repaired"] == stored["repaired"]
    assert saved["sources"]["cameras"].endswith("cameras.geojson")
    assert stored["sources"]["cameras"] == "store"


def test_compare_with_itself_is_zero(data: Path, tmp_path: Path, picks: dict[str, str],
                                     client: TestClient) -> None:  # fmt: skip
    out = tmp_path / "out"
    _cli("scenario", "create", "self", "--out", str(out), *_layer_args(data),
         "--disable", picks["disable"])  # fmt: skip
    _, text = _cli("scenario", "compare", "self", "self", "--out", str(out), "--json")
    d = json.loads(text)
    assert all(abs(k["delta"]) < 1e-12 for k in d["kpis"] if k["delta"] is not None)
    assert set(d["changed_cells"]) >= {"gained", "lost", "level_up", "more_cameras"}
    assert not any(d["changed_cells"].values()) and d["changed_bbox"] is None
    r = client.post("/scenarios", json={"name": "self", "disabled": [picks["disable"]]})
    assert r.status_code == 201
    api = client.get("/scenarios/self/compare", params={"with": "self"}).json()
    assert all(abs(k["delta"]) < 1e-12 for k in api["kpis"] if k["delta"] is not None)


def test_disabling_one_camera_loses_what_only_it_saw(
    data: Path, tmp_path: Path, picks: dict[str, str]
) -> None:
    """Independent check: the cells lost are those whose only counted camera is it."""
    out = tmp_path / "out"
    _cli("scenario", "create", "off1", "--out", str(out), *_layer_args(data),
         "--disable", picks["disable"], "--visibility", "2d")  # fmt: skip
    _, text = _cli("scenario", "compare", "off1", "--out", str(out))
    assert "Scenario comparison: baseline -> off1" in text
    cells = gpd.read_file(out / "scenarios" / "compare_baseline_off1_cells.geojson")
    from gridcover.gis import read_layer  # baseline views from a separate analyze run

    code, _ = _cli("analyze", *_layer_args(data), "--out", str(tmp_path / "base"),
                   "--no-progress", "--visibility", "2d")  # fmt: skip
    assert code == 0
    base = gpd.read_parquet(tmp_path / "base" / "cells.parquet")
    views = gpd.read_parquet(tmp_path / "base" / "views.parquet")
    view = views[views["camera_id"].astype(str) == picks["disable"]].geometry.iloc[0]
    seen = shapely.contains_xy(view, base["lon"], base["lat"])
    sole, shared = seen & (base["cameras"] == 1), seen & (base["cameras"] > 1)
    assert set(cells.loc[cells["change"] == "lost", "h3"]) == set(base.loc[sole, "h3"])
    # cells it shared keep coverage with one camera fewer (a 2D run: no detail levels)
    fewer = cells[cells["change"] == "fewer_cameras"]
    assert set(fewer["h3"]) == set(base.loc[shared, "h3"])
    assert (fewer["cameras_b"] == fewer["cameras_a"] - 1).all()
    assert set(cells["change"]) <= {"lost", "fewer_cameras"}
    page = (out / "scenarios" / "compare_baseline_off1.html").read_text("utf-8")
    assert len(cells) and all(h in page for h in cells["h3"])  # the map draws every changed cell
    assert read_layer(data / "cameras.geojson", "cameras") is not None


def test_the_view_model_is_recorded_with_the_scenario(
    data: Path, tmp_path: Path, picks: dict[str, str]
) -> None:
    """A scenario compares under the view model it was made with, whatever the default is
    now; a scenario file from before the model was recorded is a 2D one."""
    out = tmp_path / "out"
    for name, extra in (("two", ["--visibility", "2d"]), ("three", [])):
        code, _ = _cli("scenario", "create", name, "--out", str(out), *_layer_args(data),
                       "--disable", picks["disable"], *extra)  # fmt: skip
        assert code == 0
    path = out / "scenarios" / "two.json"
    doc = json.loads(path.read_text("utf-8"))
    assert doc["config"]["visibility"] == "2d"
    assert (
        json.loads((out / "scenarios" / "three.json").read_text("utf-8"))["config"]["visibility"]
        == "3d"
    )
    _, recorded = _cli("scenario", "compare", "two", "--out", str(out), "--json")
    del doc["config"]["visibility"]
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    _, legacy = _cli("scenario", "compare", "two", "--out", str(out), "--json")
    _, three = _cli("scenario", "compare", "three", "--out", str(out), "--json")
    a, b, c = (json.loads(t) for t in (recorded, legacy, three))
    assert a["kpis"] == b["kpis"] and a["changed_cells"] == b["changed_cells"]
    # the 3D scenario's baseline is the 3D run (blind = below the required level), not the 2D
    base2 = {(k["level"], k["kpi"]): k["a"] for k in a["kpis"]}
    base3 = {(k["level"], k["kpi"]): k["a"] for k in c["kpis"]}
    assert base2.keys() == base3.keys()
    assert sum(base2[k] != base3[k] for k in base2) >= 3


def test_stale_inputs_are_named(
    tmp_path: Path,
    data: Path,
    picks: dict[str, str],
    client: TestClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mine = tmp_path / "in"
    shutil.copytree(data, mine)
    out = tmp_path / "out"
    _cli("scenario", "create", "old", "--out", str(out), *_layer_args(mine),
         "--disable", picks["disable"])  # fmt: skip
    cams = gpd.read_file(mine / "cameras.geojson")
    cams.loc[cams["camera_id"] == picks["reaim"], "azimuth_deg"] = 123.0
    cams.to_file(mine / "cameras.geojson", driver="GeoJSON")
    capsys.readouterr()
    assert main(["scenario", "compare", "old", "--out", str(out)]) == 2  # a sentence, no trace
    err = capsys.readouterr().err
    assert re.search(r"layer 'cameras' changed from version \w+ to \w+", err), err
    assert "recreate it" in err
    # API: the stored cameras change after the scenario was made
    r = client.post("/scenarios", json={"name": "stale", "disabled": [picks["disable"]]})
    assert r.status_code == 201
    store = client.app.state.store  # type: ignore[attr-defined]
    before = store.read_layer("cameras")
    store_layer(store, "cameras", cams)
    try:
        r = client.get("/scenarios/stale/compare")
        assert r.status_code == 400 and "layer 'cameras' changed" in r.json()["description"]
    finally:
        store_layer(store, "cameras", before)


def test_owners_scenario_and_write_scope(tmp_path: Path, data: Path, client: TestClient) -> None:
    mine = tmp_path / "in"
    shutil.copytree(data, mine)
    cams = gpd.read_file(mine / "cameras.geojson")
    owners = np.where(np.arange(len(cams)) % 3 == 0, "social", "public_security")
    cams["owner"] = owners
    cams.to_file(mine / "cameras.geojson", driver="GeoJSON")
    out = tmp_path / "out"
    _cli("scenario", "create", "public", "--out", str(out), *_layer_args(mine),
         "--owners", "public_security,community")  # fmt: skip
    _, text = _cli("scenario", "compare", "public", "--out", str(out), "--json")
    kpi = {(k["level"], k["kpi"]): k for k in json.loads(text)["kpis"]}
    counted = (cams["status"] != "offline").to_numpy()  # online and unknown count
    social = int((counted & (owners == "social")).sum())
    assert kpi[("all", "cameras_counted")]["delta"] == -social
    assert kpi[("all", "covered_pct")]["delta"] < 0
    # writes need a planner or admin key; reads do not change anything
    anon = TestClient(client.app)
    assert anon.post("/scenarios", json={"name": "x"}).status_code == 401
    reader = TestClient(client.app)
    reader.headers["X-API-Key"] = client.app.state.keys.add("r", "reader").token  # type: ignore[attr-defined]
    assert reader.delete("/scenarios/self").status_code == 403
    assert client.delete("/scenarios/nope").status_code == 404
    assert (
        client.post("/scenarios", json={"name": "bad", "disabled": ["no-such"]}).status_code == 400
    )


def test_spec_schema_round_trip_and_errors() -> None:
    spec = ScenarioSpec("甲-1", disabled=("a",), added=(dict(ADDED),), counted_owners=("social",))
    assert ScenarioSpec.from_dict(json.loads(spec.to_json())) == spec
    for bad, match in (
        ({"name": "x", "colour": 1}, "unknown field"),
        ({"name": "x/y"}, "not allowed"),
        ({"name": "x", "counted_owners": ["army"]}, "unknown"),
        ({"name": "x", "added": [{"camera_id": "n"}]}, "lacks"),
        ({"name": "x", "schema": 9}, "schema 9"),
    ):
        doc: dict[str, Any] = bad
        with pytest.raises(InputError, match=match):
            ScenarioSpec.from_dict(doc)


def test_cli_reaim_takes_the_api_keys(
    data: Path,
    tmp_path: Path,
    picks: dict[str, str],
    client: TestClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--reaim`` takes the scenario JSON's and the API's keys (3D optics included), parsed
    once in the core (``scenarios.spec.parse_reaim``): the saved scenario equals the one the
    API stores from the same JSON body, and a wrong key is refused with the keys named."""
    out, cid = tmp_path / "out", picks["reaim"]
    code, _ = _cli("scenario", "create", "optics", "--out", str(out), *_layer_args(data),
                   "--reaim", f"{cid}=200,,75", "--reaim",
                   f"{cid}=height_m=12.5,tilt_deg=20,resolution_px=2688")  # fmt: skip
    assert code == 0
    saved = json.loads((out / "scenarios" / "optics.json").read_text("utf-8"))
    want = {"azimuth_deg": 200.0, "fov_deg": None, "range_m": 75.0, "height_m": 12.5,
            "tilt_deg": 20.0, "resolution_px": 2688}  # fmt: skip
    assert saved["reaimed"] == {cid: want}
    r = client.post("/scenarios", json={"name": "optics", "reaimed": {cid: want}})
    assert r.status_code == 201, r.text
    stored = client.get("/scenarios/optics").json()["reaimed"]
    assert stored == saved["reaimed"]
    bad = tmp_path / "bad"
    capsys.readouterr()
    code, _ = _cli("scenario", "create", "bad", "--out", str(bad), *_layer_args(data),
                   "--reaim", f"{cid}=zoom_deg=3")  # fmt: skip
    assert code != 0
    assert re.search(r"zoom_deg=3.*height_m, tilt_deg, resolution_px", capsys.readouterr().err)
    assert not (bad / "scenarios" / "bad.json").exists()
