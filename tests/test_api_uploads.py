"""Layer uploads: every bad input is refused with a clear 4xx and the stored layer unchanged.

The bad inputs are the foundation's cases (invalid and unclosed polygons, empty geometry, mixed
types, NaN, swapped lat/lon, metres labelled as degrees, missing CRS, duplicate codes, unknown
kind or values) built from the real Chicago files, plus hostile archives and bodies: a zip
bomb, zip-slip names, too many entries, a 1000-deep JSON and a 100 MB body (streamed to a
live uvicorn over a raw socket: 413 long before it is all sent). Each check compares a content
digest of the stored layers before and after. Good uploads in every format are read back and
compared with an independent read of the same file.
"""

from __future__ import annotations

import csv
import io
import json
import select
import socket
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import shapely
from fastapi.testclient import TestClient

import api_write_data as w
from api_server import CHICAGO
from gridcover.api.app import create_app
from gridcover.gis import read_layer
from gridcover.settings import Settings

SPEED = CHICAGO / "speed_camera_locations.csv"
BEATS = CHICAGO / "police_beats_2014.geojson"


@dataclass
class Env:
    settings: Settings
    client: TestClient
    admin: dict[str, str]

    def digests(self) -> tuple[str, str]:
        return (w.stored_digest(self.settings, "cameras"), w.stored_digest(self.settings, "grids"))

    def put(self, layer: str, name: str, data: bytes, **form: str) -> httpx.Response:
        return self.client.put(
            f"/layers/{layer}", files={"file": (name, data)}, data=form, headers=self.admin
        )


