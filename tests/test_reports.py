"""Reports and the map/report commands on the analysed sample.

The XLSX is re-read with openpyxl and compared, grid by grid, with the in-memory statistics
table of the analysis (not with the report code's own table); the CSV likewise with pandas;
the PNG is decoded with Pillow and must not be one flat colour.
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from PIL import Image

from gridcover.cli import main
from gridcover.coverage.output import write_analysis
from sample_analysis import SAMPLE, sample_result

URL = re.compile(r"(?:https?|ftp|wss?)://|(?:src|href)\s*=\s*[\"']?//", re.IGNORECASE)
CHECKED = ("level", "area_m2", "covered_pct", "open_covered_pct", "priority_weighted_pct",
           "cameras_online", "cameras_offline", "blind_spots", "blind_spot_area_m2",
           "targets_met")  # fmt: skip


@pytest.fixture(scope="module")
def analysis_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("analysis")
    write_analysis(sample_result(), d)
    return d


@pytest.fixture(scope="module")
def report_dir(analysis_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = main(["report", str(analysis_dir), "--out", str(out),
                 "--posts", str(SAMPLE / "posts.geojson")])  # fmt: skip
    assert code == 0
    return out


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and np.isnan(a)):
        return b is None or (isinstance(b, float) and np.isnan(b))
    if isinstance(b, (bool, np.bool_)):
        return bool(a) == bool(b)
    if isinstance(b, (float, np.floating)):
        return bool(np.isclose(float(a), float(b), rtol=1e-12, atol=1e-9))
    return a == b


def test_xlsx_has_one_row_per_grid_equal_to_the_stats(report_dir) -> None:
    stats = sample_result().grid_stats.set_index("code")
    wb = load_workbook(report_dir / "grid_report.xlsx")
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    labels, keys, data = rows[0], list(rows[1]), rows[2:]
    assert labels[0] == "网格编码"  # Chinese by default
    assert len(data) == len(stats)
    assert sorted(r[keys.index("code")] for r in data) == sorted(stats.index)
    for r in data:
        code = r[keys.index("code")]
        for col in CHECKED:
            assert _same(r[keys.index(col)], stats.loc[code, col]), (code, col)
        total = stats.loc[code, ["cameras_online", "cameras_offline", "cameras_unknown"]].sum()
        assert r[keys.index("cameras_total")] == total
    # blind-spot sheet: every blind spot, in rank order
    spots = list(wb.worksheets[1].iter_rows(values_only=True))[2:]
    assert [s[0] for s in spots] == list(range(1, len(sample_result().blind_spots) + 1))
    summary = {r[1]: r[2] for r in wb.worksheets[2].iter_rows(min_row=2, values_only=True)}
    assert summary["blind_spots"] == sample_result().summary["blind_spots"]


def test_csv_equals_the_stats(report_dir) -> None:
    stats = sample_result().grid_stats.set_index("code")
    df = pd.read_csv(report_dir / "grid_report.csv", dtype={"code": str, "parent_code": str},
                     encoding="utf-8-sig")  # fmt: skip
    assert len(df) == len(stats) and df["code"].is_unique
    df = df.set_index("code").loc[stats.index]
    for col in ("covered_pct", "area_m2", "blind_spots", "cameras_online"):
        assert np.allclose(df[col].to_numpy(float), stats[col].to_numpy(float), equal_nan=True)
    assert (df["targets_met"].astype(bool) == stats["targets_met"]).all()


def test_png_is_not_blank(report_dir) -> None:
    img = np.asarray(Image.open(report_dir / "map.png").convert("RGB"), dtype=float)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    assert img.std() > 20
    # red blind spots and blue views/cells are both drawn
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    assert ((r > 180) & (g < 140) & (b < 140)).mean() > 0.01
    assert ((b > 150) & (r < 120)).mean() > 0.001


def test_html_report_is_standalone(report_dir) -> None:
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert URL.findall(page) == []
    m = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert m is not None

    img = Image.open(io.BytesIO(base64.b64decode(m.group(1))))
    assert img.size[0] >= 1000
    stats = sample_result().grid_stats
    n12 = int((stats["level"] <= 2).sum())
    first_table = page.split("<table>")[2]  # [1] summary, [2] grids of levels 1-2
    assert first_table.count("<tr>") == n12 + 1
    for name in ("grid_report.xlsx", "grid_report.csv", "map.png", "map.html"):
        assert f'href="{name}"' in page and (report_dir / name).is_file()
    assert URL.findall((report_dir / "map.html").read_text(encoding="utf-8")) == []


def test_report_in_english(analysis_dir, tmp_path) -> None:
    assert main(["report", str(analysis_dir), "--out", str(tmp_path), "--lang", "en",
                 "--no-html-map"]) == 0  # fmt: skip
    ws = load_workbook(tmp_path / "grid_report.xlsx").worksheets[0]
    assert ws.cell(1, 1).value == "Grid code" and ws.cell(2, 1).value == "code"
    assert not (tmp_path / "map.html").exists()
    assert "Summary" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_map_command(analysis_dir, tmp_path, capsys) -> None:
    out = tmp_path / "m.html"
    assert main(["map", str(analysis_dir), "--cameras", str(SAMPLE / "cameras.geojson"),
                 "--qa", "--lang", "en", "--out", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    n_spots = len(sample_result().blind_spots)
    assert f"Blind spots (ranked by weight): {n_spots} features" in text
    assert "Grid QA issues" in text
    assert URL.findall(out.read_text(encoding="utf-8")) == []
    # errors are sentences with exit code 2
    assert main(["map", str(analysis_dir), "--basemap", "tianditu", "--out", str(out)]) == 2
    assert "needs a key" in capsys.readouterr().err
    assert main(["map", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert main(["report", str(tmp_path / "nothing")]) == 2
