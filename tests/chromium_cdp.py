"""Headless Chromium driven over the DevTools protocol (CDP), network outside loopback blocked.

Not a test module; used by test_maps_chromium.py. ``open_page(url)`` launches Chromium with
every hostname resolving to nothing except 127.0.0.1 and all traffic sent to a dead proxy
(loopback bypasses it), loads ``url``, waits until a condition holds, and returns the console
errors, exceptions, every request URL, a screenshot and the values of JavaScript expressions.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--window-size=1280,900",
)


def chromium_path() -> str | None:
    """The Chromium binary (Debian 'chromium'), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What happened while a page was open."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    screenshot: bytes = b""


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``folder`` on 127.0.0.1 (free port); yields (base URL, paths requested)."""
    seen: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            seen.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


class _CDP:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            raw = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            data = json.loads(raw)
            if data.get("id") == self.next_id:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return dict(data.get("result", {}))
            if "method" in data:
                self.events.append(data)

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                raw = self.ws.recv(timeout=max(0.05, end - time.monotonic()))
            except TimeoutError:
                return
            data = json.loads(raw)
            if "method" in data:
                self.events.append(data)


def _devtools_url(profile: Path, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    port_file = profile / "DevToolsActivePort"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with code {proc.returncode}")
        if port_file.is_file():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


def open_page(
    url: str,
    *,
    ready: str,
    expressions: dict[str, str],
    wait_s: float = 30.0,
    settle_s: float = 1.0,
) -> PageReport:
    """Open ``url``, wait until the JS expression ``ready`` is true, evaluate ``expressions``."""
    binary = chromium_path()
    if binary is None:
        raise RuntimeError("chromium not found")
    profile = Path(tempfile.mkdtemp(prefix="gc-chromium-"))
    proc = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"},
    )
    report = PageReport()
    try:
        with connect(_devtools_url(profile, proc), max_size=None, open_timeout=20) as ws:
            _drive(_CDP(ws), url, ready, expressions, wait_s, settle_s, report)
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    return report


def _drive(
    cdp: _CDP,
    url: str,
    ready: str,
    expressions: dict[str, str],
    wait_s: float,
    settle_s: float,
    report: PageReport,
) -> None:
    target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Network", "Log"):
        cdp.call(f"{domain}.enable", session=sid)
    cdp.call("Page.navigate", {"url": url}, session=sid)
    end = time.monotonic() + wait_s
    ok = False
    while time.monotonic() < end:
        cdp.pump(0.3)
        res = cdp.call(
            "Runtime.evaluate", {"expression": ready, "returnByValue": True}, session=sid
        )
        if res.get("result", {}).get("value") is True:
            ok = True
            break
    cdp.pump(settle_s)
    report.values["__ready__"] = ok
    for name, expr in expressions.items():
        res = cdp.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=sid)
        report.values[name] = res.get("result", {}).get("value")
    shot = cdp.call("Page.captureScreenshot", {"format": "png"}, session=sid)
    report.screenshot = base64.b64decode(shot["data"])
    cdp.pump(0.2)
    for ev in cdp.events:
        m, p = ev["method"], ev.get("params", {})
        if m == "Network.requestWillBeSent":
            report.requests.append(p["request"]["url"])
        elif m == "Network.loadingFailed":
            report.failed.append(f"{p.get('errorText')} {p.get('blockedReason', '')}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            report.console_errors.append(
                " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", []))
            )
        elif m == "Runtime.exceptionThrown":
            report.exceptions.append(json.dumps(p.get("exceptionDetails", {}))[:500])
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            report.console_errors.append(
                f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"
            )
    with contextlib.suppress(Exception):
        cdp.call("Browser.close", timeout=5)
