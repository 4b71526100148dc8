"""The connection manager, with real bleak against virtual wearables on bumble."""

from __future__ import annotations

import asyncio
import logging
import struct
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.daemon import until
from helpers.devices import Collector, ManualClock

from devices import uuids
from devices.connection import Timing
from devices.drivers.infinitime import Alert
from devices.manager import DeviceManager
from devices.sample_queue import SampleQueue
from devices.samples import (
    Battery,
    Cadence,
    HeartRate,
    Link,
    Motion,
    Sample,
    StepDelta,
)
from devices.spec import DeviceSpec, device_label
from devices.virtual import VirtualWorld, run_in_world

ZONE = ZoneInfo("Europe/Berlin")
FAST = Timing(scan_s=0.3, connect_s=1.0, backoff_base_s=0.01, backoff_cap_s=0.1, write_s=2.0)
START = 1_795_000_000.0  # a Tuesday afternoon in November 2026


def watch_config(address: str) -> DeviceSpec:
    return DeviceSpec(kind="infinitime", address=address)


def manager_for(
    world: VirtualWorld, devices: list[DeviceSpec], clock: ManualClock, **kwargs: object
) -> DeviceManager:
    return DeviceManager(
        devices,
        clock=clock,
        zone=ZONE,
        backend=world.backend,
        scanner_backend=world.scanner_backend,
        timing=FAST,
        **kwargs,  # type: ignore[arg-type]
    )


def cadences_are(got: Collector, n: int) -> bool:
    return len(got.of(Cadence)) == n


def connected(m: DeviceManager, n: int | None = None) -> bool:
    states = m.status().values()
    return sum(s.connected for s in states) == (len(states) if n is None else n)


def test_watch_samples_from_reads_and_notifications() -> None:
    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        await watch.set_steps(120)
        clock = ManualClock(START)
        m = manager_for(world, [watch_config(watch.address)], clock)
        label = watch.address
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: connected(m), what="connected, subscribed and read")
            await until(lambda: got.steps() == 120, what="the step count read after connecting")
            clock.now += 60
            await watch.walk(30)
            await watch.set_heart_rate(0)  # not measuring: no sample
            await watch.set_heart_rate(72)
            await watch.move(0.0, 0.5, -1.0)
            await watch.set_battery(55)
            await until(lambda: bool(got.of(Battery)[1:]), what="the battery notification")
        assert got.links() == [
            Link(START, label, True, "connected"),
            Link(START + 60, label, False, "stopped"),
        ]
        assert got.of(StepDelta) == [
            StepDelta(START, label, 120),
            StepDelta(START + 60, label, 10, since=START),
            StepDelta(START + 60, label, 10, since=START + 60),
            StepDelta(START + 60, label, 10, since=START + 60),
        ]
        assert got.of(HeartRate) == [HeartRate(START + 60, label, 72)]
        assert got.of(Motion) == [Motion(START + 60, label, 0.0, 0.5, -1.0)]
        assert got.of(Battery) == [Battery(START, label, 80), Battery(START + 60, label, 55)]
        status = m.status()[label]
        assert (status.connects, status.decode_errors, status.connected) == (1, 0, False)
        stored = m.counter_state(label)
        assert stored is not None
        assert stored.total == 150

    run_in_world(scenario, watches=1)


def test_foot_pod_steps_from_cadence_with_calibration() -> None:
    async def scenario(world: VirtualWorld) -> None:
        pod = world.foot_pods[0]
        clock = ManualClock(START)
        config = DeviceSpec(kind="rsc", name="FootPod")
        m = manager_for(world, [config], clock, calibration={"FootPod": 2.0})
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: connected(m), what="the pod to connect")
            for second in range(31):  # 55 strides a minute = 110 steps a minute
                clock.now = START + second
                await pod.measure(55)
                await until(partial(cadences_are, got, second + 1), what="the measurement")
        assert got.steps("FootPod") == 55
        cadences = got.of(Cadence)
        assert cadences[0] == Cadence(START, "FootPod", 110.0)
        state = m.cadence_state("FootPod")
        assert state is not None
        assert state.at is None  # forgotten at the disconnect: no integration across it

    run_in_world(scenario, foot_pods=1)


def test_new_alert_reaches_the_watch_with_its_title() -> None:
    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        m = manager_for(world, [watch_config(watch.address)], ManualClock(START))
        assert await m.notify_watch("Nobody", "is connected") is False
        async with m:
            await until(lambda: connected(m), what="the watch to connect")
            assert await m.notify_watch("Time to move", "You have sat for 40 min") is True
        assert watch.shown_alerts == [Alert(0, "Time to move", "You have sat for 40 min")]
        assert await m.notify_watch("After", "stop") is False

    run_in_world(scenario, watches=1)


