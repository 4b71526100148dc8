"""Not worn -> unknown (pacing-rules.md section 1, v2): the signals a wearable
gives that it is not worn, from its bytes to the daemon's minutes
(``pacer.daemon.ble.MinuteBook``)."""

from __future__ import annotations

from datetime import UTC

from devices.drivers import heart_rate
from devices.profiles import Translator
from devices.samples import Battery, HeartRate, Link, StepDelta
from pacer.daemon.ble import MinuteBook
from pacer.engine.model import Epoch

T0 = 1_800_000_000.0  # on a whole minute
M0 = int(T0 // 60)


def book_with(kind: str, device: str) -> MinuteBook:
    book = MinuteBook()
    book.note(kind, Link(T0, device, connected=True, reason="connected"))
    return book


def test_a_strap_without_skin_contact_is_heard_even_at_0_bpm() -> None:
    strap = Translator("strap", "heart_rate", zone=UTC)
    # flags 0x04: contact supported, not detected; 0x06: detected.
    off = heart_rate.decode("2a37", bytes.fromhex("04 00"))[0]
    on = heart_rate.decode("2a37", bytes.fromhex("06 48"))[0]
    assert strap.samples(off, T0) == [HeartRate(T0, "strap", 0, contact=False)]
    assert strap.samples(on, T0) == [HeartRate(T0, "strap", 72, contact=True)]
    # No contact bit: 0 bpm is "not measuring" (InfiniTime), no sample, as before.
    none = heart_rate.decode("2a37", bytes.fromhex("00 00"))[0]
    assert strap.samples(none, T0) == []
    assert strap.samples(heart_rate.decode("2a37", bytes.fromhex("00 48"))[0], T0) == [
        HeartRate(T0, "strap", 72, contact=None)]


def test_a_minute_without_skin_contact_is_not_worn_unless_something_shows_wear() -> None:
    book = book_with("heart_rate", "strap")
    book.note("heart_rate", HeartRate(T0 + 5, "strap", 70, contact=True))
    assert book.take(M0) == Epoch.from_steps(M0, 0)  # worn, still: inferred sitting
    book.note("heart_rate", HeartRate(T0 + 65, "strap", 0, contact=False))
    assert book.take(M0 + 1) == Epoch.not_worn(M0 + 1)
    # No contact, but a foot pod counted steps in the same minute: worn.
    book.note("heart_rate", HeartRate(T0 + 125, "strap", 0, contact=False))
    book.note("rsc", StepDelta(T0 + 130, "pod", 30))
    assert book.take(M0 + 2) == Epoch.from_steps(M0 + 2, 30)
    # Contact lost and found in one minute: worn.
    book.note("heart_rate", HeartRate(T0 + 185, "strap", 0, contact=False))
    book.note("heart_rate", HeartRate(T0 + 190, "strap", 66, contact=True))
    assert book.take(M0 + 3) == Epoch.from_steps(M0 + 3, 0)
    assert book.seen["strap"].heart_rate == 66


def test_a_sensor_that_cannot_tell_contact_is_trusted_as_worn() -> None:
    book = book_with("heart_rate", "strap")
    book.note("heart_rate", HeartRate(T0 + 5, "strap", 70, contact=None))
    assert book.take(M0) == Epoch.from_steps(M0, 0)


def test_minutes_from_a_battery_rise_to_the_next_steps_are_not_worn() -> None:
    book = book_with("infinitime", "watch")
    at = T0 + 10
    for percent in (50, 49, 50):  # a level that wobbles up one point: no charger
        book.note("infinitime", Battery(at, "watch", percent))
    assert book.take(M0) == Epoch.from_steps(M0, 0)
    book.note("infinitime", Battery(T0 + 70, "watch", 51))  # 2 above the lowest, 49
    got = [book.take(M0 + i) for i in range(1, 6)]
    assert got == [Epoch.not_worn(M0 + i) for i in range(1, 6)]
    book.note("infinitime", Battery(T0 + 5 * 60 + 10, "watch", 100))
    book.note("infinitime", Battery(T0 + 6 * 60 + 10, "watch", 99))  # off the charger
    assert book.take(M0 + 6) == Epoch.not_worn(M0 + 6)  # on the table: not worn yet
    book.note("infinitime", StepDelta(T0 + 7 * 60 + 10, "watch", 12))
    assert book.take(M0 + 7) == Epoch.from_steps(M0 + 7, 12)  # put back on
    assert book.take(M0 + 8) == Epoch.from_steps(M0 + 8, 0)
    # Charging again needs a rise from the new lowest level.
    book.note("infinitime", Battery(T0 + 9 * 60, "watch", 100))
    assert book.take(M0 + 9) == Epoch.from_steps(M0 + 9, 0)


def test_a_charging_watch_out_of_reach_gives_unknown_not_not_worn() -> None:
    book = book_with("infinitime", "watch")
    book.note("infinitime", Battery(T0 + 1, "watch", 40))
    book.note("infinitime", Battery(T0 + 2, "watch", 45))
    book.note("infinitime", Link(T0 + 3, "watch", connected=False, reason="lost"))
    assert book.take(M0) == Epoch.not_worn(M0)
    assert book.take(M0 + 1) == Epoch.unknown(M0 + 1)
