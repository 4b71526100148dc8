"""Old name of ``helpers.engine``: kept for the files still being moved;
remove once none imports it."""

from helpers.engine import *  # noqa: F403
