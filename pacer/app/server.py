"""A small static HTTP server for the built phone app.

It serves the files of one folder (nothing outside it), plus
``app-config.json``: the user id, the broker address to suggest, the rule
values the Today screen needs and the red-flag table the check-in asks from
(``pacer.engine.safety``, so the app and the engine ask and advise alike).
Every response carries a Content-Security-Policy that lets the page load only
its own files and open only WebSocket connections, so the app cannot send
anything anywhere but to a broker; over https it also carries
Strict-Transport-Security.

It is built to face a network it does not trust:

- at most ``max_connections`` connections are served at once (one thread
  each); one more is answered 503 and closed straight away (over https: closed);
- a connection that sends nothing for ``timeout`` seconds is closed, and the
  TLS handshake happens in the connection's own thread, so a client that says
  nothing holds up nobody else;
- only the build's own files are served: those under the folder when the
  server started (or when the build stamp last changed), with a type the app
  uses, never a dotfile, anything in a dot-folder or a symbolic link;
- a request line longer than ``MAX_REQUEST_LINE`` bytes is answered 414.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pacer.app.bundle import STAMP
from pacer.config import Config
from pacer.contract import payloads
from pacer.contract.topics import DEFAULT_PREFIX, app_topics
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


HSTS = "max-age=31536000"
"""Strict-Transport-Security over https: a year, this host only."""

MAX_CONNECTIONS = 32
"""Connections served at once (a thread each); a phone or two needs a few."""

IDLE_TIMEOUT = 15.0
"""Seconds a connection may send nothing (per read) before it is closed."""

MAX_REQUEST_LINE = 8 * 1024
"""The longest request line answered; our paths are a few dozen bytes."""

_BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Content-Length: 5\r\nRetry-After: 5\r\nConnection: close\r\n\r\nbusy\n")


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
    prefix = DEFAULT_PREFIX
    if config is not None:
        user = config.mqtt.username or config.user.id
        prefix = config.mqtt.topic_prefix
        rules = {
            "sitting_limit_min": config.sitting.limit_min,
            "walks_per_day": config.walks.per_day,
            "walk_min": config.walks.min_duration_min,
            "settle_hours": config.settle.hours,
            "amber_reduction": config.traffic.amber_reduction,
        }
    return payloads.app_config(user=user, broker_url=broker_url, rules=rules,
                               safety=safety_config(config), topics=app_topics(prefix))


def build_files(root: Path) -> frozenset[str]:
    """The app's files under ``root``, as paths relative to it: regular files
    with a type the app uses (``TYPES``), no dotfile, nothing in a dot-folder,
    no symbolic link."""
    found: set[str] = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        here = Path(folder)
        for name in files:
            path = here / name
            if (name.startswith(".") or Path(name).suffix not in TYPES or path.is_symlink()
                    or not path.is_file()):
                continue
            found.add(path.relative_to(root).as_posix())
    return frozenset(found)


class AppServer(ThreadingHTTPServer):
    """Serves ``root`` and the app config; threads are daemons, at most
    ``max_connections`` at once, each closed after ``timeout`` idle seconds."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], root: Path, config_json: dict[str, Any],
                 ssl_context: ssl.SSLContext | None = None, *,
                 max_connections: int = MAX_CONNECTIONS,
                 timeout: float = IDLE_TIMEOUT) -> None:
        self.root = root.resolve()
        self.config_body = json.dumps(config_json).encode("utf-8")
        self.idle_timeout = timeout
        self.tls = ssl_context is not None
        self.busy = 0
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._files = frozenset[str]()
        self._refresh()
        super().__init__(address, _Handler)
        if ssl_context is not None:
            # the handshake is made in the connection's thread, under its timeout
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True,
                                                  do_handshake_on_connect=False)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if self.tls else "http"
        shown = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"{scheme}://{shown}:{port}/"

    # --- the build's files ---

    def _refresh(self) -> None:
        """Read the folder again if the build stamp changed (a new build)."""
        try:
            stamp: int | None = (self.root / STAMP).stat().st_mtime_ns
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp or stamp is None:
                self._files = build_files(self.root)
                self._stamp = stamp

    def is_app_file(self, rel: str) -> bool:
        self._refresh()
        return rel in self._files

    # --- connections ---

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request, client_address)
            return
        with self._lock:
            self.busy += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done()

    def _done(self) -> None:
        with self._lock:
            self.busy -= 1
        self._slots.release()

    def _refuse(self, request: socket.socket, client_address: Any) -> None:
        log.debug("app server: %s refused, %d connections already served", client_address,
                  self.busy)
        if not self.tls:  # over TLS there is no handshake yet to answer within
            try:
                request.setblocking(False)
                request.send(_BUSY)
            except OSError:
                pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line, no traceback: a client that goes away is not news."""
        exc = sys.exc_info()[1]
        log.info("app server: connection from %s ended: %s", client_address,
                 f"{type(exc).__name__}: {exc}" if exc else "an error")


class _Handler(BaseHTTPRequestHandler):
    server: AppServer
    server_version = "pacer-app"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)
        self._ok = True
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ValueError) as exc:  # timed out, not TLS, went away
                log.debug("app server: no TLS handshake with %s (%s)", self.client_address,
                          exc)
                self._ok = False

    def handle(self) -> None:
        if self._ok:
            super().handle()

    def parse_request(self) -> bool:
        line: bytes = getattr(self, "raw_requestline", b"")
        if len(line) > MAX_REQUEST_LINE:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG,
                            f"the request line is longer than {MAX_REQUEST_LINE} bytes")
            return False
        return super().parse_request()

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
        try:
            data = file.read_bytes()
        except OSError:  # removed since (a rebuild under way)
            self._send(HTTPStatus.NOT_FOUND, TYPES[".txt"], b"not found\n", body)
            return
        self._send(HTTPStatus.OK, TYPES[file.suffix], data, body)

    def _file(self, path: str) -> Path | None:
        """The build's file that ``path`` names, or None (never outside the
        folder, never a dotfile or anything the build did not make)."""
        rel = path.lstrip("/") or "index.html"
        parts = rel.split("/")
        if "\x00" in rel or "\\" in rel or any(not p or p.startswith(".") for p in parts):
            return None
        if not self.server.is_app_file(rel):
            return None
        try:
            candidate = (self.server.root / rel).resolve()
            if (not candidate.is_relative_to(self.server.root) or candidate.is_symlink()
                    or not candidate.is_file()):
                return None
        except (OSError, ValueError):
            return None
        return candidate

    def _send(self, status: HTTPStatus, kind: str, data: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def end_headers(self) -> None:
        """Every answer's security headers, errors (414, 400) included."""
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if self.server.tls:
            self.send_header("Strict-Transport-Security", HSTS)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)
