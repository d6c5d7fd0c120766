"""The meeting report: targets in words, grid chiefs, the work list with sketches, a scenario
comparison, Chinese glyphs in the PNG (checked by rendering), occlusion claimed only when
buildings were used, and report.html rendered by headless Chromium (not blank).

Data: the bundled Helsinki sample analysed at res 12; the grid chiefs' names and phones are
illustrative values written into a copy of the sample grids (the sample holds no staff data).
"""

from __future__ import annotations

import base64
import io
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from chromium_cdp import chromium_path, open_page, serve_folder
from gridcover.coverage.scenarios import ScenarioSpec, compare_scenarios
from gridcover.coverage.units import work_units
from gridcover.gis.maps import static as static_mod
from gridcover.gis.maps.static import cjk_font, static_map_png
from gridcover.gis.reports import write_report
from sample_analysis import sample_layers, sample_result

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@lru_cache(maxsize=1)
def inputs():
    res, lay = sample_result(12), sample_layers()
    units = work_units(res, roads=lay["roads"], sites=lay["sites"])
    grids = lay["grids"].copy()
    grids["chief_name"] = [f"网格长{i:03d}" for i in range(len(grids))]
    grids["chief_phone"] = [f"0755-8{i:06d}" for i in range(len(grids))]
    spec = ScenarioSpec("fixes", added=tuple(
        {"camera_id": r.camera_id, "lon": r.geometry.x, "lat": r.geometry.y, "type": r.type,
         "azimuth_deg": r.azimuth_deg, "fov_deg": r.fov_deg}
        for r in units.proposals.query("action == 'new'").head(20).itertuples()))  # fmt: skip
    comp = compare_scenarios(res, None, spec, inputs={}, config={})
    return res, units, grids, comp


def _report(tmp: Path, lang: str = "zh", occlusion: bool = True):
    res, units, grids, comp = inputs()
    summary = dict(res.summary) | {"occlusion": occlusion}
    return write_report(
        tmp, grid_stats=res.grid_stats, cells=res.cells, blind_spots=res.blind_spots,
        views=res.views, summary=summary, lang=lang, grids_layer=grids, units=units.table,
        proposals=units.proposals, comparison=(comp.a, comp.b, comp.kpis),
    )  # fmt: skip


def test_report_sections(tmp_path: Path) -> None:
    rep = _report(tmp_path)
    page = rep.html.read_text("utf-8")
    _, units, grids, _ = inputs()
    # targets in words, never raw keys
    assert not re.search(r"\w+_pct&lt;\d", page) and "覆盖率低于" in page
    # the chiefs of the level-1 and level-2 grids are in the grid table
    shown = grids[grids["level"] <= 2]
    assert all(n in page for n in shown["chief_name"]) and shown["chief_phone"].iloc[0] in page
    # work list: the top units in rank order, each with a decodable sketch
    assert "盲区整改清单" in page
    imgs = re.findall(r'class="sketch" alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    assert [a for a, _ in imgs] == list(units.table["unit_id"].head(len(imgs)))
    assert len(imgs) == 15
    for _, b64 in imgs[:3]:
        px = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"), dtype=int)
        red = (px[..., 0] > 150) & (px[..., 1] < 120) & (px[..., 2] < 120)
        assert red.sum() > 100  # the unit is drawn (red), not an empty frame
    assert "方案对比：baseline → fixes" in page
    import openpyxl

    ws = openpyxl.load_workbook(rep.xlsx, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    keys = rows[1]
    assert "chief_name" in keys
    missed = [r[keys.index("targets_missed")] for r in rows[2:] if r[keys.index("targets_missed")]]
    assert missed and all("<" not in m for m in missed)


def test_occlusion_claimed_only_when_buildings_were_used(tmp_path: Path) -> None:
    with_b = _report(tmp_path / "b", occlusion=True).map_html
    without = _report(tmp_path / "n", occlusion=False).map_html
    assert with_b is not None and without is not None
    claim = "含建筑遮挡"  # the page holds it as text or JSON-escaped (\\uXXXX)
    forms = (claim, claim.encode("unicode_escape").decode("ascii"))
    assert any(f in with_b.read_text("utf-8") for f in forms)
    assert not any(f in without.read_text("utf-8") for f in forms)


def _glyph(text: str, family: list[str]) -> np.ndarray:
    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": family}):
        fig = Figure(figsize=(1, 1), dpi=60)
        fig.text(0.1, 0.3, text, fontsize=30)
        buf = io.BytesIO()
        with warnings.catch_warnings():  # a missing glyph is what the DejaVu render shows
            warnings.simplefilter("ignore", UserWarning)
            fig.savefig(buf, format="png")
    return np.asarray(Image.open(buf).convert("L"))


def test_png_renders_chinese_with_the_installed_cjk_font(tmp_path: Path, monkeypatch) -> None:
    font = cjk_font()
    assert font is not None, "fonts-noto-cjk is installed: a CJK font must be found"
    # the font has the glyphs: two different characters render differently, while a font
    # without them (DejaVu Sans) draws the same empty box for both
    assert not np.array_equal(_glyph("盲", [font]), _glyph("区", [font]))
    assert np.array_equal(_glyph("盲", ["DejaVu Sans"]), _glyph("区", ["DejaVu Sans"]))
    res = sample_result(12)
    zh = static_map_png(tmp_path / "zh.png", grids=res.grid_stats, blind_spots=res.blind_spots,
                        title="盲区分布图", lang="zh")  # fmt: skip
    en = static_map_png(tmp_path / "en.png", grids=res.grid_stats, blind_spots=res.blind_spots,
                        title="Blind spots", lang="en")  # fmt: skip
    assert zh.lang == "zh" and zh.notes == ()
    a = np.asarray(Image.open(zh.path).convert("L"), dtype=int)
    b = np.asarray(Image.open(en.path).convert("L"), dtype=int)
    assert a.shape == b.shape and (a != b).sum() > 500  # the labels differ
    # a font cache that predates the font: the file is registered and used
    from matplotlib import font_manager

    kept = [f for f in font_manager.fontManager.ttflist if "CJK" not in f.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", kept)
    monkeypatch.setattr(static_mod, "CJK_FONTS", ("Noto Sans CJK SC",))
    assert cjk_font() is not None


def test_report_html_renders_in_chromium(tmp_path: Path) -> None:
    if chromium_path() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required in CI but was not found")
        pytest.skip("chromium not installed")
    rep = _report(tmp_path)
    ready = "document.readyState === 'complete'"
    exprs = {
        "sketches": "Array.from(document.querySelectorAll('img.sketch'))"
        ".filter(i => i.complete && i.naturalWidth > 0).length",
        "h2": "document.querySelectorAll('h2').length",
    }
    with serve_folder(tmp_path) as (base, _):
        page = open_page(f"{base}/{rep.html.name}", ready=ready, expressions=exprs)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-meeting.png").write_bytes(page.screenshot)
    assert page.exceptions == [] and page.values["sketches"] == 15
    assert page.values["h2"] >= 6
    img = np.asarray(Image.open(io.BytesIO(page.screenshot)).convert("RGB"), dtype=float)
    assert img.std() > 20  # a blank page is one flat colour
    assert len(np.unique(img.reshape(-1, 3).astype(np.uint8), axis=0)) > 50
