"""``gridcover scenario``: named what-if scenarios kept in an output folder, and compared."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gridcover.commands.keys import add_store_options, settings_from
from gridcover.commands.view_options import (
    BUILDING_HEIGHT_M,
    DEFAULT_VISIBILITY,
    TARGET_HEIGHT_M,
    add_view_options,
)

NAME = "scenario"
HELP = "named scenarios (disable / add / re-aim / repair cameras, owners): create, compare"
DESCRIPTION = """\
Keep named camera scenarios in an output folder (<DIR>/scenarios/NAME.json, the same JSON
schema as the API's /scenarios) and compare them: KPIs per grid level with deltas, the
cells that gain or lose coverage (GeoJSON), a short text. A scenario records the versions
of its input layers and the analysis parameters; comparing a scenario whose inputs changed
since is refused with the layers named (recreate it).

examples:
  gridcover scenario create repair-3 --out out/s --sample --repair osm-319709883
  gridcover scenario create plan-a --out out/s --sample --disable osm-1,osm-2 \\
      --add new_cameras.geojson --reaim osm-3=90,60,80 \\
      --reaim osm-4=height_m=12,tilt_deg=20,resolution_px=2688
  gridcover scenario create social --out out/s --grids g.gpkg --cameras c.csv \\
      --owners public_security,community,social
  gridcover scenario create fixes --out out/s --sample --from-units out/s/proposed_cameras.geojson
  gridcover scenario list --out out/s
  gridcover scenario compare plan-a            --out out/s   (baseline vs plan-a)
  gridcover scenario compare plan-a social     --out out/s
"""


def configure(parser: argparse.ArgumentParser) -> None:
    from gridcover.commands.analyze import LAYERS

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create a named scenario")
    create.add_argument("name", help="scenario name (letters, digits, _ - . or Chinese)")
    _out(create)
    src = create.add_argument_group("input layers (as for gridcover analyze)")
    for kind in LAYERS:
        src.add_argument(f"--{kind}", type=Path, metavar="FILE", help=f"{kind} layer")
    src.add_argument("--sample", action="store_true", help="use the bundled sample")
    opt = create.add_argument_group("analysis parameters (recorded with the scenario)")
    opt.add_argument("--res", type=int, default=12, help="H3 resolution 9-13 (default 12)")
    opt.add_argument("--weights", type=Path, metavar="TOML", help="priority weights file")
    opt.add_argument("--no-occlusion", action="store_true", help="ignore buildings for views")
    add_view_options(opt)
    opt.add_argument("--include-offline", action="store_true", help="offline cameras count")
    opt.add_argument("--unknown-offline", action="store_true", help="unknown status: no count")
    ch = create.add_argument_group("changes")
    ch.add_argument("--disable", action="append", default=[], metavar="ID[,ID...]")
    ch.add_argument("--repair", action="append", default=[], metavar="ID[,ID...]",
                    help="set these cameras back online")  # fmt: skip
    ch.add_argument("--add", action="append", default=[], type=Path, metavar="FILE",
                    help="camera layer of new cameras (any format read_layer reads)")  # fmt: skip
    ch.add_argument("--reaim", action="append", default=[], metavar="ID=AZ[,FOV[,RANGE]]",
                    help="new azimuth (° from north), optional FOV (°), range (m); or "
                    "ID=KEY=VALUE,... with azimuth_deg, fov_deg, range_m, height_m (m), "
                    "tilt_deg (° below horizontal), resolution_px")  # fmt: skip
    ch.add_argument("--owners", metavar="OWNER[,OWNER...]",
                    help="only cameras of these owners count: public_security, community, "
                    "social, other")  # fmt: skip
    ch.add_argument("--from-units", type=Path, metavar="GEOJSON",
                    help="proposed_cameras.geojson of the work units: add 'new', repair "
                    "'repair' rows")  # fmt: skip
    ch.add_argument("--from-siting", type=Path, metavar="FILE",
                    help="chosen cameras of gridcover site (camera rows) to add")  # fmt: skip
    ch.add_argument("--description", default="", help="free text")
    ch.add_argument("--replace", action="store_true", help="overwrite a scenario of that name")
    for action in ("list", "show", "delete"):
        p = sub.add_parser(
            action,
            help=f"{action} scenarios of an output folder (--out) or of the service's store "
            "(no --out: --data-dir / --database-url, default the GRIDCOVER_* settings)",
        )
        if action != "list":
            p.add_argument("name")
        p.add_argument("--out", type=Path, metavar="DIR", help="output folder (CLI scenarios)")
        add_store_options(p)
    cmp_ = sub.add_parser("compare", help="compare A with B (or the baseline with A)")
    cmp_.add_argument("a", help="scenario name, or 'baseline'")
    cmp_.add_argument("b", nargs="?", help="scenario name (default: compare baseline with A)")
    _out(cmp_)
    cmp_.add_argument("--json", action="store_true", help="print the comparison as JSON")
    cmp_.add_argument("--lang", choices=("zh", "en"), default="zh", help="map labels")
    parser.set_defaults(func=run)


def _in_service_store(args: argparse.Namespace) -> int:
    """list / show / delete on the ``scenarios`` layer of the service's store."""
    from gridcover.api.scenario_routes import StoreScenarios
    from gridcover.api.store import open_store

    store = open_store(settings_from(args))
    try:
        scenarios = StoreScenarios(store)
        if args.action == "list":
            for name in scenarios.names():
                s = scenarios.get(name)
                print(f"{name}\t{s.created}\t{s.description}")
        elif args.action == "show":
            print(scenarios.get(args.name).to_json())
        else:
            scenarios.delete(args.name)
            print(f"gridcover: scenario {args.name!r} deleted from the service's store.")
    finally:
        store.close()
    return 0


def _out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")


def _ids(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _reaim(values: list[str]) -> dict[str, dict[str, float | None]]:
    from gridcover.coverage.scenarios.spec import parse_reaim

    out: dict[str, dict[str, float | None]] = {}
    for item in values:
        cid, change = parse_reaim(item)
        out.setdefault(cid, {}).update(change)
    return out


def _rows(path: Path, status: str = "online") -> list[dict[str, Any]]:
    from gridcover.gis import read_layer

    gdf = read_layer(path, "cameras").to_crs("EPSG:4326")
    keep = ("camera_id", "type", "azimuth_deg", "fov_deg", "range_m", "height_m", "owner")
    rows = []
    for _, r in gdf.iterrows():
        row = {k: r[k] for k in keep if k in gdf.columns and r[k] == r[k] and r[k] is not None}
        row.update(camera_id=str(r["camera_id"]), lon=r.geometry.x, lat=r.geometry.y)
        row["status"] = status
        rows.append(row)
    return rows


def config_of(args: argparse.Namespace) -> dict[str, Any]:
    """The analysis parameters recorded with a scenario (JSON values); commands that share
    it without the 3D options (worklist) record the defaults."""
    return {
        "res": int(args.res),
        "weights": str(args.weights.resolve()) if args.weights else None,
        "occlusion": not args.no_occlusion,
        "include_offline": bool(args.include_offline),
        "unknown_online": not args.unknown_offline,
        "visibility": str(getattr(args, "visibility", None) or DEFAULT_VISIBILITY),
        "target_height_m": float(getattr(args, "target_height_m", TARGET_HEIGHT_M)),
        "building_height_m": float(getattr(args, "building_height_m", BUILDING_HEIGHT_M)),
    }


def analysis_config(config: dict[str, Any]) -> Any:
    from gridcover.coverage.analysis import AnalysisConfig
    from gridcover.coverage.weights import load_weights

    return AnalysisConfig(
        res=int(config["res"]),
        weights=load_weights(config.get("weights")),
        occlusion=bool(config.get("occlusion", True)),
        include_offline=bool(config.get("include_offline", False)),
        unknown_online=bool(config.get("unknown_online", True)),
        # scenarios recorded before the view model was recorded were all 2D runs
        visibility=str(config.get("visibility", "2d")),
        target_height_m=float(config.get("target_height_m", TARGET_HEIGHT_M)),
        building_height_m=float(config.get("building_height_m", BUILDING_HEIGHT_M)),
    )


def _read(sources: dict[str, str]) -> dict[str, Any]:
    from gridcover.errors import InputError
    from gridcover.gis import read_layer

    layers = {}
    for kind, path in sources.items():
        if not Path(path).is_file():
            raise InputError(
                f"The scenario's {kind} layer {path} is gone; restore it or recreate the scenario."
            )
        layers[kind] = read_layer(path, kind)
    return layers


def _create(args: argparse.Namespace) -> int:
    import datetime as dt

    import pandas as pd

    from gridcover.commands.analyze import _layer_paths
    from gridcover.coverage.scenarios import FolderScenarios, ScenarioSpec, versions
    from gridcover.coverage.whatif import apply_scenario

    paths = _layer_paths(args)
    sources = {k: str(Path(p).resolve()) for k, p in paths.items()}
    layers = _read(sources)
    added: list[dict[str, Any]] = []
    repaired = _ids(args.repair)
    for f in args.add:
        added += _rows(f)
    if args.from_siting:
        added += _rows(args.from_siting)
    if args.from_units:
        import geopandas as gpd

        units = gpd.read_file(args.from_units)
        repaired += [str(c) for c in units.loc[units["action"] == "repair", "camera_id"]]
        new = units[units["action"] == "new"]
        for _, r in new.iterrows():
            row = {k: r[k] for k in ("type", "azimuth_deg", "fov_deg", "range_m") if pd.notna(r[k])}
            added.append({**row, "camera_id": str(r["camera_id"]), "lon": r.geometry.x,
                          "lat": r.geometry.y, "status": "online"})  # fmt: skip
    spec = ScenarioSpec(
        name=args.name,
        description=args.description,
        disabled=tuple(_ids(args.disable)),
        repaired=tuple(repaired),
        added=tuple(added),
        reaimed=_reaim(args.reaim),
        counted_owners=tuple(_ids([args.owners])) if args.owners else None,
        config=config_of(args),
        inputs=versions(layers),
        sources=sources,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    apply_scenario(layers["cameras"], spec.to_whatif(layers["cameras"]))  # ids are checked
    FolderScenarios(args.out).save(spec, replace=args.replace)
    print(
        f"gridcover: scenario {spec.name!r} saved in {args.out / 'scenarios'}: "
        f"{len(spec.disabled)} disabled, {len(spec.repaired)} repaired, {len(spec.added)} added, "
        f"{len(spec.reaimed)} re-aimed"
        + (f", counted owners {', '.join(spec.counted_owners)}" if spec.counted_owners else "")
        + "."
    )
    return 0


def _compare(args: argparse.Namespace) -> int:
    from gridcover.coverage.analysis import run_analysis
    from gridcover.coverage.scenarios import FolderScenarios, compare_scenarios, versions
    from gridcover.errors import InputError

    store = FolderScenarios(args.out)
    a = None if args.a == "baseline" else store.get(args.a)
    b = store.get(args.b) if args.b and args.b != "baseline" else None
    if args.b is None:  # "compare A": the baseline against A
        a, b = None, a
    specs = [s for s in (a, b) if s is not None]
    if not specs:
        raise InputError("Name at least one scenario to compare with the baseline.")
    ref = specs[0]
    for s in specs[1:]:
        if dict(s.sources) != dict(ref.sources):
            raise InputError(
                f"Scenarios {ref.name!r} and {s.name!r} were made on different input files; "
                "compare scenarios of one analysis."
            )
    layers = _read(dict(ref.sources))
    config = dict(ref.config)
    baseline = run_analysis(**layers, config=analysis_config(config))
    comp = compare_scenarios(baseline, a, b, inputs=versions(layers), config=config)
    folder = args.out / "scenarios"
    stem = f"compare_{comp.a}_{comp.b}"
    comp.kpis.to_csv(folder / f"{stem}_kpis.csv", index=False)
    comp.grid_deltas.to_csv(folder / f"{stem}_grids.csv", index=False)
    comp.changed_cells.to_file(folder / f"{stem}_cells.geojson", driver="GeoJSON")
    (folder / f"{stem}.txt").write_text(comp.text, encoding="utf-8")
    from gridcover.gis.maps.scenario_map import comparison_map

    ra, rb = comp.results
    comparison_map(
        grids=layers["grids"], changed=comp.changed_cells, cameras_a=ra.state.cameras,
        cameras_b=rb.state.cameras, a=comp.a, b=comp.b, lang=args.lang,
    ).save(folder / f"{stem}.html")  # fmt: skip
    if args.json:
        print(json.dumps(comp.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(comp.text, end="")
        print(f"gridcover: wrote {stem}_kpis.csv, _grids.csv, _cells.geojson, .txt, .html "
              f"(map) to {folder}")  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    from gridcover.coverage.scenarios import FolderScenarios

    if args.action == "create":
        return _create(args)
    if args.action == "compare":
        return _compare(args)
    if args.out is None:  # the scenarios planners saved through the service (web app, API)
        return _in_service_store(args)
    store = FolderScenarios(args.out)
    if args.action == "list":
        for name in store.names():
            s = store.get(name)
            print(f"{name}\t{s.created}\t{s.description}")
        return 0
    if args.action == "show":
        print(store.get(args.name).to_json())
        return 0
    store.delete(args.name)
    print(f"gridcover: scenario {args.name!r} deleted.")
    return 0
