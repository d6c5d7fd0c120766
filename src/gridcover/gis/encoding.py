"""Detect the text encoding of DBF tables (Shapefiles without .cpg) and CSV files.

Rules, in order (documented in docs/DATA.md):

* an explicit ``encoding=`` always wins;
* a Shapefile's ``.cpg`` file names its encoding (GDAL honours it; we report it);
* a CSV's byte-order mark (UTF-8, UTF-16) names its encoding;
* text that is pure ASCII is reported as ASCII (any encoding reads it the same);
* text that decodes as strict UTF-8 is UTF-8;
* otherwise text that decodes as strict GB18030 (a superset of GBK and GB2312) and is
  mostly Chinese characters is GB18030;
* otherwise the DBF language driver byte names the code page (e.g. 0x4D/0x7A = GBK);
* otherwise we refuse and ask for ``encoding=`` (we never guess Latin-1 silently).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridcover.errors import InputError
from gridcover.gis.dbf import LDID_CODEPAGES, read_header, text_sample

_CJK_MIN_SHARE = 0.6


@dataclass(frozen=True)
class EncodingGuess:
    """The encoding to read a file with (a Python codec name) and why it was chosen."""

    encoding: str
    reason: str


def _cjk_mask(cp: np.ndarray) -> np.ndarray:
    """CJK ideographs, CJK punctuation and full-width forms, over code points."""
    return (
        ((cp >= 0x4E00) & (cp <= 0x9FFF))
        | ((cp >= 0x3400) & (cp <= 0x4DBF))
        | ((cp >= 0x3000) & (cp <= 0x303F))
        | ((cp >= 0xFF00) & (cp <= 0xFFEF))
        | ((cp >= 0x20000) & (cp <= 0x2FFFF))
    )


def _looks_chinese(text: str) -> bool:
    """True when the non-ASCII characters are mostly CJK and sit in runs, as Chinese does.

    Latin-1 text decoded as GB18030 also yields CJK characters, but one at a time wedged
    between Latin letters ('Kämp' -> 'K' + one ideograph + 'p'); such lone, letter-bound
    characters may be at most 30 % of the CJK characters.
    """
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    non_ascii = int((cp > 127).sum())
    if non_ascii == 0:
        return True
    cjk = _cjk_mask(cp)
    n_cjk = int(cjk.sum())
    if n_cjk < _CJK_MIN_SHARE * non_ascii:
        return False
    letter = ((cp >= 65) & (cp <= 90)) | ((cp >= 97) & (cp <= 122))
    pad_f = np.zeros(1, dtype=bool)
    prev_cjk, next_cjk = np.r_[pad_f, cjk[:-1]], np.r_[cjk[1:], pad_f]
    prev_let, next_let = np.r_[pad_f, letter[:-1]], np.r_[letter[1:], pad_f]
    lone = cjk & ~prev_cjk & ~next_cjk & (prev_let | next_let)
    return int(lone.sum()) <= 0.3 * n_cjk


def _decodes(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def guess_bytes(data: bytes) -> EncodingGuess | None:
    """Guess from raw text bytes alone: ASCII, UTF-8 or GB18030; None when unsure."""
    if data.isascii():
        return EncodingGuess("utf-8", "all text is ASCII")
    # A sample cut at a size limit may end in a partial character: allow dropping up to 3
    # bytes, but only for long samples (short texts are whole and must decode whole).
    cuts = (0, 1, 2, 3) if len(data) > 1024 else (0,)
    for cut in cuts:
        if _decodes(data[: len(data) - cut], "utf-8") is not None:
            return EncodingGuess("utf-8", "text decodes as strict UTF-8")
    for cut in cuts:
        text = _decodes(data[: len(data) - cut], "gb18030")
        if text is not None and _looks_chinese(text):
            return EncodingGuess(
                "gb18030",
                "text is not UTF-8 but decodes as GB18030 (superset of GBK/GB2312) "
                "into Chinese characters",
            )
    return None


def detect_dbf_encoding(shp_or_dbf: Path) -> EncodingGuess:
    """Encoding of a Shapefile's .dbf: from its .cpg, else from its bytes, else its LDID byte.

    Raises InputError when the text is neither UTF-8 nor GB18030 and the header names no
    code page.
    """
    dbf = _sibling(shp_or_dbf, ".dbf")
    cpg = _sibling(shp_or_dbf, ".cpg")
    if cpg.exists():
        name = cpg.read_text(encoding="ascii", errors="replace").strip()
        codec = _codec_from_cpg(name)
        if codec:
            return EncodingGuess(codec, f"named by {cpg.name} ({name})")
    if not dbf.exists():
        return EncodingGuess("utf-8", "no .dbf file (no attributes)")
    guess = guess_bytes(text_sample(dbf))
    if guess is not None:
        return EncodingGuess(guess.encoding, f"no .cpg file; {guess.reason}")
    ldid = read_header(dbf).ldid
    if ldid in LDID_CODEPAGES:
        return EncodingGuess(
            LDID_CODEPAGES[ldid],
            f"no .cpg file; text is not UTF-8 or GB18030; the DBF language driver byte "
            f"0x{ldid:02X} names {LDID_CODEPAGES[ldid]}",
        )
    raise InputError(
        f"{dbf}: there is no .cpg file, the text is neither UTF-8 nor GB18030, and the DBF "
        f"header names no code page (language driver byte 0x{ldid:02X}); pass the encoding, "
        "e.g. encoding='cp1252' (CLI: --encoding cp1252)."
    )


def detect_text_encoding(path: Path, max_bytes: int = 8 * 1024**2) -> EncodingGuess:
    """Encoding of a text (CSV) file: BOM, else strict UTF-8, else GB18030, else an error."""
    with open(path, "rb") as fh:
        data = fh.read(max_bytes)
    if data.startswith(codecs.BOM_UTF8):
        return EncodingGuess("utf-8-sig", "UTF-8 byte-order mark")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return EncodingGuess("utf-16", "UTF-16 byte-order mark")
    guess = guess_bytes(data)
    if guess is not None:
        return guess
    raise InputError(
        f"{path}: the text is neither UTF-8 nor GB18030/GBK; pass its encoding, e.g. "
        "encoding='cp1252' (CLI: --encoding cp1252)."
    )


def normalize_encoding(name: str) -> str:
    """A Python codec name for a user-given encoding; GBK and GB2312 widen to GB18030."""
    try:
        codec = codecs.lookup(name).name
    except LookupError as exc:
        raise InputError(
            f"Unknown encoding '{name}'; use a name Python knows, e.g. 'utf-8', 'gb18030', "
            "'gbk' or 'cp1252'."
        ) from exc
    return "gb18030" if codec in ("gbk", "gb2312") else codec


def _codec_from_cpg(name: str) -> str | None:
    """Python codec for a .cpg content such as 'UTF-8', 'GBK', '936' or 'ANSI 1252'."""
    text = name.strip().upper().replace("ANSI", "").strip()
    if text.isdigit():
        text = {"936": "gb18030", "65001": "utf-8", "54936": "gb18030"}.get(text, f"cp{text}")
    try:
        return normalize_encoding(text)
    except InputError:
        return None


def _sibling(path: Path, suffix: str) -> Path:
    """The file next to ``path`` with ``suffix``, matching either letter case."""
    for cand in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if cand.exists():
            return cand
    return path.with_suffix(suffix)
