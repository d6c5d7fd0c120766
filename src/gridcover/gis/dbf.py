"""A minimal dBASE (.dbf) reader: the header, and the raw bytes of fields.

GDAL reads attribute values itself; this module exists for two things GDAL cannot do for
us: look at the raw text bytes to detect the encoding when there is no ``.cpg`` file, and
recover the exact digits of wide numeric code fields (``N(20,0)``) that GDAL returns as
floating point numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridcover.errors import InputError


@dataclass(frozen=True)
class DbfField:
    """One field descriptor: raw name bytes, type letter, byte offset in the record, width."""

    raw_name: bytes
    type: str
    offset: int
    length: int
    decimals: int


@dataclass(frozen=True)
class DbfHeader:
    """Record count, header and record lengths, language driver id and fields."""

    n_records: int
    header_length: int
    record_length: int
    ldid: int
    fields: tuple[DbfField, ...]


def read_header(path: Path) -> DbfHeader:
    """Parse the header and field descriptors of a .dbf file."""
    with open(path, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            raise InputError(f"{path}: the .dbf file is truncated (shorter than its header).")
        n_records = int.from_bytes(head[4:8], "little")
        header_length = int.from_bytes(head[8:10], "little")
        record_length = int.from_bytes(head[10:12], "little")
        ldid = head[29]
        desc = fh.read(max(header_length - 32, 0))
    fields: list[DbfField] = []
    offset = 1  # byte 0 of each record is the deletion flag
    for start in range(0, len(desc) - 31, 32):
        d = desc[start : start + 32]
        if d[0] == 0x0D:
            break
        length = d[16]
        fields.append(
            DbfField(
                raw_name=d[:11].split(b"\x00", 1)[0],
                type=chr(d[11]),
                offset=offset,
                length=length,
                decimals=d[17],
            )
        )
        offset += length
    return DbfHeader(n_records, header_length, record_length, ldid, tuple(fields))


def read_records(path: Path, header: DbfHeader, max_records: int | None = None) -> np.ndarray:
    """The raw records as a (n, record_length) uint8 array (deleted records included)."""
    n = header.n_records if max_records is None else min(header.n_records, max_records)
    if header.record_length <= 0 or n <= 0:
        return np.zeros((0, max(header.record_length, 1)), dtype=np.uint8)
    with open(path, "rb") as fh:
        fh.seek(header.header_length)
        buf = fh.read(n * header.record_length)
    n = len(buf) // header.record_length
    arr = np.frombuffer(buf[: n * header.record_length], dtype=np.uint8)
    return arr.reshape(n, header.record_length)


def text_sample(path: Path, max_bytes: int = 8 * 1024**2) -> bytes:
    """Field names plus the bytes of every character field, up to about ``max_bytes``."""
    header = read_header(path)
    names = b" ".join(f.raw_name for f in header.fields)
    char_fields = [f for f in header.fields if f.type in "CM" and f.length > 0]
    if not char_fields or header.record_length <= 0:
        return names
    max_records = max(1, max_bytes // header.record_length)
    recs = read_records(path, header, max_records)
    cols = np.concatenate([np.arange(f.offset, f.offset + f.length) for f in char_fields])
    cols = cols[cols < recs.shape[1]]
    return names + b" " + recs[:, cols].tobytes()


def field_texts(path: Path, name: str, encoding: str = "ascii") -> list[str | None]:
    """Exact stripped text of field ``name`` for every record (index = record number = FID).

    Blank values are None. Used to recover wide numeric codes digit for digit.
    """
    header = read_header(path)
    want = name.encode(encoding, errors="replace").upper()
    match = [f for f in header.fields if f.raw_name.upper() == want]
    if not match:
        raise KeyError(name)
    f = match[0]
    recs = read_records(path, header)
    raw = recs[:, f.offset : f.offset + f.length]
    out: list[str | None] = []
    for row in raw:
        text = bytes(row).decode(encoding, errors="replace").strip()
        out.append(text or None)
    return out


LDID_CODEPAGES: dict[int, str] = {
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x13: "cp932",
    0x4D: "gb18030",  # 936 Chinese simplified (GB2312); GB18030 is a superset
    0x4E: "cp949",
    0x4F: "cp950",
    0x57: "cp1252",  # "ANSI": the writer's Windows code page, usually 1252
    0x58: "cp1252",
    0x59: "cp1252",
    0x64: "cp852",
    0x65: "cp866",
    0x7A: "gb18030",  # PRC GBK (936)
    0x7B: "cp932",
    0x7C: "cp874",
    0xC8: "cp1250",
    0xC9: "cp1251",
}
"""dBASE language driver ids (byte 29 of the header) and the code page they name."""
