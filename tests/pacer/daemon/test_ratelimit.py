"""The per-sender command limit, as pure logic (the daemon's flood test is in
tests/pacer/contract/test_mqtt_contract.py)."""

from __future__ import annotations

from pacer.daemon.ratelimit import SENDERS_MAX, RateLimit


def test_a_burst_then_the_rate() -> None:
    limit = RateLimit(burst=3, per_s=1.0)
    assert [limit.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limit.allow("a", 0.5) is False  # half a token
    assert limit.allow("a", 1.0) is True  # one token back a second later
    assert limit.allow("b", 1.0) is True  # another sender has its own bucket


def test_the_bucket_refills_to_the_burst_only() -> None:
    limit = RateLimit(burst=2, per_s=1.0)
    assert limit.allow("a", 0.0)
    assert [limit.allow("a", 100.0) for _ in range(3)] == [True, True, False]


def test_the_longest_idle_sender_is_forgotten_past_the_cap() -> None:
    limit = RateLimit(burst=1, per_s=0.0)
    assert limit.allow("first", 0.0)
    for i in range(SENDERS_MAX):
        limit.allow(f"s{i}", 1.0)
    assert limit.allow("first", 2.0) is True  # forgotten: a fresh bucket
