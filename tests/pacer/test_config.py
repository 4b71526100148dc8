"""Loading and checking the config file (interfaces.md section 2): the example
config, every kind of problem reported as ``file:table.key: message``, paths,
and secrets."""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path

import pytest
from helpers import REPO
from pydantic import BaseModel

from pacer.config import (
    PASSWORD_ENV,
    RULE_TABLES,
    BleDevice,
    Config,
    ReplayDevice,
    StorageConfig,
    load_config,
)
from pacer.errors import BadInput, ConfigError

EXAMPLE = REPO / "config" / "pacer.example.toml"


def write(tmp_path: Path, text: str, name: str = "pacer.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == "\n".join(info.value.problems)
    for line in info.value.problems:
        assert line.startswith(f"{path}:")
    return [line.removeprefix(f"{path}:") for line in info.value.problems]


# --- the example config ---------------------------------------------------------------


def test_example_loads_to_the_defaults() -> None:
    config = load_config(EXAMPLE)
    # the one path it names is resolved against the example's own folder
    assert config == Config(storage=StorageConfig(path=EXAMPLE.parent / "pacer.sqlite3"))
    assert config.rules == Config().rules


def test_example_names_every_key() -> None:
    """Every table and key of the config model appears in the example, set or
    commented out, so the example documents all of them."""
    text = EXAMPLE.read_text(encoding="utf-8")
    raw = tomllib.loads(text)

    def mentioned(table: str, key: str) -> bool:
        return key in raw.get(table, {}) or re.search(rf"^# {key} = ", text, re.M) is not None

    for table, field in Config.model_fields.items():
        if table == "devices":
            continue
        model = field.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        assert table in raw, table
        for key in model.model_fields:
            assert mentioned(table, key), f"{table}.{key}"
    # every rule key carries its default; a key with no value by default (None,
    # which TOML cannot write, or an empty day.weekdays) is shown commented out
    for table in RULE_TABLES:
        fields = type(getattr(Config(), table)).model_fields
        unset = {key for key, info in fields.items() if info.default in (None, ())}
        assert set(raw[table]) == set(fields) - unset, table
        for key in unset:
            assert re.search(rf"^# {key} = ", text, re.M), f"{table}.{key}"
    for device in (ReplayDevice, BleDevice):
        for key in device.model_fields:
            assert re.search(rf"^# {key} = ", text, re.M), f"devices.{key}"


def test_example_commented_options_are_valid(tmp_path: Path) -> None:
    # uncomment every commented-out key and device: the result still loads
    lines = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        option = re.match(r"^# (\[\[devices\]\]|[a-z_]+ = )", line)
        lines.append(line.removeprefix("# ") if option else line)
    config = load_config(write(tmp_path, "\n".join(lines) + "\n"))
    kinds = [d.kind for d in config.devices]
    assert "replay" in kinds
    assert {"infinitime", "rsc"} <= set(kinds)
    replay = next(d for d in config.devices if isinstance(d, ReplayDevice))
    assert replay.path == tmp_path / "minutes.csv"
    assert config.mqtt.username == "alice"
    assert config.mqtt.password_file == tmp_path / "mqtt-password.txt"
    assert config.mqtt.client_cert is not None
    assert config.mqtt.client_key is not None


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")) == Config()


# --- problems, one line each --------------------------------------------------------


def test_misspelt_key_is_named(tmp_path: Path) -> None:
    assert problems(tmp_path, "[sitting]\nlimt_min = 30\n") == [
        "sitting.limt_min: unknown key (check the spelling; see config/pacer.example.toml)"
    ]


def test_unknown_table(tmp_path: Path) -> None:
    assert problems(tmp_path, "[siting]\nlimit_min = 30\n")[0].startswith("siting: unknown key")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sitting]\nlimit_min = 9\n",
         "sitting.limit_min: must be a whole number from 10 to 120, got 9"),
        ("[sitting]\nlimit_min = 121\n",
         "sitting.limit_min: must be a whole number from 10 to 120, got 121"),
        ("[sitting]\nmax_repeats = 11\n",
         "sitting.max_repeats: must be a whole number from 0 to 10, got 11"),
        ("[plan]\nceiling = 3.5\n", "plan.ceiling: must be a number from 1 to 3, got 3.5"),
        ("[plan]\nceiling = 0.9\n", "plan.ceiling: must be a number from 1 to 3, got 0.9"),
        ("[boom]\nfactor = 1.04\n", "boom.factor: must be a number from 1.05 to 3, got 1.04"),
        ("[walks]\nmin_duration_min = 0\n",
         "walks.min_duration_min: must be a whole number from 1 to 60, got 0"),
        ("[walks]\nmin_duration_min = 61\n",
         "walks.min_duration_min: must be a whole number from 1 to 60, got 61"),
        ("[prompts]\nmax_per_day = 31\n",
         "prompts.max_per_day: must be a whole number from 1 to 30, got 31"),
        ("[day]\nwake_early_min = 361\n",
         "day.wake_early_min: must be a whole number from 0 to 360, got 361"),
        ("[wear]\nsilent_min = 20\n",
         "wear.silent_min: must be a whole number from 30 to 600, got 20"),
        ("[exercise]\nper_week = 15\n",
         "exercise.per_week: must be a whole number from 0 to 14, got 15"),
        ("[plan]\nweekly_increment = -0.1\n",
         "plan.weekly_increment: must be a number from 0 to 0.2, got -0.1"),
        ("[prompts]\nmax_per_hour = 0\n",
         "prompts.max_per_hour: must be a whole number from 1 to 20, got 0"),
        ("[settle]\nhours = 200\n", "settle.hours: must be a whole number from 24 to 168, got 200"),
        ("[day]\nmin_known_hours = 0.5\n",
         "day.min_known_hours: must be a number from 1 to 20, got 0.5"),
    ],
)
def test_out_of_range_says_the_allowed_range(tmp_path: Path, text: str, expected: str) -> None:
    (line,) = problems(tmp_path, text)
    assert line == expected


