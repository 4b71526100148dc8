"""What to install for an optional part of pacer, said in one place.

pacer's distribution is ``pacer-activity``: the name ``pacer`` on PyPI belongs
to an unrelated project, so ``pip install pacer`` would install a stranger's
code. The command and the import packages stay ``pacer`` (and ``devices``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pacer.errors import PacerError

DISTRIBUTION = "pacer-activity"
"""The name to give pip (pyproject.toml's ``[project] name``)."""

OWN_PACKAGES = frozenset(("pacer", "devices"))


class MissingExtraError(PacerError):
    """A command needs an optional extra that is not installed (exit 1)."""


def install_hint(extra: str) -> str:
    """The pip command that installs ``extra``, from PyPI or from a checkout."""
    return (f"pip install '{DISTRIBUTION}[{extra}]' (or, in a checkout of pacer: "
            f"pip install -e '.[{extra}]')")


@contextmanager
def needs_extra(extra: str, what: str) -> Iterator[None]:
    """Imports in the block that fail for a third-party module become
    ``MissingExtraError`` saying which extra ``what`` needs; a failing import of
    pacer's own modules is a bug and is raised as it is."""
    try:
        yield
    except ImportError as exc:
        top = (exc.name or "").partition(".")[0]
        if not top or top in OWN_PACKAGES:
            raise
        raise MissingExtraError(f"{what} needs the '{extra}' extra ({exc.name} is missing): "
                           f"{install_hint(extra)}") from None
