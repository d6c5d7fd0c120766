"""Where scenarios are kept: the ``ScenarioStore`` protocol and the CLI's folder store.

The CLI keeps each scenario as ``<output folder>/scenarios/<name>.json`` (the JSON form of
``ScenarioSpec``); the API keeps the same JSON in its data store (``api/scenario_routes``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from gridcover.coverage.scenarios.spec import ScenarioSpec, check_name
from gridcover.errors import Conflict, InputError, NotFound

__all__ = ["FolderScenarios", "ScenarioStore"]


class ScenarioStore(Protocol):
    """Named scenarios: save (refusing to overwrite unless asked), list, get, delete."""

    def save(self, spec: ScenarioSpec, *, replace: bool = False) -> None: ...

    def names(self) -> list[str]: ...

    def get(self, name: str) -> ScenarioSpec: ...

    def delete(self, name: str) -> None: ...


class FolderScenarios:
    """Scenarios as JSON files in ``<folder>/scenarios/``."""

    def __init__(self, folder: str | Path) -> None:
        self.dir = Path(folder) / "scenarios"

    def _path(self, name: str) -> Path:
        return self.dir / f"{check_name(name)}.json"

    def save(self, spec: ScenarioSpec, *, replace: bool = False) -> None:
        p = self._path(spec.name)
        if p.exists() and not replace:
            raise Conflict(
                f"Scenario {spec.name!r} already exists in {self.dir}; delete it first or "
                "choose another name (or pass --replace)."
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".json.tmp")
        tmp.write_text(spec.to_json(), encoding="utf-8")
        os.replace(tmp, p)

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json")) if self.dir.is_dir() else []

    def get(self, name: str) -> ScenarioSpec:
        p = self._path(name)
        if not p.is_file():
            known = ", ".join(self.names()) or "none"
            raise NotFound(f"No scenario {name!r} in {self.dir} (scenarios there: {known}).")
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}: not valid JSON ({exc}); fix or delete the file.") from exc
        return ScenarioSpec.from_dict(doc, source=str(p))

    def delete(self, name: str) -> None:
        p = self._path(name)
        if not p.is_file():
            raise NotFound(f"No scenario {name!r} in {self.dir}; nothing deleted.")
        p.unlink()
