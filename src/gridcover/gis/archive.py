"""Safe extraction of zip archives (zipped Shapefiles and other layers).

Every member is checked before anything is written: no absolute names, no ``..`` parts,
no drive letters, no symlinks, at most ``max_entries`` entries, a declared total size under
``max_total_bytes`` and a compression ratio under ``max_ratio`` for every member large
enough to matter. While writing, the real byte count is checked against the declared size,
so a lying header cannot inflate past the limits either.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gridcover.errors import UnsafeArchive

MAX_ENTRIES = 2_000
MAX_TOTAL_BYTES = 2 * 1024**3  # 2 GiB uncompressed
MAX_RATIO = 200.0  # uncompressed / compressed, per member
RATIO_MIN_BYTES = 1024**2  # members smaller than 1 MiB uncompressed are not ratio-checked
_CHUNK = 1024**2


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits applied to a zip archive before it is extracted."""

    max_entries: int = MAX_ENTRIES
    max_total_bytes: int = MAX_TOTAL_BYTES
    max_ratio: float = MAX_RATIO
    ratio_min_bytes: int = RATIO_MIN_BYTES


def _unsafe_name(name: str) -> str | None:
    """Why a member name is unsafe, or None when it is fine."""
    if "\x00" in name:
        return "contains a NUL character"
    norm = name.replace("\\", "/")
    if norm.startswith("/"):
        return "is an absolute path"
    if len(norm) >= 2 and norm[1] == ":":
        return "starts with a drive letter"
    if ".." in PurePosixPath(norm).parts:
        return "climbs out of the archive folder with '..'"
    return None


def check_archive(path: Path, limits: ArchiveLimits | None = None) -> list[zipfile.ZipInfo]:
    """Check a zip archive against ``limits`` and return its file members (folders skipped).

    Raises UnsafeArchive with a sentence naming the archive, the member and the limit.
    """
    lim = limits or ArchiveLimits()
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UnsafeArchive(f"{path}: is not a readable zip archive ({exc}).") from exc
    with zf:
        infos = zf.infolist()
    if len(infos) > lim.max_entries:
        raise UnsafeArchive(
            f"{path}: the archive has {len(infos)} entries, more than the limit of "
            f"{lim.max_entries}; unpack it yourself and read the layer file directly."
        )
    total = 0
    members: list[zipfile.ZipInfo] = []
    for info in infos:
        why = _unsafe_name(info.filename)
        if why:
            raise UnsafeArchive(
                f"{path}: member '{info.filename}' {why}, which could write outside the "
                "extraction folder; nothing was extracted. Re-create the zip with plain "
                "relative names."
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeArchive(
                f"{path}: member '{info.filename}' is a symbolic link; nothing was extracted. "
                "Re-create the zip without links."
            )
        if info.is_dir():
            continue
        total += info.file_size
        if total > lim.max_total_bytes:
            raise UnsafeArchive(
                f"{path}: the members declare more than {lim.max_total_bytes:,} bytes "
                "uncompressed in total; nothing was extracted. Unpack it yourself if it is "
                "genuine."
            )
        if info.file_size >= lim.ratio_min_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > lim.max_ratio:
                raise UnsafeArchive(
                    f"{path}: member '{info.filename}' expands {ratio:,.0f} times "
                    f"({info.compress_size:,} -> {info.file_size:,} bytes), over the limit of "
                    f"{lim.max_ratio:,.0f}; this looks like a zip bomb, nothing was extracted."
                )
        members.append(info)
    return members


def safe_extract(path: Path, dest: Path, limits: ArchiveLimits | None = None) -> list[Path]:
    """Extract a checked zip archive into ``dest`` and return the extracted file paths.

    Names are flattened to their relative path under ``dest``; the real number of bytes
    written per member may not exceed its declared size.
    """
    members = check_archive(path, limits)
    dest = dest.resolve()
    out: list[Path] = []
    with zipfile.ZipFile(path) as zf:
        for info in members:
            target = (dest / info.filename.replace("\\", "/")).resolve()
            if not target.is_relative_to(dest):  # defence in depth after _unsafe_name
                raise UnsafeArchive(
                    f"{path}: member '{info.filename}' resolves outside the extraction folder."
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    if written > info.file_size:
                        raise UnsafeArchive(
                            f"{path}: member '{info.filename}' holds more data than its header "
                            "declares; the archive is corrupt or hostile."
                        )
                    dst.write(chunk)
            out.append(target)
    return out
