"""BLE wearables as the daemon's source of minutes.

``devices.DeviceManager`` turns notifications into samples; ``MinuteBook``
(pure) turns samples into the epoch of each minute once it is over. Steps are
counted by the minute they arrive in (a watch that was out of reach hands over
what it counted at reconnect, in that minute); when several wearables count
steps, a minute takes the largest count, so a watch and a foot pod do not add
up the same steps. A minute in which no wearable was connected is unknown.

A watch that catches up after a gap delivers the steps it counted meanwhile
at once: they go into the minute they arrive in, so the day loses no step
(the minutes they were taken in are stored already, unknown). They were
plausible when they were decoded: a rise faster than
``devices.plausible.MAX_STEPS_PER_MINUTE`` a minute over the time it covers is
refused there as an impossible reading.

Exactly once across a kill: before a minute is stored the queue of samples is
drained into the book, and the trackers' state and the book's uncounted steps
are stored with the minute, so a restart neither loses nor repeats a step.

Posture from motion: the acceleration of a thigh or waist IMU (WitMotion,
Polar) goes through the streaming IMU pipeline (``devices.imu.Pipeline``) at
the rate the device was started at. Each second it gives is timed from its
samples' arrivals (``ImuTrack``: a burst after a stall keeps its true times),
and counts (with its steps) for the minute the book has open if that minute
is already over: the pipeline's look-ahead
(``devices.imu.smooth.LOOK``, 15 s) shifts the last seconds of a minute into
the next. A minute's posture follows ``pacer.minutes`` (the rule ``pacer
epochs`` follows too): the majority of at least 30 s of known posture, as
measured, else as for a step-only device. The mount orientation the pipeline
learnt from walking is stored with each minute (``mounts``) and given to the
pipeline after a restart or a new rate, so sitting is measured at once; a
sensor strapped on anew is only known from its next walk.

The whole day labelled: until a new sensor's first walk its still seconds are
``unknown`` and the minutes taken meanwhile inferred from their steps. Once the
walk has taught the mount the pipeline relabels those seconds
(``Pipeline.revisions``): ``ImuTrack`` keeps the minute each was counted in
while a revision may come, the book moves them to their new label, works each
minute already taken out again by the same rule, and tells the minutes whose
epoch changed (``relabelled``: for ``Engine.revise``, the store and the log);
minutes not taken yet simply count the new labels.

Not worn (docs/pacing-rules.md section 1, v2): a minute in which a wearable said it
was not worn, and no wearable showed it worn, is a ``not_worn`` epoch (unknown,
never sitting). A wearable says it is not worn with a heart rate measurement
without skin contact (``HeartRate.contact`` False), or by charging: from a
battery level ``CHARGE_RISE`` points above the lowest it reported since (a
level that wobbles up one point is no charger) until its next sign of wear.
A Bangle.js says outright that it is on its charger (``Charging``): not worn
from that minute until it comes off it or shows wear.
Signs of wear are steps, a measurement with skin contact and a posture an IMU
measured. A thigh or waist IMU, or an InfiniTime watch on the wrist (its raw
motion), still for ``wear.still_min`` minutes (``pacer.daemon.wear``) is not
worn: the run's minutes already taken are handed to the engine
(``take_not_worn``, for ``Engine.not_worn``, and the store, which rewrites them
as ``not_worn``), its later minutes are ``not_worn`` epochs; while a run is
shorter than that, ``still_since`` tells the engine to hold a sitting prompt
that needs the run's minutes (``Engine.still``). The still runs and the
charging state are stored with each minute (``state``), so a restart keeps
them. A wearable that gives none of these signals is trusted as worn.

Asleep (docs/pacing-rules.md section 1): a band's own log marks minutes its
wearer slept (``SleepRun``: a Huami band's light and deep sleep kinds, a
Bangle.js block its Sleep Log app marked), told after the fact. Those already
taken as a step-only wearable's guess, sitting inferred from no steps, are
revised to lying (measured, by the band), the way an IMU's revision is
(``SleepMarked``, taken with ``take_relabelled``: ``Engine.revise`` corrects
today's figures and decides nothing about the past, the store rewrites the
minutes with the next one, one INFO line says what changed). A minute with
steps, a posture an IMU measured, one not worn or unknown stays as it was
(``sleep_changes``); minutes not taken yet are taken as lying on the same
terms. The log is history: a mark on the minute in progress or a later one
is dropped. Which minutes were inferred sitting is kept for
``SLEEP_KEEP_MIN`` minutes, across a restart too (``wear_state``).

The watch's raw motion costs its battery: InfiniTime notifies it whenever a
value changes, up to 10 times a second, so the daemon subscribes to it only for
an ``infinitime`` device with ``placement = "wrist"`` (the subscription also
keeps InfiniTime <= 1.15 counting steps with the screen off, ble-protocols.md
section 1.1).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from devices.samples import (
    Battery,
    Charging,
    HeartRate,
    Link,
    Motion,
    NotWornRun,
    Sample,
    SleepRun,
    StepDelta,
)
from devices.spec import DeviceSpec
from pacer.config import BleDevice
from pacer.daemon.wear import Stillness, min_samples
from pacer.engine.model import UNKNOWN_POSTURES, Epoch, Posture
from pacer.minutes import minute_epoch, minute_posture
from pacer.timebase import Minute

if TYPE_CHECKING:
    from devices.imu import Placement
    from pacer.daemon.imu_track import ImuTrack

log = logging.getLogger(__name__)

KEEP_MIN = 180  # minutes of per-device steps kept in the book at most
SETTLE_MARGIN_S = 2
"""Seconds beyond the IMU pipeline's look-ahead before a minute is taken."""
POSTURE_PLACEMENTS: frozenset[str] = frozenset(("thigh", "waist"))
"""Where an IMU tells sitting from standing (a wrist cannot; a chest only trunk tilt)."""
PUSH_AFTER = 600
"""Samples buffered at most before they go through the pipeline (else once a minute)."""
CHARGE_RISE = 2
"""Battery points above the lowest level since that mean the wearable is charging."""
SLEEP_KEEP_MIN = 720
"""Minutes back a band's sleep mark may revise (a night: a band out of reach
overnight hands its log over at the morning's reconnect, while another
wearable gave those minutes)."""


