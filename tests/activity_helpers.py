"""Old name of ``helpers.activity``: kept for the files still being moved;
remove once none imports it."""

from helpers.activity import *  # noqa: F403
