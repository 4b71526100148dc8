"""pacer.store.batch: minutes written a run at a time, each run with the state
as it was when the run was written."""

from __future__ import annotations

from pathlib import Path

from pacer.engine.model import Epoch
from pacer.store import Store
from pacer.store.batch import MinuteBatch

M0 = 29_000_000


def test_a_full_run_is_written_with_the_state_of_its_last_minute(tmp_path: Path) -> None:
    with Store.open(tmp_path / "pacer.sqlite3") as store:
        taken: list[int] = []
        batch = MinuteBatch(store, "alice", "replay", lambda: {"upto": taken[-1]}, size=3)
        for m in range(M0, M0 + 5):
            taken.append(m)
            batch.add(Epoch.from_steps(m, 10), [])
        # The first run of three is in, with the state after its last minute.
        assert [e.start for e in store.epochs("alice", M0, M0 + 10)] == [M0, M0 + 1, M0 + 2]
        assert store.load_state("alice") == (M0 + 2, {"upto": M0 + 2})
        batch.flush()
        assert [e.start for e in store.epochs("alice", M0, M0 + 10)] == list(range(M0, M0 + 5))
        assert store.load_state("alice") == (M0 + 4, {"upto": M0 + 4})
        batch.flush()  # nothing left: nothing written
        assert store.load_state("alice") == (M0 + 4, {"upto": M0 + 4})
