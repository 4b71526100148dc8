"""Numbers as every surface writes them: thousands grouped with a comma
("3,379"), a share as a whole percentage with no space ("71%"). The prompts,
the report and the clinic use these helpers; the phone app has its one twin,
``steps`` in pacer/app/web/src/dom.js."""

from __future__ import annotations


def grouped(value: float, digits: int = 0) -> str:
    """3379 -> '3,379'; 1234.56 with ``digits=1`` -> '1,234.6'."""
    return f"{value:,.{digits}f}"


def percent(share: float) -> str:
    """0.714 -> '71%'."""
    return f"{share:.0%}"
