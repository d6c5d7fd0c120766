"""Camera ledgers (台账) as units keep them: Excel workbooks (.xlsx) and the GB/T 28181 device
catalogue XML a video platform returns to a Catalog query.

Both become a table of text columns whose points are built like a CSV's (``tables``), so the
column tables (Chinese headers, GB/T 28181 field names) and the coordinate checks are the same
for every ledger format. Rows are named by their sheet row (XLSX) or item number (XML).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from lxml import etree

from gridcover.errors import InputError
from gridcover.gis.formats import RawLayer
from gridcover.gis.tables import points_from_table

HEADER_SCAN_ROWS = 10
CAMERA_TYPE_CODES = ("131", "132")
"""Digits 11-13 of a 20-digit GB/T 28181 id: 131 camera, 132 network camera (IPC)."""


def _cell_text(value: Any) -> str | None:
    """Cell value as text; whole-number floats print without '.0' (codes, ids)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    text = str(value).strip()
    return text or None


def read_xlsx(path: Path, label: str, crs: pyproj.CRS | None, sheet: str | None) -> RawLayer:
    """Read the first sheet (or ``sheet``) of an Excel workbook as a table of points.

    The header row is the first of the top rows that is at least half as full as the
    fullest row (a merged title row above the headers is skipped, with a note).
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InputError(
            f"{label}: the workbook cannot be opened ({exc}); save it as .xlsx from Excel/WPS."
        ) from None
    try:
        names = list(book.sheetnames)
        if sheet is not None and sheet not in names:
            raise InputError(
                f"{label}: there is no sheet '{sheet}'; the sheets are: {', '.join(names)} "
                f"(choose one with layer='{names[0]}', CLI: --layer cameras:{names[0]})."
            )
        name = sheet or names[0]
        rows = [[_cell_text(v) for v in r] for r in book[name].iter_rows(values_only=True)]
    finally:
        book.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(f"{label}: sheet '{name}' is empty; choose the sheet with the ledger.")
    filled = [sum(v is not None for v in r) for r in rows[:HEADER_SCAN_ROWS]]
    head = next(i for i, n in enumerate(filled) if n >= max(2, max(filled) / 2))
    header = [h if h is not None else f"column_{j + 1}" for j, h in enumerate(rows[head])]
    width = len(header)
    body = [(r + [None] * width)[:width] for r in rows[head + 1 :]]
    keep = [i for i, r in enumerate(body) if any(r)]
    frame = pd.DataFrame([body[i] for i in keep], columns=header, dtype=object)
    out = RawLayer(
        f"{label} sheet '{name}'",
        "XLSX",
        frame,
        np.empty(0, dtype=object),
        crs,
        np.asarray([head + 2 + i for i in keep], dtype=np.int64),
        noun="row",
        layer=name,
    )
    if head:
        out.notes.append(f"sheet '{name}': the headers are on row {head + 1} (title rows skipped)")
    if len(names) > 1 and sheet is None:
        out.notes.append(f"the workbook has sheets {', '.join(names)}; read '{name}' (the first)")
    points_from_table(out, crs)
    return out


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _item_fields(item: Any) -> dict[str, str | None]:
    """Child elements of an <Item> (and of its <Info>) as {name: text}."""
    out: dict[str, str | None] = {}
    for child in item:
        name = _local(child.tag)
        if name == "Info":
            out.update(_item_fields(child))
        elif name and len(child) == 0:
            out[name] = (child.text or "").strip() or None
    return out


def read_catalog_xml(path: Path, label: str, crs: pyproj.CRS | None) -> RawLayer:
    """Read a GB/T 28181 Catalog response (one or several <Response> messages) as cameras.

    Items whose 20-digit DeviceID names another device type (platforms, NVRs, organisation
    and business-group nodes) are left out with a note; the rest keep every field as a
    column (DeviceID, Name, Longitude, Latitude, Status, PTZType, DirectionType, ...).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    data = path.read_bytes()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        try:  # several messages one after the other: wrap them in one root
            decls = re.findall(rb"<\?xml[^>]*\?>", data)
            body = re.sub(rb"<\?xml[^>]*\?>", b"", data)
            head = decls[0] if decls else b""
            root = etree.fromstring(head + b"<Messages>" + body + b"</Messages>", parser)
        except etree.XMLSyntaxError as exc:
            raise InputError(f"{label}: the file is not well-formed XML ({exc}).") from None
    responses = [root] if _local(root.tag) == "Response" else list(root.iter("{*}Response"))
    cmds = [(r.findtext("{*}CmdType") or "").strip() for r in responses]
    if not responses or any(c != "Catalog" for c in cmds):
        found = _local(root.tag) if not responses else f"CmdType '{next(c for c in cmds)}'"
        raise InputError(
            f"{label}: this is not a GB/T 28181 Catalog response (found {found or 'nothing'}); "
            "export the platform's answer to a Catalog query (<Response><CmdType>Catalog"
            "</CmdType>...<DeviceList><Item>), or save the ledger as CSV/XLSX."
        )
    items = [_item_fields(i) for r in responses for i in r.iter("{*}Item")]
    frame = pd.DataFrame(items, dtype=object)
    numbers = np.arange(1, len(frame) + 1)
    if "DeviceID" in frame.columns:
        ids = frame["DeviceID"].astype(object).where(frame["DeviceID"].notna(), "")
        code = ids.map(lambda s: s[10:13] if len(str(s)) == 20 else "131")
        camera = code.isin(CAMERA_TYPE_CODES).to_numpy()
        frame, numbers = frame[camera].reset_index(drop=True), numbers[camera]
        dropped = int((~camera).sum())
    else:
        dropped = 0
    out = RawLayer(
        label, "GB/T 28181 XML", frame, np.empty(0, dtype=object), crs, numbers, noun="item"
    )
    if dropped:
        out.notes.append(
            f"{dropped} catalogue item(s) are not cameras (DeviceID type code other than "
            "131/132: platforms, NVRs, organisation nodes) and were left out"
        )
    points_from_table(out, crs)
    return out
