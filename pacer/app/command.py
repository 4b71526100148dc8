"""``pacer app``: serve the phone app until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import ssl
import sys
import threading
from pathlib import Path
from types import FrameType

from pacer.app import bundle
from pacer.app.server import AppServer, app_config
from pacer.config import Config, load_config
from pacer.errors import BadInput, PacerError

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("/etc/pacer/pacer.toml")


def _config(path: Path | None) -> Config | None:
    if path is not None:
        return load_config(path)
    if DEFAULT_CONFIG.is_file():
        return load_config(DEFAULT_CONFIG)
    return None


def _tls(certfile: Path | None, keyfile: Path | None) -> ssl.SSLContext | None:
    if certfile is None and keyfile is None:
        return None
    if certfile is None:
        raise BadInput("--keyfile needs --certfile")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise BadInput(f"{certfile}: cannot load the certificate and key ({exc})") from None
    return context


def app_main(*, config_path: Path | None, host: str, port: int, broker_url: str | None,
             certfile: Path | None = None, keyfile: Path | None = None,
             dist: Path | None = None) -> int:
    """Serve the built app (``dist``, default web/dist) at host:port; 0 after
    SIGTERM or Ctrl-C."""
    dist = dist or bundle.DIST_DIR
    try:
        bundle.check_bundle(dist)
    except bundle.AppNotBuiltError:
        if (bundle.WEB_DIR / "package.json").is_file():
            raise  # a checkout: its advice to build the app holds
        # An installed pacer has no app sources to build: its wheel was made without them.
        raise bundle.AppNotBuiltError(
            f"this pacer was installed without the phone app's built files ({dist} is "
            "missing): in a checkout of pacer, build the app (cd pacer/app/web && npm ci && "
            "npm run build) before building the wheel, and install that wheel") from None
    if bundle.is_stale(dist):
        log.warning("the phone app's sources changed since it was built; %s",
                    bundle.build_advice(dist.parent))
    config = _config(config_path)
    try:
        server = AppServer((host, port), dist, app_config(config, broker_url),
                           _tls(certfile, keyfile))
    except OSError as exc:
        raise PacerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    print(f"pacer app: serving the phone app at {server.url} (Ctrl-C to stop)", flush=True)
    if not server.url.startswith("https") and host not in ("127.0.0.1", "localhost", "::1"):
        print("pacer app: a phone needs https (--certfile/--keyfile, or a reverse proxy) to "
              "install the app and show notifications", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
