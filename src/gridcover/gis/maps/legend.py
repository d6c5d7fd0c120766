"""Legend, title/notes box and page fixes, written with Leaflet built-ins (L.control) and a
little of our own CSS: no plugin, no jQuery, no d3 (branca colormaps pull d3 from a CDN)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from branca.element import Element, MacroElement
from folium.template import Template

from gridcover.gis.maps.i18n import label

__all__ = ["CSS", "InfoBox", "Legend", "LegendEntry", "PagePatch"]

CSS = """
.gc-box { background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 "Noto Sans CJK SC", "Microsoft YaHei",
  "PingFang SC", "Helvetica Neue", Arial, sans-serif; color: #222; max-width: 320px; }
.gc-box h4 { margin: 0 0 4px; font-size: 13px; }
.gc-legend .gc-row { display: flex; align-items: center; margin: 2px 0; }
.gc-legend .gc-sw { width: 16px; height: 12px; margin-right: 6px; flex: none;
  border: 1px solid rgba(0,0,0,0.35); box-sizing: border-box; }
.gc-legend .gc-dot { border-radius: 50%; width: 11px; height: 11px; margin: 0 8px 0 2px; }
.gc-legend .gc-line { height: 0; border-width: 0 0 2px 0; border-style: solid; }
.gc-legend .gc-group { margin-top: 5px; font-weight: 600; }
.gc-info .gc-note { margin-top: 3px; color: #444; font-size: 11px; }
"""


class LegendEntry:
    """One legend row: ``kind`` 'fill', 'dot' or 'line', a colour and a text."""

    def __init__(self, kind: str, colour: str, text: str, border: str | None = None) -> None:
        self.kind, self.colour, self.text, self.border = kind, colour, text, border

    def html(self) -> str:
        colour = html.escape(self.colour)
        if self.kind == "line":
            sw = f'<span class="gc-sw gc-line" style="border-color:{colour}"></span>'
        else:
            extra = " gc-dot" if self.kind == "dot" else ""
            border = f";border-color:{html.escape(self.border)}" if self.border else ""
            sw = f'<span class="gc-sw{extra}" style="background:{colour}{border}"></span>'
        return f'<div class="gc-row">{sw}<span>{html.escape(self.text)}</span></div>'


def legend_html(groups: Sequence[tuple[str, Sequence[LegendEntry]]], lang: str) -> str:
    """The legend's inner HTML: a title, then per group its name and rows."""
    parts = [f"<h4>{html.escape(label('legend.title', lang))}</h4>"]
    for name, rows in groups:
        if not rows:
            continue
        parts.append(f'<div class="gc-group">{html.escape(name)}</div>')
        parts += [r.html() for r in rows]
    return "".join(parts)


_CONTROL = Template(
    """
    {% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
    {% macro script(this, kwargs) %}
    (function () {
      var ctl = L.control({position: {{ this.position|tojson }}});
      ctl.onAdd = function () {
        var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
        div.innerHTML = {{ this.inner|tojson }};
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      };
      ctl.addTo({{ this._parent.get_name() }});
    })();
    {% endmacro %}
    """
)


class Legend(MacroElement):
    """A legend box (Leaflet control) built from :class:`LegendEntry` groups."""

    _template = _CONTROL

    def __init__(
        self,
        groups: Sequence[tuple[str, Sequence[LegendEntry]]],
        lang: str,
        position: str = "bottomright",
    ) -> None:
        super().__init__()
        self._name = "GridcoverLegend"
        self.inner = legend_html(groups, lang)
        self.css = CSS
        self.css_class = "gc-box gc-legend"
        self.position = position


class InfoBox(MacroElement):
    """A title and notes box (Leaflet control): budget, aggregation, offsets, attribution."""

    _template = _CONTROL

    def __init__(self, title: str, notes: Sequence[str], position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "GridcoverInfo"
        body = "".join(f'<div class="gc-note">{html.escape(n)}</div>' for n in notes)
        self.inner = f"<h4>{html.escape(title)}</h4>{body}" if title else body
        self.css = ""
        self.css_class = "gc-box gc-info"
        self.position = position


class PagePatch(MacroElement):
    """Replace Leaflet's attribution prefix (a link to its web site) with plain text."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, prefix: str = "Leaflet") -> None:
        super().__init__()
        self._name = "GridcoverPagePatch"
        self.prefix = prefix


class AssetsHead(Element):
    """Leaflet's JS/CSS for the page head: inline, or linked under ``asset_base``.

    The mode is read at render time, so one map renders for a file or for the service.
    """

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridcoverAssets"
        self.asset_base: str | None = None

    def render(self, **kwargs: object) -> str:
        from gridcover.gis.maps.assets import inline_head, linked_head

        # an empty icon: browsers would otherwise ask the server (or disk) for /favicon.ico
        icon = '<link rel="icon" href="data:,"/>'
        body = inline_head() if self.asset_base is None else linked_head(self.asset_base)
        return f"{icon}\n{body}"


def js_string(text: str) -> str:
    """``text`` as a JavaScript string literal."""
    return json.dumps(text, ensure_ascii=False)
