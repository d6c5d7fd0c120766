"""Default horizontal field of view and useful range per camera type.

Used when a camera row leaves ``fov_deg`` or ``range_m`` empty. The figures and the
reasoning behind them are in ``docs/VIEWS.md``; override any of them with
``dataclasses.replace(CameraDefaults(), bullet_range_m=80.0)`` or by passing the
keyword to the constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridcover.gis.schemas import CAMERA_TYPES


@dataclass(frozen=True)
class CameraDefaults:
    """Per-type defaults: horizontal field of view (degrees, 0 < fov <= 360) and range (metres).

    A camera whose azimuth is unknown (empty / NaN) is always given a 360° view, whatever
    its type: without a direction the only honest footprint is the full circle.
    """

    bullet_fov_deg: float = 60.0
    bullet_range_m: float = 60.0
    dome_fov_deg: float = 360.0
    dome_range_m: float = 30.0
    ptz_fov_deg: float = 360.0
    ptz_range_m: float = 100.0
    other_fov_deg: float = 90.0
    other_range_m: float = 50.0

    def __post_init__(self) -> None:
        for kind in CAMERA_TYPES:
            fov = self.fov_deg(kind)
            rng = self.range_m(kind)
            if not (np.isfinite(fov) and 0.0 < fov <= 360.0):
                raise ValueError(f"CameraDefaults: {kind}_fov_deg is {fov}; use 0 < fov <= 360.")
            if not (np.isfinite(rng) and rng > 0.0):
                raise ValueError(f"CameraDefaults: {kind}_range_m is {rng}; use a positive number.")

    def fov_deg(self, kind: str) -> float:
        """Default field of view in degrees for one camera type (``bullet``, ``dome``, ...)."""
        return float(getattr(self, f"{_known(kind)}_fov_deg"))

    def range_m(self, kind: str) -> float:
        """Default useful range in metres for one camera type."""
        return float(getattr(self, f"{_known(kind)}_range_m"))

    def fov_for(self, kinds: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised :meth:`fov_deg` over an array of type names (unknown names -> ``other``)."""
        return self._lookup(kinds, self.fov_deg)

    def range_for(self, kinds: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised :meth:`range_m` over an array of type names (unknown names -> ``other``)."""
        return self._lookup(kinds, self.range_m)

    @staticmethod
    def _lookup(kinds: npt.ArrayLike, get: Callable[[str], float]) -> npt.NDArray[np.float64]:
        arr = np.asarray(kinds, dtype=object)
        out = np.empty(arr.shape, dtype=np.float64)
        known = np.zeros(arr.shape, dtype=bool)
        for kind in CAMERA_TYPES:
            mask = arr == kind
            out[mask] = get(kind)
            known |= mask
        out[~known] = get("other")
        return out


def _known(kind: str) -> str:
    return kind if kind in CAMERA_TYPES else "other"
