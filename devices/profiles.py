"""Per device kind: what to subscribe to, what to read after each connect, and how
readings become samples.

``Profile`` is static data per kind. ``Translator`` holds one device's
trackers (the step counter for InfiniTime, cadence integration for a foot pod)
and turns each decoded reading into the samples the daemon gets.

Some devices stream only once told to: ``Profile.start`` runs after
subscribing, through a ``Control`` (writes, and the replies notified on a
control characteristic), and returns the acceleration rate now in force (and,
for Polar, a decoder with the FACTOR the sensor announced);
``Profile.stop`` runs before a clean disconnect. WitMotion is set to
``WITMOTION_RATE_HZ``; a Polar sensor is asked for its ACC settings and
started at the lowest rate the IMU pipeline can use, then stopped.

Line protocols (Bangle.js's JSON lines over the Nordic UART) set ``framer``:
a fresh framer per connection cuts the notifications of ``framed`` into frames
(lines), each decoded on its own. ``resume`` runs once a session is up, with
the device's translator and the time (Bangle.js: set the watch's clock, ask
for realtime steps and for the history since the last settled block);
``alert`` shows a prompt on a device that is not an InfiniTime watch.

Huami bands (``huami``) need the device's auth key: ``profile_for`` gives each
band its own profile whose start hook runs the auth handshake with it (replies
on the auth characteristic, and the activity log's on ``more_replies``); its
``resume`` fetches the activity log since the last minute fetched
(``devices.minute_log``) and its ``alert`` buzzes the band and shows the text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, tzinfo
from typing import Protocol

from bleak.exc import BleakError

from devices import blocks, uuids
from devices.counter import CounterState, StepCounter
from devices.drivers import DECODERS, Decoder, bangle, huami, polar, witmotion
from devices.errors import DecodeError, DeviceError
from devices.minute_log import LogState, MinuteLog
from devices.readings import (
    Acceleration,
    ActivityReport,
    BatteryLevel,
    ChargeState,
    HeartRateReading,
    LogMark,
    LogRecords,
    Reading,
    RscReading,
    StepCount,
)
from devices.rsc import CadenceState, CadenceSteps
from devices.samples import Battery, Charging, HeartRate, Motion, Sample
from devices.spec import DeviceSpec

logger = logging.getLogger(__name__)

WITMOTION_RATE_HZ = 10.0
"""The IMU pipeline works on 10 Hz bins: more samples would only cost radio time."""
POLAR_MIN_RATE_HZ = 10.0
POLAR_RANGE_G = 8
REPLY_TIMEOUT_S = 5.0
BANGLE_REALTIME_S = 30
"""Seconds between Bangle.js realtime step reports: a step lands in its minute
or the next, at two short notifications a minute."""
HUAMI_FETCH_S = 60.0
"""How long a Huami band may take to send its activity log (days of minutes)."""
HUAMI_REFRESH_S = 600.0
"""How often a connected Huami band's log is fetched again: its not-worn marks
arrive at most this late while it stays in reach."""


class SetupError(DeviceError, BleakError):
    """A device refused or ignored the commands that make it stream (logged, retried)."""


class Control(Protocol):
    """What a profile's start and stop hooks may do on the connected device."""

    async def write(self, uuid: str, value: bytes) -> None:
        """Write with response."""
        ...

    async def reply(self, timeout_s: float) -> bytes:
        """The next notification on the profile's ``replies`` characteristic."""
        ...

    async def send(self, uuid: str, value: bytes, chunk: int) -> None:
        """Write ``value`` in pieces of at most ``chunk`` bytes, none interleaved
        with another ``send`` on this link."""
        ...

    def has(self, uuid: str) -> bool:
        """Whether the connected device has the characteristic."""
        ...

    @property
    def lock(self) -> asyncio.Lock:
        """Held by ``send``: hold it to write pieces of one message in order."""
        ...


class Framer(Protocol):
    """Cuts one connection's notifications into frames; counts what it dropped."""

    dropped: int

    def feed(self, data: bytes | bytearray) -> list[bytes]:
        ...


@dataclass(frozen=True, slots=True)
class Started:
    """What a start hook set up: the acceleration rate, and a decoder for this session."""

    rate_hz: float | None = None
    decode: Decoder | None = None
    """Replaces the profile's decoder until the link goes (None: the profile's)."""


Start = Callable[[Control], Awaitable[Started]]
Stop = Callable[[Control], Awaitable[None]]
Resume = Callable[[Control, "Translator", float], Awaitable[None]]
Alert = Callable[[Control, str, str, float], Awaitable[None]]


