"""Encode feature pages as GeoJSON bytes, fast: GEOS writes geometries, json the properties.

The response body is assembled from pre-encoded pieces, never built as one big dict, so a
1,000-feature page costs a few milliseconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import shapely
from fastapi.responses import Response

from gridcover.api.ogc_crs import OfferedCRS, from_storage
from gridcover.api.store import FeaturePage

GEOJSON = "application/geo+json"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _props(p: dict[str, Any]) -> str:
    try:
        return _dumps(p)
    except (ValueError, TypeError):
        return json.dumps(
            {k: _clean(v) for k, v in p.items()},
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )


def encode_features(page: FeaturePage, crs: OfferedCRS) -> list[str]:
    """Each feature of the page as a GeoJSON Feature string, coordinates in ``crs``."""
    geoms = from_storage(page.geometries, crs)
    texts = shapely.to_geojson(geoms)
    out = []
    for fid, geom, props in zip(page.ids, texts, page.properties, strict=True):
        g = "null" if geom is None else geom
        out.append(
            f'{{"type":"Feature","id":{_dumps(fid)},"geometry":{g},"properties":{_props(props)}}}'
        )
    return out


def feature_collection(
    page: FeaturePage,
    crs: OfferedCRS,
    links: Sequence[dict[str, str]],
    timestamp: str,
) -> bytes:
    """A FeatureCollection document with numberMatched, numberReturned, timeStamp and links."""
    feats = ",".join(encode_features(page, crs))
    head = (
        f'{{"type":"FeatureCollection","numberMatched":{page.number_matched},'
        f'"numberReturned":{len(page.ids)},"timeStamp":{_dumps(timestamp)},'
        f'"links":{_dumps(list(links))},"features":['
    )
    return (head + feats + "]}").encode("utf-8")


def single_feature(page: FeaturePage, crs: OfferedCRS, links: Sequence[dict[str, str]]) -> bytes:
    """One Feature document with its links (self, collection)."""
    text = encode_features(page, crs)[0]
    return (text[:-1] + f',"links":{_dumps(list(links))}}}').encode("utf-8")


def geojson_response(
    body: bytes, crs: OfferedCRS, headers: dict[str, str] | None = None
) -> Response:
    """A ``application/geo+json`` response with the ``Content-Crs`` header."""
    h = {"Content-Crs": f"<{crs.uri}>", **(headers or {})}
    return Response(content=body, media_type=GEOJSON, headers=h)
