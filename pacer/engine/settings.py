"""Rule settings by name (``table.key``): checking a plan change's ``set`` and
applying it to the rules in force (interfaces.md section 6, docs/pacing-rules.md).

Each value is checked by the model of its rule table (pacer/engine/rules.py),
so the ranges live in one place. Checks that relate two settings of a table
(``walks.times`` against ``walks.per_day``, ``day.wake`` before ``day.sleep``)
depend on the rules in force, so they are made by ``apply_settings`` when the
change is applied; ``check_settings`` checks each value on its own, when the
command arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches
from functools import cache
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError

from pacer.engine.describe import describe, show_value
from pacer.engine.rules import RULE_TABLES, Rules, rule_keys
from pacer.errors import CommandRejected


@cache
def _table_models() -> dict[str, type[BaseModel]]:
    defaults = Rules()
    return {table: type(getattr(defaults, table)) for table in RULE_TABLES}


@cache
def _rule_keys() -> frozenset[str]:
    return frozenset(rule_keys())


def _unknown_setting(name: str) -> str:
    models = _table_models()
    table, dot, key = name.partition(".")
    msg = f"unknown setting {show_value(name)}"
    if not dot or not key:
        return f"{msg}; name a setting as table.key, e.g. sitting.limit_min"
    if table not in models:
        close = get_close_matches(table, list(models), n=1)
        hint = f"did you mean [{close[0]}]? " if close else ""
        return f"{msg}; {hint}the tables are: {', '.join(models)}"
    keys = list(models[table].model_fields)
    close = get_close_matches(key, keys, n=1)
    hint = f"did you mean {table}.{close[0]}? " if close else ""
    return f"{msg}; {hint}[{table}] has: {', '.join(keys)}"


PLAN_VALUES: dict[str, tuple[int, int]] = {"plan.quota": (100, 100_000)}
"""Plan values a physiotherapist may set that are not rule keys: the daily
step quota itself (whole steps, in this range)."""


def setting_range(name: str) -> tuple[int, int]:
    """The whole-number range a setting accepts, from its rule table (or
    ``PLAN_VALUES``): for forms that offer it, so no second copy drifts."""
    if name in PLAN_VALUES:
        return PLAN_VALUES[name]
    table, _, key = name.partition(".")
    field = _table_models()[table].model_fields[key]
    low = next(m.ge for m in field.metadata if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in field.metadata if isinstance(m, annotated_types.Le))
    if not isinstance(low, int) or not isinstance(high, int):
        raise TypeError(f"{name} is not a whole-number setting")
    return low, high


def _check_plan_values(settings: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, (low, high) in PLAN_VALUES.items():
        if name in settings:
            value = settings[name]
            if type(value) is not int or not low <= value <= high:
                problems.append(f"set: {name} must be a whole number from {low} to {high}, "
                                f"got {show_value(value)}")
    return problems


def _group(settings: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    tables: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name, value in settings.items():
        if name in PLAN_VALUES:
            continue  # not a rule: checked by _check_plan_values, applied by the engine
        if name in _rule_keys():
            table, _, key = name.partition(".")
            tables.setdefault(table, {})[key] = value
        else:
            problems.append(_unknown_setting(name))
    return tables, problems


def check_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check each setting's name and its value's type and range against the
    config model of its table; return the settings as given.

    Raises ``CommandRejected`` listing every bad setting."""
    tables, problems = _group(settings)
    problems += _check_plan_values(settings)
    models = _table_models()
    for table, values in tables.items():
        model = models[table]
        try:
            model.model_validate(values)
        except ValidationError as exc:
            seen = set()
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else None
                # errors without a key relate settings to each other; whether
                # they hold depends on the rules in force (apply_settings)
                if key in values and key not in seen:
                    seen.add(key)
                    accepts = describe(model.model_fields[key])
                    got = show_value(values[key])
                    problems.append(f"set: {table}.{key} must be {accepts}, got {got}")
    if problems:
        raise CommandRejected("; ".join(problems))
    return dict(settings)


def apply_settings(rules: Rules, settings: Mapping[str, Any]) -> Rules:
    """The rules with ``settings`` (``table.key`` -> value) applied, each table
    checked as a whole against the values in force, so a change that would make
    a table inconsistent (three walk times for two walks) is refused.

    Raises ``CommandRejected`` saying what is wrong; ``rules`` is unchanged."""
    tables, problems = _group(settings)
    if problems:
        raise CommandRejected("; ".join(problems))
    updated: dict[str, BaseModel] = {}
    for table, values in tables.items():
        current: BaseModel = getattr(rules, table)
        try:
            updated[table] = type(current).model_validate({**current.model_dump(), **values})
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join([table, *(str(p) for p in err["loc"])])
                msg = str(err["msg"]).removeprefix("Value error, ")
                problems.append(f"set: {where}: {msg}")
    if problems:
        raise CommandRejected("; ".join(problems))
    return rules.model_copy(update=updated)
