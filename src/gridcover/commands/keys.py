"""``gridcover keys``: create, list and revoke the API keys of the web service."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridcover.api.store.edits import Actor
    from gridcover.api.store.keys import KeyStore
    from gridcover.settings import Settings

NAME = "keys"
HELP = "create, list and revoke API keys of the web service (roles, grid scope)"
DESCRIPTION = """\
Manage the API keys of 'gridcover serve'. A key is shown once, when it is made; the store keeps
only a salted scrypt hash. Roles: admin, planner (read all, upload layers, run analyses),
grid_chief (read; edit cameras, sites and his grids' attributes inside his own grid, given with
--grid), reader. Once a key exists, reads are closed to anonymous clients (GRIDCOVER_READ_ACCESS
changes that). Keys live in the store: the GeoPackage in --data-dir, or the PostGIS database of
--database-url (GRIDCOVER_DATABASE_URL).

examples:
  gridcover keys add --name "Planning office" --role planner
  gridcover keys add --name "Li Wei" --role grid_chief --grid 440305001
  gridcover keys list
  gridcover keys revoke 3f9a01bc
  gridcover audit --collection api_keys      # who made and revoked which key
  curl -H "X-API-Key: gck_..." http://127.0.0.1:8000/collections
"""


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """--data-dir / --database-url: which store (default: GRIDCOVER_* settings)."""
    parser.add_argument("--data-dir", type=Path, help="folder of the GeoPackage store")
    parser.add_argument("--database-url", help="PostgreSQL + PostGIS URL of the store")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings with the store options of ``args`` applied."""
    from gridcover.settings import Settings

    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    return Settings(**overrides)  # type: ignore[arg-type]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="make a key and print it once")
    add.add_argument("--name", required=True, help="the holder (shown in the audit log)")
    add.add_argument("--role", required=True, choices=["admin", "planner", "grid_chief", "reader"])
    add.add_argument("--grid", help="grid code of a grid_chief (his grid and its sub-grids)")
    add_store_options(add)
    add.set_defaults(func=run_add)
    ls = sub.add_parser("list", help="list the keys (ids, holders, roles; never the secrets)")
    add_store_options(ls)
    ls.set_defaults(func=run_list)
    rv = sub.add_parser("revoke", help="revoke a key by its id (it stops working at once)")
    rv.add_argument("key_id", help="the 8-character id shown by 'gridcover keys list'")
    add_store_options(rv)
    rv.set_defaults(func=run_revoke)


def _keys(args: argparse.Namespace) -> KeyStore:
    from gridcover.api.store.keys import KeyStore
    from gridcover.api.store.sql_target import target_for

    return KeyStore(target_for(settings_from(args)))


def _operator() -> Actor:
    """The person at the shell, as named in the audit log."""
    import getpass

    from gridcover.api.store.edits import Actor

    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown user"
    return Actor(name=f"{user} (gridcover keys)", role="system")


def check_grid_code(settings: Settings, code: str) -> None:
    """InputError unless ``code`` is a grid code of the stored grids layer (any level)."""
    from gridcover.api.store import open_store
    from gridcover.api.store.sql_target import store_label
    from gridcover.errors import InputError

    store = open_store(settings)
    try:
        codes = set()
        if store.has_layer("grids"):
            codes = set(store.read_layer("grids")["code"].dropna().astype(str))
    finally:
        store.close()
    if not codes:
        raise InputError(
            f"{store_label(settings)} holds no grids layer, so grid {code!r} cannot be checked; "
            "upload the grids first (PUT /layers/grids or gridcover serve's sample)"
        )
    if code not in codes:
        near = sorted(c for c in codes if c.startswith(code[:2]))[:8] or sorted(codes)[:8]
        raise InputError(
            f"grid {code!r} is not a code of the stored grids layer; a grid chief's key needs an "
            f"existing code (e.g. {', '.join(near)})"
        )


def run_add(args: argparse.Namespace) -> int:
    if args.role == "grid_chief" and args.grid:
        check_grid_code(settings_from(args), args.grid)
    made = _keys(args).add(args.name, args.role, args.grid, actor=_operator())
    r = made.record
    scope = f" for grid {r.grid_code}" if r.grid_code else ""
    print(f"key {r.id} ({r.role}{scope}) for {r.name}:")
    print(made.token)
    print("Store it now: it is not shown again. Send it as the X-API-Key header.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    keys = _keys(args).all()
    if not keys:
        print("no API keys; reads are open and nobody can write ('gridcover keys add ...')")
        return 0
    print(f"{'id':8}  {'role':10}  {'grid':12}  {'created':24}  {'revoked':24}  name")
    for k in keys:
        print(
            f"{k.id:8}  {k.role:10}  {k.grid_code or '-':12}  {k.created:24}  "
            f"{k.revoked or '-':24}  {k.name}"
        )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    k = _keys(args).revoke(args.key_id, actor=_operator())
    print(f"key {k.id} ({k.role}, {k.name}) revoked at {k.revoked}")
    return 0
