"""The house's one-way flow, checked on the source: a lower layer never imports
a higher one."""

from __future__ import annotations

import ast
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
