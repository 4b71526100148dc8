"""pacer's configuration: one TOML file, loaded once into typed, frozen values.

Every table and key is declared with its default and allowed range: the rule
tables in the engine (pacer/engine/rules.py, from docs/pacing-rules.md), the
daemon's own tables (user, devices, mqtt, storage) here. pydantic does the
checking, so unknown keys, wrong types and out-of-range numbers are all
reported together, one line per problem, as ``file:table.key: message``.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from pacer.contract.topics import DEFAULT_PREFIX
from pacer.engine.describe import describe, show_value
from pacer.engine.rules import (
    RULE_TABLES,
    WEEKDAYS,
    BoomRules,
    DayRules,
    ExerciseRules,
    ExpiryRules,
    Items,
    PacingRules,
    PlanRules,
    PromptRules,
    Rules,
    SafetyRules,
    SettleRules,
    SittingRules,
    StandingRules,
    Table,
    TrafficRules,
    WalkRules,
    WearRules,
    Weekday,
    rule_keys,
)
from pacer.errors import BadInput, ConfigError
from pacer.io import limits
from pacer.timebase import system_zone_name, zone

__all__ = [  # the loader's own names, and the engine's rule tables it is built from
    "PASSWORD_ENV",
    "RULE_TABLES",
    "WEEKDAYS",
    "BleDevice",
    "BleKind",
    "BoomRules",
    "Config",
    "DayRules",
    "Device",
    "ExerciseRules",
    "ExpiryRules",
    "FilePath",
    "MqttConfig",
    "PacingRules",
    "Placement",
    "PlanRules",
    "PromptRules",
    "ReplayDevice",
    "Rules",
    "SafetyRules",
    "SettleRules",
    "SittingRules",
    "StandingRules",
    "StorageConfig",
    "TrafficRules",
    "UserConfig",
    "WalkRules",
    "WearRules",
    "Weekday",
    "format_errors",
    "load_config",
    "parse_config",
    "rule_keys",
]

PASSWORD_ENV = "PACER_MQTT_PASSWORD"  # noqa: S105 - the variable's name, not a secret

MAX_CONFIG_CHARS = 1 << 20
"""The largest config file read (the example, every key commented, is 20 KB)."""


FilePath = Annotated[Path, Strict(False)]
AUTH_KEY_FILE_CHARS = 200
"""A Huami auth key file holds 32 hex digits (and maybe 0x, a line end)."""
"""A path, written as a TOML string (strict mode would want a Path object)."""


# --- the shell's tables ----------------------------------------------------------

_USER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class UserConfig(Table):
    id: str = "me"
    timezone: str | None = None  # None: the machine's own zone (a replay: its input's offset)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _USER_ID.match(v):
            raise ValueError(
                "use 1-64 letters, digits, '_' or '-' (it becomes an MQTT topic level)"
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            zone(v)  # raises ValueError with the accepted forms
        return v

    def zone_name(self) -> str:
        return self.timezone if self.timezone is not None else system_zone_name()


Placement = Literal["wrist", "thigh", "waist", "foot", "chest"]
BleKind = Literal["infinitime", "rsc", "heart_rate", "witmotion", "polar", "pams", "bangle",
                  "huami"]


class ReplayDevice(Table):
    """Feeds a minutes CSV to the running daemon as if live (demos, tests)."""

    kind: Literal["replay"]
    path: FilePath
    speed: float = Field(1.0, gt=0, le=100_000)
    name: str = "replay"


class BleDevice(Table):
    kind: BleKind
    address: str | None = None
    name: str | None = None
    placement: Placement
    # Foot pods: steps per unit of the cadence they report (a pod that counts
    # strides, one foot, reports half the steps: 2.0). Check it against a
    # counted walk of a few hundred steps.
    calibration: float = Field(1.0, ge=0.2, le=5.0)
    # Huami bands (Mi Band 4-6, Amazfit Band 5): a file holding the band's auth
    # key, 32 hex digits (the key itself is never in the config, nor logged).
    auth_key_file: FilePath | None = None

    @model_validator(mode="after")
    def _findable(self) -> BleDevice:
        if not self.address and not self.name:
            raise ValueError("give the device's address or its advertised name")
        if self.kind == "huami" and self.auth_key_file is None:
            raise ValueError("a Huami band needs auth_key_file: a file holding its auth key "
                             "(32 hex digits; see the README's wearables table)")
        if self.kind != "huami" and self.auth_key_file is not None:
            raise ValueError("auth_key_file is for kind = \"huami\" only")
        return self

    def auth_key(self) -> bytes | None:
        """The band's 16-byte key from ``auth_key_file``, read when connecting and
        never shown; None without a file."""
        if self.auth_key_file is None:
            return None
        from devices.drivers.huami import AuthKeyError, parse_key  # noqa: PLC0415 - bands only

        path = self.auth_key_file
        try:
            text = limits.read_text(path, AUTH_KEY_FILE_CHARS)
        except OSError as exc:
            raise BadInput(f"{path}: cannot read the band's auth key file "
                           f"({exc.strerror})") from None
        except (UnicodeDecodeError, limits.TooLarge):
            raise BadInput(f"{path}: the band's auth key file must hold its key as 32 hex "
                           "digits on one line") from None
        try:
            return parse_key(text)
        except AuthKeyError as exc:
            raise BadInput(f"{path}: {exc}") from None


Device = Annotated[ReplayDevice | BleDevice, Field(discriminator="kind")]


class MqttConfig(Table):
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password_file: FilePath | None = None
    ca_file: FilePath | None = None
    client_cert: FilePath | None = None
    client_key: FilePath | None = None
    topic_prefix: str = DEFAULT_PREFIX
    ha_discovery: bool = False
    plan_editors: Annotated[tuple[str, ...], Items] = ()
    protocol: Literal["5", "3.1.1"] = "5"
    # Commands one sender may send a minute, in bursts of up to half as many at
    # once; more are refused and counted (a flood must not starve the others).
    commands_per_minute: int = Field(120, ge=2, le=100_000)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("use mqtt://host:port or mqtts://host:port")
        if parts.username is not None or parts.password is not None:
            # a password here would show in every repr and log line of the config
            raise ValueError(
                "no user name or password in the URL: use mqtt.username, and "
                f"mqtt.password_file or {PASSWORD_ENV}"
            )
        try:
            _ = parts.port
        except ValueError:
            raise ValueError("the port must be a number from 1 to 65535") from None
        return v

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v or any(c in v for c in "+#") or v.startswith("/") or v.endswith("/"):
            raise ValueError("a topic prefix without '+', '#' or leading/trailing '/'")
        return v

    @model_validator(mode="after")
    def _cert_pair(self) -> MqttConfig:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    def password(self) -> SecretStr | None:
        """From ``password_file`` (one line; a trailing newline is ignored) or the
        environment. Read when connecting, never stored in the config object."""
        if self.password_file is not None:
            path = self.password_file
            limit = limits.MQTT_PASSWORD_BYTES
            password: str | None = None  # None: longer than the limit
            try:
                text = limits.read_text(path, limit + 2)  # the password and its line end
                password = text.removesuffix("\n").removesuffix("\r")
            except OSError as exc:
                raise BadInput(
                    f"{path}: cannot read the MQTT password file ({exc.strerror})") from None
            except UnicodeDecodeError:
                raise BadInput(f"{path}: the MQTT password file is not UTF-8 text") from None
            except limits.TooLarge:
                pass
            if password is None or len(password.encode("utf-8")) > limit:
                raise BadInput(
                    f"{path}: the MQTT password file is longer than {limit:,} bytes, the most "
                    "MQTT can send; it holds the password on one line")
            return SecretStr(password)
        env = os.environ.get(PASSWORD_ENV)
        return SecretStr(env) if env is not None else None


class StorageConfig(Table):
    path: FilePath = Path("pacer.sqlite3")
    # Raw device samples are kept this many days; minutes, prompts and
    # summaries are kept for good.
    raw_retention_days: int = Field(14, ge=1, le=3650)


class Config(Rules):
    """The config file: the engine's rule tables (inherited, so a new table is
    never missing here) and the shell's own."""

    user: UserConfig = UserConfig()
    devices: Annotated[tuple[Device, ...], Items] = ()
    mqtt: MqttConfig = MqttConfig()
    storage: StorageConfig = StorageConfig()

    @property
    def rules(self) -> Rules:
        return Rules(**{name: getattr(self, name) for name in RULE_TABLES})


