"""Old name of ``helpers.ops``: kept for the files still being moved;
remove once none imports it."""

from helpers.ops import *  # noqa: F403