@dataclass(slots=True)
class DeviceSeen:
    kind: str
    up_since: float | None = None  # connected since (None: not connected)
    down_at: float | None = None  # the last disconnection
    last_data: float | None = None
    battery: int | None = None
    heart_rate: int | None = None
    battery_low: int | None = None  # the lowest level since it last charged
    charging_since: Minute | None = None  # on the charger from this minute, until worn
    charging_ends: Minute | None = None  # said it came off the charger in this minute


@dataclass(frozen=True, slots=True)
class Relabelled:
    """A thigh or waist sensor's revision: once it learnt its mount, ``seconds``
    seconds it had given out before took a new label; ``changes`` are the
    minutes already taken whose epoch that changed, ``(as given, as revised)``."""

    device: str
    placement: str
    at: float
    """When the revision came (unix seconds of the last second placed with it)."""
    seconds: int
    changes: tuple[tuple[Epoch, Epoch], ...]
    provisional: bool = False
    """Labelled with a waist's provisional upright (it moved, no walk yet), not
    with a learnt mount."""


@dataclass(frozen=True, slots=True)
class SleepMarked:
    """A band's own log marked minutes ``[first, end)`` asleep, after the fact:
    ``changes`` are the minutes already taken it revised, ``(as given, lying)``;
    ``kept`` those taken that stayed (not sitting inferred from no steps: with
    steps, a measured posture, lying already, not worn or unknown), ``ahead``
    those not taken yet, to be taken as lying."""

    device: str
    at: float
    first: Minute
    end: Minute
    changes: tuple[tuple[Epoch, Epoch], ...]
    kept: int = 0
    ahead: int = 0
    what: str = "band"
    """What the wearable is called in the log (a Bangle.js is a watch)."""


def sleep_changes(first: Minute, end: Minute, given: Mapping[Minute, Epoch]
                  ) -> list[tuple[Epoch, Epoch]]:
    """What a band's sleep mark on minutes ``[first, end)`` revises among the
    minutes ``given``: each one a step-only wearable gave as sitting inferred
    from no steps becomes lying, measured (the band knows its wearer slept).
    A minute with steps, a posture an IMU measured (sitting, standing, walking,
    lying), unknown or not worn is another wearable's word, or no word: it stays."""
    out = []
    for minute in range(first, end):
        was = given.get(minute)
        if was is not None and asleep_may_relabel(was):
            out.append((was, Epoch(minute, 0, Posture.LYING)))
    return out


def asleep_may_relabel(epoch: Epoch) -> bool:
    """Whether a band's sleep mark may make ``epoch`` lying: sitting inferred
    from no steps, and nothing more."""
    return epoch == Epoch.from_steps(epoch.start, 0)


POSTURE_WORDS = {"sedentary": "sitting", "upright": "standing", "stepping": "walking",
                 "lying": "lying"}


