"""`gridcover inspect`: a readable summary, exit 0; problems as sentences, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridcover.cli import main

DATA = Path(__file__).parent / "data"


def test_inspect_prints_counts_extent_columns_and_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = DATA / "helsinki-osm-center" / "surveillance_cameras.geojson"
    assert main(["inspect", str(path), "--kind", "cameras"]) == 0
    out = capsys.readouterr().out
    assert "cameras (摄像机), 221 kept of 221 read" in out
    assert "extent      lon 24.935258 .. 24.953358, lat 60.164257 .. 60.175682" in out
    assert "type values: other 181, ptz 34, dome 6" in out
    assert "status values: unknown 221" in out
    assert "camera_id    str      221 filled  <- osm_id" in out


def test_inspect_options_reach_the_reader(capsys: pytest.CaptureFixture[str]) -> None:
    gpkg = DATA / "prague-bubenec-momepy" / "bubenec.gpkg"
    assert (
        main(["inspect", str(gpkg), "--kind", "grids", "--layer", "plots", "--column", "ID=code"])
        == 0
    )
    out = capsys.readouterr().out
    assert "407 kept of 407 read" in out and "layer 'plots'" in out
    stations = DATA / "chicago-cameras-police" / "police_stations.csv"
    assert main(["inspect", str(stations), "--kind", "posts", "--crs", "EPSG:3435"]) == 0
    assert "EPSG:3435" in capsys.readouterr().out
    sz = DATA / "china-districts-cnmaps" / "shenzhen_districts_gcj02.geojson"
    assert (
        main(
            [
                "inspect",
                str(sz),
                "--kind",
                "grids",
                "--coord-sys",
                "gcj02",
                "--column",
                "adcode=code",
                "--column",
                "level=",
            ]
        )
        == 0
    )
    assert "gcj02 offset removed" in capsys.readouterr().out
    assert main(["inspect", str(gpkg), "--kind", "roads", "--list-layers"]) == 0
    assert capsys.readouterr().out.split() == ["tessellation", "buildings", "streets", "plots"]


def test_inspect_shows_duplicates_instead_of_failing(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "chicago-cameras-police" / "police_districts_2014.geojson"
    assert main(["inspect", str(path), "--kind", "grids"]) == 0
    assert "duplicate code: '31' in features 2, 3, 7" in capsys.readouterr().out


def test_inspect_errors_are_sentences_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    gpkg = DATA / "prague-bubenec-momepy" / "bubenec.gpkg"
    assert main(["inspect", str(gpkg), "--kind", "roads"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gridcover: error: ") and "choose one with layer=" in err
    assert "Traceback" not in err
    assert main(["inspect", str(gpkg), "--kind", "grids", "--layer", "plots"]) == 2
    assert "columns={'YOUR_COLUMN': 'code'}" in capsys.readouterr().err
