"""One set of layer options for every command that reads a layer (inspect, check, analyze,
patrol, site, map, report): the argparse wiring and its translation into ``LayerOptions``.

Syntax, the same everywhere: each option names the layer kind first, ``KIND:``, and may leave
it out when the command reads one kind only (inspect, check) or when the value is meant for
every layer (``--encoding gbk``)::

    --profile P.toml                        import profile (TOML, per kind; docs/DATA.md)
    --column cameras:方位=azimuth_deg       source column -> canonical column ("=" alone ignores)
    --value cameras:type:枪机A=bullet       raw value -> canonical value of a column
    --const cameras:status=online           one value for every row
    --crs roads:EPSG:4547                   source CRS when the file has none or a wrong one
    --coord-sys cameras:gcj02               wgs84 | gcj02 (AMap/Tencent) | bd09 (Baidu)
    --encoding cameras:gbk                  text encoding (default: detected)
    --layer cameras:台账                    GeoPackage layer, zip member or XLSX sheet

Options given on the command line win over the profile. ``read_cli_layers`` reads every
layer of a run through :func:`gridcover.gis.layer_set.read_layers`, which also settles the
coordinate system of lon/lat points in China (no silent offsets).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridcover.errors import InputError

if TYPE_CHECKING:  # the readers load geopandas: imported when a command runs, not at start
    from gridcover.gis.layer_set import LayerSet
    from gridcover.gis.profile import LayerOptions

_OPTIONS = ("column", "value", "const", "crs", "coord_sys", "encoding", "layer")


def add_layer_options(parser: argparse.ArgumentParser, *, single: bool = False) -> None:
    """Add the layer options; ``single``: the command reads one kind, ``KIND:`` optional."""
    g = parser.add_argument_group(
        "layer options (KIND: first, e.g. cameras:; see docs/DATA.md 'Layer options')"
    )
    pre = "[KIND:]" if single else "KIND:"
    g.add_argument("--profile", type=Path, metavar="TOML", help="import profile (per kind)")
    g.add_argument(
        "--column",
        "--map",
        dest="column",
        action="append",
        default=[],
        metavar=f"{pre}SOURCE=CANONICAL",
        help="map a source column onto a canonical one (repeatable; CANONICAL empty = ignore)",
    )
    g.add_argument(
        "--value",
        action="append",
        default=[],
        metavar=f"{pre}COLUMN:RAW=VALUE",
        help="map a raw value of a canonical column, e.g. cameras:type:枪机A=bullet",
    )
    g.add_argument(
        "--const",
        action="append",
        default=[],
        metavar=f"{pre}COLUMN=VALUE",
        help="one value of a canonical column for every row, e.g. grids:level=2",
    )
    for name, what in (
        ("crs", "source CRS when the file has none or a wrong one"),
        ("coord-sys", "Chinese web-map offset: wgs84, gcj02 (AMap/Tencent), bd09 (Baidu)"),
        ("encoding", "text encoding (default: detected)"),
        ("layer", "layer inside a GeoPackage, OSM file or zip; sheet of an XLSX"),
    ):
        g.add_argument(f"--{name}", action="append", default=[], metavar=f"{pre}VALUE", help=what)


def _split_kind(text: str, option: str, kinds: Sequence[str], single: str | None) -> tuple:
    from gridcover.gis.schemas import KINDS

    head, sep, rest = text.partition(":")
    if sep and head in KINDS:
        if head not in kinds:
            raise InputError(
                f"--{option} {text!r}: this command reads no '{head}' layer; it reads "
                f"{', '.join(kinds)}."
            )
        return (head,), rest
    if single is not None:
        return (single,), text
    return tuple(kinds), text


def _pair(text: str, option: str, example: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"--{option} {text!r} must look like {example}.")
    return key.strip(), value.strip()


def options_from_args(
    args: argparse.Namespace, kinds: Sequence[str], single: str | None = None
) -> dict[str, LayerOptions]:
    """``LayerOptions`` per kind from the parsed options and ``--profile``; CLI wins.

    A value without ``KIND:`` applies to ``single`` (one-kind commands) or to every kind.
    """
    from gridcover.gis.profile import ImportProfile, layer_options, load_profile

    profile = load_profile(args.profile) if getattr(args, "profile", None) else ImportProfile()
    raw: dict[str, dict[str, Any]] = {k: {} for k in kinds}
    for option in _OPTIONS:
        for text in getattr(args, option, None) or []:
            where, rest = _split_kind(text, option.replace("_", "-"), kinds, single)
            for kind in where:
                table = raw[kind]
                if option == "column":
                    src, dst = _pair(rest, "column", "cameras:方位=azimuth_deg")
                    table.setdefault("columns", {})[src] = dst
                elif option == "value":
                    col, _, pair = rest.partition(":")
                    src, dst = _pair(pair, "value", "cameras:type:枪机A=bullet")
                    table.setdefault("values", {}).setdefault(col, {})[src] = _typed(kind, col, dst)
                elif option == "const":
                    col, value = _pair(rest, "const", "grids:level=2")
                    table.setdefault("constants", {})[col] = _typed(kind, col, value)
                else:
                    table[option] = rest
    out = {}
    for kind in kinds:
        mine = layer_options(raw[kind], kind, "command line")
        out[kind] = mine.over(profile.for_kind(kind))
    return out


def _typed(kind: str, column: str, text: str) -> Any:
    """A number for numeric canonical columns ('2' -> 2), the text otherwise ('01' stays)."""
    from gridcover.gis.schemas import SCHEMAS

    schema = SCHEMAS[kind]
    if column not in schema.columns or schema.get(column).dtype == "str":
        return text
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def read_cli_layers(
    args: argparse.Namespace,
    paths: Mapping[str, str | Path],
    read_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
    references: Mapping[str, Any] | None = None,
) -> LayerSet:
    """Read the layers of a run (``paths`` {kind: file}) with the command's layer options."""
    from gridcover.gis.layer_set import read_layers

    options = options_from_args(args, list(paths))
    return read_layers(paths, options, read_kwargs=read_kwargs, references=references)


