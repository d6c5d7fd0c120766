"""``gridcover analyze`` end to end on the bundled sample, and its handling of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest

from gridcover.cli import build_parser, main
from gridcover.coverage.analysis import run_analysis
from gridcover.errors import ValidationReport
from sample_analysis import SAMPLE, sample_layers, sample_result


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("analyze") / "sample"
    # the 2D model: these tests compare with the library's 2D run (3D: test_views3d_cli.py)
    argv = ["analyze", "--sample", "--visibility", "2d", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    return out


def test_help_lists_analyze() -> None:
    text = build_parser().format_help()
    assert "analyze" in text and "coverage analysis" in text


def test_sample_run_writes_every_table(sample_out: Path) -> None:
    for name in ("views", "cells", "blind_spots", "grid_stats"):
        gj = gpd.read_file(sample_out / f"{name}.geojson")
        pq = gpd.read_parquet(sample_out / f"{name}.parquet")
        assert len(gj) == len(pq) > 0
        assert gj.crs.to_epsg() == 4326 and pq.crs.to_epsg() == 4326
    for name in ("grid_stats.csv", "summary.csv", "report.txt"):
        assert (sample_out / name).stat().st_size > 100


def test_files_hold_the_analysis(sample_out: Path) -> None:
    ref = sample_result(12)
    stats = gpd.read_parquet(sample_out / "grid_stats.parquet")
    pd.testing.assert_frame_equal(
        pd.DataFrame(stats.drop(columns="geometry")),
        pd.DataFrame(ref.grid_stats.drop(columns="geometry")),
        check_dtype=False,
    )
    cells = gpd.read_file(sample_out / "cells.geojson")
    ids = np.array([h3.str_to_int(h) for h in cells["h3"]], dtype=np.int64)
    np.testing.assert_array_equal(ids, ref.state.cells.h3)
    assert cells["covered"].sum() == ref.cells["covered"].sum()
    summary = pd.read_csv(sample_out / "summary.csv").set_index("key")["value"]
    assert float(summary["covered_pct"]) == pytest.approx(ref.summary["covered_pct"])
    assert int(summary["blind_spots"]) == len(ref.blind_spots)
    report = (sample_out / "report.txt").read_text("utf-8")
    assert "centroid lies inside the view" in report
    assert f"Blind spots: {len(ref.blind_spots)}" in report
    assert "Reading notes" in report  # the sample's buildings get repaired on reading


def test_own_layers_weights_and_resolution(tmp_path: Path) -> None:
    for k in ("grids", "cameras"):
        shutil.copy(SAMPLE / f"{k}.geojson", tmp_path / f"{k}.geojson")
    w = tmp_path / "w.toml"
    assert main(["analyze", "--weights-template", str(w)]) == 0
    text = w.read_text("utf-8").replace("sites_pct = 100.0", "sites_pct = 0.0")
    w.write_text(text, "utf-8")
    out = tmp_path / "out"
    args = ["analyze", "--grids", str(tmp_path / "grids.geojson"), "--cameras"]
    args += [str(tmp_path / "cameras.geojson"), "--res", "11", "--weights", str(w)]
    assert main([*args, "--out", str(out), "--no-progress", "--cell-geometry", "point"]) == 0
    summary = pd.read_csv(out / "summary.csv").set_index("key")["value"]
    assert int(summary["res"]) == 11
    assert summary["uniform_priority"] == "True"  # no roads/sites: every open cell weighs 1
    assert summary["occlusion"] == "False"
    cells = gpd.read_parquet(out / "cells.parquet")
    assert (cells.geometry.geom_type == "Point").all()
    stats = gpd.read_parquet(out / "grid_stats.parquet")
    assert not stats["targets_missed"].str.contains("sites_pct").any()
    assert "every open cell weighs 1" in (out / "report.txt").read_text("utf-8")


def _bad_cameras(tmp_path: Path) -> Path:
    cams = gpd.read_file(SAMPLE / "cameras.geojson")
    cams.loc[3, "fov_deg"] = 400.0
    cams.loc[5, "range_m"] = -5.0
    p = tmp_path / "bad_cameras.geojson"
    cams.to_file(p)
    return p


def test_bad_camera_values_get_one_message_per_row(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    args = ["analyze", "--grids", str(SAMPLE / "grids.geojson"), "--cameras"]
    code = main([*args, str(_bad_cameras(tmp_path)), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "fov_deg" in err and "400" in err and "range_m" in err and "-5" in err
    assert "feature 3" in err and "feature 5" in err
    assert not out.exists()


def test_library_refuses_bad_camera_rows() -> None:
    layers = dict(sample_layers())
    cams = layers["cameras"].copy()
    cams.loc[2, "fov_deg"] = 361.0
    cams.loc[4, "range_m"] = -1.0
    layers["cameras"] = cams
    with pytest.raises(ValidationReport) as err:
        run_analysis(**layers)
    assert len(err.value.problems) == 2


def test_azimuth_normalised_and_outside_camera_reported(tmp_path: Path) -> None:
    cams = gpd.read_file(SAMPLE / "cameras.geojson")
    bullet = cams.index[cams["type"] == "bullet"][0]
    az = float(cams.loc[bullet, "azimuth_deg"])
    cams.loc[bullet, "azimuth_deg"] = az + 360.0
    far = cams.index[-1]
    x, y = cams.geometry.iloc[-1].x, cams.geometry.iloc[-1].y
    cams.loc[far, "geometry"] = gpd.points_from_xy([x + 0.02], [y])[0]  # ≈ 1.1 km east
    p = tmp_path / "cams.geojson"
    cams.to_file(p)
    out = tmp_path / "out"
    args = ["analyze", "--grids", str(SAMPLE / "grids.geojson"), "--cameras", str(p)]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    views = gpd.read_parquet(out / "views.parquet")
    assert views.loc[bullet, "azimuth_deg"] == pytest.approx(az)
    report = (out / "report.txt").read_text("utf-8")
    assert "modulo 360" in report
    far_id = cams.loc[far, "camera_id"]
    # beyond its reach (1.1 km away, range <= 100 m): left out, one line first, listed in a file
    assert report.startswith("Decision: 1 camera(s) lie beyond reach of the area")
    assert far_id not in set(views["camera_id"]) and len(views) == len(cams) - 1
    listed = pd.read_csv(out / "cameras_beyond_area.csv", dtype={"camera_id": str})
    assert listed["camera_id"].tolist() == [far_id]
    grids = gpd.read_file(SAMPLE / "grids.geojson").to_crs(3067)  # ETRS-TM35FIN, metres
    point = gpd.GeoSeries([cams.geometry.iloc[-1]], crs=4326).to_crs(3067).iloc[0]
    assert listed["distance_m"].iloc[0] == pytest.approx(grids.union_all().distance(point), abs=2)
    summary = pd.read_csv(out / "summary.csv").set_index("key")["value"]
    assert int(summary["cameras"]) == len(cams) - 1
    assert int(summary["cameras_outside_grids"]) == 0


def test_missing_required_layer(tmp_path: Path, capsys) -> None:
    code = main(["analyze", "--cameras", str(SAMPLE / "cameras.geojson"), "--out", str(tmp_path)])
    assert code == 2
    assert "--grids" in capsys.readouterr().err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_failed_run_leaves_previous_result_whole(
    sample_out: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """A run failing while writing (disk full, say) or before it leaves --out as it was."""
    import gridcover.gis.analysis_folder as folder

    out = tmp_path / "out"
    shutil.copytree(sample_out, out)
    before = _snapshot(out)
    seen: list[str] = []
    real = folder.write_summary

    def disk_full(summary, path: Path) -> None:
        seen.extend(p.name for p in path.parent.iterdir())  # tables already staged
        real(summary, path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder, "write_summary", disk_full)
    with pytest.raises(OSError, match="No space left"):
        main(
            [
                "analyze",
                "--sample",
                "--visibility",
                "2d",
                "--res",
                "11",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
    assert "cells.parquet" in seen and "grid_stats.csv" in seen  # it failed late
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left
    monkeypatch.undo()
    bad = ["--grids", str(SAMPLE / "grids.geojson"), "--cameras", str(_bad_cameras(tmp_path))]
    code = main(["analyze", *bad, "--out", str(out), "--no-progress"])
    assert code == 2 and "fov_deg" in capsys.readouterr().err
    assert _snapshot(out) == before
    # a successful run replaces the files and leaves other files in the folder alone
    (out / "map.html").write_text("<html></html>", "utf-8")
    assert (
        main(
            [
                "analyze",
                "--sample",
                "--visibility",
                "2d",
                "--res",
                "11",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    after = _snapshot(out)
    assert after["map.html"] == b"<html></html>" and set(after) == set(before) | {"map.html"}
    assert after["summary.csv"] != before["summary.csv"]  # res 11 now
    summary = pd.read_csv(out / "summary.csv").set_index("key")["value"]
    assert int(summary["res"]) == 11
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    # a new folder gets the usual permissions (not a private temporary folder's 0700)
    fresh, plain = tmp_path / "fresh", tmp_path / "plain"
    plain.mkdir()
    assert (
        main(
            [
                "analyze",
                "--sample",
                "--visibility",
                "2d",
                "--res",
                "11",
                "--out",
                str(fresh),
                "--no-progress",
            ]
        )
        == 0
    )
    assert fresh.stat().st_mode == plain.stat().st_mode


def test_progress_is_reported_for_every_step_and_file(tmp_path: Path) -> None:
    from gridcover.coverage.analysis import STEPS
    from gridcover.coverage.output import write_analysis

    steps: list[tuple[str, int, int]] = []
    result = run_analysis(**sample_layers(), progress=lambda *a: steps.append(a))
    assert [s for s, _, _ in steps[:-1]] == list(STEPS) and steps[-1] == ("done", 6, 6)
    files: list[tuple[str, int, int]] = []
    written = write_analysis(result, tmp_path / "o", progress=lambda *a: files.append(a))
    assert [f for f, _, _ in files[:-1]] == [p.name for p in written]
    assert [d for _, d, _ in files] == list(range(len(written) + 1))
    assert all(p.is_file() for p in written)


def test_camera_defaults_override_and_cell_cameras(tmp_path: Path, capsys) -> None:
    import shapely

    from gridcover.coverage.views.defaults import CameraDefaults

    out = tmp_path / "out"
    args = ["analyze", "--sample", "--res", "11", "--no-progress", "--out", str(out)]
    args += ["--visibility", "2d"]  # type default ranges and view polygons are the 2D model's
    extra = ["--camera-default", "dome_range_m=45", "--camera-default", "ptz_range_m=120"]
    assert main([*args, *extra, "--cell-cameras"]) == 0
    views = gpd.read_parquet(out / "views.parquet")
    raw = gpd.read_file(SAMPLE / "cameras.geojson")
    assert raw["range_m"].isna().all()  # every sample range comes from the type defaults
    expect = (
        raw["type"]
        .map({"dome": 45.0, "ptz": 120.0, "bullet": CameraDefaults().bullet_range_m})
        .fillna(CameraDefaults().other_range_m)
    )
    np.testing.assert_array_equal(views["range_m"].to_numpy(), expect.to_numpy())
    # cell_cameras.csv: every pair where the cell centre lies inside the camera's view
    pairs = pd.read_csv(out / "cell_cameras.csv", dtype={"camera_id": str})
    cells = gpd.read_parquet(out / "cells.parquet")
    pts = shapely.points(cells["lon"].to_numpy(), cells["lat"].to_numpy())
    geoms = views.geometry.to_numpy()
    hit = shapely.contains(geoms[:, None], pts[None, :])  # camera x cell, in lon/lat
    k, c = np.nonzero(hit)
    brute = set(zip(cells["h3"].to_numpy()[c], views["camera_id"].to_numpy()[k], strict=True))
    got = set(zip(pairs["h3"], pairs["camera_id"], strict=True))
    assert len(got) > 200 and len(got ^ brute) <= 0.01 * len(brute)  # lon/lat vs metres
    offline = set(views.loc[views["status"] == "offline", "camera_id"])
    assert (pairs["counted"] == ~pairs["camera_id"].isin(offline)).all()
    counted = pairs[pairs["counted"]].groupby("h3").size()
    np.testing.assert_array_equal(
        cells.set_index("h3")["cameras"].reindex(counted.index).to_numpy(), counted.to_numpy()
    )
    assert main([*args, "--camera-default", "dome_range=45"]) == 2
    assert "bullet_range_m=80" in capsys.readouterr().err
    assert main([*args, "--camera-default", "dome_fov_deg=400"]) == 2
    assert "dome_fov_deg is 400" in capsys.readouterr().err
