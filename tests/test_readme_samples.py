"""The README's samples are what the commands print (issue 21 item 8).

Every ```console block in README.md is a shell session: lines starting with
"$ " are commands, the lines after each are what it prints (stdout and
stderr together). The test runs each block with bash in an empty folder (with
the repository's config/ beside it), the commands one after another, and
compares every line. A `cat FILE` of a file that is not there writes the
sample's lines into it first: that is how a sample shows its input. In an
expected line, "[...]" stands for any text (a log line's time).

The Commands table is held to the command line too: every command
`pacer --help` lists, and every sub-command of one that has them, has its row.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
MARK = "@@readme-sample-{}@@"


@dataclass(frozen=True)
class Step:
    command: str
    output: tuple[str, ...]


def _blocks() -> list[tuple[Step, ...]]:
    text = README.read_text(encoding="utf-8")
    blocks = []
    for body in re.findall(r"^```console\n(.*?)^```$", text, flags=re.S | re.M):
        steps: list[Step] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:], ()))
            else:
                assert steps, f"a console block starts with output, not a command: {line!r}"
                steps[-1] = Step(steps[-1].command, (*steps[-1].output, line))
        blocks.append(tuple(steps))
    return blocks


BLOCKS = _blocks()


def _matches(expected: str, actual: str) -> bool:
    if "[...]" not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split("[...]"))
    return re.fullmatch(pattern, actual) is not None


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "COLUMNS": "80", "PYTHONUNBUFFERED": "1", "HOME": str(home), "NO_COLOR": "1"}


def _run(steps: tuple[Step, ...], where: Path) -> list[list[str]]:
    """Each step's output lines, from one bash session."""
    script = ["exec 2>&1"]
    for i, step in enumerate(steps):
        # the marker keeps the last command's exit status, for a sample's `echo $?`
        script.append(f"__rc=$?; printf '\\n{MARK.format(i)}\\n'; (exit $__rc)")
        script.append(step.command)
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=where, env=_env(where),
                          capture_output=True, text=True, timeout=120,
                          check=False)  # a sample may show a failing command
    out = done.stdout
    parts = []
    for i in range(len(steps)):
        _, _, out = out.partition(f"\n{MARK.format(i)}\n")
        end = out.find(f"\n{MARK.format(i + 1)}\n") if i + 1 < len(steps) else len(out)
        chunk = out[:end] if end >= 0 else out
        parts.append(chunk.splitlines())
    return parts


def test_the_readme_has_console_samples() -> None:
    commands = [s.command for block in BLOCKS for s in block]
    assert any(c.startswith("pacer check-config") for c in commands)
    assert any(c.startswith("pacer replay") for c in commands)


@pytest.mark.parametrize("steps", BLOCKS, ids=[b[-1].command[:40] for b in BLOCKS])
def test_a_readme_sample_prints_what_the_readme_shows(
        steps: tuple[Step, ...], tmp_path: Path) -> None:
    (tmp_path / "config").symlink_to(ROOT / "config")
    for step in steps:
        m = re.fullmatch(r"cat ([\w.-]+)", step.command)
        if m and not (tmp_path / m[1]).exists():
            (tmp_path / m[1]).write_text("\n".join(step.output) + "\n", encoding="utf-8")
    got = _run(steps, tmp_path)
    for step, lines in zip(steps, got, strict=True):
        shown = "\n".join(lines)
        assert len(lines) == len(step.output), f"$ {step.command}\n{shown}"
        for expected, actual in zip(step.output, lines, strict=True):
            assert _matches(expected, actual), f"$ {step.command}\n{shown}"


def _help(*command: str) -> str:
    done = subprocess.run([str(BIN / "pacer"), *command, "--help"], env=_env(ROOT),
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def _subcommands(help_text: str) -> list[str]:
    """The sub-commands argparse lists under its positional arguments."""
    listed = help_text.split("positional arguments:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^    (\S+)", listed, flags=re.M)


def test_the_commands_table_has_a_row_for_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n\n", 2)[1]
    cells = [line.split(" | ", 1)[0] for line in table.splitlines() if line.startswith("| `")]
    shown = " ".join(cells).replace("\\|", "|")
    commands = _subcommands(_help())
    assert len(commands) >= 15
    missing = []
    for command in commands:
        if f"`pacer {command}" not in shown:
            missing.append(command)
            continue
        usage = _help(command).split("\n\n", 1)[0]
        if not usage.rstrip().endswith("..."):
            continue  # no sub-commands
        for sub in _subcommands(_help(command)):
            said = re.search(rf"`pacer {command} (?:[\w-]+\|)*{re.escape(sub)}\b", shown)
            if said is None:
                missing.append(f"{command} {sub}")
    assert missing == []
