"""The store's schema, as an ordered list of migration scripts.

Script ``i`` takes a file from schema version ``i`` to ``i + 1`` (recorded in
``PRAGMA user_version``). Scripts are append-only: a released script is never
edited, a change is a new script. Write one statement per line end (the runner
splits scripts with ``sqlite3.complete_statement``) and no transaction control:
the runner wraps each script in its own transaction.

Every table is keyed by ``user`` so that one file can hold several people.
Times named ``minute``/``time``/``expires`` are engine minutes (int minutes since
the Unix epoch, UTC); ``*_at`` columns are real Unix seconds (float).
"""

from __future__ import annotations

_V1 = """
CREATE TABLE epochs (
    user     TEXT    NOT NULL,
    minute   INTEGER NOT NULL,
    steps    INTEGER NOT NULL CHECK (steps >= 0),
    posture  TEXT    NOT NULL,
    inferred INTEGER NOT NULL CHECK (inferred IN (0, 1)),
    source   TEXT    NOT NULL,
    PRIMARY KEY (user, minute)
);

CREATE TABLE prompts (
    user    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    time    INTEGER NOT NULL,
    expires INTEGER,
    payload TEXT    NOT NULL,
    PRIMARY KEY (user, id)
);
CREATE INDEX prompts_by_time ON prompts (user, time);

-- One row per prompt: a later outcome (snoozed, then taken) replaces the earlier.
CREATE TABLE outcomes (
    user          TEXT    NOT NULL,
    prompt_id     TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    time          INTEGER NOT NULL,
    latency_min   INTEGER,
    self_reported INTEGER NOT NULL CHECK (self_reported IN (0, 1)),
    PRIMARY KEY (user, prompt_id)
);

CREATE TABLE summaries (
    user    TEXT    NOT NULL,
    period  TEXT    NOT NULL CHECK (period IN ('day', 'week')),
    key     TEXT    NOT NULL,
    final   INTEGER NOT NULL CHECK (final IN (0, 1)),
    time    INTEGER NOT NULL,
    payload TEXT    NOT NULL,
    PRIMARY KEY (user, period, key)
);

-- The engine snapshot after the last minute (or command) it processed.
CREATE TABLE engine_state (
    user   TEXT    NOT NULL PRIMARY KEY,
    minute INTEGER NOT NULL,
    state  TEXT    NOT NULL
);

-- Every QoS >= 1 message not yet acknowledged by the broker; AUTOINCREMENT so
-- that a seq is never reused while a PUBACK for an older row may still arrive.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user       TEXT    NOT NULL,
    topic      TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    qos        INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),
    retain     INTEGER NOT NULL CHECK (retain IN (0, 1)),
    expires_at REAL,
    created_at REAL    NOT NULL,
    msg_id     TEXT    NOT NULL
);

-- Messages the broker refused for good (reason code >= 0x80): kept for the operator.
CREATE TABLE dead_letters (
    seq        INTEGER PRIMARY KEY,
    user       TEXT    NOT NULL,
    topic      TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    qos        INTEGER NOT NULL,
    retain     INTEGER NOT NULL,
    expires_at REAL,
    created_at REAL    NOT NULL,
    msg_id     TEXT    NOT NULL,
    reason     TEXT    NOT NULL
);

-- Processed command ids and their replies, so a redelivered command is answered
-- again but applied only once.
CREATE TABLE commands (
    user        TEXT NOT NULL,
    cmd_id      TEXT NOT NULL,
    received_at REAL NOT NULL,
    reply       TEXT NOT NULL,
    PRIMARY KEY (user, cmd_id)
);

-- Audit trail: symptoms, plan changes, acks.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    user    TEXT NOT NULL,
    time    REAL NOT NULL,
    type    TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_by_user ON events (user, seq);
"""

_V2 = """
-- Requests made on the daemon's own machine (`pacer alert clear`): the command
-- line writes a row, the running daemon applies it and writes the result.
CREATE TABLE local_requests (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at REAL NOT NULL,
    done_at    REAL,
    result     TEXT
);
CREATE INDEX local_requests_open ON local_requests (user, done_at);
"""

_V3 = """
-- Raw samples from the wearables (step deltas, heart rate, battery, link
-- changes), kept raw_retention_days for troubleshooting and re-analysis.
CREATE TABLE samples (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    user    TEXT NOT NULL,
    device  TEXT NOT NULL,
    at      REAL NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX samples_by_time ON samples (user, at);
"""

_V4 = """
-- The running daemon's heartbeat (broker, wearables), for `pacer status`.
CREATE TABLE heartbeat (
    user    TEXT PRIMARY KEY,
    at      REAL NOT NULL,
    payload TEXT NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4)
"""Schema scripts in order; the schema version after script ``i`` is ``i + 1``."""
