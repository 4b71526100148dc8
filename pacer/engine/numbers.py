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


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """1, 'prompt' -> '1 prompt'; 2, 'summary', 'summaries' -> '2 summaries'."""
    return f"{grouped(n)} {noun if n == 1 else plural or noun + 's'}"