def test_range_edges_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[sitting]\nlimit_min = 10\nmax_repeats = 3\n"
                                         "[plan]\nceiling = 3\n[boom]\nfactor = 1.1\n"
                                         "[walks]\nmin_duration_min = 2\n"
                                         "[prompts]\nmax_per_day = 30\n"))
    assert config.sitting.limit_min == 10
    assert config.sitting.max_repeats == 3
    assert config.plan.ceiling == 3.0
    assert config.boom.factor == 1.1
    assert config.walks.min_duration_min == 2
    assert config.prompts.max_per_day == 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sitting]\nignored_streak = 1\n",
         "sitting: ignored_streak must be 0 (off) or 2 to 10"),
        ('[sitting]\nbreak_advice = "custom"\n',
         'sitting: break_advice "custom" needs break_text: the physiotherapist\'s own words '
         "for a break (at most 200 characters)"),
        ("[sitting]\nlimit_min = 45\nlimit_target_min = 30\n",
         "sitting: limit_target_min must not be below limit_min"),
        ("[plan]\nceiling_of_usual = 0.5\n",
         "plan: ceiling_of_usual must be 0 (off) or 1.0 to 2.0"),
        ('[day]\nweekdays = { sat = { wake = "23:00" } }\n',
         "day: wake must come before sleep within the day that begins at day.start (on sat)"),
    ],
)
def test_v2_keys_that_relate(tmp_path: Path, text: str, expected: str) -> None:
    (line,) = problems(tmp_path, text)
    assert line == expected


