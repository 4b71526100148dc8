"""The house's one-way flow, checked on the source: a lower layer never imports
a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported(package: str) -> dict[str, set[str]]:
    """Every module each file of ``package`` imports (top level and inside functions)."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def test_devices_knows_nothing_of_pacer() -> None:
    found = {f: sorted(m for m in mods if m == "pacer" or m.startswith("pacer."))
             for f, mods in imported("devices").items()}
    assert {f: m for f, m in found.items() if m} == {}