async def _witmotion_start(control: Control) -> Started:
    # Unlocked, the rate applies until power off; not saved, so the flash is
    # not rewritten at every connect.
    await control.write(uuids.WITMOTION_WRITE, witmotion.UNLOCK)
    await control.write(uuids.WITMOTION_WRITE, witmotion.encode_rate(WITMOTION_RATE_HZ))
    return Started(WITMOTION_RATE_HZ)


async def _polar_reply(control: Control, opcode: int) -> polar.ControlResponse:
    """The response to ``opcode`` (with its continuation packets), or SetupError."""
    try:
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            while True:
                response = polar.decode_control(await control.reply(REPLY_TIMEOUT_S))
                if response.stopped:
                    continue  # a stop notice from before the start
                params = response.params
                while response.more:
                    more = await control.reply(REPLY_TIMEOUT_S)
                    params += more[5:]
                    response = polar.decode_control(more)
                if response.opcode == opcode:
                    break
    except TimeoutError:
        raise SetupError(f"no PMD response to command {opcode} within "
                         f"{REPLY_TIMEOUT_S:g} s") from None
    if response.status != 0:
        raise SetupError(f"PMD command {opcode} refused with status {response.status}")
    return polar.ControlResponse(response.opcode, response.measurement, response.status,
                                 False, params)


def choose_polar_settings(offered: Mapping[int, tuple[float, ...]]) -> tuple[int, int, int]:
    """Rate, resolution and range to start ACC with, from the settings offered.

    The lowest rate of at least ``POLAR_MIN_RATE_HZ`` (the fastest when none is),
    16 bits when offered, ``POLAR_RANGE_G`` when offered, else the widest range.
    """
    rates = sorted(int(r) for r in offered.get(polar.SAMPLE_RATE, ()))
    if not rates:
        raise SetupError("the sensor offers no ACC sample rate")
    usable = [r for r in rates if r >= POLAR_MIN_RATE_HZ]
    rate = usable[0] if usable else rates[-1]
    resolutions = [int(r) for r in offered.get(polar.RESOLUTION, (16,))]
    resolution = 16 if 16 in resolutions else resolutions[0]
    ranges = sorted(int(r) for r in offered.get(polar.RANGE, (POLAR_RANGE_G,)))
    range_g = POLAR_RANGE_G if POLAR_RANGE_G in ranges else ranges[-1]
    return rate, resolution, range_g


async def _polar_start(control: Control) -> Started:
    await control.write(uuids.PMD_CONTROL_POINT, polar.encode_get_settings())
    got = await _polar_reply(control, polar.GET_SETTINGS)
    try:
        offered = polar.decode_settings(got.params)
    except DecodeError as error:
        raise SetupError(f"unreadable ACC settings: {error}") from None
    rate, resolution, range_g = choose_polar_settings(offered)
    channels = 3 if polar.CHANNELS in offered else None
    await control.write(uuids.PMD_CONTROL_POINT,
                        polar.encode_start(rate, resolution, range_g, channels))
    started = await _polar_reply(control, polar.START)
    # The response may carry the FACTOR that compressed frames are scaled by.
    try:
        factor = polar.decode_settings(started.params).get(polar.FACTOR, ())
    except DecodeError:
        factor = ()
    if factor and factor[0] > 0 and factor[0] != 1.0:
        return Started(float(rate), polar.decoder(factor[0]))
    return Started(float(rate))


async def _polar_stop(control: Control) -> None:
    await control.write(uuids.PMD_CONTROL_POINT, polar.encode_stop())


async def _bangle_resume(control: Control, translator: Translator, now: float) -> None:
    offset = translator.zone.utcoffset(datetime.fromtimestamp(now, translator.zone))
    hours = 0.0 if offset is None else offset.total_seconds() / 3600
    lines = [bangle.encode_set_time(int(now), hours),
             bangle.encode_realtime(BANGLE_REALTIME_S)]
    since_ms = translator.blocks.resume(now) if translator.blocks is not None else None
    if since_ms is not None:
        lines.append(bangle.encode_fetch(since_ms))
    for line in lines:
        await control.send(uuids.NORDIC_UART_RX, line, bangle.CHUNK)


async def _bangle_alert(control: Control, title: str, text: str, now: float) -> None:
    # The id only needs to differ from the messages still on the watch.
    line = bangle.encode_notify(int(now), title, text)
    await control.send(uuids.NORDIC_UART_RX, line, bangle.CHUNK)