def test_v2_keys_that_relate_accepted(tmp_path: Path) -> None:
    config = load_config(write(
        tmp_path,
        '[sitting]\nignored_streak = 0\nbreak_advice = "custom"\n'
        'break_text = "Stand and lean back gently three times."\n'
        "limit_growth_min = 5\nlimit_target_min = 60\n"
        "[plan]\nceiling_of_usual = 0\n"
        '[day]\nweekdays = { fri = { sleep = "23:30" }, sat = { wake = "09:00" } }\n',
    ))
    assert config.sitting.ignored_streak == 0
    assert config.sitting.target_min == 60
    assert config.plan.ceiling_of_usual == 0
    friday, saturday = 4, 5
    assert config.day.times(friday) == (config.day.wake, time(23, 30))
    assert config.day.times(saturday) == (time(9, 0), config.day.sleep)
    assert config.day.times(0) == (time(7, 30), time(21, 30))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the weekday as the person wrote it, not the index of a checked pair
        ('[day]\nweekdays = { saturday = { wake = "09:00" } }\n',
         "day.weekdays.saturday: unknown weekday; use mon, tue, wed, thu, fri, sat or sun"),
        ('[day]\nweekdays = { fri = { wake = "09:00" }, sat = { wak = "09:00" } }\n',
         "day.weekdays.sat.wak: unknown key (check the spelling; see config/pacer.example.toml)"),
        ('[day]\nweekdays = { sat = { wake = "9am" } }\n',
         "day.weekdays.sat.wake: '9am' is not a clock time; use HH:MM, for example 07:30"),
        ('[day]\nweekdays = { sat = "09:00" }\n',
         'day.weekdays.sat: must be a table of wake and/or sleep, e.g. { wake = "09:00" }'),
        ('[day]\nweekdays = ["sat", "sun"]\n',
         'day.weekdays: must be a table of weekdays (mon..sun), e.g. { sat = { wake = "09:00" } }'),
    ],
)
def test_weekdays_problems_name_the_weekday(tmp_path: Path, text: str, expected: str) -> None:
    (line,) = problems(tmp_path, text)
    assert line == expected


# The rule tables of the version 1 example config, with its values.
V1_RULES = """\
[day]
start = "04:00"
wake = "07:30"
sleep = "21:30"
min_known_hours = 10.0
[sitting]
limit_min = 40
gap_tolerance_min = 5
break_min = 2
break_steps = 60
repeat_min = 15
max_repeats = 2
response_window_min = 15
[walks]
min_duration_min = 5
max_duration_min = 30
min_cadence = 60
per_day = 3
times = ["10:00", "14:00", "17:00"]
[plan]
baseline_days = 7
start_factor = 0.8
floor = 0.5
ceiling = 1.2
weekly_increment = 0.1
review_day = "monday"
[pacing]
ahead_margin = 0.5
ease_off_cooldown_min = 120
max_bout_min = 45
floor_check_time = "16:00"
[boom]
factor = 1.3
[traffic]
amber_reduction = 0.1
[settle]
hours = 72
quota_factor = 0.6
sitting_limit_min = 30
[prompts]
max_per_hour = 4
min_gap_min = 5
max_delay_min = 15
"""


def test_v1_config_still_loads(tmp_path: Path) -> None:
    """A version 1 config stays valid (interfaces.md 8.7): its own values are
    kept, and the keys version 2 added take their defaults."""
    config = load_config(write(tmp_path, V1_RULES))
    assert config.sitting.max_repeats == 2
    assert config.plan.ceiling == 1.2
    assert config.boom.factor == 1.3
    # v1's walk length is v2's minimum walk and, with no target_min, the planned length
    assert config.walks.min_duration_min == 5
    assert config.walks.target_min is None
    assert config.walks.start_min == 5
    defaults = Config()
    for table in ("standing", "wear", "exercise", "safety"):
        assert getattr(config, table) == getattr(defaults, table), table
    assert config.day.weekdays == ()
    assert config.prompts.max_per_day == defaults.prompts.max_per_day
    assert config.sitting.enabled is True
    assert config.sitting.break_advice == "walk"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[sitting]\nlimit_min = "40"\n', "sitting.limit_min"),
        ("[sitting]\nlimit_min = 40.0\n", "sitting.limit_min"),
        ("[sitting]\nlimit_min = true\n", "sitting.limit_min"),
        ('[mqtt]\nha_discovery = "yes"\n', "mqtt.ha_discovery"),
        ('[plan]\nreview_day = "Monday"\n', "plan.review_day"),
        ('[day]\nwake = "7:30"\n', "day.wake"),
        ("[walks]\ntimes = 10\n", "walks.times"),
        ("[user]\nid = 5\n", "user.id"),
    ],
)
def test_wrong_type(tmp_path: Path, text: str, where: str) -> None:
    (line,) = problems(tmp_path, text)
    assert line.startswith(f"{where}: ")


