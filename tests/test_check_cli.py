"""``gridcover check`` end to end: exit codes, the printed table, GeoJSON/CSV outputs re-read
with pyogrio/pandas and compared with check_grids on the same files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from _gridqa_data import CHICAGO, chicago_frame
from gridcover.cli import main
from gridcover.gis.qa.check import CHECKS, check_grids

DISTRICTS = CHICAGO / "police_districts_2014.geojson"
BEATS_ZIP = CHICAGO / "police_beats_2014_shapefile.zip"
SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata" / "grids.geojson"


def _table(out: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(r"^(\w+)\s+(\d+)\s+(\d+)\s+[\d,.]+$", out, flags=re.M)
    return {c: (int(e), int(w)) for c, e, w in rows}


def test_chicago_districts_and_beats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, csv = tmp_path / "issues.geojson", tmp_path / "issues.csv"
    code = main(["check", str(DISTRICTS), str(BEATS_ZIP), "--out", str(out), "--csv", str(csv)])
    printed = capsys.readouterr().out
    assert code == 1
    # the same grids built with plain geopandas, checked directly
    direct = check_grids(chicago_frame())
    back = pyogrio.read_dataframe(out)
    assert back.crs.to_epsg() == 4326
    assert len(back) == len(direct.issues)
    got = back.groupby(["check", "severity"]).size().to_dict()
    want = direct.issues.groupby(["check", "severity"]).size().to_dict()
    assert got == want
    table = _table(printed)
    assert list(table) == list(CHECKS)
    for check, (errors, warnings) in table.items():
        assert errors == got.get((check, "error"), 0)
        assert warnings == got.get((check, "warning"), 0)
    errs = back[back["severity"] == "error"]
    assert set(errs["code"]) == set(direct.issues.loc[direct.issues["severity"] == "error", "code"])
    assert errs["area_m2"].sum() == pytest.approx(
        direct.issues.loc[direct.issues["severity"] == "error", "area_m2"].sum()
    )
    table_csv = pd.read_csv(csv, dtype={"code": str, "other_code": str}, encoding="utf-8-sig")
    assert len(table_csv) == len(back)
    assert {"lon", "lat", "message"} <= set(table_csv.columns)
    assert table_csv["code"].iloc[0] == back["code"].iloc[0]  # codes keep leading zeros
    assert f"{len(errs)} error(s)" in printed


def test_clean_sample_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "none.geojson"
    assert main(["check", str(SAMPLE), "--out", str(out)]) == 0
    assert "OK: 0 error(s)" in capsys.readouterr().out
    assert len(pyogrio.read_dataframe(out)) == 0


def test_planted_overlap_in_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    beats = gpd.read_file(CHICAGO / "police_beats_2014.geojson")
    crs = beats.estimate_utm_crs()
    m = beats.to_crs(crs)
    a = m.index[m["BEAT_NUM"] == "1713"][0]
    edge = m.geometry.boundary.intersection(m.at[a, "geometry"].boundary).length.drop(index=a)
    b = edge.idxmax()  # the neighbour sharing the longest edge
    assert edge[b] > 100
    grow = m.at[b, "geometry"].intersection(m.at[a, "geometry"].buffer(20))
    m.at[a, "geometry"] = m.at[a, "geometry"].union(grow)
    path = tmp_path / "beats.geojson"
    m.to_crs(4326).to_file(path, driver="GeoJSON")
    out = tmp_path / "issues.geojson"
    assert main(["check", str(DISTRICTS), str(path), "--out", str(out), "--limit", "3"]) == 1
    back = pyogrio.read_dataframe(out)
    ov = back[(back["check"] == "overlap") & (back["severity"] == "error")]
    pair = tuple(sorted(["1713", m.at[b, "BEAT_NUM"]]))
    assert list(zip(ov["code"], ov["other_code"], strict=True)) == [pair]
    assert ov["area_m2"].iloc[0] == pytest.approx(grow.area, rel=2e-3)
    assert f"{pair[0]} and {pair[1]}" in capsys.readouterr().out


def test_parents_missing_from_the_data_write_a_null_geometry(tmp_path: Path) -> None:
    d = gpd.read_file(DISTRICTS)
    d["DIST_NUM"] = "D" + d["DIST_NUM"]  # no beat's DISTRICT matches any more
    path = tmp_path / "districts.geojson"
    d.to_file(path, driver="GeoJSON")
    out = tmp_path / "issues.geojson"
    main(["check", str(path), str(BEATS_ZIP), "--out", str(out)])
    back = pyogrio.read_dataframe(out)
    orphan = back[back["check"] == "orphan"]
    assert len(orphan) == 1 and orphan["severity"].iloc[0] == "warning"
    assert orphan.geometry.iloc[0] is None


def test_single_level_file_and_level_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(BEATS_ZIP), "--level", "2"]) == 0
    assert "277 at level 2" in capsys.readouterr().out


def test_input_errors_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "missing.geojson")]) == 2
    assert "not found" in capsys.readouterr().err
    assert (
        main(
            [
                "check",
                str(DISTRICTS),
                str(BEATS_ZIP),
                "--level",
                "1",
                "--level",
                "2",
                "--level",
                "3",
            ]
        )
        == 2
    )
    assert "--level was given 3 times" in capsys.readouterr().err
    assert main(["check", str(DISTRICTS), "--code-field", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err
    assert main(["check", str(SAMPLE), "--out", str(tmp_path)]) == 2  # a folder, not a file
    captured = capsys.readouterr()
    assert "is a folder; give --out/--csv a file name" in captured.err
    assert captured.out == ""  # refused before any work


def test_console_script_exit_code() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridcover",
            "check",
            str(DISTRICTS),
            str(BEATS_ZIP),
            "--limit",
            "0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    assert "FAILED: 4 error(s)" in run.stdout


def test_custom_fields_and_level_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A level-2 file with its own code/parent column names and no level column, checked with
    the districts file (read with the reader's own Chicago mapping)."""
    b = gpd.read_file(CHICAGO / "police_beats_2014.geojson")
    b = b.rename(columns={"BEAT_NUM": "WGBM", "DISTRICT": "SJWGBM"})[["WGBM", "SJWGBM", "geometry"]]
    path = tmp_path / "wg.geojson"
    b.to_file(path, driver="GeoJSON")
    fields = ["--code-field", "WGBM", "--parent-field", "SJWGBM"]
    out = tmp_path / "issues.geojson"
    args = ["check", str(DISTRICTS), str(path), "--level", "1", "--level", "2", *fields]
    assert main([*args, "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "25 at level 1, 277 at level 2" in printed
    direct = check_grids(chicago_frame())
    back = pyogrio.read_dataframe(out)
    assert sorted(back["code"].fillna("")) == sorted(direct.issues["code"].fillna(""))
    assert main(["check", str(path), "--level", "2", *fields]) == 0


def test_level_option_for_a_file_with_parent_codes_but_no_level_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Beats with code/parent columns the reader recognises but no level column: --level gives
    the level, the parent codes are still read (the nesting findings equal the direct check)."""
    b = gpd.read_file(CHICAGO / "police_beats_2014.geojson")
    b = b.rename(columns={"BEAT_NUM": "code", "DISTRICT": "parent_code"})
    path = tmp_path / "beats.geojson"
    b[["code", "parent_code", "geometry"]].to_file(path, driver="GeoJSON")
    assert main(["check", str(DISTRICTS), str(path), "--limit", "0"]) == 2
    err = capsys.readouterr().err
    assert "no column found for required 'level'" in err and "--level N" in err
    out = tmp_path / "issues.geojson"
    args = ["check", str(DISTRICTS), str(path), "--level", "1", "--level", "2"]
    assert main([*args, "--out", str(out)]) == 1
    assert "25 at level 1, 277 at level 2" in capsys.readouterr().out
    direct = check_grids(chicago_frame())
    back = pyogrio.read_dataframe(out)

    def keyed(df: pd.DataFrame) -> list[tuple[str, str, str]]:
        cols = (df["check"], df["code"].fillna(""), df["other_code"].fillna(""))
        return sorted(zip(*cols, strict=True))

    assert keyed(back) == keyed(direct.issues)


def test_failed_runs_leave_the_previous_outputs_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is written when validation fails, and a failure while writing leaves no partial
    file: the outputs of the previous good run stay byte for byte."""
    import gridcover.commands.check as check_cmd

    res = tmp_path / "res"
    out, csv = res / "issues.geojson", res / "issues.csv"
    targets = ["--out", str(out), "--csv", str(csv)]
    assert main(["check", str(DISTRICTS), str(BEATS_ZIP), *targets]) == 1
    before = {p.name: p.read_bytes() for p in res.iterdir()}
    assert set(before) == {"issues.geojson", "issues.csv"}
    capsys.readouterr()
    # 1. input that fails validation: the beats with x and y exchanged (latitude -87)
    b = gpd.read_file(CHICAGO / "police_beats_2014.geojson")
    b = b.set_geometry(shapely.transform(b.geometry.values, lambda xy: xy[:, ::-1]))
    swapped = tmp_path / "swapped.geojson"
    b.to_file(swapped, driver="GeoJSON")
    assert main(["check", str(DISTRICTS), str(swapped), *targets]) == 2
    err = capsys.readouterr().err
    assert str(swapped) in err and "swap?" in err and "nothing was written" in err
    assert {p.name: p.read_bytes() for p in res.iterdir()} == before

    # 2. a failure while writing the second file (after the first was written in full)
    def broken(issues: gpd.GeoDataFrame, path: Path) -> None:
        path.write_text("code,messa", encoding="utf-8")
        raise OSError("No space left on device")

    monkeypatch.setattr(check_cmd, "write_csv", broken)
    with pytest.raises(OSError, match="No space left"):
        main(["check", str(SAMPLE), *targets])
    assert {p.name: p.read_bytes() for p in res.iterdir()} == before
    # 3. a good run replaces both files
    monkeypatch.undo()
    assert main(["check", str(SAMPLE), *targets]) == 0
    assert len(pyogrio.read_dataframe(out)) == 0
    assert len(pd.read_csv(csv, encoding="utf-8-sig")) == 0
    assert sorted(p.name for p in res.iterdir()) == ["issues.csv", "issues.geojson"]
