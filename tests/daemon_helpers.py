"""Old name of ``helpers.daemon``: kept for the files still being moved;
remove once none imports it."""

from helpers.daemon import *  # noqa: F403
