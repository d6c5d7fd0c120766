"""A patch of a value the reader accepted before skips the reader, and stores what it would.

``CheckedValues`` remembers (kind, field, value) -> typed value after the foundation's reader
accepted it, but only for column sets the reader takes field by field. Checked here on the
Chicago speed cameras (GeoPackage store, no HTTP): the same patch applied without the memory,
with it on first sight (the reader runs) and with it again (the reader is skipped) gives the
same stored row, and that row's patched value is what ``read_layer`` makes of the whole
feature written to a GeoJSON file (the upload path, a second reader of the rule). Refused
values are refused every time with the reader's own sentence, and columns that feed other
fields (``owner`` -> ``owner_name``, ``ptz_type`` -> ``type``) are never remembered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely

import api_write_data as w
from gridcover.api.checked_values import CheckedValues
from gridcover.api.features_write import apply_edit
from gridcover.api.store import Store, open_store
from gridcover.api.store.audit import with_audit
from gridcover.api.store.edits import Actor
from gridcover.errors import InputError, ValidationReport
from gridcover.gis import read_layer
from gridcover.settings import Settings

PLANNER = Actor(name="planner", role="planner")
# (property, value sent): accepted values, incl. ones the reader normalises or defaults
ACCEPTED = [
    ("status", "offline"),
    ("status", "损坏"),  # a ledger word: offline
    ("status", None),  # the reader's default: unknown
    ("azimuth_deg", 370),  # taken modulo 360
    ("height_m", 6),
    ("azimuth_deg", "north"),  # a compass word: 0
    ("range_m", 45.5),
    ("type", "dome"),
    ("fov_deg", 360),
]
REFUSED = [("status", "banana"), ("fov_deg", -5), ("height_m", -3), ("range_m", "far")]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Settings]]:
    settings = w.settings_for("gpkg", tmp_path_factory.mktemp("memo"))
    w.fill_store(settings)
    store = with_audit(open_store(settings))  # as create_app opens it
    yield store, settings
    store.close()


def _ids(n: int, skip: int = 0) -> list[str]:
    return [str(v) for v in w.cameras()["camera_id"].iloc[skip : skip + n]]


def _patch(
    env: tuple[Store, Settings], cid: str, prop: str, value: Any, memo: CheckedValues | None
) -> dict[str, Any]:
    store, settings = env
    doc = {"properties": {prop: value}}
    row = apply_edit(store, settings, PLANNER, "cameras", cid, "patch", doc, None, memo)[1]
    assert row is not None
    return dict(row.properties)


def _whole_feature_reader(env: tuple[Store, Settings], cid: str, tmp: Path) -> dict[str, Any]:
    """The stored feature written out as GeoJSON and read back with ``read_layer``."""
    store, _ = env
    page = store.feature("cameras", cid)
    props = {k: v for k, v in page.properties[0].items() if k in w.cameras().columns[:23]}
    feature = {"type": "Feature", "properties": props,
               "geometry": shapely.geometry.mapping(page.geometries[0])}  # fmt: skip
    path = tmp / f"{cid}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return dict(read_layer(path, "cameras").iloc[0].drop("geometry"))


def test_a_remembered_value_is_stored_as_the_reader_stores_it(
    env: tuple[Store, Settings], tmp_path: Path
) -> None:
    memo = CheckedValues()
    plain, first, again = _ids(len(ACCEPTED)), _ids(len(ACCEPTED), 20), _ids(len(ACCEPTED), 40)
    for i, (prop, value) in enumerate(ACCEPTED):
        a = _patch(env, plain[i], prop, value, None)
        hits = memo.hits
        b = _patch(env, first[i], prop, value, memo)
        assert memo.hits == hits  # first sight: the reader ran
        c = _patch(env, again[i], prop, value, memo)
        assert memo.hits == hits + 1  # seen before: the reader was skipped
        assert a[prop] == b[prop] == c[prop], (prop, value, a[prop], b[prop], c[prop])
        for cid, got in ((first[i], b), (again[i], c)):
            stored = env[0].feature("cameras", cid).properties[0]
            assert stored[prop] == got[prop]
            expected = _whole_feature_reader(env, cid, tmp_path)[prop]
            assert expected == got[prop] or (expected != expected and got[prop] is None)
    assert c["azimuth_deg"] is not None  # sanity: the rows are full rows
    assert _patch(env, again[0], "azimuth_deg", 370, memo)["azimuth_deg"] == 10.0


def test_refused_values_are_refused_every_time_with_the_readers_sentence(
    env: tuple[Store, Settings],
) -> None:
    memo = CheckedValues()
    cid = _ids(1, 60)[0]
    for prop, value in REFUSED:
        messages = []
        for m in (None, memo, memo):
            with pytest.raises((ValidationReport, InputError)) as err:
                _patch(env, cid, prop, value, m)
            messages.append(str(err.value))
        assert messages[0] == messages[1] == messages[2] and prop in messages[0]
    assert memo.hits == 0


def test_columns_that_feed_other_fields_always_go_through_the_reader(
    env: tuple[Store, Settings],
) -> None:
    memo = CheckedValues()
    base = {"camera_id", "type", "status"}
    assert memo.independent("cameras", base | {"height_m"})
    for feeding in ("owner", "resolution", "ptz_type"):
        assert not memo.independent("cameras", base | {feeding})
    a, b, c = _ids(3, 80)
    plain = _patch(env, a, "owner", "公安", None)
    for cid in (b, c):
        row = _patch(env, cid, "owner", "公安", memo)
        assert (row["owner"], row["owner_name"]) == (plain["owner"], plain["owner_name"])
    assert memo.hits == 0
