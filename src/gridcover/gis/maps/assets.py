"""The JS/CSS files a map needs, taken from installed packages (never from a CDN).

A gridcover map needs Leaflet and nothing else: layer control, scale bar, tooltips and
legend use Leaflet built-ins and our own small CSS (``legend.py``). Leaflet comes from the
PyPI package ``xstatic-leaflet`` (Leaflet 1.9.3, BSD-2-Clause; see docs/MAPS.md).

Two ways to put the assets in a page:

* **inline** (standalone files, opens from disk on an air-gapped PC): leaflet.js and
  leaflet.css are copied into ``<script>``/``<style>`` elements, the CSS images become
  ``data:`` URIs, the ``sourceMappingURL`` comment is dropped and every ``://`` in the
  JavaScript and CSS is written ``:\\/\\/`` (the same string for JavaScript and CSS, so
  behaviour is unchanged, but no absolute URL text remains in the HTML: the library holds
  only the SVG namespace name, its home page in comments and in the attribution prefix we
  replace, and a bug-tracker link in a CSS comment);
* **linked** under an ``asset_base`` URL (``/static/maps`` in the service, or a folder next to
  the HTML): ``<link>``/``<script src>`` to the files of :func:`asset_files`.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from gridcover.errors import GridcoverError

__all__ = [
    "ASSET_PACKAGES",
    "AssetPackage",
    "absolute_urls",
    "asset_files",
    "inline_head",
    "linked_head",
]


@dataclass(frozen=True)
class AssetPackage:
    """A PyPI package that ships static files: its module, licence and the files we use."""

    pypi: str
    module: str
    library: str
    licence: str
    js: tuple[str, ...]
    css: tuple[str, ...]
    extra: tuple[str, ...]


#: Every package whose files a map uses (one: Leaflet).
ASSET_PACKAGES: tuple[AssetPackage, ...] = (
    AssetPackage(
        pypi="xstatic-leaflet",
        module="xstatic.pkg.leaflet",
        library="Leaflet",
        licence="BSD-2-Clause",
        js=("leaflet.js",),
        css=("leaflet.css",),
        extra=(
            "leaflet.js.map",
            "images/layers.png",
            "images/layers-2x.png",
            "images/marker-icon.png",
            "images/marker-icon-2x.png",
            "images/marker-shadow.png",
        ),
    ),
)

_URL = re.compile(
    r"\b(?:https?|ftp|wss?)://[^\s\"'<>)]*|(?:src|href|url)\s*[=(]\s*[\"']?//[^\s\"'<>)]*",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"url\((['\"]?)(images/[^)'\"]+)\1\)")
_SOURCE_MAP = re.compile(r"^\s*//[#@] sourceMappingURL=.*$", re.MULTILINE)


class AssetMissing(GridcoverError, FileNotFoundError):
    """A map asset package is not installed or lacks a file."""


def _base_dir(pkg: AssetPackage) -> Path:
    try:
        mod = import_module(pkg.module)
    except ImportError as exc:
        raise AssetMissing(
            f"The map assets need the Python package '{pkg.pypi}', which is not installed; "
            f"run 'pip install {pkg.pypi}'."
        ) from exc
    return Path(mod.BASE_DIR)


def package_version(pkg: AssetPackage) -> str:
    """Installed version of ``pkg`` (PyPI distribution version)."""
    try:
        return version(pkg.pypi)
    except PackageNotFoundError:
        return "not installed"


def asset_files() -> dict[str, Path]:
    """Every local file a linked map may request: {relative URL path: installed file}.

    Serve each file at ``f"{asset_base}/{key}"`` (the CSS refers to ``images/...`` relative to
    itself). Raises :class:`AssetMissing` when a package or file is absent.
    """
    out: dict[str, Path] = {}
    for pkg in ASSET_PACKAGES:
        base = _base_dir(pkg)
        for rel in (*pkg.js, *pkg.css, *pkg.extra):
            path = base / rel
            if not path.is_file():
                raise AssetMissing(
                    f"{path}: file missing from the installed package '{pkg.pypi}'; "
                    f"reinstall it with 'pip install --force-reinstall {pkg.pypi}'."
                )
            out[rel] = path
    return out


def _escape_urls_js(text: str) -> str:
    # Inside a JS string, template or comment "\/" is "/": the value is unchanged. A raw "://"
    # cannot occur in a regex literal (it would end it), so the rewrite is safe everywhere.
    return text.replace("://", ":\\/\\/")


def _data_uri(path: Path) -> str:
    mime = "image/png" if path.suffix == ".png" else "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _script_safe(text: str) -> str:
    # a literal "</script" would close the element early
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


@cache
def inline_head() -> str:
    """``<style>`` + ``<script>`` elements holding every asset (no URL, no request)."""
    files = asset_files()
    parts: list[str] = []
    for pkg in ASSET_PACKAGES:
        for rel in pkg.css:
            css = files[rel].read_text(encoding="utf-8")
            base = files[rel].parent

            def repl(m: re.Match[str], base: Path = base) -> str:
                return f"url({_data_uri(base / m.group(2))})"

            css = _escape_urls_js(_CSS_URL.sub(repl, css))  # "\/" is "/" in CSS too
            parts.append(f'<style data-asset="{html.escape(pkg.pypi)}/{rel}">\n{css}\n</style>')
        for rel in pkg.js:
            js = _SOURCE_MAP.sub("", files[rel].read_text(encoding="utf-8"))
            js = _script_safe(_escape_urls_js(js))
            parts.append(f'<script data-asset="{html.escape(pkg.pypi)}/{rel}">\n{js}\n</script>')
    return "\n".join(parts)


def linked_head(asset_base: str) -> str:
    """``<link>``/``<script src>`` elements for the assets served under ``asset_base``.

    ``asset_base``: a URL path (``/static/maps``) or a relative folder (``map_assets``).
    """
    base = asset_base.rstrip("/")
    parts: list[str] = []
    for pkg in ASSET_PACKAGES:
        parts += [f'<link rel="stylesheet" href="{html.escape(f"{base}/{r}")}"/>' for r in pkg.css]
        parts += [f'<script src="{html.escape(f"{base}/{r}")}"></script>' for r in pkg.js]
    return "\n".join(parts)


def absolute_urls(text: str) -> list[str]:
    """Every absolute URL (http, https, ftp, ws, wss; protocol-relative ``//host`` in src, href
    or CSS url) written in ``text``, in order."""
    return _URL.findall(text)
