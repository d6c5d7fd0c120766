"""The ``gridcover`` command line: one sub-command per module in ``gridcover.commands``.

Each command module defines ``NAME``, ``HELP`` (one line) and ``configure(parser)``, which
adds its arguments and sets ``func(args) -> int``. Errors that gridcover raises on purpose
are printed as sentences (no traceback) and give exit code 2.

Start-up is lazy: only the module of the command being run is imported (with geopandas,
shapely and the rest of what it needs); ``gridcover --help`` reads each command's ``NAME``
and ``HELP`` constants from its source without running it, so it imports none of them.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from gridcover import __version__
from gridcover.errors import GridcoverError

# Order shown in --help.
COMMANDS: tuple[str, ...] = (
    "demo",
    "check",
    "inspect",
    "analyze",
    "stage",
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


def command_help(name: str) -> tuple[str, str]:
    """(NAME, HELP) of the command module ``gridcover.commands.<name>``, read from its
    source as constants (the module is not imported); imported when there is no source."""
    spec = importlib.util.find_spec(f"gridcover.commands.{name}")
    origin = getattr(spec, "origin", None)
    if origin and origin.endswith(".py"):
        found: dict[str, str] = {}
        for node in ast.parse(Path(origin).read_bytes()).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id in ("NAME", "HELP"):
                        found[target.id] = str(node.value.value)
        if len(found) == 2:
            return found["NAME"], found["HELP"]
    module = importlib.import_module(f"gridcover.commands.{name}")
    return module.NAME, module.HELP


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s sub-parser is configured (its module imported), every
    command when ``command`` is "*". The others show their one-line help."""
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
        if command in (name, "*"):
            module = importlib.import_module(f"gridcover.commands.{name}")
            p = sub.add_parser(
                module.NAME,
                help=module.HELP,
                description=getattr(module, "DESCRIPTION", module.HELP),
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            module.configure(p)
        else:
            cmd, text = command_help(name)
            sub.add_parser(cmd, help=text, description=text)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (its first word that is not an option), if any."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_of(words))
    args = parser.parse_args(words)
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
