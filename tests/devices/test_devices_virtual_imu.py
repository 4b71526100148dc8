"""Virtual WitMotion and Polar IMUs streaming a scripted day through real bleak code,
the connection manager and the decoders, into the IMU pipeline."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import numpy as np
import pytest

pytest.importorskip("bumble", reason="the virtual wearables need the 'virtual' extra")

from helpers.daemon import until
from helpers.devices import Collector

from devices.connection import Timing
from devices.drivers import polar, witmotion
from devices.imu import LABELS, process
from devices.imu.synth import Segment
from devices.manager import DeviceManager
from devices.profiles import SetupError, choose_polar_settings
from devices.samples import Battery, Motion
from devices.spec import DeviceSpec
from devices.virtual import VirtualWorld, run_in_world
from devices.virtual.imu import TURNED, Timeline, compressed_frame
from pacer.daemon.clock import Clock

ZONE = ZoneInfo("Europe/London")
FAST = Timing(scan_s=0.5, connect_s=2.0, backoff_base_s=0.01, backoff_cap_s=0.1, write_s=2.0)
START = 1_795_000_000.0
SPEED = 30.0  # 30 clock seconds per real second


def manager_for(world: VirtualWorld, clock: Clock, spec: DeviceSpec) -> DeviceManager:
    """The connection manager on ``world``, fast, for the one IMU of ``spec``."""
    return DeviceManager([spec], clock=clock.now, zone=ZONE, backend=world.backend,
                         scanner_backend=world.scanner_backend, timing=FAST)


def labels_of(samples: list[Motion], rate: float, placement: str) -> list[str]:
    xyz = np.array([(s.x, s.y, s.z) for s in samples])
    return [LABELS[c] for c in process(xyz, rate, placement).labels]  # type: ignore[arg-type]


def share(names: list[str], label: str) -> float:
    return names.count(label) / max(len(names), 1)


def test_witmotion_is_set_to_10_hz_and_streams_split_packets_that_the_pipeline_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="devices")
    clock = Clock(speed=SPEED, origin=START)

    async def scenario(world: VirtualWorld) -> tuple[list[Motion], int, DeviceManager, int]:
        # 50-byte notifications: most packets are cut across two of them.
        imu = await world.add_witmotion(clock=clock.now, notify_bytes=50)
        imu.play([Segment("walking", 60, 110), Segment("sitting", 120)])
        m = manager_for(world, clock, DeviceSpec(kind="witmotion", address=imu.address))
        got = Collector()
        async with got.draining(m.queue), m:
            await until(lambda: len(got.of(Motion)) >= 10 * 170, 30, "170 s of samples")
            assert imu.commands[:2] == [witmotion.UNLOCK, bytes.fromhex("ff aa 03 06 00")]
            assert imu.rate == 10
            assert m.links[imu.address].rate_hz == 10
        motion = [s for s in got.of(Motion) if isinstance(s, Motion)]
        return motion, imu.streamer.sent, m, len(got.links())

    motion, sent, manager, links = run_in_world(scenario, timeout_s=60)
    assert manager.status()[motion[0].device].decode_errors == 0
    assert "ignored a bad value" not in caplog.text
    assert links == 2  # connected, then stopped
    # Every whole packet sent to the subscriber arrived, bar the last burst in flight
    # at the disconnect (10 Hz x 30 x 0.05 s = 15 samples a burst).
    assert sent - 15 <= len(motion) <= sent
    names = labels_of(motion, 10, "thigh")
    walking, sitting = names[15:55], names[75:165]
    assert share(walking, "walking") > 0.9
    assert share(sitting, "sitting") > 0.95  # the mount was learnt from the walk
    assert "standing" not in sitting


def test_polar_asks_its_settings_starts_at_25_hz_streams_frames_and_is_stopped() -> None:
    clock = Clock(speed=SPEED, origin=START)

    async def scenario(world: VirtualWorld) -> tuple[list[Motion], list[bytes], bool]:
        imu = await world.add_polar(clock=clock.now, placement="waist")
        imu.play([Segment("walking", 60, 100), Segment("sitting", 60), Segment("lying", 60)])
        m = manager_for(world, clock, DeviceSpec(kind="polar", name=imu.name))
        got = Collector()
        async with got.draining(m.queue), m:
            await until(lambda: len(got.of(Motion)) >= 25 * 175, 30, "175 s of samples")
            assert m.links[imu.name].rate_hz == 25
            assert imu.started is not None
        motion = [s for s in got.of(Motion) if isinstance(s, Motion)]
        assert m.status()[imu.name].decode_errors == 0  # the battery read included
        assert [s.percent for s in got.of(Battery) if isinstance(s, Battery)] == [85]
        return motion, imu.commands, imu.started is None

    motion, commands, stopped = run_in_world(scenario, timeout_s=60)
    assert commands == [
        polar.encode_get_settings(),
        bytes.fromhex("02 02 00 01 19 00 01 01 10 00 02 01 08 00"),  # 25 Hz, 16 bit, 8 g
        polar.encode_stop(),  # before the clean disconnect
    ]
    assert stopped
    names = labels_of(motion, 25, "waist")
    assert share(names[15:55], "walking") > 0.9
    assert share(names[75:115], "sitting") > 0.9
    assert share(names[135:170], "lying") > 0.9
    # The frames carry mG from int16: the sitting gravity is 1 g within the noise.
    still = np.array([(s.x, s.y, s.z) for s in motion[25 * 80: 25 * 110]])
    assert np.allclose(np.linalg.norm(still, axis=1), 1.0, atol=0.06)


def test_a_polar_that_refuses_to_start_is_retried_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="devices")
    clock = Clock(speed=SPEED, origin=START)
    # Lists no range: pacer asks for 8 g, which this sensor refuses (invalid range).
    odd = bytes.fromhex("00 01 19 00 01 01 10 00")

    async def scenario(world: VirtualWorld) -> tuple[int, int]:
        imu = await world.add_polar(clock=clock.now, settings=odd)
        m = manager_for(world, clock, DeviceSpec(kind="polar", address=imu.address))
        async with m:
            await until(lambda: m.status()[imu.address].failures >= 2, 20, "two failed starts")
            connects = m.status()[imu.address].connects
        return connects, sum(c[0] == polar.START for c in imu.commands)

    connects, starts = run_in_world(scenario, timeout_s=40)
    assert connects == 0
    assert starts >= 2
    assert "PMD command 2 refused with status 9" in caplog.text


def test_polar_settings_choice() -> None:
    h10 = polar.decode_settings(bytes.fromhex(
        "00 04 19 00 32 00 64 00 c8 00 01 01 10 00 02 03 02 00 04 00 08 00"))
    assert choose_polar_settings(h10) == (25, 16, 8)
    verity = {polar.SAMPLE_RATE: (52.0,), polar.RESOLUTION: (16.0,),
              polar.RANGE: (2.0, 4.0, 8.0, 16.0)}
    assert choose_polar_settings(verity) == (52, 16, 8)
    slow = {polar.SAMPLE_RATE: (5.0, 8.0), polar.RANGE: (2.0, 4.0)}
    assert choose_polar_settings(slow) == (8, 16, 4)  # nothing >= 10 Hz: the fastest
    with pytest.raises(SetupError, match="offers no ACC sample rate"):
        choose_polar_settings({polar.RANGE: (8.0,)})


def test_virtual_witmotion_ignores_a_rate_without_unlock() -> None:
    async def scenario(world: VirtualWorld) -> float:
        imu = await world.add_witmotion()
        imu._command(witmotion.encode_rate(50))
        locked = imu.rate
        imu._command(witmotion.UNLOCK)
        imu._command(witmotion.encode_rate(50))
        assert imu.rate == 50
        return locked

    assert run_in_world(scenario) == 10


def test_timeline_signal_follows_the_script() -> None:
    t = Timeline("thigh", np.eye(3), seed=1)
    t.play([Segment("standing", 10), Segment("sitting", 10)], at=100.0)
    assert t.activity_at(105).activity == "standing"
    assert t.activity_at(115).activity == "sitting"
    assert t.activity_at(1_000).activity == "sitting"  # the last activity goes on
    xyz = t.samples(np.array([105.0, 115.0]))
    assert xyz[0] == pytest.approx([1, 0, 0], abs=0.05)  # thigh vertical
    assert xyz[1] == pytest.approx([0, 1, 0], abs=0.05)  # thigh horizontal
    turned = Timeline("thigh", TURNED, seed=1)
    turned.play([Segment("standing", 10)], at=0.0)
    assert turned.samples(np.array([1.0]))[0] == pytest.approx([0, 0, 1], abs=0.05)


def test_polar_compressed_frames_are_scaled_by_the_factor_of_its_start_response() -> None:
    """A Verity Sense-like sensor: delta-compressed frames (0x81) in units of 0.5 mG and
    FACTOR 0.5 in its start response; pacer reads them in g all the same."""
    clock = Clock(speed=SPEED, origin=START)
    verity = bytes.fromhex("00 01 34 00 01 01 10 00 02 04 02 00 04 00 08 00 10 00 04 01 03")

    async def scenario(world: VirtualWorld) -> tuple[list[Motion], int]:
        imu = await world.add_polar(clock=clock.now, placement="thigh", settings=verity,
                                    factor=0.5)
        imu.play([Segment("walking", 40, 100), Segment("sitting", 60)])
        m = manager_for(world, clock, DeviceSpec(kind="polar", address=imu.address))
        got = Collector()
        async with got.draining(m.queue), m:
            await until(lambda: len(got.of(Motion)) >= 52 * 95, 30, "95 s of samples")
            assert m.links[imu.address].rate_hz == 52
            errors = m.status()[imu.address].decode_errors
        return [s for s in got.of(Motion) if isinstance(s, Motion)], errors

    motion, errors = run_in_world(scenario, timeout_s=60)
    assert errors == 0
    still = np.array([(s.x, s.y, s.z) for s in motion[52 * 50: 52 * 90]])
    assert np.allclose(np.linalg.norm(still, axis=1), 1.0, atol=0.06)  # not 0.5 g, not 2 g
    names = labels_of(motion, 52, "thigh")
    assert share(names[10:35], "walking") > 0.9
    assert share(names[50:90], "sitting") > 0.9


def test_compressed_frame_encoder_agrees_with_the_official_vector() -> None:
    official = bytes.fromhex("02 65 00 00 00 00 00 00 00 81 f1 ff 14 00 f0 03 06 01 7b 0f 08")
    frame = compressed_frame(101, np.array([[-15, 20, 1008], [-20, 17, 1008]]))
    assert frame[:16] == official[:16]  # header and reference sample
    assert frame[16] == 4  # the narrowest width for deltas (-5, -3, 0); Polar used 6
    assert polar.decode_frame(frame) == polar.decode_frame(official)
    with pytest.raises(ValueError, match="FACTOR must be a positive number"):
        polar.decoder(0.0)