def test_garbage_is_counted_and_logged_and_the_link_stays_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="devices")

    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        m = manager_for(world, [watch_config(watch.address)], ManualClock(START))
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: connected(m), what="the watch to connect")
            await watch.send_garbage(uuids.STEP_COUNT, b"\x01\x02")
            await watch.send_garbage(uuids.RAW_MOTION, b"")
            await watch.send_garbage(uuids.HEART_RATE_MEASUREMENT, b"\x10\x48\x01")
            await watch.send_garbage(uuids.BATTERY_LEVEL, b"\xff")
            await watch.walk(10)
            await until(lambda: got.steps() == 10, what="steps after the garbage")
            status = m.status()[watch.address]
            assert status.decode_errors == 4
            assert status.connected
            assert status.connects == 1
        assert [link.connected for link in got.links()] == [True, False]

    run_in_world(scenario, watches=1)
    bad = [r.getMessage() for r in caplog.records if "ignored a bad value" in r.getMessage()]
    assert len(bad) == 4
    assert bad[0].startswith("infinitime F0:00:00:00:00:01: ignored a bad value (1 so far): ")
    assert "characteristic 00030001-78fc-48fe-8e23-433b3a1942d0" in bad[0]
    assert "above 100 %" in bad[3]


def test_link_loss_reconnects_and_steps_while_away_come_as_one_delta(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="devices")

    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        clock = ManualClock(START)
        m = manager_for(world, [watch_config(watch.address)], clock)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: connected(m), what="the first connection")
            await watch.go_away()
            await until(lambda: len(got.links()) == 2, what="the link-lost sample")
            clock.now += 600
            await watch.walk(70)  # counted by the watch while nobody listens
            await watch.come_back()
            await until(lambda: got.steps() == 70, what="the read after reconnecting")
        deltas = got.of(StepDelta)
        assert deltas == [StepDelta(START + 600, watch.address, 70, since=START)]
        assert [(x.connected, x.reason) for x in got.links()] == [
            (True, "connected"),
            (False, "link lost"),
            (True, "connected"),
            (False, "stopped"),
        ]

    run_in_world(scenario, watches=1)
    text = caplog.text
    assert "infinitime F0:00:00:00:00:01: disconnected (link lost)" in text


def test_a_device_absent_for_hours_is_retried_with_clear_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="devices.connection")

    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        await watch.go_away()
        clock = ManualClock(START)
        timing = Timing(scan_s=0.02, connect_s=1.0, backoff_base_s=0.001, backoff_cap_s=0.005)
        m = DeviceManager(
            [watch_config(watch.address)],
            clock=clock,
            zone=ZONE,
            backend=world.backend,
            scanner_backend=world.scanner_backend,
            timing=timing,
        )
        async with m:
            await until(lambda: m.status()[watch.address].failures >= 9, what="nine failed scans")
            clock.now += 3 * 3600
            await until(lambda: m.status()[watch.address].failures >= 10, what="the tenth")
            status = m.status()[watch.address]
            assert not status.connected
            assert status.last_error is not None
            assert "not found" in status.last_error
            await watch.come_back()
            await until(lambda: connected(m), what="the watch to come back")
            assert m.status()[watch.address].failures == 0

    run_in_world(scenario, watches=1)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "devices.connection"]
    first = next(msg for level, msg in lines if level == logging.WARNING)
    assert first == (
        "infinitime F0:00:00:00:00:01: not found by address F0:00:00:00:00:01 "
        "within a 0.02 s scan; will keep retrying"
    )
    infos = [msg for level, msg in lines if level == logging.INFO and "still" in msg]
    assert infos[0].startswith(
        "infinitime F0:00:00:00:00:01: still unavailable after 10 attempts (180 min): not found"
    )
    warnings = [msg for level, msg in lines if level == logging.WARNING]
    assert len(warnings) == 1  # one warning for the streak, not one per attempt


