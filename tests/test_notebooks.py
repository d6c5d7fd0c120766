"""The notebooks in notebooks/ run top to bottom on the bundled sample (nbclient, python3).

Each runs in a temporary folder (its outputs land there, the repository stays clean). A cell
that raises fails the test with the cell's traceback. After the run, a few outputs are
checked so a notebook that silently does nothing would fail too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("quickstart", "patrol_siting", "api_client")


def _run(name: str, folder: Path):
    src = NOTEBOOKS / f"{name}.ipynb"
    shutil.copy(src, folder / src.name)
    nb = nbformat.read(folder / src.name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return nb


def _text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_notebooks_are_clean_in_git() -> None:
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name
        assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.slow
def test_quickstart(tmp_path) -> None:
    nb = _run("quickstart", tmp_path)
    text = _text(nb)
    assert "absolute URLs in the file: []" in text
    out = tmp_path / "quickstart-output"
    for name in ("map.html", "report/report.html", "report/grid_report.xlsx", "report/map.png"):
        assert (out / name).is_file(), name
    html_outputs = [o for c in nb.cells for o in c.get("outputs", [])
                    if "text/html" in o.get("data", {})]  # fmt: skip
    assert any("leaflet" in o["data"]["text/html"].lower() for o in html_outputs)


@pytest.mark.slow
def test_patrol_siting(tmp_path) -> None:
    nb = _run("patrol_siting", tmp_path)
    text = _text(nb)
    assert "Balance ratio" in text and "weight gained" in text
    assert "grids meeting both" in text and "weight brought within reach" in text
    assert (tmp_path / "patrol-siting-output" / "patrol_siting.html").is_file()


@pytest.mark.slow
def test_api_client(tmp_path) -> None:
    nb = _run("api_client", tmp_path)
    text = _text(nb)
    assert "serving http://127.0.0.1:" in text
    assert "grids_level1" in text and "cameras in the bbox" in text