class AuthRefusedError(SetupError):
    """A Huami band refused the auth key (logged with what to do, retried)."""


async def _huami_reply(control: Control, prefix: bytes, timeout_s: float) -> bytes:
    """The band's next reply starting with ``prefix`` (others are stale: skipped)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                reply = await control.reply(timeout_s)
                if reply[:2] == prefix:
                    return reply
    except TimeoutError:
        raise SetupError(f"the band sent no {prefix.hex(' ')} reply within "
                         f"{timeout_s:g} s") from None


def _huami_start(key: bytes | None, source: str) -> Start:
    async def start(control: Control) -> Started:
        if key is None:
            raise AuthRefusedError("no auth key for this band: put it in a file and name "
                                   "the file as auth_key_file in the band's [[devices]] table")
        await control.write(huami.AUTH, huami.AUTH_REQUEST)
        reply = await _huami_reply(control, huami.AUTH_RANDOM_REPLY[:2], REPLY_TIMEOUT_S)
        try:
            answer = huami.auth_answer(key, reply)
        except DecodeError:
            raise SetupError(f"the band did not give its auth number (status "
                             f"{reply[2:3].hex() or 'none'})") from None
        await control.write(huami.AUTH, answer)
        verdict = await _huami_reply(control, huami.AUTH_OK[:2], REPLY_TIMEOUT_S)
        if not huami.auth_accepted(verdict):
            raise AuthRefusedError(
                f"the band refused the auth key in {source}: get the band's key again "
                "(it changes whenever the band is paired anew with the vendor's app; "
                "Gadgetbridge's Huami Server Pairing page says how) and put its 32 hex "
                "digits in that file")
        return Started()

    return start


async def _huami_resume(control: Control, translator: Translator, now: float) -> None:
    log = translator.minute_log
    if log is None:
        return
    since = log.connected(now)

    def offset_s(at: float) -> float:
        offset = translator.zone.utcoffset(datetime.fromtimestamp(at, translator.zone))
        return 0.0 if offset is None else offset.total_seconds()

    # The band's minutes are its clock's: set it to ours, as Gadgetbridge does.
    await control.write(uuids.CURRENT_TIME, huami.encode_current_time(now, offset_s(now)))
    await control.write(huami.FETCH, huami.encode_fetch(since, offset_s(since)))
    reply = await _huami_reply(control, huami.FETCH_STARTED[:2], REPLY_TIMEOUT_S)
    try:
        start = huami.decode_fetch_start(reply)
    except DecodeError:
        # Live steps go on; the minutes missed stay the log's, for the next fetch.
        log.abandon()
        logger.warning("%s: the band refused to send its activity log (status %s); "
                       "asking again at the next connect", translator.label,
                       reply[2:3].hex() or "none")
        return
    if start.count == 0:
        return  # the translator has closed the (empty) transfer already
    await control.write(huami.FETCH, huami.FETCH_GO)
    await _huami_reply(control, huami.FETCH_DONE[:2], HUAMI_FETCH_S)


async def _huami_alert(control: Control, title: str, text: str, now: float) -> None:
    if control.has(huami.CHUNKED):  # Mi Band 4 and later: it buzzes and shows the text
        async with control.lock:  # one alert's pieces never interleave with another's
            for piece in huami.encode_chunked_alert(title, text):
                await control.write(huami.CHUNKED, piece)
        return
    await control.write(uuids.IMMEDIATE_ALERT, huami.HIGH_ALERT)  # the band vibrates
    await control.write(uuids.NEW_ALERT, huami.encode_alert(title, text))


@dataclass(frozen=True, slots=True)
class Profile:
    """How to talk to one kind of device."""

    kind: str
    decode: Decoder
    notify: tuple[str, ...]
    """Characteristics to subscribe to, in order; those missing on a device are skipped..."""
    required: frozenset[str]
    """...except these: without them the device is not what the config says it is."""
    read_after_connect: tuple[str, ...]
    """Read after every (re)connect: notifications only come on change."""
    start: Start | None = None
    """Run after subscribing; says the acceleration rate in force (Hz) and may give
    the session's decoder."""
    stop: Stop | None = None
    """Run before a clean disconnect."""
    replies: str | None = None
    """The characteristic whose notifications ``Control.reply`` returns."""
    more_replies: tuple[str, ...] = ()
    """More characteristics whose notifications ``Control.reply`` returns too."""
    stream: str | None = None
    """A characteristic whose notifications are a byte stream cut anywhere: they
    go through ``witmotion.Reassembler`` before decoding."""
    rate_hz: float | None = None
    """The acceleration rate the device sends at when ``start`` does not say."""
    framer: Callable[[], Framer] | None = None
    """Makes the framer for ``framed`` (one per connection)."""
    framed: str | None = None
    """The characteristic whose notifications go through ``framer``."""
    resume: Resume | None = None
    """Run once connected and read, with the translator and the time."""
    refresh_s: float | None = None
    """Run ``resume`` again this often (clock seconds) while connected."""
    alert: Alert | None = None
    """Shows a prompt (title, text, now); None: InfiniTime's New Alert, if any."""
    experimental: bool = False
    """The protocol notes are unconfirmed on a real device (logged at connect)."""


