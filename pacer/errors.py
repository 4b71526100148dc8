"""pacer's own exception types.

Library errors are translated into these where they enter, with a message that
tells the operator what to do. The CLI maps them to exit codes: ``BadInput`` and
its subclasses exit 2, every other ``PacerError`` exits 1.
"""

from __future__ import annotations

from collections.abc import Sequence


class PacerError(Exception):
    """Base of every error pacer raises on purpose."""


class BadInput(PacerError):  # noqa: N818 - the name says what the operator gave us
    """Input from the operator (config, arguments, files) is not valid."""


class ConfigError(BadInput):
    """A config file has one or more problems, each already formatted as
    ``file:table.key: message``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class InputFileError(BadInput):
    """A data file (minutes CSV, events JSONL, raw CSV) has a bad line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class CommandRejected(BadInput):
    """A command (ack, symptom, dnd, plan) is malformed or not allowed.

    The message is written for a person: it is sent back in the reply."""


class BrokerUnavailable(PacerError):  # noqa: N818
    """The MQTT broker cannot be reached or refused us."""


class StoreError(PacerError):
    """The SQLite store cannot be opened or written."""


class StoreFolderMissing(BadInput):
    """The store's path names a folder that does not exist: a mistyped path in
    the config or on the command line, which no restart can fix (exit 2)."""