def test_toml_times_and_strings_both_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[day]\nwake = 06:45:00\nsleep = "22:00"\n'))
    assert (config.day.wake.hour, config.day.wake.minute) == (6, 45)
    assert config.day.sleep.hour == 22


def test_bad_timezone(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, '[user]\ntimezone = "Mars/Olympus"\n')
    assert line.startswith("user.timezone: 'Mars/Olympus' is not an IANA time zone name")
    (line,) = problems(tmp_path, '[user]\ntimezone = "AEST"\n')
    assert line.startswith("user.timezone: ")


def test_good_timezone(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[user]\nid = "alice"\ntimezone = "Australia/Sydney"\n'))
    assert config.user.zone_name() == "Australia/Sydney"


def test_bad_user_id(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, '[user]\nid = "alice/bob"\n')
    assert line.startswith("user.id: use 1-64 letters")


def test_rules_that_relate_keys(tmp_path: Path) -> None:
    assert problems(tmp_path, '[day]\nwake = "22:00"\n') == [
        "day: wake must come before sleep within the day that begins at day.start"
    ]
    (line,) = problems(tmp_path, "[walks]\nper_day = 2\n")
    assert line.startswith("walks: times lists 3 reminder time(s) but per_day is 2")


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    lines = problems(
        tmp_path,
        '[user]\ntimezone = "Nowhere"\n[sitting]\nlimit_min = 5\nlimt_min = 30\n'
        '[mqtt]\nurl = "http://broker"\n',
    )
    assert {line.split(":")[0] for line in lines} == {
        "user.timezone", "sitting.limit_min", "sitting.limt_min", "mqtt.url",
    }


# --- devices ------------------------------------------------------------------------


def test_devices_errors(tmp_path: Path) -> None:
    lines = problems(
        tmp_path,
        '[[devices]]\nkind = "fitbit"\n'
        '[[devices]]\naddress = "AA:BB"\n'
        '[[devices]]\nkind = "rsc"\nplacement = "foot"\n'
        '[[devices]]\nkind = "rsc"\nname = "pod"\n'
        '[[devices]]\nkind = "rsc"\nname = "pod"\nplacement = "ankle"\n'
        '[[devices]]\nkind = "replay"\n'
        '[[devices]]\nkind = "replay"\npath = "m.csv"\nspeed = 0\n'
        '[[devices]]\nkind = "infinitime"\nname = "w"\nplacement = "wrist"\nadres = "x"\n',
    )
    assert lines == [
        "devices[0]: unknown device kind; use one of replay, infinitime, rsc, heart_rate, "
        "witmotion, polar, pams, bangle, huami",
        "devices[1]: a device needs a kind",
        "devices[2]: give the device's address or its advertised name",
        "devices[3].placement: Field required",
        "devices[4].placement: Input should be 'wrist', 'thigh', 'waist', 'foot' or 'chest'",
        "devices[5].path: Field required",
        "devices[6].speed: Input should be greater than 0",
        "devices[7].adres: unknown key (check the spelling; see config/pacer.example.toml)",
    ]


def test_devices_good(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[[devices]]\nkind = "replay"\npath = "day.csv"\nspeed = 60.0\n'
            '[[devices]]\nkind = "polar"\naddress = "A0:9E:1A:00:00:01"\nplacement = "chest"\n',
        )
    )
    replay, polar = config.devices
    assert replay == ReplayDevice(kind="replay", path=tmp_path / "day.csv", speed=60.0)
    assert isinstance(polar, BleDevice)
    assert polar.address == "A0:9E:1A:00:00:01"


# --- the file itself ------------------------------------------------------------------