def relabel_line(rel: Relabelled | SleepMarked, zone: tzinfo) -> str:
    """The log line of a revision: the sensor, when, and what the stored minutes became."""

    def hhmm(at: float) -> str:
        return datetime.fromtimestamp(at, zone).strftime("%H:%M")

    def tally(epochs: list[Epoch]) -> str:
        names = [POSTURE_WORDS.get(e.posture.value, e.posture.value)
                 + (" (inferred)" if e.inferred else "") for e in epochs]
        return ", ".join(f"{n} {name}" for name, n in Counter(names).most_common())

    if isinstance(rel, SleepMarked):
        head = (f"{rel.what} {rel.device}: its log marks {hhmm(rel.first * 60)}-"
                f"{hhmm(rel.end * 60)} asleep; ")
        if rel.changes:
            head += (f"{len(rel.changes)} stored minutes are lying now, from the "
                     f"{rel.what}'s sleep mark (were "
                     f"{tally([old for old, _ in rel.changes])})")
        else:
            head += "no stored minute changed"
        if rel.kept:
            head += (f"; {rel.kept} left as they were (not sitting inferred from no "
                     "steps: steps, a posture another wearable measured, lying, not "
                     "worn or unknown)")
        if rel.ahead:
            head += f"; {rel.ahead} still to be stored are taken as lying"
        return head

    learnt = ("upright taken for now from its moving seconds, no walk yet, by"
              if rel.provisional else "mount learnt by")
    head = (f"{rel.placement} sensor {rel.device}: {learnt} {hhmm(rel.at)}; "
            f"{rel.seconds} earlier seconds labelled anew with it")
    if not rel.changes:
        return head + ", no stored minute changed"
    first, last = rel.changes[0][0].start, rel.changes[-1][0].start
    return (f"{head}; {len(rel.changes)} stored minutes relabelled {hhmm(first * 60)}-"
            f"{hhmm(last * 60)}: {tally([new for _, new in rel.changes])} "
            f"(were {tally([old for old, _ in rel.changes])})")


