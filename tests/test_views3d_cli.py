"""``gridcover analyze --sample`` runs the 3D model by default and shows the detail levels in
its summary and text report; ``gridcover map`` and ``gridcover report`` draw the detail bands
(bundled sample: real OSM cameras and buildings of central Helsinki, with OSM heights)."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from gridcover.cli import main


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("analyze3d") / "sample"
    # no --visibility: the 3D model is the default
    assert main(["analyze", "--sample", "--out", str(folder), "--no-progress"]) == 0
    return folder


def test_summary_and_report_show_detail_levels(out: Path) -> None:
    summary = pd.read_csv(out / "summary.csv").set_index("key")["value"]
    assert summary["visibility"] == "3d"
    pcts = [float(summary[f"{n}_pct"]) for n in ("detect", "observe", "recognise", "identify")]
    assert pcts[0] > 0 and all(a >= b for a, b in itertools.pairwise(pcts))
    assert float(summary["night_detect_pct"]) <= pcts[0]
    text = (out / "report.txt").read_text("utf-8")
    assert "Detail levels (3D line of sight" in text and "night:" in text
    cells = gpd.read_parquet(out / "cells.parquet")
    # the summary's shares are the cells' own: area at each level or better
    a = cells["area_m2"].to_numpy()
    for k, p in enumerate(pcts, start=1):
        got = 100 * a[cells["detail_level"].to_numpy() >= k].sum() / a.sum()
        assert got == pytest.approx(p)
    np.testing.assert_array_equal(cells["n_cameras"], cells["cameras"])
    assert (cells["n_cameras_l4"] <= cells["n_cameras_l1"]).all()
    assert (cells["night_detail_level"] <= cells["detail_level"]).all()


def test_views_carry_band_distances_and_bands_are_drawn(out: Path) -> None:
    views = gpd.read_parquet(out / "views.parquet")
    for col in ("identify_m", "recognise_m", "observe_m", "detect_m", "near_blind_m"):
        assert col in views.columns
    d = views[["identify_m", "recognise_m", "observe_m", "detect_m"]].to_numpy()
    assert (np.diff(d, axis=1) >= -1e-9).all()  # identify reaches least far
    bands = gpd.read_parquet(out / "view_bands.parquet")
    assert set(bands["level"]) == {1, 2, 3, 4}
    # every band lies within its camera's view outline (both cut by the same 3D shadows)
    m = bands.merge(pd.DataFrame(views[["camera_id"]]).assign(v=views.geometry.values),
                    on="camera_id")  # fmt: skip
    inside = shapely.covers(
        shapely.buffer(np.asarray(m["v"].values), 1e-6), np.asarray(m.geometry.values)
    )
    assert inside.mean() > 0.99


def test_map_and_report_draw_the_bands(out: Path, tmp_path: Path) -> None:
    html = tmp_path / "map.html"
    assert main(["map", str(out), "--lang", "en", "--out", str(html)]) == 0
    page = html.read_text("utf-8")
    assert "Detail bands (3D occlusion)" in page and "250 px/m" in page
    rep = tmp_path / "report"
    assert main(["report", str(out), "--lang", "en", "--out", str(rep)]) == 0
    page = (rep / "report.html").read_text("utf-8")
    assert "Recognise or better (%)" in page
    assert "Detail bands (3D occlusion)" in (rep / "map.html").read_text("utf-8")


def _area_share(cells: gpd.GeoDataFrame, k: int, night: bool = False) -> float:
    lv = cells["night_detail_level" if night else "detail_level"].to_numpy()
    a = cells["area_m2"].to_numpy()
    return 100 * a[lv >= k].sum() / a.sum()


def test_report_has_a_detail_level_table(out: Path, tmp_path: Path) -> None:
    rep = tmp_path / "report"
    assert main(["report", str(out), "--lang", "en", "--out", str(rep), "--no-html-map"]) == 0
    page = (rep / "report.html").read_text("utf-8")
    assert "Detail levels (IEC 62676-4 DORI" in page
    # read the table back with pandas and check it against the cells written by analyze
    table = next(t for t in pd.read_html(io.StringIO(page)) if "Night, area (%)" in t.columns)
    cells = gpd.read_parquet(out / "cells.parquet")
    assert len(table) == 4
    for k in range(1, 5):
        row = table.iloc[k - 1]
        assert float(row["Day, area (%)"]) == pytest.approx(_area_share(cells, k), abs=0.051)
        assert float(row["Night, area (%)"]) == pytest.approx(
            _area_share(cells, k, night=True), abs=0.051
        )


def test_map_colours_cells_by_detail_level(out: Path, tmp_path: Path) -> None:
    """The sample's 7055 res-12 cells exceed the map budget: each res-11 parent shows the
    highest level seen on at least half its area, recomputed here from cells.parquet."""
    html = tmp_path / "map.html"
    assert main(["map", str(out), "--lang", "en", "--out", str(html)]) == 0
    page = html.read_text("utf-8")
    assert "Detail level per cell (best camera)" in page
    cells = gpd.read_parquet(out / "cells.parquet")
    parent = np.array([h3.cell_to_parent(h, 11) for h in cells["h3"]])
    want: dict[str, int] = {}
    for p, g in pd.DataFrame(
        {"p": parent, "a": cells["area_m2"], "lv": cells["detail_level"]}
    ).groupby("p"):
        shares = [g["a"][g["lv"] >= k].sum() / g["a"].sum() for k in range(1, 5)]
        want[p] = sum(s >= 0.5 for s in shares)
    colours = {0: "#d9d9d9", 1: "#fee391", 2: "#fe9929", 3: "#cc4c02", 4: "#662506"}
    feats = _cell_features(page)
    got = {f["properties"]["h3"]: f["properties"]["_c"] for f in feats}
    assert set(got) == set(want)
    assert {h: colours[v] for h, v in want.items()} == got
    assert len(set(got.values())) >= 3  # several levels on the map


def _cell_features(page: str) -> list[dict]:
    """The aggregated cells layer's features (h3 parent + child count), read from the page."""
    for m in re.finditer(r"var (\w+)_data = (\{.*\});\n", page):
        feats = json.loads(m.group(2))["features"]
        if feats and {"h3", "cells", "_c"} <= set(feats[0]["properties"]):
            return feats
    raise AssertionError("no aggregated cells layer in the map")