@pytest.mark.skipif(
    Path("/run/dbus/system_bus_socket").exists(),
    reason="this machine has a system D-Bus, so it may have real Bluetooth",
)
def test_no_bluetooth_at_all_is_logged_and_retried_never_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The platform's own bleak backend on a machine without BlueZ (as here and in CI)."""
    caplog.set_level(logging.WARNING, logger="devices")

    async def main() -> DeviceManager:
        m = DeviceManager(
            [watch_config("AA:BB:CC:DD:EE:FF")],
            clock=ManualClock(START),
            zone=ZONE,
            timing=Timing(scan_s=0.05, connect_s=0.2, backoff_base_s=0.001, backoff_cap_s=0.01),
        )
        async with m:
            await until(lambda: m.status()["AA:BB:CC:DD:EE:FF"].failures >= 3,
                        what="three failures")
        return m

    m = asyncio.run(main())
    status = m.status()["AA:BB:CC:DD:EE:FF"]
    assert status.last_error is not None
    assert ("BlueZ" in status.last_error) or ("Bluetooth" in status.last_error)
    first = caplog.records[0].getMessage()
    assert first.startswith("infinitime AA:BB:CC:DD:EE:FF: ")
    assert first.endswith("; will keep retrying")


def test_several_devices_at_once_each_with_its_own_label() -> None:
    async def scenario(world: VirtualWorld) -> None:
        w1, w2 = world.watches
        pod = world.foot_pods[0]
        await w1.set_steps(11)
        await w2.set_steps(22)
        clock = ManualClock(START)
        devices = [
            watch_config(w1.address),
            watch_config(w2.address),
            DeviceSpec(kind="rsc", address=pod.address),
        ]
        m = manager_for(world, devices, clock)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: connected(m), what="all three devices")
            await until(lambda: got.steps() == 33, what="both watches' counts")
            await w2.drop_link()
            await until(lambda: m.status()[w2.address].connects == 2, what="w2 to reconnect")
            assert m.status()[w1.address].connects == 1
            assert m.status()[pod.address].connects == 1
        assert got.steps(w1.address) == 11
        assert got.steps(w2.address) == 22
        assert {x.device for x in got.links()} == {w1.address, w2.address, pod.address}

    run_in_world(scenario, watches=2, foot_pods=1)


def test_wrong_kind_is_reported_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="devices")

    async def scenario(world: VirtualWorld) -> None:
        pod = world.foot_pods[0]
        m = manager_for(world, [watch_config(pod.address)], ManualClock(START))
        async with m:
            await until(lambda: m.status()[pod.address].failures >= 2, what="two tries")
            assert not m.status()[pod.address].connected

    run_in_world(scenario, foot_pods=1)
    assert (
        "the device has no characteristic 00030001-78fc-48fe-8e23-433b3a1942d0: "
        "is it really a infinitime device?"
    ) in caplog.text


def test_name_lookup_unsupported_kinds_and_duplicate_labels(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="devices.manager")
    # A kind without a driver is only skipped (every kind pacer's config takes has
    # one: tests/pacer/test_config.py).
    polar = DeviceSpec(kind="polar", name="Polar H10")
    assert list(DeviceManager([polar], zone=ZONE).links) == ["Polar H10"]
    odd = DeviceSpec(kind="movesense", name="Movesense")
    m = DeviceManager([odd], zone=ZONE)
    assert m.unsupported == ["Movesense"]
    assert m.links == {}
    assert "movesense Movesense: no driver for this kind yet; the device is ignored" in caplog.text
    with pytest.raises(ValueError, match="share the label"):
        DeviceManager([watch_config("AA:BB"), watch_config("AA:BB")], zone=ZONE)
    both = DeviceSpec(kind="rsc", address="AA:BB", name="Pod")
    assert device_label(both) == "AA:BB"

    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        config = DeviceSpec(kind="infinitime", name="InfiniTime")
        m = manager_for(world, [config], ManualClock(START))
        async with m:
            await until(lambda: connected(m), what="the watch found by its name")
        assert list(m.status()) == ["InfiniTime"]
        assert watch.connected is False

    run_in_world(scenario, watches=1)


def test_supervisor_restarts_a_task_that_died_of_a_bug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="devices.manager")

    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        m = manager_for(world, [watch_config(watch.address)], ManualClock(START))
        link = m.links[watch.address]
        real_run = link.run
        calls = 0

        async def buggy_once(stop: asyncio.Event) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("a bug")
            await real_run(stop)

        link.run = buggy_once  # type: ignore[method-assign]
        async with m:
            await until(lambda: connected(m), what="the restarted task to connect")

    run_in_world(scenario, watches=1)
    assert "infinitime F0:00:00:00:00:01: connection task failed; restarting it" in caplog.text