@dataclass(slots=True)
class MinuteBook:
    """Samples by minute, until the daemon takes each minute."""

    steps: dict[str, dict[Minute, int]] = field(default_factory=dict)
    seen: dict[str, DeviceSeen] = field(default_factory=dict)
    open_minute: Minute | None = None  # the next minute the daemon will take
    tracks: dict[str, ImuTrack] = field(default_factory=dict)
    references: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Saved mount references of IMUs whose track has not started yet."""
    postures: dict[Minute, dict[int, int]] = field(default_factory=dict)
    """Seconds of each ``Label`` by minute, all posture IMUs together."""
    worn: dict[Minute, bool] = field(default_factory=dict)
    """Minutes a wearable showed worn (True) or said it was not (False); worn wins."""
    still_min: int = 15
    """``wear.still_min``: still minutes in a row that mean an IMU is not worn."""
    stills: dict[str, Stillness] = field(default_factory=dict)
    runs: list[tuple[Minute, Minute]] = field(default_factory=list)
    """Minutes ``[first, end)`` already taken that a still run found not worn."""
    readings: int = 0
    """Acceleration readings taken for the stillness rule, all told (a script
    in lock-step waits on it)."""
    shown: set[Minute] = field(default_factory=set)
    """Recent minutes a wearable showed worn: a still run on another one (a
    watch on the table, a foot pod counting steps) does not take them back."""
    given: dict[Minute, tuple[Epoch, dict[int, int]]] = field(default_factory=dict)
    """Minutes taken that an IMU may still relabel: the epoch given and its seconds."""
    relabelled: list[Relabelled | SleepMarked] = field(default_factory=list)
    """Revisions since ``BleSource.take_relabelled``."""
    quiet: set[Minute] = field(default_factory=set)
    """Minutes taken as sitting inferred from no steps (``SLEEP_KEEP_MIN`` back):
    what a band's sleep mark may revise."""
    asleep: set[Minute] = field(default_factory=set)
    """Minutes not taken yet that a band marked asleep."""

    def track(self, device: str, placement: Placement, rate: float) -> ImuTrack:
        """The device's pipeline at ``rate`` (a new one, same mount, if the rate changed)."""
        track = self.tracks.get(device)
        if track is None or track.rate != rate:
            reference = self.references.pop(device, None)
            if track is not None:
                self._push(device, track)
                reference = track.pipeline.reference_state()
            if reference is not None and reference.get("placement", placement) != placement:
                reference = None
            # numpy and the pipeline only for a daemon that has an IMU (memory).
            from pacer.daemon.imu_track import ImuTrack  # noqa: PLC0415

            track = self.tracks[device] = ImuTrack(placement, rate, reference)
        return track

    def mounts(self) -> dict[str, dict[str, Any]]:
        """Each IMU's learnt mount reference (stored with the minute, restored at a restart)."""
        out = dict(self.references)
        out.update({d: t.pipeline.reference_state() for d, t in self.tracks.items()})
        return out

    def motion(self, track: ImuTrack, device: str, kind: str, at: float,
               xyz: tuple[float, float, float]) -> None:
        self.still(device, kind, at, xyz, rate=track.rate)
        track.add(at, xyz)
        if len(track.buffer) >= PUSH_AFTER:
            self._push(device, track)

    def still(self, device: str, kind: str, at: float, xyz: tuple[float, float, float],
              *, rate: float | None = None) -> None:
        """Acceleration (g) for the stillness rule alone (a wrist's, and an IMU's
        streaming at ``rate``)."""
        self.seen.setdefault(device, DeviceSeen(kind)).last_data = at
        self.readings += 1
        still = self.stills.get(device)
        if still is None:
            still = self.stills[device] = Stillness(self.still_min)
        still.needs = min_samples(rate)
        still.add(self._minute_of(at), xyz)

    def _minute_of(self, at: float) -> Minute:
        minute = int(at // 60)
        if self.open_minute is not None and minute < self.open_minute:
            minute = self.open_minute  # late: the minute it belonged to is stored
        return minute

    def _push(self, device: str, track: ImuTrack) -> None:
        """The track's buffered samples through its pipeline: its new seconds
        counted, and the seconds it relabelled moved to their new label."""
        seconds = track.seconds()
        changes = track.relabelled()
        per = self.steps.setdefault(device, {})
        minutes, labels = [], []
        for at, label, steps in seconds:
            minute = self._minute_of(at)
            counts = self.postures.setdefault(minute, {})
            counts[label] = counts.get(label, 0) + 1
            if steps:
                per[minute] = per.get(minute, 0) + steps
            minutes.append(minute)
            labels.append(label)
        track.keep(track.given - len(seconds), minutes, labels)
        if changes:
            at = seconds[-1][0] if seconds else float(changes[-1][0] * 60)
            self._relabel(device, track, at, changes)

    def _relabel(self, device: str, track: ImuTrack, at: float,
                 changes: list[tuple[Minute, int, int]]) -> None:
        """Seconds relabelled (minute, old, new label): a minute not taken yet
        simply counts the new labels; one taken already is worked out again
        (``pacer.minutes``), and told (``relabelled``) if its epoch changed."""
        touched: set[Minute] = set()
        for minute, old, new in changes:
            counts = self.postures.get(minute)
            if counts is None and minute in self.given:
                counts = self.given[minute][1]
                touched.add(minute)
            if counts is not None:
                counts[old] = counts.get(old, 0) - 1
                counts[new] = counts.get(new, 0) + 1
        revised = []
        for minute in sorted(touched):
            was, counts = self.given[minute]
            now = minute_epoch(minute, was.steps, _posture(counts), known=True)
            if now != was:
                self.given[minute] = (now, counts)
                revised.append((was, now))
                if not asleep_may_relabel(now):
                    self.quiet.discard(minute)
        self.relabelled.append(Relabelled(device, track.placement, at, len(changes),
                                          tuple(revised), track.provisional))

    def _counts(self, minute: Minute) -> dict[int, int] | None:
        """The minute's seconds by label, taken out of the book."""
        counts = self.postures.pop(minute, None)
        for old in [m for m in self.postures if m < minute - KEEP_MIN]:
            del self.postures[old]
        return counts

    def _keep_given(self, minute: Minute, epoch: Epoch, counts: dict[int, int] | None) -> None:
        """A taken minute's epoch and seconds, while an IMU may still relabel
        them (minutes as far back as its oldest second kept: 25 h at most, a few
        hundred bytes a minute); a minute a still run took back is no longer
        the book's to relabel."""
        for first, end in self.runs:
            for m in range(first, end):
                self.given.pop(m, None)
        kept = [t.kept_minutes[0] for t in self.tracks.values() if t.kept_minutes]
        if not kept:
            self.given.clear()
            return
        if counts is not None and epoch.posture not in UNKNOWN_POSTURES:
            self.given[minute] = (epoch, counts)
        oldest = min(kept)
        for old in [m for m in self.given if m < oldest]:
            del self.given[old]

    def note(self, kind: str, sample: Sample) -> None:
        """A sample other than motion from a wearable of ``kind``."""
        seen = self.seen.setdefault(sample.device, DeviceSeen(kind))
        match sample:
            case Link(connected=True):
                seen.up_since = sample.at
                return
            case Link():
                seen.up_since = None
                seen.down_at = sample.at
                return
        seen.last_data = sample.at
        match sample:
            case StepDelta():
                minute = self._minute_of(sample.at)
                per = self.steps.setdefault(sample.device, {})
                per[minute] = per.get(minute, 0) + sample.steps
                if sample.steps:
                    self._wear(seen, minute, worn=True)
            case Battery():
                self._battery(seen, sample)
            case Charging(charging=True):
                seen.charging_ends = None
                if seen.charging_since is None:
                    seen.charging_since = self._minute_of(sample.at)
            case Charging() if seen.charging_since is not None:
                # Minutes before this one, not yet taken, were still on the charger.
                seen.charging_ends = self._minute_of(sample.at)
                seen.battery_low = None  # the level rises no more: start afresh
            case NotWornRun():
                self._not_worn_run(int(sample.start // 60), int(sample.end // 60))
            case SleepRun():
                self._sleep_run(sample)
            case HeartRate():
                if sample.bpm:
                    seen.heart_rate = sample.bpm
                if sample.contact is not None:
                    self._wear(seen, self._minute_of(sample.at), worn=sample.contact)

    def _not_worn_run(self, first: Minute, end: Minute) -> None:
        """A wearable's own record of minutes ``[first, end)`` not worn (a Huami
        band's log, after the fact): those taken already go back as a still
        run's do, unless another wearable showed them worn; later ones are not
        worn unless shown."""
        taken = first if self.open_minute is None else min(end, self.open_minute)
        if first < taken:
            self._take_back(_without((first, taken), self.shown))
        for minute in range(max(first, taken), end):
            self.worn[minute] = self.worn.get(minute, False)

    def _take_back(self, runs: list[tuple[Minute, Minute]]) -> None:
        """Minutes taken that are found not worn: no sleep mark revises them now."""
        self.runs.extend(runs)
        for first, end in runs:
            self.quiet.difference_update(range(first, end))

    def _sleep_run(self, run: SleepRun) -> None:
        """A band's own log marked minutes asleep: those taken as sitting
        inferred from no steps are revised to lying (``SleepMarked``), those not
        taken yet are taken as lying on the same terms. Only history: the
        minute in progress at ``run.at`` and later ones are not marked."""
        first = int(run.start // 60)
        end = min(int(run.end // 60), int(run.at // 60))
        if end <= first:
            return
        taken = end if self.open_minute is None else min(end, self.open_minute)
        given = {m: Epoch.from_steps(m, 0) for m in range(first, taken) if m in self.quiet}
        changes = sleep_changes(first, taken, given)
        for _, new in changes:
            self.quiet.discard(new.start)
            if new.start in self.given:  # an IMU's revision must start from lying now
                self.given[new.start] = (new, self.given[new.start][1])
        ahead = range(max(first, taken), end)
        self.asleep.update(ahead)
        kept = max(taken - first, 0) - len(changes)
        if changes:
            seen = self.seen.get(run.device)
            what = "watch" if seen is not None and seen.kind == "bangle" else "band"
            self.relabelled.append(SleepMarked(run.device, run.at, first, end,
                                               tuple(changes), kept, len(ahead), what))
        else:
            log.debug("%s: asleep %d-%d by its own mark, no minute given to revise",
                      run.device, first, end)

    def _wear(self, seen: DeviceSeen, minute: Minute, *, worn: bool) -> None:
        """A sign that a wearable is worn in ``minute`` (or, ``worn=False``, is not)."""
        self.worn[minute] = self.worn.get(minute, False) or worn
        if worn:
            seen.charging_since = seen.charging_ends = None

    def _battery(self, seen: DeviceSeen, sample: Battery) -> None:
        seen.battery = percent = sample.percent
        low = seen.battery_low
        if low is None or percent < low:
            seen.battery_low = percent
        elif percent >= low + CHARGE_RISE:
            seen.battery_low = percent  # rising again from here means still charging
            if seen.charging_since is None:
                seen.charging_since = self._minute_of(sample.at)

    def not_worn(self, minute: Minute) -> bool:
        """Whether a wearable said ``minute`` was not worn and none showed it worn."""
        worn = self.worn.pop(minute, None)
        for old in [m for m in self.worn if m < minute - KEEP_MIN]:
            del self.worn[old]
        if worn:
            return False
        if worn is False:
            return True
        for s in self.seen.values():
            if s.charging_ends is not None and s.charging_ends <= minute:
                s.charging_since = s.charging_ends = None
        return any(s.charging_since is not None and s.charging_since <= minute
                   for s in self.seen.values())

    def known(self, minute: Minute) -> bool:
        return any(_heard(seen, minute) for seen in self.seen.values())

    def take(self, minute: Minute) -> Epoch:
        for device, track in self.tracks.items():
            self._push(device, track)
        steps = 0
        for per in self.steps.values():
            steps = max(steps, per.pop(minute, 0))
            for old in [m for m in per if m < minute - KEEP_MIN]:
                del per[old]
        self.open_minute = minute + 1
        counts = self._counts(minute)
        posture = None if counts is None else _posture(counts)
        still = quiet = False
        for device, stillness in self.stills.items():
            seen = self.seen.get(device)
            off, run = stillness.close(minute, whole=seen is not None and _whole(seen, minute))
            still = still or off
            # an IMU in a still run: its posture is no sign of wear yet
            quiet = quiet or (device in self.tracks and stillness.first is not None)
            if run is not None:
                self._take_back(_without(run, self.shown))
        if still:
            self.worn[minute] = self.worn.get(minute, False)  # not worn, unless shown
        elif posture is not None and not quiet:
            self.worn[minute] = True  # an IMU measured the person's posture
        if self.worn.get(minute):
            self.shown.add(minute)
        self.shown.difference_update([m for m in self.shown if m < minute - KEEP_MIN])
        if self.not_worn(minute) and self.known(minute):
            epoch = Epoch.not_worn(minute)
        else:
            epoch = minute_epoch(minute, steps, posture, known=self.known(minute))
        epoch = self._asleep(epoch)
        self._keep_given(minute, epoch, counts)
        return epoch

    def _asleep(self, epoch: Epoch) -> Epoch:
        """A minute taken: lying if a band marked it asleep (and it would be
        sitting inferred from no steps), else remembered if a later mark may
        revise it."""
        minute = epoch.start
        marked = minute in self.asleep
        self.asleep.difference_update([m for m in self.asleep if m <= minute])
        self.quiet.difference_update([m for m in self.quiet if m < minute - SLEEP_KEEP_MIN])
        if not asleep_may_relabel(epoch):
            return epoch
        if marked:
            return Epoch(minute, 0, Posture.LYING)
        self.quiet.add(minute)
        return epoch

    def still_since(self) -> Minute | None:
        """The first minute of the earliest still run not yet long enough to be
        not worn (after ``take``), for ``Engine.still``."""
        firsts = [f for s in self.stills.values() if (f := s.candidate) is not None]
        return min(firsts, default=None)

    def wear_state(self) -> dict[str, Any]:
        """What tells worn from not worn across a restart: each sensor's still
        run, each wearable's lowest battery level and charging minute, and the
        minutes a band's sleep mark may still revise (``quiet``, as ranges)."""
        runs = {d: r for d, s in self.stills.items() if (r := s.state()) is not None}
        charge = {d: [s.battery_low, s.charging_since] for d, s in self.seen.items()
                  if s.battery_low is not None or s.charging_since is not None}
        return {"still": runs, "charge": charge, "quiet": _ranges(self.quiet)}

    def restore_wear(self, saved: dict[str, Any], kinds: dict[str, str]) -> None:
        """``wear_state`` as stored (``kinds``: each configured device's kind;
        others are left out, as a device taken out of the config)."""
        for device, run in saved.get("still", {}).items():
            if device in kinds:
                still = self.stills[device] = Stillness(self.still_min)
                still.restore(run)
        for device, charge in saved.get("charge", {}).items():
            if device in kinds and isinstance(charge, list) and len(charge) == 2:
                seen = self.seen.setdefault(device, DeviceSeen(kinds[device]))
                low, since = charge
                seen.battery_low = low if isinstance(low, int) else None
                seen.charging_since = since if isinstance(since, int) else None
        for pair in saved.get("quiet", []):
            if (isinstance(pair, list) and len(pair) == 2
                    and all(isinstance(v, int) for v in pair) and 0 <= pair[1] - pair[0]
                    <= SLEEP_KEEP_MIN):
                self.quiet.update(range(pair[0], pair[1]))

    def pending(self) -> dict[str, dict[str, int]]:
        return {d: {str(m): s for m, s in per.items() if s} for d, per in self.steps.items()}

    def restore_pending(self, pending: dict[str, dict[str, int]]) -> None:
        for device, per in pending.items():
            book = self.steps.setdefault(device, {})
            for minute, steps in per.items():
                book[int(minute)] = book.get(int(minute), 0) + int(steps)


def _posture(counts: dict[int, int]) -> str | None:
    """A minute's measured posture name from its seconds by label, if enough is known."""
    from devices.imu import LABELS  # noqa: PLC0415 - loaded with the IMU's track

    return minute_posture(counts, LABELS)


def _ranges(minutes: set[Minute]) -> list[list[int]]:
    """``minutes`` as ``[first, end)`` ranges, in order (compact to store)."""
    out: list[list[int]] = []
    for minute in sorted(minutes):
        if out and out[-1][1] == minute:
            out[-1][1] = minute + 1
        else:
            out.append([minute, minute + 1])
    return out


def _without(run: tuple[Minute, Minute], shown: set[Minute]) -> list[tuple[Minute, Minute]]:
    """The minutes ``[first, end)`` of ``run`` but those in ``shown``, as ranges."""
    out: list[tuple[Minute, Minute]] = []
    first, end = run
    for minute in range(first, end):
        if minute in shown:
            if first < minute:
                out.append((first, minute))
            first = minute + 1
    if first < end:
        out.append((first, end))
    return out


def _heard(seen: DeviceSeen, minute: Minute) -> bool:
    """Whether the wearable was connected, or sent something, in ``minute``."""
    start, end = minute * 60, (minute + 1) * 60
    if seen.up_since is not None and seen.up_since < end:
        return True
    if seen.down_at is not None and seen.down_at > start:
        return True
    return seen.last_data is not None and start <= seen.last_data < end


def wrist_motion(device: BleDevice) -> bool:
    """A watch whose raw motion the stillness rule reads (InfiniTime on the wrist)."""
    return device.kind == "infinitime" and device.placement == "wrist"


def _whole(seen: DeviceSeen, minute: Minute) -> bool:
    """Whether the wearable was connected throughout ``minute``."""
    start, end = minute * 60, (minute + 1) * 60
    if seen.down_at is not None and start < seen.down_at < end:
        return False
    return seen.up_since is not None and seen.up_since <= start


def device_spec(device: BleDevice) -> DeviceSpec:
    """pacer's ``[[devices]]`` table as the devices package takes it (a Huami
    band's auth key read from its file: ``BadInput`` naming the file, never the key)."""
    return DeviceSpec(kind=device.kind, address=device.address, name=device.name,
                      auth_key=device.auth_key(),
                      auth_key_source=None if device.auth_key_file is None
                      else str(device.auth_key_file))


class BleSource:
    """The configured wearables, connected and kept connected."""

    def __init__(
        self,
        devices: Sequence[BleDevice],
        *,
        clock: Callable[[], float],
        zone: tzinfo,
        still_min: int = 15,
        saved: dict[str, Any] | None = None,
        backend: Any = None,
        scanner_backend: Any = None,
    ) -> None:
        # Imported here: bleak (and D-Bus) load only when wearables are configured.
        from devices.blocks import BlockState  # noqa: PLC0415
        from devices.counter import CounterState  # noqa: PLC0415
        from devices.manager import DeviceManager  # noqa: PLC0415
        from devices.minute_log import LogState  # noqa: PLC0415
        from devices.rsc import CadenceState  # noqa: PLC0415

        saved = saved or {}
        specs = [device_spec(d) for d in devices]  # each key file read once, here
        self.manager = DeviceManager(
            specs,
            clock=clock,
            zone=zone,
            backend=backend,
            scanner_backend=scanner_backend,
            # InfiniTime's raw motion (battery: up to 10 notifications a
            # second) only for a watch on the wrist: the stillness rule's.
            motion=any(wrist_motion(d) for d in devices),
            calibration={spec.label: d.calibration for spec, d in zip(specs, devices,
                                                                       strict=True)},
            counter_states={k: CounterState.from_dict(v)
                            for k, v in saved.get("counters", {}).items()},
            cadence_states={k: CadenceState.from_dict(v)
                            for k, v in saved.get("cadence", {}).items()},
            log_states={k: LogState.from_dict(v) for k, v in saved.get("logs", {}).items()
                        if isinstance(v, dict)},
            block_states={k: BlockState.from_dict(v)
                          for k, v in saved.get("blocks", {}).items() if isinstance(v, dict)},
        )
        self.labels = {spec.label: d for spec, d in zip(specs, devices, strict=True)}
        self.book = MinuteBook(still_min=still_min)
        self.book.restore_pending(saved.get("pending", {}))
        self.book.references = {k: v for k, v in saved.get("mounts", {}).items()
                                if isinstance(v, dict)}
        wear = saved.get("wear")
        if isinstance(wear, dict):
            self.book.restore_wear(wear, {label: d.kind for label, d in self.labels.items()})
        self._raw: list[tuple[str, float, str, dict[str, Any]]] = []
        self._notes: set[asyncio.Task[bool]] = set()

    async def start(self) -> None:
        await self.manager.start()

    async def stop(self) -> None:
        await self.manager.stop()

    async def pump(self) -> None:
        while True:
            self._add(await self.manager.get())

    def _add(self, sample: Sample) -> None:
        if isinstance(sample, Motion):
            self._motion(sample)
            return
        track = self.book.tracks.get(sample.device)
        if isinstance(sample, Link) and sample.connected and track is not None:
            track.gap()
        device = self.labels.get(sample.device)
        self.book.note(device.kind if device else "?", sample)
        # Kept raw for retention (the store's samples table): name and fields.
        fields = {k: v for k, v in asdict(sample).items() if k not in ("at", "device")}
        self._raw.append((sample.device, sample.at, type(sample).__name__, fields))

    def _motion(self, sample: Motion) -> None:
        """Acceleration of a thigh or waist IMU into its pipeline, of a watch on
        the wrist into the stillness rule (others are not used)."""
        device = self.labels.get(sample.device)
        if device is not None and wrist_motion(device):
            self.book.still(sample.device, device.kind, sample.at,
                            (sample.x, sample.y, sample.z))
            return
        if device is None or device.placement not in POSTURE_PLACEMENTS:
            return
        link = self.manager.links.get(sample.device)
        rate = link.rate_hz if link is not None else None
        if rate is None:
            return
        placement: Placement = "thigh" if device.placement == "thigh" else "waist"
        track = self.book.track(sample.device, placement, rate)
        self.book.motion(track, sample.device, device.kind, sample.at,
                         (sample.x, sample.y, sample.z))

    @property
    def settle_s(self) -> float:
        """How long after a minute ends its IMU seconds are all labelled: the
        pipeline's look-ahead and a margin for the last notifications. The daemon
        takes minutes that much later, so a second counts for its own minute, as
        ``pacer epochs`` counts it (0 without a thigh or waist IMU)."""
        if not any(d.placement in POSTURE_PLACEMENTS for d in self.labels.values()):
            return 0.0
        from devices.imu.smooth import LOOK  # noqa: PLC0415 - numpy only with an IMU

        return float(LOOK + SETTLE_MARGIN_S)

    def drain(self) -> None:
        queue = self.manager.queue
        while not queue.empty():
            self._add(queue.get_nowait())

    def epoch(self, minute: Minute) -> Epoch:
        self.drain()
        return self.book.take(minute)

    def take_not_worn(self) -> list[tuple[Minute, Minute]]:
        """Minutes ``[first, end)`` already given that a still run found not
        worn since the last call (after ``epoch``): for ``Engine.not_worn``."""
        runs, self.book.runs = self.book.runs, []
        return runs

    def state(self) -> dict[str, Any]:
        """Stored with each minute (after ``epoch``), restored after a restart."""
        counters, cadence, logs, blocks = {}, {}, {}, {}
        for label in self.manager.links:
            b = self.manager.block_state(label)
            if b is not None:
                blocks[label] = b.to_dict()
            g = self.manager.log_state(label)
            if g is not None:
                logs[label] = g.to_dict()
            c = self.manager.counter_state(label)
            if c is not None:
                counters[label] = c.to_dict()
            r = self.manager.cadence_state(label)
            if r is not None:
                cadence[label] = r.to_dict()
        return {"counters": counters, "cadence": cadence, "logs": logs, "blocks": blocks,
                "pending": self.book.pending(),
                "mounts": self.book.mounts(), "wear": self.book.wear_state()}

    def take_relabelled(self) -> list[Relabelled | SleepMarked]:
        """Revisions of minutes already given since the last call (after
        ``epoch``), an IMU's or a band's sleep marks: for ``Engine.revise`` and
        the store."""
        out, self.book.relabelled = self.book.relabelled, []
        return out

    def still_since(self) -> Minute | None:
        """The first minute of a still run not yet known to be not worn (after
        ``epoch``): for ``Engine.still``."""
        return self.book.still_since()

    def take_raw(self) -> list[tuple[str, float, str, dict[str, Any]]]:
        raw, self._raw = self._raw, []
        return raw

    def devices(self) -> list[dict[str, Any]]:
        status = self.manager.status()
        out = []
        for label, dev in self.labels.items():
            st = status.get(label)
            seen = self.book.seen.get(label)
            out.append({
                "name": label,
                "kind": dev.kind,
                "connected": bool(st and st.connected),
                "battery": seen.battery if seen else None,
                "heart_rate": seen.heart_rate if seen else None,
                "last_data": seen.last_data if seen else None,
                "failures": st.failures if st else 0,
            })
        return out

    def notify(self, title: str, text: str) -> None:
        """Buzz the watch with a prompt (fire and forget: a prompt is sent over
        MQTT whatever the watch does)."""
        task = asyncio.ensure_future(self.manager.notify_watch(title, text))
        self._notes.add(task)
        task.add_done_callback(self._notes.discard)