def print_decisions(layers: LayerSet) -> None:
    """The decisions that change the answer, first in the output."""
    for line in layers.decisions:
        print(f"gridcover: {line}")


class CliReader:
    """``read(path, kind, **kwargs)`` for commands that read layers one by one (patrol, site):
    the run's layers are read together first (offset check, decisions printed first), then
    each call returns that layer, or reads another file of the kind with the same options."""

    def __init__(
        self,
        args: argparse.Namespace,
        paths: Mapping[str, str | Path | None],
        read_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        given = {k: p for k, p in paths.items() if p is not None}
        self.options = options_from_args(args, list(given) or ["grids"])
        self._args = args
        self._kwargs = dict(read_kwargs or {})
        self._paths = {k: str(p) for k, p in given.items()}
        self.layer_set = read_cli_layers(args, given, read_kwargs)
        print_decisions(self.layer_set)

    def __call__(self, path: str | Path, kind: str, **kwargs: Any) -> Any:
        from gridcover.gis.io import read_layer

        same = self._paths.get(kind) == str(path) and kwargs == dict(self._kwargs.get(kind, {}))
        if same:
            return self.layer_set.layers[kind]
        if kind not in self.options:
            self.options.update(options_from_args(self._args, [kind]))
        kw = {**self.options[kind].kwargs(), **kwargs}
        chosen = self.layer_set.parameters.get(f"{kind}_coord_sys")
        if chosen and "coord_sys" not in kw:
            kw["coord_sys"] = chosen  # the system the fit chose for this kind's main file
        return read_layer(path, kind, **kw)


def read_given(
    args: argparse.Namespace,
    paths: Mapping[str, str | Path | None],
    references: Mapping[str, Any] | None = None,
) -> dict:
    """The canonical layers among ``paths`` that were given, read together with the command's
    options (decisions printed first); {} when none was given. ``references``: layers already
    read (an analysis folder's grids) that the offset check may compare points with."""
    given = {k: p for k, p in paths.items() if p is not None}
    if not given:
        return {}
    layers = read_cli_layers(args, given, references=references)
    print_decisions(layers)
    return dict(layers.layers)
