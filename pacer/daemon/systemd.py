"""systemd integration: readiness, watchdog and status notifications
(sd_notify(3)), and log lines that journald shows well.

The notify protocol is one datagram to the socket named in $NOTIFY_SOCKET; a
few lines of our own rather than a dependency. Outside systemd every call is a
no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = env.get("NOTIFY_SOCKET") or None
        self._dropping = False  # notifications are being dropped (logged once)
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        own = not pid or pid == str(os.getpid())
        self.watchdog_s: float | None = int(usec) / 1e6 if usec.isdigit() and own else None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        address = self._address
        if address.startswith("@"):  # an abstract socket
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                # Never wait: the socket's queue is short (net.unix.max_dgram_qlen),
                # and a blocked send would stop the whole event loop, minutes and
                # SIGTERM included, for as long as systemd does not read.
                sock.setblocking(False)
                sock.connect(address)
                sock.send(message.encode())
        except BlockingIOError:
            if not self._dropping:
                log.warning("systemd is not reading notifications at %s; dropping them "
                            "until it does", self._address)
            self._dropping = True
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self._address, exc)
        else:
            if self._dropping:
                log.info("systemd reads notifications again")
            self._dropping = False

    def ready(self, status: str) -> None:
        self._send(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self._send(f"STATUS={status}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")


# syslog priorities: journald reads a leading "<N>" as the line's priority,
# so `journalctl -p warning` filters and errors show in red.
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
             logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """Lines for journald: a priority prefix and no time (journald adds it).
    Each line of a multi-line message (a traceback) gets the prefix."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def under_journald() -> bool:
    return bool(os.environ.get("JOURNAL_STREAM")) and not sys.stderr.isatty()


def log_formatter() -> logging.Formatter:
    """journald stamps every line itself: under it, leave the time out."""
    if under_journald():
        return JournalFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
