"""``gridcover audit``: show the append-only audit log of the web service's writes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from gridcover.commands.keys import add_store_options, settings_from

NAME = "audit"
HELP = "show the audit log of writes (who, role, action, object, grid, hashes, time)"
DESCRIPTION = """\
Print the newest entries of the audit log: every write through the web service (uploads, feature
edits, deletes, analysis results) with who made it (key holder, key id, role), the action, the
collection and object id, the grid it lies in, SHA-256 hashes of the whole feature (geometry and
properties; the feature's ETag) or of the whole layer before and after, the time (UTC) and the
request id. Under each feature edit, one line per changed property (before -> after) and one for a
moved geometry. The log is append-only: the store refuses changes to it.

examples:
  gridcover audit
  gridcover audit --collection cameras --limit 200
  gridcover audit --actor 3f9a01bc --json > audit.jsonl
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=50, help="entries to show (default 50)")
    parser.add_argument("--collection", help="only this collection or layer")
    parser.add_argument("--actor", help="only this key id or key holder name")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    add_store_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gridcover.api.store.audit import read_entries
    from gridcover.api.store.sql_target import target_for

    target = target_for(settings_from(args))
    entries = read_entries(target, limit=args.limit, collection=args.collection, actor=args.actor)
    if args.json:
        for e in entries:
            print(json.dumps(asdict(e), ensure_ascii=False, default=str))
        return 0
    if not entries:
        print("the audit log is empty")
        return 0
    print(
        f"{'time (UTC)':24}  {'actor':20}  {'role':10}  {'action':13}  {'collection':14}  "
        f"{'object':12}  {'grid':8}  before    after     request"
    )
    for e in entries:
        who = f"{e.actor} ({e.key_id})" if e.key_id else e.actor
        print(
            f"{e.at:24}  {who[:20]:20}  {e.role:10}  {e.action:13}  {e.collection[:14]:14}  "
            f"{(e.object_id or '-')[:12]:12}  {(e.grid or '-')[:8]:8}  "
            f"{(e.before_hash or '-')[:8]:8}  {(e.after_hash or '-')[:8]:8}  {e.request_id or '-'}"
        )
        for line in change_lines(e.detail):
            print(f"{'':26}{line}")
    return 0


def change_lines(detail: Mapping[str, Any]) -> list[str]:
    """What a feature edit changed, one line per property (``name: before -> after``) and one
    for the geometry, as recorded in the audit row's detail."""
    out = []
    for name, pair in dict(detail.get("changed") or {}).items():
        old, new = [*pair, None, None][:2]
        out.append(f"{name}: {_short(old)} -> {_short(new)}")
    geometry = detail.get("geometry")
    if geometry:
        out.append(f"geometry: {_short(geometry[0])} -> {_short(geometry[1])}")
    return out


def _short(value: Any, width: int = 60) -> str:
    text = "-" if value is None else repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."
