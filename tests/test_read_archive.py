"""Zip archives: path traversal, absolute names, links, too many entries, size and ratio
limits are refused before anything is written; several layers need layer=."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from gridcover.errors import InputError, UnsafeArchive
from gridcover.gis import list_layers, read_layer
from gridcover.gis.archive import ArchiveLimits, check_archive, safe_extract

DATA = Path(__file__).parent / "data"
DISTRICTS_ZIP = DATA / "chicago-cameras-police" / "police_districts_2014_shapefile.zip"
BEATS_ZIP = DATA / "chicago-cameras-police" / "police_beats_2014_shapefile.zip"


def _copy_members(src: Path, dst: Path, rename=lambda n: n, extra=()) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(rename(info.filename), zin.read(info))
        for name, data in extra:
            zout.writestr(name, data)
    return dst


def _nothing_written(folder: Path) -> bool:
    return not any(folder.rglob("*"))


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../evil.shp", "climbs out of the archive folder"),
        ("a/../../evil.shp", "climbs out of the archive folder"),
        ("/tmp/evil.shp", "is an absolute path"),
        ("C:/evil.shp", "drive letter"),
        ("..\\evil.shp", "climbs out of the archive folder"),
    ],
)
def test_unsafe_member_names_are_refused(tmp_path: Path, name: str, why: str) -> None:
    bad = _copy_members(DISTRICTS_ZIP, tmp_path / "bad.zip", extra=[(name, b"x")])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnsafeArchive, match=why) as err:
        safe_extract(bad, out)
    assert "nothing was extracted" in str(err.value) and str(bad) in str(err.value)
    assert _nothing_written(out)
    assert not (tmp_path / "evil.shp").exists()
    with pytest.raises(UnsafeArchive):
        read_layer(bad, "grids")


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "link.zip"
    with zipfile.ZipFile(bad, "w") as z:
        info = zipfile.ZipInfo("link.shp")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        read_layer(bad, "grids")


def test_too_many_entries(tmp_path: Path) -> None:
    bad = _copy_members(
        DISTRICTS_ZIP, tmp_path / "many.zip", extra=[(f"junk/{i}.txt", b"") for i in range(2001)]
    )
    with pytest.raises(UnsafeArchive, match=r"2007 entries, more than the limit of 2000"):
        read_layer(bad, "grids")


def test_declared_size_over_the_limit(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_total_bytes=100_000)
    with pytest.raises(UnsafeArchive, match=r"declare more than 100,000 bytes"):
        check_archive(DISTRICTS_ZIP, limits)
    assert len(check_archive(DISTRICTS_ZIP)) == 6  # the real archive passes the defaults


def test_compression_bomb_is_refused(tmp_path: Path) -> None:
    bad = _copy_members(
        DISTRICTS_ZIP, tmp_path / "bomb.zip", extra=[("padding.dbf", b"\0" * 30_000_000)]
    )
    with zipfile.ZipFile(bad) as z:
        info = z.getinfo("padding.dbf")
        ratio = info.file_size / info.compress_size
    assert ratio > 200
    with pytest.raises(UnsafeArchive, match=r"expands [\d,]+ times .*zip bomb"):
        read_layer(bad, "grids")


def test_not_a_zip(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK but not really")
    with pytest.raises(UnsafeArchive, match="not a readable zip archive"):
        read_layer(fake, "grids")


def test_several_layers_in_one_zip_need_layer(tmp_path: Path) -> None:
    both = _copy_members(DISTRICTS_ZIP, tmp_path / "both.zip", rename=lambda n: f"d/{n}")
    with zipfile.ZipFile(both, "a") as zout, zipfile.ZipFile(BEATS_ZIP) as zin:
        for info in zin.infolist():
            zout.writestr(f"b/{info.filename}", zin.read(info))
    assert sorted(list_layers(both)) == ["geo_aerh-rz74-1", "geo_fthy-xz3r-1"]
    with pytest.raises(InputError, match=r"2 layer files: .*layer='"):
        read_layer(both, "grids")
    beats = read_layer(both, "grids", layer="geo_aerh-rz74-1", duplicates="keep")
    assert len(beats) == 277
    assert "b/geo_aerh-rz74-1.shp" in beats.attrs["gridcover"]["source"]