def test_motion_can_be_left_off() -> None:
    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        m = manager_for(world, [watch_config(watch.address)], ManualClock(START), motion=False)
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: connected(m), what="the watch")
            await watch.move(1.0, 0.0, 0.0)
            await watch.walk(1, per_notification=1)
            await until(lambda: got.steps() == 1, what="the step after the motion")
        assert got.of(Motion) == []

    run_in_world(scenario, watches=1)


def test_a_full_queue_drops_motion_first_and_counts() -> None:
    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        m = manager_for(world, [watch_config(watch.address)], ManualClock(START), queue_size=5)
        async with m:
            await until(lambda: connected(m), what="the watch")  # Link + Battery queued
            for i in range(20):
                await watch.move(0.0, 0.0, i / 16)
            await watch.walk(2, per_notification=1)
            # 5 places: Link, Battery, then motion; each later sample pushes out
            # the oldest motion sample, the steps too.
            await until(lambda: m.queue.dropped["Motion"] == 19, what="19 motion samples dropped")
        kept = [m.queue.get_nowait() for _ in range(m.queue.qsize())]
        names = [type(s).__name__ for s in kept]
        assert names == ["Link", "Battery", "StepDelta", "StepDelta", "Link"]
        assert m.queue.dropped == {"Motion": 20}  # the Link of the stop pushed out the last

    run_in_world(scenario, watches=1)


# --- SampleQueue on its own ---------------------------------------------------------


def motion(i: int) -> Motion:
    return Motion(float(i), "w", 0.0, 0.0, 1.0)


def step(i: int) -> StepDelta:
    return StepDelta(float(i), "w", 1)


def test_queue_keeps_overall_order_across_kinds() -> None:
    q = SampleQueue(10)
    samples: list[Sample] = [motion(0), step(1), motion(2), step(3)]
    for i, s in enumerate(samples):
        assert s.at == i
        q.put_nowait(s)
    assert [q.get_nowait().at for _ in range(4)] == [0, 1, 2, 3]
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()


def test_queue_full_of_steps_drops_new_motion_then_oldest_steps(
    caplog: pytest.LogCaptureFixture,
) -> None:
    q = SampleQueue(2)
    q.put_nowait(step(0))
    q.put_nowait(step(1))
    q.put_nowait(motion(2))  # dropped itself: nothing less valuable is queued
    assert q.dropped == {"Motion": 1}
    q.put_nowait(step(3))  # the oldest step goes
    assert [q.get_nowait().at, q.get_nowait().at] == [1, 3]
    assert q.dropped == {"Motion": 1, "StepDelta": 1}
    assert "sample queue full (2): dropped 1 sample(s) so far (Motion 1)" in caplog.text
    assert q.full() is False
    with pytest.raises(ValueError, match="at least 1"):
        SampleQueue(0)


def test_queue_get_waits_for_a_sample() -> None:
    async def main() -> float:
        q = SampleQueue(3)
        waiter = asyncio.create_task(q.get())
        await asyncio.sleep(0)
        assert not waiter.done()
        q.put_nowait(step(7))
        return (await waiter).at

    assert asyncio.run(main()) == 7.0


def test_heart_rate_strap_kind() -> None:
    """A plain SIG heart rate strap: the watch also serves 0x180D, so it stands in."""

    async def scenario(world: VirtualWorld) -> None:
        watch = world.watches[0]
        config = DeviceSpec(kind="heart_rate", address=watch.address)
        m = manager_for(world, [config], ManualClock(START))
        async with Collector().draining(m.queue) as got, m:
            await until(lambda: connected(m), what="the strap")
            await watch.notify(uuids.HEART_RATE_MEASUREMENT, struct.pack("<BH", 0x01, 300))
            await until(lambda: bool(got.of(HeartRate)), what="the heart rate")
            await watch.walk(5)  # not subscribed for this kind
        assert got.of(HeartRate) == [HeartRate(START, watch.address, 300)]
        assert got.steps() == 0

    run_in_world(scenario, watches=1)


def test_stop_does_not_wait_for_a_long_scan() -> None:
    async def scenario(world: VirtualWorld) -> float:
        watch = world.watches[0]
        await watch.go_away()
        timing = Timing(scan_s=30.0, connect_s=1.0)
        m = DeviceManager(
            [watch_config(watch.address)],
            zone=ZONE,
            backend=world.backend,
            scanner_backend=world.scanner_backend,
            timing=timing,
        )
        await m.start()
        await until(lambda: world.central.device.is_scanning, what="the 30 s scan to start")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await m.stop()
        return loop.time() - started

    assert run_in_world(scenario, watches=1) < 0.5
