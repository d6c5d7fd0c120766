"""Incident layers hold aggregate counts only: columns that identify people are refused.

gridcover models facilities, areas and counts (README, Scope). An incidents file with a
person's name, ID-card number, phone number or licence plate per row is a list of events
about people, not a count per place; ``read_layer`` refuses it with a sentence naming the
columns, before anything is stored or served. Names are matched after the same
normalisation as every column mapping (``gis.columns.norm``).
"""

from __future__ import annotations

from collections.abc import Sequence

from gridcover.errors import SchemaError
from gridcover.gis.columns import norm

PERSONAL_COLUMNS: tuple[str, ...] = (
    # names of people
    "姓名", "人名", "报警人", "报案人", "当事人", "嫌疑人", "受害人", "被害人", "联系人",
    "person", "person_name", "full_name", "first_name", "last_name", "surname",
    "victim", "suspect", "offender", "caller", "reporter",
    # identity documents and contacts
    "身份证", "身份证号", "身份证号码", "证件号", "证件号码", "公民身份号码",
    "id_card", "idcard", "id_number", "passport", "ssn",
    "手机", "手机号", "手机号码", "电话", "联系电话", "报警电话", "phone", "mobile", "telephone",
    # vehicles
    "车牌", "车牌号", "车牌号码", "plate", "licence_plate", "license_plate",
)  # fmt: skip
"""Column names (normalised) that identify a person in an incidents layer."""

_NORMALISED = frozenset(norm(n) for n in PERSONAL_COLUMNS)


def refuse_personal_columns(columns: Sequence[str], kind: str, label: str) -> None:
    """Raise SchemaError when an ``incidents`` layer has columns that identify people."""
    if kind != "incidents":
        return
    found = [str(c) for c in columns if norm(str(c)) in _NORMALISED]
    if found:
        raise SchemaError(
            f"{label}: column(s) {', '.join(found)} identify people, but incidents hold "
            "aggregate counts per place or area only (a 'count' column), nothing about "
            "individuals; nothing was read. Delete those columns and aggregate the events "
            "per point or area first."
        )
