"""Numbers as every surface writes them: thousands grouped with a comma
("3,379"). The prompts, the report and the clinic use this helper; the phone
app has its one twin, ``steps`` in pacer/app/web/src/dom.js."""

from __future__ import annotations


def grouped(value: float, digits: int = 0) -> str:
    """3379 -> '3,379'; 1234.56 with ``digits=1`` -> '1,234.6'."""
    return f"{value:,.{digits}f}"
