"""The house's one-way flow, checked on the source: a lower layer never imports
a higher one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported(package: str) -> dict[str, set[str]]:
    """Every module each file of ``package`` imports (top level and inside
    functions); relative imports are made absolute (``from .. import x`` in
    pacer/engine/core.py is ``pacer``)."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    assert node.module is not None
                    names.add(node.module)
                else:
                    base = parts[: len(parts) - node.level]
                    names.add(".".join([*base, *([node.module] if node.module else [])]))
        out[str(path.relative_to(ROOT))] = names
    return out


def outside(found: dict[str, set[str]], allowed: tuple[str, ...]) -> dict[str, list[str]]:
    """What each file imports of pacer that is not one of ``allowed`` or inside it."""

    def ok(module: str) -> bool:
        return any(module == a or module.startswith(a + ".") for a in allowed)

    return {f: bad for f, mods in found.items()
            if (bad := sorted(m for m in mods
                              if (m == "pacer" or m.startswith("pacer.")) and not ok(m)))}


def test_devices_knows_nothing_of_pacer() -> None:
    found = {f: sorted(m for m in mods if m == "pacer" or m.startswith("pacer."))
             for f, mods in imported("devices").items()}
    assert {f: m for f, m in found.items() if m} == {}


def test_shipped_packages_import_no_test_helpers() -> None:
    """Test-only helpers live in tests/helpers/, which does not ship: a shipped
    module that imported them would fail once installed."""
    found = {f: sorted(m for m in mods if m == "helpers" or m.startswith("helpers."))
             for package in ("pacer", "devices") for f, mods in imported(package).items()}
    assert {f: m for f, m in found.items() if m} == {}


def test_engine_knows_only_itself_the_timebase_and_the_errors() -> None:
    """The engine stands alone: rules, settings checks and their wording are its
    own (pacer/engine/rules.py, settings.py, describe.py); the config loader, the
    command parser, the daemon and everything else build on it, never the other
    way round."""
    found = imported("pacer/engine")
    assert found, "no engine modules found"
    assert outside(found, ("pacer.engine", "pacer.timebase", "pacer.errors")) == {}


def test_outside_sees_relative_and_bare_imports() -> None:
    found = {"pacer/engine/x.py": {"pacer", "pacer.config", "pacer.engine.model",
                                   "pacer.timebase", "pacer.errors", "pacer.engineer",
                                   "pydantic"}}
    assert outside(found, ("pacer.engine", "pacer.timebase", "pacer.errors")) == {
        "pacer/engine/x.py": ["pacer", "pacer.config", "pacer.engineer"]}


# --- the wire contract -----------------------------------------------------------------

# A topic in a string: a level of a person's tree next to a slash (``cmd/``,
# ``/reply``, ``summary/day``), a shared subscription, Home Assistant's prefix;
# in an f-string, a piece that goes on from ``{prefix}/{user}`` (``/state``).
TOPIC_TEXT = re.compile(r"(^|/)(cmd|summary|reply)/|/(cmd|reply)$|\$share/|^homeassistant/")
TOPIC_PIECE = re.compile(r"^/(prompt|state|summary|alert|event|status|cmd|reply)\b|^/[#+](/|$)")
# Besides pacer/contract: the engine's stored state keeps each day of the week
# as its v1 daily summary (state version 3). The clinic's test senders, which
# make other daemons' messages by hand (older versions included), are test
# helpers in tests/helpers/, outside the shipped packages this walks.
WIRE_ALLOWED = ("pacer/contract/",)
VERSION_ALLOWED = {"pacer/engine/weekly.py": "STORED_DAY_HEAD"}


def wire_text(source: str) -> list[tuple[int, str]]:
    """(line, what) of each payload version key (a dict key ``"v"``) and each
    topic written in ``source``; prose (docstrings, bare strings) is not code."""
    tree = ast.parse(source)
    prose = {id(n.value) for n in ast.walk(tree)
             if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    pieces = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found += [(k.lineno, '"v":') for k in node.keys
                      if isinstance(k, ast.Constant) and k.value == "v"]
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in prose
              and (TOPIC_TEXT.search(node.value)
                   or (id(node) in pieces and TOPIC_PIECE.search(node.value)))):
            found.append((node.lineno, node.value))
    return sorted(found)


def test_topics_and_payload_versions_are_written_in_the_contract_only() -> None:
    found: dict[str, list[tuple[int, str]]] = {}
    for path in sorted((ROOT / "pacer").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        if name.startswith(WIRE_ALLOWED):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        allowed = VERSION_ALLOWED.get(name)
        bad = [(line, what) for line, what in wire_text("\n".join(lines))
               if not (allowed and what == '"v":' and allowed in lines[line - 1])]
        if bad:
            found[name] = bad
    assert found == {}


def test_wire_text_finds_topics_and_versions_but_not_prose() -> None:
    source = '''
"""Publishes on pacer/<u>/cmd/<kind> and pacer/<u>/summary/day."""
body = {"v": 1, "type": "prompt"}
state = {"kind": "alert", "leaf": "status"}
a = f"{prefix}/{user}/cmd/{kind}"
b = f"{prefix}/+/reply/{name}"
c = f"{base}/state"
d = "summary/day"
e = f"$share/{group}/{f}"
f = f"{prefix}/{user}/#"
g = "homeassistant/status"
h = "see the help on https://example.org/state of things"
'''
    assert [line for line, _ in wire_text(source)] == [3, 5, 6, 7, 8, 9, 10, 11]