# --- loading -----------------------------------------------------------------------

_PATH_KEYS = {
    "mqtt": ("password_file", "ca_file", "client_cert", "client_key"),
    "storage": ("path",),
}


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    """Relative paths in a config file are relative to that file, not to
    wherever the daemon happens to be started."""

    def fix(v: Any) -> Any:
        if isinstance(v, str) and v and not Path(v).is_absolute():
            return str(base / v)
        return v

    for table, keys in _PATH_KEYS.items():
        section = raw.get(table)
        if isinstance(section, dict):
            for key in keys:
                if key in section:
                    section[key] = fix(section[key])
    devices = raw.get("devices")
    if isinstance(devices, list):
        for dev in devices:
            if isinstance(dev, dict) and "path" in dev:
                dev["path"] = fix(dev["path"])
            if isinstance(dev, dict) and "auth_key_file" in dev:
                dev["auth_key_file"] = fix(dev["auth_key_file"])


_DEVICE_KINDS = frozenset(("replay", *get_args(BleKind)))


def _where(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _DEVICE_KINDS or part.startswith(("function-", "tagged-union")):
            continue  # pydantic's union and validator labels mean nothing to a user
        else:
            out += f".{part}" if out else part
    return out


# pydantic error types after which the message says what the key accepts
_SAYS_WHAT = ("_type", "_parsing", "greater_than", "greater_than_equal", "less_than",
              "less_than_equal", "literal_error")


def _field(loc: Iterable[int | str]) -> FieldInfo | None:
    """The declaration of the key an error is about (None inside lists)."""
    model: type[BaseModel] = Config
    info: FieldInfo | None = None
    for part in loc:
        if not isinstance(part, str) or info is not None:
            return None
        info = model.model_fields.get(part)
        if info is None:
            return None
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model, info = annotation, None
    return info


_WEEKDAYS_TABLE = 'a table of weekdays (mon..sun), e.g. { sat = { wake = "09:00" } }'


def _weekday_named(loc: tuple[int | str, ...], raw: Any) -> tuple[tuple[int | str, ...], str]:
    """day.weekdays is written as a table but checked as sorted (weekday, times)
    pairs, so pydantic names a pair by its index: name the weekday as written
    instead. Returns the location, and a message to use instead of pydantic's
    (or "")."""
    if loc[:2] != ("day", "weekdays"):
        return loc, ""
    day = raw.get("day") if isinstance(raw, dict) else None
    written = day.get("weekdays") if isinstance(day, dict) else None
    if not isinstance(written, dict):
        return loc[:2], f"must be {_WEEKDAYS_TABLE}"
    if len(loc) < 4 or not isinstance(loc[2], int) or not 0 <= loc[2] < len(written):
        return loc, ""
    key = sorted(written)[loc[2]]
    if loc[3] == 0:
        return (*loc[:2], key), "unknown weekday; use mon, tue, wed, thu, fri, sat or sun"
    if len(loc) == 4:
        return (*loc[:2], key), 'must be a table of wake and/or sleep, e.g. { wake = "09:00" }'
    return (*loc[:2], key, *loc[4:]), ""


def format_errors(exc: ValidationError, source: str, raw: Any = None) -> list[str]:
    """One line per problem, ``source:table.key: message``; ``raw`` is the
    input that was checked, for naming the weekdays of day.weekdays."""
    problems: list[str] = []
    for err in exc.errors():
        loc, instead = _weekday_named(tuple(err["loc"]), raw)
        where = _where(loc)
        msg = err["msg"].removeprefix("Value error, ")
        if instead:
            msg = instead
        elif err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see config/pacer.example.toml)"
        elif err["type"] == "union_tag_invalid":
            msg = "unknown device kind; use one of replay, " + ", ".join(get_args(BleKind))
        elif err["type"] == "union_tag_not_found":
            msg = "a device needs a kind"
        elif err["type"].endswith(_SAYS_WHAT) and (info := _field(err["loc"])) is not None:
            msg = f"must be {describe(info)}, got {show_value(err['input'])}"
        line = f"{source}:{where}: {msg}" if where else f"{source}: {msg}"
        if line not in problems:  # a list for day.weekdays fails once per item
            problems.append(line)
    return problems


