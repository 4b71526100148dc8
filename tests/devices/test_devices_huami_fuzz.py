"""Property tests for the Huami decoders: 10,000 random payloads each give
readings (or a reply) or ``DecodeError``, nothing else.

Payloads are weighted towards the lengths the layouts use (13-byte realtime
steps, 15-byte fetch starts, counter plus 4-byte records, 3-byte verdicts) and
towards the bytes that open them, so the checks behind the length are reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_devices_fuzz import BATCH, FUZZ, check_error, foreign

from devices.drivers import huami
from devices.errors import DecodeError
from devices.readings import (
    BatteryLevel,
    ChargeState,
    LogMark,
    LogRecords,
    Reading,
    StepCount,
)

KNOWN = [huami.REALTIME_STEPS, huami.BATTERY_INFO, huami.ACTIVITY_DATA, huami.FETCH, huami.AUTH]
KEY = bytes(range(16))


def shaped(prefixes: list[bytes], sizes: list[int]) -> st.SearchStrategy[bytes]:
    """Random bytes, or a known opening padded with random bytes to a layout's size."""
    opened = st.tuples(st.sampled_from(prefixes), st.sampled_from(sizes),
                       st.binary(min_size=40, max_size=40)).map(
        lambda t: (t[0] + t[2])[: t[1]])
    return st.one_of(st.binary(max_size=24), st.binary(max_size=80), opened)


payload = shaped([b"\x0c", b"\x0f", b"\x10\x01\x01", b"\x10\x02\x01", b"\x10\x82\x01",
                  b"\x10\x83", b"\x01\x01"],
                 [3, 9, 10, 11, 13, 15, 17, 19, 20, 5, 1, 2])


def check(readings: list[Reading]) -> None:
    for r in readings:
        match r:
            case StepCount(total):
                assert 0 <= total < 2**16
            case BatteryLevel(percent):
                assert 0 <= percent <= 100
            case ChargeState(charging):
                assert isinstance(charging, bool)
            case LogRecords(records):
                assert records
                assert all(0 <= k < 256 and 0 <= s < 256 for k, s in records)
            case LogMark(first, count):
                assert (first is None) == (count is None)
                assert count is None or 0 <= count < 2**32
            case _:
                raise AssertionError(f"unexpected reading {r!r}")


def only_decode_error(parse: Callable[[bytes], Any], data: bytes) -> None:
    try:
        parse(data)
    except DecodeError as error:
        check_error(error, data)


@FUZZ
@given(pairs=st.lists(st.tuples(st.one_of(st.sampled_from(KNOWN), foreign), payload),
                      min_size=BATCH, max_size=BATCH))
def test_fuzz_huami_decode(pairs: list[tuple[str, bytes]]) -> None:
    for uuid, data in pairs:
        try:
            readings = huami.decode(uuid, data)
        except DecodeError as error:
            check_error(error, data)
        else:
            check(readings)


def chunked(data: bytes) -> None:
    """``decode_chunked_alert`` on two pieces; its error names their data joined,
    which is re-raised naming ``data`` for ``check_error``."""
    try:
        huami.decode_chunked_alert([data[:20], data[20:]])
    except DecodeError as error:
        raise DecodeError(error.characteristic, data, error.problem) from None


@FUZZ
@given(payloads=st.lists(payload, min_size=BATCH, max_size=BATCH))
def test_fuzz_huami_replies(payloads: list[bytes]) -> None:
    """The session's own parsers: fetch starts and requests, auth replies."""
    for data in payloads:
        only_decode_error(huami.decode_fetch_start, data)
        only_decode_error(huami.decode_fetch, data)
        only_decode_error(huami.auth_accepted, data)
        only_decode_error(lambda d: huami.auth_answer(KEY, d), data)
        only_decode_error(huami.decode_records, data)
        only_decode_error(huami.decode_alert, data)
        only_decode_error(huami.decode_current_time, data)
        only_decode_error(chunked, data)


@settings(max_examples=500, deadline=None, database=None)
@given(title=st.text(max_size=60), text=st.text(max_size=400))
def test_chunked_alert_always_fits_and_round_trips(title: str, text: str) -> None:
    writes = huami.encode_chunked_alert(title, text)
    assert all(len(w) <= 3 + huami.CHUNK_DATA for w in writes)
    assert [w[2] for w in writes] == list(range(len(writes)))
    assert writes[-1][1] & 0x80
    data = b"".join(w[3:] for w in writes)
    assert len(data) <= huami.ALERT_TEXT_MAX + len(huami.CHUNKED_SUFFIX)
    got_title, got_text = huami.decode_chunked_alert(writes)
    sent = (title[: huami.TITLE_MAX] + "\0" + text).encode()
    if len(sent) <= huami.ALERT_TEXT_MAX - len(huami.CHUNKED_HEADER) and "\0" not in title:
        assert (got_title, got_text) == (title[: huami.TITLE_MAX], text)
