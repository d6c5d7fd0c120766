"""A GeoJSON overlay for folium that needs nothing but Leaflet.

Colours come from each feature's ``_c`` property, tooltips from a fixed list of properties
(escaped in JavaScript), points are drawn as ``L.circleMarker`` (SVG paths, no icon images).
The data sits in its own ``var <name>_data = {...};`` line so tools and tests can read it.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
from folium.map import Layer
from folium.template import Template

from gridcover.gis.maps.budget import round_coordinates

__all__ = ["GeoJsonOverlay", "feature_collection"]


def feature_collection(frame: gpd.GeoDataFrame, fields: tuple[str, ...]) -> dict[str, Any]:
    """GeoJSON FeatureCollection of ``frame`` (EPSG:4326) with only ``fields`` and ``_c``,
    coordinates rounded to 1e-6 degree; empty geometries dropped."""
    geoms = round_coordinates(np.asarray(frame.geometry.values))
    keep = [c for c in (*fields, "_c") if c in frame.columns]
    records = frame[keep].to_dict(orient="records")
    features = []
    for i, (g, props) in enumerate(zip(geoms, records, strict=True)):
        if g is None or g.is_empty:
            continue
        clean = {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in props.items()
        }
        features.append(
            {"type": "Feature", "id": i, "properties": clean, "geometry": g.__geo_interface__}
        )
    return {"type": "FeatureCollection", "features": features}


class GeoJsonOverlay(Layer):
    """One overlay layer (shown in the layer control) drawn from a FeatureCollection."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }}_data = {{ this.data|tojson }};
        var {{ this.get_name() }} = (function () {
          var base = {{ this.style|tojson }};
          var fields = {{ this.fields|tojson }};
          var aliases = {{ this.aliases|tojson }};
          function esc(v) {
            return String(v).replace(/[&<>"']/g, function (ch) {
              return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[ch];
            });
          }
          function tip(p) {
            var rows = [];
            for (var i = 0; i < fields.length; i++) {
              var v = p[fields[i]];
              if (v === null || v === undefined || v === "") { continue; }
              rows.push("<tr><th style='text-align:left;padding-right:6px'>" + esc(aliases[i]) +
                        "</th><td>" + esc(v) + "</td></tr>");
            }
            return "<table>" + rows.join("") + "</table>";
          }
          return L.geoJSON({{ this.get_name() }}_data, {
            style: function (f) {
              var s = Object.assign({}, base);
              s.fillColor = f.properties._c;
              if (!("color" in base)) { s.color = f.properties._c; }
              return s;
            },
            pointToLayer: function (f, latlng) {
              return L.circleMarker(latlng, {radius: {{ this.radius|tojson }}});
            },
            onEachFeature: function (f, layer) {
              if (fields.length) { layer.bindTooltip(tip(f.properties), {sticky: true}); }
            }
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict[str, Any],
        *,
        name: str,
        fields: tuple[str, ...],
        aliases: tuple[str, ...],
        style: dict[str, Any],
        radius: float = 5.0,
        show: bool = True,
        key: str = "",
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GridcoverGeoJson"
        self.data = data
        self.fields = list(fields)
        self.aliases = list(aliases)
        self.style = dict(style)
        self.radius = float(radius)
        self.key = key

    @property
    def n_features(self) -> int:
        return len(self.data["features"])

    def json_size(self) -> int:
        """Bytes of the embedded GeoJSON."""
        return len(json.dumps(self.data, ensure_ascii=False).encode("utf-8"))
