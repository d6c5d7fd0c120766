"""The ``gridcover`` command line: one sub-command per module in ``gridcover.commands``.

Each command module defines ``NAME``, ``HELP`` (one line) and ``configure(parser)``, which
adds its arguments and sets ``func(args) -> int``. Errors that gridcover raises on purpose
are printed as sentences (no traceback) and give exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gridcover import __version__
from gridcover.errors import GridcoverError

# Order shown in --help.
COMMANDS: tuple[str, ...] = (
    "demo",
    "check",
    "inspect",
    "analyze",
    "patrol",
    "site",
    "scenario",
    "worklist",
    "map",
    "report",
    "serve",
    "keys",
    "audit",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridcover",
        description=(
            "Plan public-safety video coverage: check grid maps, compute what cameras really "
            "see (occluded by buildings) on H3 cells, find and rank blind spots, design patrol "
            "zones, site new cameras and serve it all as OGC API - Features."
        ),
        epilog="Run 'gridcover COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"gridcover {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"gridcover.commands.{name}")
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GridcoverError as exc:
        print(f"gridcover: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gridcover: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
