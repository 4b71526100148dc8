"""A small static HTTP server for the built phone app.

It serves the files of one folder (nothing outside it), plus
``app-config.json``: the user id, the broker address to suggest, the rule
values the Today screen needs and the red-flag table the check-in asks from
(``pacer.engine.safety``, so the app and the engine ask and advise alike).
Every response carries a Content-Security-Policy that lets the page load only
its own files and open only WebSocket connections, so the app cannot send
anything anywhere but to a broker.
"""

from __future__ import annotations

import json
import logging
import ssl
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pacer.config import Config
from pacer.contract import payloads
from pacer.engine.safety import FLAGS

log = logging.getLogger(__name__)

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self' ws: wss:; manifest-src 'self'; worker-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


EMERGENCY_NUMBER = "999"
URGENT_SERVICE = "NHS 111 or an urgent GP appointment"


def safety_config(config: object | None) -> dict[str, Any]:
    """The red flags as the check-in asks them, in the engine's order (the
    emergency tier first), and where the advice sends the person: the config's
    ``[safety]`` numbers, or the defaults when it has none."""
    table = getattr(config, "safety", None)
    number = getattr(table, "emergency_number", None)
    service = getattr(table, "urgent_service", None)
    return {
        "emergency_number": str(number) if number else EMERGENCY_NUMBER,
        "urgent_service": str(service) if service else URGENT_SERVICE,
        "flags": [{"name": f.name, "tier": f.tier, "question": f.question, "words": f.words}
                  for f in FLAGS],
    }


def app_config(config: Config | None, broker_url: str | None) -> dict[str, Any]:
    """What ``/app-config.json`` says: no secrets, only what the screens need."""
    user: str | None = None
    rules: dict[str, Any] = {}
    if config is not None:
        user = config.mqtt.username or config.user.id
        rules = {
            "sitting_limit_min": config.sitting.limit_min,
            "walks_per_day": config.walks.per_day,
            "walk_min": config.walks.min_duration_min,
            "settle_hours": config.settle.hours,
            "amber_reduction": config.traffic.amber_reduction,
        }
    return payloads.app_config(user=user, broker_url=broker_url, rules=rules,
                               safety=safety_config(config))


class AppServer(ThreadingHTTPServer):
    """Serves ``root`` and the app config; threads are daemons."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], root: Path, config_json: dict[str, Any],
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.root = root.resolve()
        self.config_body = json.dumps(config_json).encode("utf-8")
        super().__init__(address, _Handler)
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        shown = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"{scheme}://{shown}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: AppServer
    server_version = "pacer-app"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, *, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/app-config.json":
            self._send(HTTPStatus.OK, "application/json", self.server.config_body, body)
            return
        file = self._file(path)
        if file is None:
            self._send(HTTPStatus.NOT_FOUND, TYPES[".txt"], b"not found\n", body)
            return
        kind = TYPES.get(file.suffix, "application/octet-stream")
        self._send(HTTPStatus.OK, kind, file.read_bytes(), body)

    def _file(self, path: str) -> Path | None:
        """The file under the root that ``path`` names, or None (never outside it)."""
        rel = path.lstrip("/") or "index.html"
        if "\x00" in rel or "\\" in rel:
            return None
        candidate = (self.server.root / rel).resolve()
        if not candidate.is_relative_to(self.server.root) or not candidate.is_file():
            return None
        return candidate

    def _send(self, status: HTTPStatus, kind: str, data: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)
