"""The clinic's TOML config (``config/clinic.example.toml``): checked once,
frozen, relative paths relative to the file, all problems reported together."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator

from pacer.config import MqttConfig, format_errors
from pacer.errors import ConfigError

FilePath = Annotated[Path, Strict(False)]
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{what} must be 1-64 letters, digits, '_' or '-'")
    return value


class CollectorConfig(_Table):
    group: str = "clinic"
    """The shared subscription group: every collector of one clinic uses the same."""
    client_id: str = "clinic-collector-1"
    """Unique per collector process and stable across its restarts (persistent session)."""
    batch: int = Field(200, ge=1, le=10_000)

    @field_validator("group", "client_id")
    @classmethod
    def _names(cls, v: str) -> str:
        return _name(v, "the value")


class WebConfig(_Table):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    users_file: FilePath = Path("clinic-users")
    secret_file: FilePath = Path("clinic-secret")
    instance: str = "web"
    """Names the web app's MQTT client and its reply topics (pacer/<u>/reply/clinic-<instance>)."""
    reply_timeout_s: float = Field(10.0, gt=0, le=120)
    https_only: bool = False
    """Mark the session cookie Secure: set it behind the TLS reverse proxy."""

    @field_validator("instance")
    @classmethod
    def _instance(cls, v: str) -> str:
        return _name(v, "instance")


class ClinicTable(_Table):
    patients: tuple[str, ...] = ()
    """Patients listed even before any of their messages arrived (shown as 'no data')."""
    stale_days: int = Field(3, ge=1, le=365)
    """A patient whose latest daily summary is older than this many days has 'no data'."""
    low_adherence: float = Field(0.5, ge=0, le=1)

    @field_validator("patients", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v


class ClinicConfig(_Table):
    database: str = "clinic.sqlite3"
    """An SQLite file path, or ``postgresql://...`` for a clinic with several collectors."""
    mqtt: MqttConfig = MqttConfig()
    collector: CollectorConfig = CollectorConfig()
    web: WebConfig = WebConfig()
    clinic: ClinicTable = ClinicTable()


_PATHS = {"mqtt": ("password_file", "ca_file", "client_cert", "client_key"),
          "web": ("users_file", "secret_file")}


def _resolve(raw: dict[str, Any], base: Path) -> None:
    for table, keys in _PATHS.items():
        section = raw.get(table)
        if isinstance(section, dict):
            for key in keys:
                v = section.get(key)
                if isinstance(v, str) and v and not Path(v).is_absolute():
                    section[key] = str(base / v)
    db = raw.get("database")
    if isinstance(db, str) and "://" not in db and not Path(db).is_absolute():
        raw["database"] = str(base / db)


def load_clinic_config(path: Path) -> ClinicConfig:
    """Read and check a clinic config; raises ``ConfigError`` with every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file; start from config/clinic.example.toml"]
                          ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read it ({exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    _resolve(raw, path.resolve().parent)
    try:
        return ClinicConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, str(path))) from None
