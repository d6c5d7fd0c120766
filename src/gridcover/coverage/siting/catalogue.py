"""Camera models with prices (a small TOML catalogue) and their candidate camera rows.

The packaged default (``gridcover/data/camera_models.toml``, prices illustrative, CNY
installed) lists a wide and a long bullet, a dome and a PTZ. Every key is checked: an
unknown key, a missing field or a non-positive price is a ``SchemaError`` naming the file
and the model. The optional keys say how the model sees in the 3D model (docs/VIEWS.md):
``resolution`` (as a ledger writes it), ``lens_fov_deg`` (360° models), ``height_m``
(mounting height, metres), ``tilt_deg`` (degrees below horizontal), ``supply_light`` and
``ir_range_m`` (night); left out, the per-type defaults apply.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.errors import InputError, SchemaError

__all__ = ["CameraModel", "Catalogue", "load_catalogue", "model_candidates", "select_models"]

_FIELDS = {"type": str, "fov_deg": float, "range_m": float, "price": float, "azimuths": int}
_OPTICS = {"resolution": str, "lens_fov_deg": float, "height_m": float, "tilt_deg": float,
           "supply_light": str, "ir_range_m": float}  # fmt: skip
"""Optional keys: how the model sees and is mounted (3D visibility)."""


@dataclass(frozen=True)
class CameraModel:
    """A camera model: what to buy and how to mount it. The one model type of siting: a
    catalogue entry (``load_catalogue``: every field but the 3D ones given) or a model fitted
    onto existing candidate rows (``apply``, 3D siting and work-unit fixes).

    ``type`` (bullet, dome, ptz, other); horizontal ``fov_deg`` (degrees) and ``range_m``
    (metres), None = the candidate rows' own; ``price`` (catalogue currency, installed; None =
    not priced); ``azimuths`` (candidate directions per pole; 0 = one 360° view); optional 3D
    fields (None = per-type default): ``resolution`` (as a ledger writes it),
    ``lens_fov_deg`` (degrees), ``height_m`` (metres above ground), ``tilt_deg`` (degrees
    below horizontal), ``supply_light``, ``ir_range_m`` (metres)."""

    name: str
    type: str = "bullet"
    fov_deg: float | None = None
    range_m: float | None = None
    price: float | None = None
    azimuths: int = 8
    resolution: str | None = None
    lens_fov_deg: float | None = None
    height_m: float | None = None
    tilt_deg: float | None = None
    supply_light: str | None = None
    ir_range_m: float | None = None

    def optics(self) -> dict[str, str | float]:
        """The optional 3D fields this model gives (column name -> value)."""
        return {k: getattr(self, k) for k in _OPTICS if getattr(self, k) is not None}

    def apply(self, candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The candidate rows (any CRS; they keep their own ``type``, ``azimuth_deg``,
        ``fov_deg``, ``range_m``) fitted with this model: ``camera_model`` = ``name``, the
        model's 3D fields (``tilt_deg`` None is written as NaN: no vertical limit) and
        ``price`` when the model has one."""
        out = candidates.copy()
        out["camera_model"] = self.name
        for k, v in self.optics().items():
            out[k] = v
        if self.tilt_deg is None:
            out["tilt_deg"] = np.nan
        if self.price is not None:
            out["price"] = float(self.price)
        return out


