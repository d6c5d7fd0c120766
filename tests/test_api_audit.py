"""The audit log: written in the same transaction as each write, append-only, shown by the CLI.

On both backends: an upload, a feature edit and a layer delete each add one row naming the
actor, role, action, object and grid, with content hashes computed independently here; when
the audit insert fails, the write is rolled back with it; the table refuses UPDATE and DELETE;
``gridcover audit`` and ``gridcover keys`` work on the same store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

import api_write_data as w
from api_server import CHICAGO
from gridcover.api.app import create_app
from gridcover.api.store.audit import layer_digest, read_entries
from gridcover.api.store.sql_target import target_for
from gridcover.cli import main
from gridcover.gis import read_layer
from gridcover.settings import Settings


@dataclass
class Env:
    settings: Settings
    client: TestClient
    planner: dict[str, str]

    def entries(self) -> list:
        return read_entries(target_for(self.settings), limit=1000)


@pytest.fixture(params=w.BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    settings = w.settings_for(request.param, tmp_path)
    w.fill_store(settings)
    planner = {"X-API-Key": w.add_key(settings, "planner", name="Planning office")}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Env(settings, client, planner)


def _sql(settings: Settings, statements: list[str]) -> None:
    """Run statements as the database owner (outside the service)."""
    if settings.database_url:
        import psycopg

        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            for s in statements:
                conn.execute(s)
    else:
        with sqlite3.connect(settings.store_path) as conn:
            for s in statements:
                conn.execute(s)


def test_upload_edit_and_delete_are_audited_with_content_hashes(env: Env) -> None:
    old = w.stored_digest(env.settings, "cameras")
    r = env.client.put(
        "/layers/cameras",
        files={"file": ("speed.csv", (CHICAGO / "speed_camera_locations.csv").read_bytes())},
        headers={**env.planner, "X-Request-ID": "upload-1"},
    )
    assert r.status_code == 200, r.text
    up = next(e for e in env.entries() if e.request_id == "upload-1")
    assert (up.action, up.collection, up.actor, up.role) == (
        "replace_layer",
        "cameras",
        "Planning office",
        "planner",
    )
    assert up.before_hash == old
    assert up.after_hash == w.stored_digest(env.settings, "cameras")
    assert up.after_hash == layer_digest(
        read_layer(CHICAGO / "speed_camera_locations.csv", "cameras")
    )
    assert up.detail["rows"] == 160 and up.detail["source"] == "speed.csv"
    cid, p = w.camera_inside("D8")
    doc = env.client.get(f"/collections/cameras/items/{cid}", headers=env.planner).json()
    r = env.client.delete(
        f"/collections/cameras/items/{cid}", headers={**env.planner, "X-Request-ID": "del-1"}
    )
    assert r.status_code == 204
    d = next(e for e in env.entries() if e.request_id == "del-1")
    assert (d.action, d.object_id, d.after_hash) == ("delete", cid, None)
    assert d.before_hash == w.feature_sha(doc)
    assert shapely.from_wkt(d.detail["geometry"][0]).distance(p) < 1e-7
    assert d.grid is not None and d.grid.startswith("B08")  # a beat of district 8
    r = env.client.delete("/layers/grids", headers={**env.planner, "X-Request-ID": "del-2"})
    assert r.status_code == 204
    g = next(e for e in env.entries() if e.request_id == "del-2")
    assert (g.action, g.collection, g.after_hash) == ("delete_layer", "grids", None)
    assert g.before_hash == layer_digest(w.grids())
    ids = [e.id for e in env.entries()]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


def test_a_failing_audit_insert_rolls_the_write_back(env: Env) -> None:
    if env.settings.database_url:
        _sql(
            env.settings,
            [
                "CREATE FUNCTION gridcover.t_fail() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'audit disk full'; END $$",
                "CREATE TRIGGER t_fail BEFORE INSERT ON gridcover.audit_log "
                "FOR EACH ROW EXECUTE FUNCTION gridcover.t_fail()",
            ],
        )
    else:
        _sql(
            env.settings,
            [
                "CREATE TRIGGER t_fail BEFORE INSERT ON gridcover_audit "
                "BEGIN SELECT RAISE(ABORT, 'audit disk full'); END"
            ],
        )
    before = w.stored_digest(env.settings, "cameras")
    cid, p = w.camera_inside("D8")
    r = env.client.patch(
        f"/collections/cameras/items/{cid}",
        json={"geometry": {"type": "Point", "coordinates": [p.x + 1e-4, p.y]}},
        headers=env.planner,
    )
    assert r.status_code == 500
    r = env.client.put(
        "/layers/cameras",
        files={"file": ("speed.csv", (CHICAGO / "speed_camera_locations.csv").read_bytes())},
        headers=env.planner,
    )
    assert r.status_code == 500
    assert w.stored_digest(env.settings, "cameras") == before
    assert [e for e in env.entries() if e.collection != "api_keys"] == []


def test_the_audit_table_refuses_changes_and_has_no_write_route(env: Env) -> None:
    cid, _ = w.camera_inside("D8")
    r = env.client.patch(
        f"/collections/cameras/items/{cid}",
        json={"properties": {"owner": "x"}},
        headers=env.planner,
    )
    assert r.status_code == 200
    table = "gridcover.audit_log" if env.settings.database_url else "gridcover_audit"
    for statement in (f"UPDATE {table} SET actor = 'someone else'", f"DELETE FROM {table}"):
        with pytest.raises(Exception, match="append-only"):
            _sql(env.settings, [statement])
    assert [e.actor for e in env.entries() if e.collection != "api_keys"] == ["Planning office"]
    doc = env.client.get("/api", headers=env.planner).json()
    assert not [p for p in doc["paths"] if "audit" in p]
    assert env.client.delete("/audit", headers=env.planner).status_code in (404, 405)


def test_keys_and_audit_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = w.settings_for("gpkg", tmp_path)
    w.fill_store(settings)
    store = ["--data-dir", str(tmp_path)]
    assert (
        main(["keys", "add", "--name", "Li Wei", "--role", "grid_chief", "--grid", "D8", *store])
        == 0
    )
    token = capsys.readouterr().out.splitlines()[1]
    assert token.startswith("gck_")
    assert main(["keys", "add", "--name", "x", "--role", "grid_chief", *store]) == 2
    assert "needs the code of his grid" in capsys.readouterr().err
    bad = ["keys", "add", "--name", "x", "--role", "grid_chief", "--grid", "999", *store]
    assert main(bad) == 2
    assert "grid '999' is not a code of the stored grids layer" in capsys.readouterr().err
    assert main(["keys", "list", *store]) == 0
    listing = capsys.readouterr().out
    key_id = token.split("_")[1]
    assert key_id in listing and "Li Wei" in listing and token not in listing
    with TestClient(create_app(settings)) as client:
        cid, _ = w.camera_inside("D8")
        r = client.patch(
            f"/collections/cameras/items/{cid}",
            json={"properties": {"ADDRESS": "D8 desk"}},
            headers={"X-API-Key": token, "X-Request-ID": "cli-1"},
        )
        assert r.status_code == 200
        old_address = w.cameras().set_index("camera_id")["ADDRESS"][cid]
        assert main(["audit", *store]) == 0
        out = capsys.readouterr().out
        assert "Li Wei" in out and "grid_chief" in out and "cli-1" in out and cid in out
        assert f"ADDRESS: {old_address!r} -> 'D8 desk'" in out
        assert main(["audit", "--json", "--actor", key_id, *store]) == 0
        (line,) = capsys.readouterr().out.splitlines()
        assert json.loads(line)["object_id"] == cid
        assert main(["keys", "revoke", key_id, *store]) == 0
        capsys.readouterr()
        r = client.get("/collections", headers={"X-API-Key": token})
        assert r.status_code == 401
    assert main(["keys", "revoke", "00000000", *store]) == 2
    # making and revoking keys are writes too: audited, naming the operator at the shell
    keyed = read_entries(target_for(settings), collection="api_keys")
    assert [(e.action, e.object_id) for e in keyed] == [("revoke_key", key_id), ("add_key", key_id)]
    assert all(e.actor.endswith("(gridcover keys)") and e.role == "system" for e in keyed)
    assert keyed[1].detail == {"name": "Li Wei", "role": "grid_chief", "grid": "D8"}
    assert token not in json.dumps([e.detail for e in keyed])


def test_an_analysis_job_is_audited_as_the_caller_not_system(env: Env) -> None:
    r = env.client.post("/analysis/grid-check", json={}, headers=env.planner)
    assert r.status_code == 201, r.text
    env.client.app.state.jobs.wait(r.json()["jobID"], timeout=300)  # type: ignore[attr-defined]
    rows = [e for e in env.entries() if e.collection == "grid_issues"]
    assert rows, [e.collection for e in env.entries()]
    assert {(e.actor, e.role) for e in rows} == {("Planning office", "planner")}