def parse_config(raw: dict[str, Any], source: str = "<config>") -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source, raw)) from None


def load_config(path: Path | str) -> Config:
    """Read, check and freeze a config file; raises ``ConfigError`` listing
    every problem found."""
    p = Path(path)
    try:
        text = limits.read_text(p, MAX_CONFIG_CHARS)
    except FileNotFoundError:
        raise ConfigError([f"{p}: no such file; start from config/pacer.example.toml"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{p}: not UTF-8 text; save the file as UTF-8"]) from None
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read ({exc.strerror})"]) from None
    except limits.TooLarge:
        raise ConfigError([f"{p}: larger than {MAX_CONFIG_CHARS >> 20} MiB; is it pacer's "
                           "config? start from config/pacer.example.toml"]) from None
    try:
        raw = tomllib.loads(text)
        _resolve_paths(raw, p.resolve().parent)
        return parse_config(raw, str(p))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
    except RecursionError:
        raise ConfigError([f"{p}: not valid TOML: arrays or tables nested too deeply"]) from None
    except ValueError as exc:
        # tomllib's int() of a number with more digits than Python converts
        if "integer string conversion" not in str(exc):
            raise
        raise ConfigError([f"{p}: not valid TOML: a number has more than "
                           f"{sys.get_int_max_str_digits():,} digits"]) from None



# --- what ``pacer run`` will need ---------------------------------------------------


def _file_problem(path: Path, what: str) -> str | None:
    """Why ``path`` cannot be read as ``what``, or None when it can."""
    if not path.exists():
        return f"{path}: no such file; {what} must be there when pacer runs"
    if not path.is_file():
        return f"{path} is not a file; {what} must be a file"
    if not os.access(path, os.R_OK):
        return f"{path}: pacer cannot read {what} (permission denied)"
    return None


def run_problems(config: Config, source: str) -> list[str]:
    """What ``pacer run`` would fail on although the file itself is valid: one
    line per problem, ``source:table.key: message`` as ``ConfigError`` has them.

    An empty file (or one of comments only); a file named by a key (the MQTT
    password and certificates, a replay device's minutes) that does not exist
    or cannot be read; a store in a folder that does not exist. Nothing here
    needs the network or opens the store."""
    if not config.model_fields_set:
        return [f"{source}: the file is empty (or holds comments only): pacer run would start "
                "with no wearables and a store in the current folder; start from "
                "config/pacer.example.toml"]
    problems: list[str] = []
    folder = config.storage.path.parent
    if not folder.is_dir():
        being = "is not a folder" if folder.exists() else "does not exist"
        problems.append(f"{source}:storage.path: the folder {folder} {being}; create it, or "
                        "put the store in an existing folder")
    elif config.storage.path.is_dir():
        problems.append(f"{source}:storage.path: {config.storage.path} is a folder; name the "
                        "store's file in it, e.g. pacer.sqlite3")
    mqtt = config.mqtt
    files = (("password_file", "the MQTT password file"), ("ca_file", "the CA certificate"),
             ("client_cert", "the client certificate"), ("client_key", "the client key"))
    for key, what in files:
        path = getattr(mqtt, key)
        if path is not None and (problem := _file_problem(path, what)) is not None:
            problems.append(f"{source}:mqtt.{key}: {problem}")
    for i, device in enumerate(config.devices):
        if isinstance(device, ReplayDevice) and (
                problem := _file_problem(device.path, "the replay's minutes file")) is not None:
            problems.append(f"{source}:devices[{i}].path: {problem}")
        if isinstance(device, BleDevice) and device.auth_key_file is not None:
            problem = _file_problem(device.auth_key_file, "the band's auth key file")
            if problem is None:
                try:
                    device.auth_key()
                except BadInput as exc:
                    problem = str(exc)
            if problem is not None:
                problems.append(f"{source}:devices[{i}].auth_key_file: {problem}")
    return problems