@dataclass(frozen=True)
class Catalogue:
    models: tuple[CameraModel, ...]
    currency: str = "CNY"
    source: str = "default camera_models.toml"


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The packaged catalogue (``path=None``) or a user TOML file of the same form."""
    if path is None:
        text = resources.files("gridcover").joinpath("data/camera_models.toml").read_text("utf-8")
        source = "default camera_models.toml"
    else:
        p = Path(path)
        if not p.is_file():
            raise SchemaError(f"Camera catalogue {p} does not exist; give a TOML file path.")
        text, source = p.read_text(encoding="utf-8"), str(p)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{source}: not valid TOML ({exc}); fix the line it names.") from exc
    models = doc.get("models")
    if not isinstance(models, dict) or not models:
        raise SchemaError(f"{source}: give at least one [models.NAME] table.")
    out = []
    for name, m in models.items():
        if not isinstance(m, dict):
            raise SchemaError(f"{source}: [models.{name}] must be a table.")
        extra = set(m) - set(_FIELDS) - set(_OPTICS)
        missing = set(_FIELDS) - set(m)
        if extra or missing:
            raise SchemaError(
                f"{source}: model {name!r} "
                + (f"has unknown key(s) {sorted(extra)}" if extra else f"lacks {sorted(missing)}")
                + f"; the keys are {', '.join(_FIELDS)} (optional: {', '.join(_OPTICS)})."
            )
        price, fov, rng = float(m["price"]), float(m["fov_deg"]), float(m["range_m"])
        if not (price > 0 and 0 < fov <= 360 and rng > 0 and int(m["azimuths"]) >= 0):
            raise SchemaError(
                f"{source}: model {name!r} needs price > 0, 0 < fov_deg <= 360, range_m > 0 "
                "and azimuths >= 0."
            )
        try:
            opt = {k: cast(m[k]) for k, cast in _OPTICS.items() if k in m}
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"{source}: model {name!r}: {exc}; fix the value's type.") from exc
        if any(opt.get(k, 0.0) < 0 for k in ("height_m", "ir_range_m", "lens_fov_deg")):
            raise SchemaError(
                f"{source}: model {name!r} needs height_m, ir_range_m, lens_fov_deg >= 0."
            )
        out.append(
            CameraModel(str(name), str(m["type"]), fov, rng, price, int(m["azimuths"]), **opt)
        )
    return Catalogue(tuple(out), str(doc.get("currency", "CNY")), source)


def select_models(catalogue: Catalogue, names: tuple[str, ...]) -> Catalogue:
    """The catalogue's models named in ``names`` (all when empty); an unknown name is an error
    naming the catalogue and the names it holds."""
    if not names:
        return catalogue
    have = {m.name: m for m in catalogue.models}
    unknown = [n for n in names if n not in have]
    if unknown:
        raise InputError(
            f"{catalogue.source}: no camera model {', '.join(map(repr, unknown))}; "
            f"the catalogue holds {', '.join(have)}."
        )
    return Catalogue(tuple(have[n] for n in dict.fromkeys(names)), catalogue.currency,
                     catalogue.source)  # fmt: skip


def model_candidates(
    sites: gpd.GeoDataFrame, catalogue: Catalogue, azimuths: int | None = None
) -> gpd.GeoDataFrame:
    """Camera rows for every site x model x direction (EPSG:4326 points), with ``model``
    and ``price`` (and the model's optional 3D fields as columns, NaN where a model leaves
    one out); ``camera_id`` = ``site_id@model@azimuth``; ``site_id`` kept so that a pole
    takes at most ``max_per_site`` cameras. ``azimuths``: directions per directional model
    (None = each model's own ``azimuths``)."""
    incomplete = [m.name for m in catalogue.models if m.fov_deg is None or m.range_m is None]
    if incomplete:
        raise InputError(
            f"{catalogue.source}: model(s) {', '.join(map(repr, incomplete))} lack fov_deg or "
            "range_m; a catalogue model gives both (see camera_models.toml)."
        )
    rows = []
    sid = sites["site_id"].astype(str).to_numpy()
    pos = np.arange(len(sites))
    for m in catalogue.models:
        n_az = m.azimuths if (azimuths is None or not m.azimuths) else int(azimuths)
        az = np.arange(n_az) * (360.0 / n_az) if n_az else np.array([np.nan])
        for a in az:
            rows.append(pd.DataFrame({
                "site_id": sid, "model": m.name, "type": m.type, "azimuth_deg": a,
                "fov_deg": 360.0 if not m.azimuths else m.fov_deg, "range_m": m.range_m,
                "price": np.nan if m.price is None else m.price, **m.optics(),
                "pos": pos}))  # fmt: skip
    df = pd.concat(rows, ignore_index=True)
    az_txt = np.where(df["azimuth_deg"].isna(), "360", df["azimuth_deg"].round(1).astype(str))
    df.insert(0, "camera_id", df["site_id"] + "@" + df["model"] + "@" + az_txt)
    df["status"] = "online"
    geom = np.asarray(sites.to_crs("EPSG:4326").geometry.values)[df.pop("pos").to_numpy()]
    return gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