@pytest.fixture(scope="module", params=w.BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    settings = w.settings_for(request.param, tmp_path_factory.mktemp(request.param))
    w.fill_store(settings)
    admin = {"X-API-Key": w.add_key(settings, "admin")}
    with TestClient(create_app(settings)) as client:
        yield Env(settings, client, admin)


# -- bad files, derived from the real data -----------------------------------------------------
def _csv(edit: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> bytes:
    with open(SPEED, encoding="utf-8-sig", newline="") as fh:
        rows = edit(list(csv.DictReader(fh)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _beats(edit: Callable[[list[dict]], list[dict]], n: int = 6) -> bytes:
    feats = json.loads(BEATS.read_text(encoding="utf-8"))["features"][:n]
    return json.dumps({"type": "FeatureCollection", "features": edit(feats)}).encode()


def _bowtie(feats: list[dict]) -> list[dict]:
    x0, y0, x1, y1 = shapely.geometry.shape(feats[2]["geometry"]).bounds
    feats[2]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]],
    }
    return feats


def _unclosed(feats: list[dict]) -> list[dict]:
    feats[1]["geometry"]["coordinates"][0] = feats[1]["geometry"]["coordinates"][0][:-1]
    return feats


def _cams_geojson(edit: Callable[[list[dict]], list[dict]]) -> bytes:
    gdf = w.cameras().head(6)[["camera_id", "type", "status", "geometry"]]
    feats = json.loads(gdf.to_json())["features"]
    return json.dumps({"type": "FeatureCollection", "features": edit(feats)}).encode()


def _set(i: int, geometry: dict | None) -> Callable[[list[dict]], list[dict]]:
    def edit(feats: list[dict]) -> list[dict]:
        feats[i]["geometry"] = geometry
        return feats

    return edit


def _swap(feats: list[dict]) -> list[dict]:
    for f in feats:
        f["geometry"]["coordinates"] = f["geometry"]["coordinates"][::-1]
    return feats


def _zip(members: dict[str, bytes], level: int = 9) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


STATE_PLANE = _csv(
    lambda r: [
        {k: v for k, v in x.items() if k not in ("LATITUDE", "LONGITUDE", "LOCATION")}
        | {"X": "1150000", "Y": "1890000"}
        for x in r[:4]
    ]
)

BAD = {
    "invalid polygon": ("grids", "beats.geojson", lambda: _beats(_bowtie), "Self-intersection"),
    "unclosed ring": ("grids", "beats.geojson", lambda: _beats(_unclosed), "ring is not closed"),
    "empty geometry": ("cameras", "c.geojson", lambda: _cams_geojson(_set(1, None)), "no geometry"),
    "mixed types": (
        "cameras",
        "c.geojson",
        lambda: _cams_geojson(
            _set(4, {"type": "LineString", "coordinates": [[-87.7, 41.8], [-87.6, 41.9]]})
        ),
        "LineString",
    ),
    "NaN": (
        "cameras",
        "c.csv",
        lambda: _csv(lambda r: [{**r[0], "LONGITUDE": "inf"}, *r[1:5]]),
        "NaN or infinite",
    ),
    "swapped lat/lon": ("cameras", "c.geojson", lambda: _cams_geojson(_swap), "swap?"),
    "metres as degrees": (
        "cameras",
        "c.geojson",
        lambda: _cams_geojson(
            lambda f: [
                {**x, "geometry": {"type": "Point", "coordinates": [441000.0 + i, 4640000.0]}}
                for i, x in enumerate(f)
            ]
        ),
        "which are metres, not the degrees",
    ),
    "missing CRS": ("cameras", "c.csv", lambda: STATE_PLANE, "no CRS was given; pass crs="),
    "outside the plausible extent": (
        "cameras",
        "c.geojson",
        lambda: _cams_geojson(_set(2, {"type": "Point", "coordinates": [200.0, 41.8]})),
        "lies outside longitude -180..180",
    ),
    "Null Island placeholder": (
        "cameras",
        "c.geojson",
        lambda: _cams_geojson(_set(3, {"type": "Point", "coordinates": [0.0, 0.0]})),
        "Null Island",
    ),
    "duplicate codes": (
        "cameras",
        "c.csv",
        lambda: _csv(lambda r: [*r[:5], {**r[5], "ID": r[1]["ID"]}]),
        "appears 2 times",
    ),
    "unknown value": (
        "cameras",
        "c.csv",
        lambda: _csv(lambda r: [{**x, "type": "laser"} for x in r[:3]]),
        "is not a known camera type",
    ),
    "unsupported file": ("cameras", "c.docx", lambda: b"PK\x03\x04", "unsupported file type"),
    "zip bomb": (
        "grids",
        "bomb.zip",
        lambda: _zip({"beats.geojson": b"\x00" * 30 * 1024**2}),
        "looks like a zip bomb",
    ),
    "zip slip": (
        "grids",
        "slip.zip",
        lambda: _zip({"../../evil.geojson": _beats(lambda f: f)}),
        "climbs out of the archive folder",
    ),
    "absolute zip name": (
        "grids",
        "abs.zip",
        lambda: _zip({"/tmp/evil.geojson": b"{}"}),
        "is an absolute path",
    ),
    "too many zip entries": (
        "grids",
        "many.zip",
        lambda: _zip({f"f{i}.txt": b"x" for i in range(201)}, 1),
        "201 entries",
    ),
    "1000-deep JSON": (
        "cameras",
        "deep.geojson",
        lambda: b"[" * 1000 + b"]" * 1000,
        "1000 levels deep",
    ),
    "not a layer file": ("cameras", "c.geojson", lambda: b"this is not json", "cannot"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_upload_is_refused_and_nothing_changes(env: Env, case: str) -> None:
    layer, name, make, expect = BAD[case]
    before = env.digests()
    r = env.put(layer, name, make())
    assert 400 <= r.status_code < 500, r.text
    body = r.json()
    text = body["description"] + " ".join(body.get("problems", []))
    assert expect in text, text
    assert "gridcover-upload-" not in text  # names the client's file, not the server's temp path
    assert env.digests() == before


def test_unknown_layer_kind_is_refused(env: Env) -> None:
    r = env.put("camera", "c.csv", SPEED.read_bytes())
    assert r.status_code == 404 and "upload one of grids, cameras" in r.json()["description"]


def test_a_validation_report_lists_every_bad_row(env: Env) -> None:
    def edit(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        rows = [{**x, "type": "dome"} for x in rows[:8]]
        rows[1]["LONGITUDE"], rows[4]["type"], rows[6]["LATITUDE"] = "inf", "laser", "n/a"
        return rows

    before = env.digests()
    r = env.put("cameras", "cams.csv", _csv(edit))
    assert r.status_code == 400
    problems = r.json()["problems"]
    assert len(problems) == 3
    assert sorted(p.split(" ")[1] for p in problems) == ["2", "5", "7"]  # 1-based data rows
    assert env.digests() == before


def test_good_uploads_in_every_format_create_and_replace(env: Env, tmp_path: Path) -> None:
    r = env.put("cameras", "speed.csv", SPEED.read_bytes())
    assert r.status_code == 200 and r.json()["replaced"] and r.json()["rows"] == 160
    got = env.client.get("/collections/cameras/items?limit=1000", headers=env.admin).json()
    src = read_layer(SPEED, "cameras")
    assert [f["id"] for f in got["features"]] == list(src["camera_id"])
    gpkg = tmp_path / "cams.gpkg"
    src.head(40).to_file(gpkg, driver="GPKG", layer="cams")
    r = env.put("cameras", "cams.gpkg", gpkg.read_bytes())
    assert r.status_code == 200 and r.json()["rows"] == 40
    grids = w.grids()
    shp = tmp_path / "shp"
    shp.mkdir()
    grids.drop(columns="parent_code").to_file(shp / "grids.shp", engine="pyogrio")
    zipped = _zip({p.name: p.read_bytes() for p in shp.iterdir()})
    r = env.put("grids", "grids.zip", zipped)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["collections"]) == ["grids_level1", "grids_level2"]
    n1 = env.client.get("/collections/grids_level1", headers=env.admin).json()
    assert n1["gridcover:numberOfFeatures"] == int((grids["level"] == 1).sum())
    r = env.put("posts", "stations.csv", (CHICAGO / "police_stations.csv").read_bytes())
    assert r.status_code == 201 and r.json()["rows"] == 23 and not r.json()["replaced"]
    assert env.client.delete("/layers/posts", headers=env.admin).status_code == 204
    assert env.client.get("/collections/posts", headers=env.admin).status_code == 404
    w.fill_store(env.settings)  # restore the module's layers


def _send_until_answer(base: str, head: bytes, chunk: bytes, total: int) -> tuple[bytes, int]:
    """Send ``head`` then up to ``total`` body bytes; stop at the first answer byte."""
    host, port = base.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(head)
        answer = b""
        while sent < total:
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        s.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


def test_100_mb_body_is_refused_while_streaming(tmp_path: Path) -> None:
    settings = w.settings_for("gpkg", tmp_path)
    w.fill_store(settings)
    key = w.add_key(settings, "admin")
    before = w.stored_digest(settings, "cameras")
    total = 100 * 1000**2
    mib = 1024**2
    with w.uvicorn_server(settings) as (base, _):
        # Declared length over the limit: refused before any body byte is read.
        head = (
            f"PUT /layers/cameras HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {total}\r\n\r\n"
        ).encode()
        answer, sent = _send_until_answer(base, head, b"-" * mib, total)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 10 * mib
        # Chunked, no length: refused once the running count passes the limit.
        head = head.replace(f"Content-Length: {total}".encode(), b"Transfer-Encoding: chunked")
        part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        body = part + b"x" * (mib - len(part))
        chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n"
        answer, sent = _send_until_answer(base, head, chunk, total)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"larger than the limit" in answer or b"413" in answer
        assert sent < settings.max_upload_bytes + 16 * mib < total  # refused near the limit
    assert w.stored_digest(settings, "cameras") == before


def test_zip_limits_come_from_the_settings(tmp_path: Path) -> None:
    """GRIDCOVER_ZIP_MAX_BYTES / _ENTRIES reach the archive check (defaults are generous)."""
    settings = w.settings_for("gpkg", tmp_path, zip_max_bytes=20_000, zip_max_entries=3)
    w.fill_store(settings)
    admin = {"X-API-Key": w.add_key(settings, "admin")}
    before = w.stored_digest(settings, "grids")
    beats = _beats(lambda f: f, n=40)
    assert len(beats) > 20_000  # its declared (uncompressed) size passes the limit
    with TestClient(create_app(settings)) as client:
        r = client.put("/layers/grids", files={"file": ("g.zip", _zip({"g.geojson": beats}))},
                       headers=admin)  # fmt: skip
        assert r.status_code == 400 and "20,000 bytes" in r.json()["description"], r.text
        four = _zip({f"f{i}.txt": b"x" for i in range(4)}, 1)
        r = client.put("/layers/grids", files={"file": ("m.zip", four)}, headers=admin)
        assert r.status_code == 400 and "4 entries" in r.json()["description"], r.text
    assert w.stored_digest(settings, "grids") == before


def test_3d_upload_is_stored_2d_and_the_answer_says_so(env: Env) -> None:
    """The foundation's 3D case is a note, not a refusal: the answer carries it."""

    def lift(feats: list[dict]) -> list[dict]:
        for i, f in enumerate(feats):
            f["geometry"]["coordinates"] = [*f["geometry"]["coordinates"], 10.0 + i]
        return feats

    r = env.put("cameras", "c3d.geojson", _cams_geojson(lift))
    assert r.status_code == 200, r.text
    assert any("Z dropped" in n for n in r.json()["notes"]), r.json()["notes"]
    got = env.client.get("/collections/cameras/items?limit=100", headers=env.admin).json()
    src = w.cameras().head(6)
    assert [f["id"] for f in got["features"]] == list(src["camera_id"])
    for f, p in zip(got["features"], src.geometry, strict=True):
        assert f["geometry"]["coordinates"] == [p.x, p.y]  # two numbers, the source's x, y
    w.fill_store(env.settings)  # restore the module's layers