PROFILES: dict[str, Profile] = {
    "infinitime": Profile(
        kind="infinitime",
        decode=DECODERS["infinitime"],
        notify=(
            uuids.STEP_COUNT,
            uuids.HEART_RATE_MEASUREMENT,
            uuids.BATTERY_LEVEL,
            # Also keeps InfiniTime <= 1.15 counting steps while its screen is off
            # (ble-protocols.md §1.1, issue #2271).
            uuids.RAW_MOTION,
        ),
        required=frozenset({uuids.STEP_COUNT}),
        read_after_connect=(uuids.STEP_COUNT, uuids.BATTERY_LEVEL),
    ),
    "rsc": Profile(
        kind="rsc",
        decode=DECODERS["rsc"],
        notify=(uuids.RSC_MEASUREMENT, uuids.BATTERY_LEVEL),
        required=frozenset({uuids.RSC_MEASUREMENT}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
    ),
    "heart_rate": Profile(
        kind="heart_rate",
        decode=DECODERS["heart_rate"],
        notify=(uuids.HEART_RATE_MEASUREMENT, uuids.BATTERY_LEVEL),
        required=frozenset({uuids.HEART_RATE_MEASUREMENT}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
    ),
    "witmotion": Profile(
        kind="witmotion",
        decode=DECODERS["witmotion"],
        notify=(uuids.WITMOTION_NOTIFY, uuids.BATTERY_LEVEL),
        required=frozenset({uuids.WITMOTION_NOTIFY, uuids.WITMOTION_WRITE}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
        start=_witmotion_start,
        stream=uuids.WITMOTION_NOTIFY,
        rate_hz=witmotion.DEFAULT_RATE_HZ,
    ),
    "polar": Profile(
        kind="polar",
        decode=DECODERS["polar"],
        # The SDK enables both before any command (ble-protocols.md §4.1).
        notify=(uuids.PMD_CONTROL_POINT, uuids.PMD_DATA, uuids.HEART_RATE_MEASUREMENT,
                uuids.BATTERY_LEVEL),
        required=frozenset({uuids.PMD_CONTROL_POINT, uuids.PMD_DATA}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
        start=_polar_start,
        stop=_polar_stop,
        replies=uuids.PMD_CONTROL_POINT,
    ),
    "pams": Profile(
        kind="pams",
        decode=DECODERS["pams"],
        notify=(uuids.PAMS_STEP_COUNTER_SUMMARY, uuids.PAMS_GENERAL_ACTIVITY_INSTANTANEOUS,
                uuids.BATTERY_LEVEL),
        required=frozenset({uuids.PAMS_STEP_COUNTER_SUMMARY}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
        experimental=True,
    ),
    "bangle": Profile(
        kind="bangle",
        decode=DECODERS["bangle"],
        # Battery Level only where a watch app added the service (skipped if not).
        notify=(uuids.NORDIC_UART_TX, uuids.BATTERY_LEVEL),
        required=frozenset({uuids.NORDIC_UART_TX, uuids.NORDIC_UART_RX}),
        read_after_connect=(uuids.BATTERY_LEVEL,),
        framer=bangle.LineFramer,
        framed=uuids.NORDIC_UART_TX,
        resume=_bangle_resume,
        alert=_bangle_alert,
    ),
    "huami": Profile(
        kind="huami",
        decode=DECODERS["huami"],
        notify=(huami.AUTH, huami.FETCH, huami.ACTIVITY_DATA, huami.REALTIME_STEPS,
                huami.BATTERY_INFO),
        required=frozenset({huami.AUTH, huami.FETCH, huami.ACTIVITY_DATA,
                            huami.REALTIME_STEPS}),
        read_after_connect=(huami.REALTIME_STEPS, huami.BATTERY_INFO),
        start=_huami_start(None, "the config"),
        replies=huami.AUTH,
        more_replies=(huami.FETCH,),
        resume=_huami_resume,
        refresh_s=HUAMI_REFRESH_S,
        alert=_huami_alert,
    ),
}


def profile_for(device: DeviceSpec) -> Profile | None:
    """The profile of ``device``'s kind, with its auth key for a Huami band."""
    profile = PROFILES.get(device.kind)
    if profile is not None and profile.kind == "huami":
        return replace(profile, start=_huami_start(device.auth_key,
                                                   device.auth_key_source or "the config"))
    return profile


def _day_start(at: float, zone: tzinfo) -> float:
    """The local midnight that began ``at``'s day, unix s."""
    day = datetime.fromtimestamp(at, zone).date()
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()


class Translator:
    """One device's readings -> samples, with its step tracker."""

    def __init__(
        self,
        label: str,
        kind: str,
        *,
        zone: tzinfo,
        calibration: float = 1.0,
        counter_state: CounterState | None = None,
        cadence_state: CadenceState | None = None,
        block_state: blocks.BlockState | None = None,
        log_state: LogState | None = None,
    ) -> None:
        self.label = label
        self.zone = zone
        self.blocks = (blocks.BlockSteps(label, state=block_state)
                       if kind == "bangle" else None)
        self.minute_log = MinuteLog(label, state=log_state) if kind == "huami" else None
        self.counter = (
            StepCounter(label, zone=zone, state=counter_state, who=f"{kind} {label}")
            if kind in ("infinitime", "pams")
            else None
        )
        self.cadence = (
            CadenceSteps(label, calibration=calibration, state=cadence_state)
            if kind == "rsc"
            else None
        )

    def samples(self, reading: Reading, at: float) -> list[Sample]:
        """The samples one reading gives (possibly none)."""
        match reading:
            case StepCount(total) if self.minute_log is not None:
                delta = self.minute_log.live(total, at)
                return [] if delta is None else [delta]
            case LogRecords(records) if self.minute_log is not None:
                late = self.minute_log.late
                out: list[Sample] = list(self.minute_log.records(list(records), at,
                                                                 _day_start(at, self.zone)))
                if self.minute_log.late > late:
                    logger.info("%s: %d steps of an earlier day (fetched late) not counted",
                                self.label, self.minute_log.late - late)
                return out
            case LogMark(first, count) if self.minute_log is not None:
                if first is not None and count:
                    self.minute_log.begin(first)
                    return []
                return list(self.minute_log.finish(at))  # the end, or nothing to send
            case StepCount(total) if self.counter is not None:
                delta = self.counter.update(total, at)
                return [] if delta is None else [delta]
            case Acceleration(x, y, z):
                return [Motion(at=at, device=self.label, x=x, y=y, z=z)]
            case HeartRateReading(bpm, contact):
                # 0 means "not measuring" (InfiniTime outside its HR app), not a heart
                # rate; but a strap that says it has no skin contact is heard (not worn).
                if bpm == 0 and contact is not False:
                    return []
                return [HeartRate(at=at, device=self.label, bpm=bpm, contact=contact)]
            case RscReading(cadence_spm=spm) if self.cadence is not None:
                cadence, delta = self.cadence.update(spm, at)
                return [cadence] if delta is None else [cadence, delta]
            case BatteryLevel(percent):
                return [Battery(at=at, device=self.label, percent=percent)]
            case ActivityReport() if self.blocks is not None:
                return self._activity(reading, at)
            case ChargeState(charging):
                return [Charging(at=at, device=self.label, charging=charging)]
            case _:
                return []

    def _activity(self, report: ActivityReport, at: float) -> list[Sample]:
        assert self.blocks is not None
        asleep = None
        if report.realtime:
            delta = self.blocks.live(report.steps, at)
        else:
            end = blocks.block_ending_near(report.end_ms / 1000 if report.end_ms is not None
                                           else at)
            asleep = blocks.sleep_run(self.label, report.activity, report.steps, end, at)
            delta = self.blocks.total(report.steps, end, at)
            if delta is not None and end < _day_start(at, self.zone):
                # Counted now, yesterday's steps would swell today's figures.
                logger.info("%s: %d steps of a block of an earlier day (fetched late) "
                            "not counted", self.label, delta.steps)
                delta = None
        return [s for s in (delta, asleep) if s is not None]

    def link_lost(self) -> None:
        """The link dropped: cadence must not be integrated across the gap."""
        if self.cadence is not None:
            self.cadence.gap()
        if self.minute_log is not None:
            self.minute_log.link_lost()
