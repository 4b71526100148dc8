"""Every surface writes a number the same way: 3,379, thousands grouped with a
comma (issue 21 item 9: the clinic wrote 1 650 where the report and the app
wrote 3,379), and a share as "71%" (the clinic wrote "71 %"). The phone app's
twin is checked in its browser test (3,120)."""

from __future__ import annotations

import pytest
from helpers import REPO

from pacer.clinic.web import _environment
from pacer.engine.numbers import counted, grouped, percent
from pacer.engine.rules import SafetyRules
from pacer.engine.texts import wording
from pacer.report.html import num, pct

ROOT = REPO


@pytest.mark.parametrize(("value", "digits", "shown"), [
    (0, 0, "0"), (999, 0, "999"), (1650, 0, "1,650"), (3379, 0, "3,379"),
    (1_234_567, 0, "1,234,567"), (-4200, 0, "-4,200"), (1234.56, 1, "1,234.6"),
    (3379.6, 0, "3,380"),
])
def test_grouped_puts_a_comma_between_thousands(value: float, digits: int, shown: str) -> None:
    assert grouped(value, digits) == shown


def test_counted_says_one_thing_and_many_things() -> None:
    assert counted(1, "prompt") == "1 prompt"
    assert counted(0, "prompt") == "0 prompts"
    assert counted(2, "summary", "summaries") == "2 summaries"
    assert counted(1440, "minute") == "1,440 minutes"


def test_percent_is_a_whole_number_and_the_sign() -> None:
    assert [percent(s) for s in (0, 0.714, 1)] == ["0%", "71%", "100%"]


def test_the_report_and_the_prompts_write_it_alike() -> None:
    assert num(1650) == "1,650"
    assert num(3379.4) == "3,379"
    assert pct(0.714) == "71%"
    text = wording("ceiling_reached", {"steps": 13379, "ceiling": 11650},
                   SafetyRules()).text
    assert "13,379 steps" in text
    assert "(11,650)" in text


def test_the_clinic_writes_it_alike() -> None:
    num_filter = _environment().filters["num"]
    assert num_filter(1650) == "1,650"
    assert num_filter(123_456) == "123,456"
    assert num_filter(None) == "–"
    assert _environment().filters["pct"](0.714) == "71%"


def test_no_surface_formats_thousands_its_own_way() -> None:
    """The web surfaces go through the one helper per side: no other grouping
    (a space, a locale) creeps back into the clinic, the report or the app."""
    python = [ROOT / "pacer" / "clinic", ROOT / "pacer" / "report"]
    own_ways = ('replace(",", " ")', ":,}", ":,.", "StrMethodFormatter", "locale.", ":.0%}",
                '} %"')
    found = [f"{p.relative_to(ROOT)}: {w}" for d in python for p in sorted(d.rglob("*.py"))
             for w in own_ways if w in p.read_text(encoding="utf-8")]
    app = ROOT / "pacer" / "app" / "web" / "src"
    for p in sorted(app.glob("*.js")):
        text = p.read_text(encoding="utf-8")
        for w in ("toLocaleString", "Intl.NumberFormat"):
            if w in text and p.name != "dom.js":
                found.append(f"{p.relative_to(ROOT)}: {w}")
    assert found == []