def test_toml_syntax_error(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, "[sitting\nlimit_min = 30\n")
    assert line.startswith(" not valid TOML: ")
    assert "line 1" in line


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pacer.toml"
    path.write_bytes(b'[user]\nid = "\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


# --- paths ------------------------------------------------------------------------------


def test_relative_paths_resolved_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    write(
        folder,
        '[storage]\npath = "data/pacer.sqlite3"\n'
        '[mqtt]\npassword_file = "secret.txt"\nca_file = "/abs/ca.crt"\n'
        '[[devices]]\nkind = "replay"\npath = "../minutes.csv"\n',
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("..") / "etc" / "pacer.toml")  # a relative config path too
    assert config.storage.path == folder.resolve() / "data" / "pacer.sqlite3"
    assert config.mqtt.password_file == folder.resolve() / "secret.txt"
    assert config.mqtt.ca_file == Path("/abs/ca.crt")
    (device,) = config.devices
    assert isinstance(device, ReplayDevice)
    assert device.path == folder.resolve() / ".." / "minutes.csv"


# --- secrets --------------------------------------------------------------------------


@pytest.mark.parametrize("content", ["s3cret pass\n", "s3cret pass\r\n", "s3cret pass"])
def test_password_file_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    (tmp_path / "pw").write_bytes(content.encode())
    config = load_config(write(tmp_path, '[mqtt]\nusername = "alice"\npassword_file = "pw"\n'))
    secret = config.mqtt.password()
    assert secret is not None
    assert secret.get_secret_value() == "s3cret pass"


def test_password_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "env-s3cret")
    config = load_config(write(tmp_path, '[mqtt]\nusername = "alice"\n'))
    secret = config.mqtt.password()
    assert secret is not None
    assert secret.get_secret_value() == "env-s3cret"
    # the file wins over the environment
    (tmp_path / "pw").write_text("file-s3cret\n")
    config = load_config(write(tmp_path, '[mqtt]\npassword_file = "pw"\n'))
    secret = config.mqtt.password()
    assert secret is not None
    assert secret.get_secret_value() == "file-s3cret"


def test_no_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    assert load_config(write(tmp_path, "")).mqtt.password() is None


def test_unreadable_password_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[mqtt]\npassword_file = "missing"\n'))
    with pytest.raises(BadInput, match="cannot read the MQTT password file"):
        config.mqtt.password()


def test_secrets_not_in_repr_or_str(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "env-s3cret")
    (tmp_path / "pw").write_text("file-s3cret\n")
    config = load_config(write(tmp_path, '[mqtt]\nusername = "alice"\npassword_file = "pw"\n'))
    secret = config.mqtt.password()
    assert secret is not None
    for text in (repr(config), str(config), repr(config.mqtt), str(config.mqtt),
                 repr(secret), str(secret), config.model_dump_json()):
        assert "s3cret" not in text


def test_no_credentials_in_the_url(tmp_path: Path) -> None:
    (line,) = problems(tmp_path, '[mqtt]\nurl = "mqtt://alice:s3cret@broker:1883"\n')
    assert line.startswith("mqtt.url: no user name or password in the URL")
    assert "s3cret" not in line
    (line,) = problems(tmp_path, '[mqtt]\nurl = "mqtts://alice@broker"\n')
    assert line.startswith("mqtt.url: ")


def test_mqtt_url(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[mqtt]\nurl = "mqtts://broker.example"\n'))
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls) == ("broker.example", 8883, True)
    (line,) = problems(tmp_path, '[mqtt]\nurl = "mqtt://broker:99999"\n')
    assert line.startswith("mqtt.url: the port must be a number")
    (line,) = problems(tmp_path, '[mqtt]\nclient_cert = "c.crt"\n')
    assert line == "mqtt: client_cert and client_key go together"


def test_every_wearable_kind_the_config_takes_has_a_driver() -> None:
    from typing import get_args  # noqa: PLC0415

    from devices.profiles import PROFILES  # noqa: PLC0415
    from pacer.config import BleKind  # noqa: PLC0415

    assert set(get_args(BleKind)) == set(PROFILES)
