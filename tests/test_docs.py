"""The documents say what the code does (issue 21 item 8): the rules document's
settings tables and prompt order against the engine's declarations, the
README's configuration table against the same, every relative link in the
README and docs/ against the files and headings it names, and every reference
to the rules document at the document in the repository."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Le
from pydantic.fields import FieldInfo

from pacer.engine.model import DELIVERY_ORDER
from pacer.engine.rules import RULE_TABLES, Rules

ROOT = Path(__file__).resolve().parent.parent
RULES_DOC = ROOT / "docs" / "pacing-rules.md"
README = ROOT / "README.md"


def _fields() -> dict[str, FieldInfo]:
    out = {}
    for table in RULE_TABLES:
        model = Rules.model_fields[table].annotation
        assert isinstance(model, type)
        for key, field in model.model_fields.items():
            out[f"{table}.{key}"] = field
    return out


def _shown(value: Any) -> str:
    """A default as the rules document writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == ():
        return "none"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, tuple) and all(isinstance(v, time) for v in value):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, tuple):
        return f"{len(value)} lines (below)"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _range(field: FieldInfo) -> str | None:
    low = [m.ge for m in field.metadata if isinstance(m, Ge)]
    high = [m.le for m in field.metadata if isinstance(m, Le)]
    if low and high:
        return f"{_shown(low[0])} to {_shown(high[0])}"
    if get_origin(field.annotation) is Literal:
        return ", ".join(get_args(field.annotation))
    return None


def _doc_rows() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in RULES_DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `(\w+\.\w+)` \| ([^|]*) \| ([^|]*) \|", line)
        if m:
            assert m[1] not in rows, f"{m[1]} has two rows"
            rows[m[1]] = (m[2].strip(), m[3].strip())
    return rows


def test_the_rules_document_lists_every_setting_with_the_codes_default_and_range() -> None:
    rows = _doc_rows()
    fields = _fields()
    assert sorted(rows) == sorted(fields)
    wrong = []
    for name, field in fields.items():
        default, allowed = rows[name]
        if default != _shown(field.default):
            wrong.append(f"{name}: default {default!r}, the code says {_shown(field.default)!r}")
        expected = _range(field)
        if expected is not None and not allowed.startswith(expected):
            wrong.append(f"{name}: allowed {allowed!r}, the code says {expected!r}")
    assert wrong == []


def test_the_rules_document_gives_the_prompt_order_the_engine_uses() -> None:
    text = RULES_DOC.read_text(encoding="utf-8")
    section = text.split("## 10. Prompt kinds", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"`(\w+)`", section.split("A client shows", 1)[0])
    assert tuple(listed) == DELIVERY_ORDER


def test_the_readme_configuration_table_says_what_the_code_does() -> None:
    """Rows like "| `[sitting]` | `limit_min` 40 (10..120), ..." of one rule table."""
    fields = _fields()
    checked = 0
    for line in README.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `\[(\w+)\]` \| (.*) \|$", line)
        if not m or m[1] not in RULE_TABLES:
            continue
        for key, value, low, high in re.findall(
                r"`(\w+)` ([0-9:.]+)(?: \(([0-9.]+)\.\.([0-9.]+)\))?", m[2]):
            field = fields[f"{m[1]}.{key}"]
            assert value == _shown(field.default), f"{m[1]}.{key}"
            if low:
                assert f"{low} to {high}" == _range(field), f"{m[1]}.{key}"
            checked += 1
    assert checked >= 10


def _slug(heading: str) -> str:
    """A Markdown heading's anchor as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_every_relative_link_in_the_readme_and_docs_leads_somewhere() -> None:
    broken = []
    checked = 0
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            checked += 1
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.name}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
                broken.append(f"{doc.name}: {target} (no such heading)")
    assert broken == []
    assert checked >= 20  # the README's screenshots and sections, the docs' links


def test_a_reader_sent_to_the_rules_document_finds_it() -> None:
    """Code, config and docs name it by its path in the repository."""
    assert RULES_DOC.is_file()
    stray = []
    places = [README, ROOT / "docs", ROOT / "config", ROOT / "pacer", ROOT / "devices"]
    for place in places:
        files = [place] if place.is_file() else sorted(
            p for p in place.rglob("*") if p.is_file() and p.suffix in {
                ".py", ".md", ".toml", ".js", ".j2", ".html", ".css"}
            and "node_modules" not in p.parts and "dist" not in p.parts)
        for file in files:
            for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                for m in re.finditer(r"[\w./-]*pacing-rules\.md", line):
                    if m[0] not in ("docs/pacing-rules.md", "pacing-rules.md") or (
                            m[0] == "pacing-rules.md" and file.parent != ROOT / "docs"):
                        stray.append(f"{file.relative_to(ROOT)}:{n}: {m[0]}")
    assert stray == []
