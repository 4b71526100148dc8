"""A Huami band in pacer's config: ``auth_key_file`` required for it and only for
it, read when connecting (relative to the config), a bad or missing file named
without ever showing the key; the daemon's device spec carries the key unseen."""

from __future__ import annotations

from pathlib import Path

import pytest

from pacer.config import BleDevice, load_config, run_problems
from pacer.daemon.ble import device_spec
from pacer.errors import BadInput, ConfigError
from pacer.scan import devices_table

KEY_HEX = "8f1d2c3b4a5968778695a4b3c2d1e0f0"
BAND = '[[devices]]\nkind = "huami"\naddress = "E1:22:33:44:55:66"\nplacement = "wrist"\n'


def load(tmp_path: Path, text: str) -> BleDevice:
    path = tmp_path / "pacer.toml"
    path.write_text(text, encoding="utf-8")
    (device,) = load_config(path).devices
    assert isinstance(device, BleDevice)
    return device


def test_the_key_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "band.key").write_text(f"0x{KEY_HEX.upper()}\n", encoding="utf-8")
    device = load(tmp_path, BAND + 'auth_key_file = "band.key"\n')
    assert device.auth_key_file == tmp_path / "band.key"
    assert device.auth_key() == bytes.fromhex(KEY_HEX)
    spec = device_spec(device)
    assert spec.auth_key == bytes.fromhex(KEY_HEX)
    assert spec.auth_key_source == str(tmp_path / "band.key")
    assert KEY_HEX not in repr(spec).lower()
    assert run_problems(load_config(tmp_path / "pacer.toml"), "pacer.toml") == []


def test_a_band_needs_a_key_file_and_only_a_band_has_one(tmp_path: Path) -> None:
    path = tmp_path / "pacer.toml"
    path.write_text(BAND + '[[devices]]\nkind = "infinitime"\nname = "InfiniTime"\n'
                    'placement = "wrist"\nauth_key_file = "k"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [p.removeprefix(f"{path}:") for p in caught.value.problems] == [
        "devices[0]: a Huami band needs auth_key_file: a file holding its auth key "
        "(32 hex digits; see the README's wearables table)",
        'devices[1]: auth_key_file is for kind = "huami" only',
    ]


@pytest.mark.parametrize(("content", "problem"), [
    (None, "no such file"),
    (KEY_HEX[:30], "must be 32 hex digits"),
    (KEY_HEX[:-1] + "g", "hex digits 0-9 and a-f only"),
    ("x" * 500, "must hold its key as 32 hex digits on one line"),
])
def test_a_bad_key_file_is_named_and_its_content_never_shown(
    tmp_path: Path, content: str | None, problem: str,
) -> None:
    if content is not None:
        (tmp_path / "band.key").write_text(content, encoding="utf-8")
    device = load(tmp_path, BAND + 'auth_key_file = "band.key"\n')
    found = run_problems(load_config(tmp_path / "pacer.toml"), "pacer.toml")
    assert len(found) == 1
    assert found[0].startswith("pacer.toml:devices[0].auth_key_file: ")
    assert problem in found[0]
    assert str(tmp_path / "band.key") in found[0]
    if content is not None:
        assert content[:20] not in found[0]
        with pytest.raises(BadInput) as caught:
            device.auth_key()
        assert content[:20] not in str(caught.value)


def test_scan_prints_a_table_that_loads_once_the_key_file_is_there(tmp_path: Path) -> None:
    text = devices_table("huami", "E1:22:33:44:55:66")
    assert 'auth_key_file = "miband.key"' in text
    (tmp_path / "miband.key").write_text(KEY_HEX, encoding="utf-8")
    device = load(tmp_path, text)
    assert device.auth_key() == bytes.fromhex(KEY_HEX)
    assert "auth_key_file" not in devices_table("infinitime", "C7:1A:2B:3C:4D:5E")
