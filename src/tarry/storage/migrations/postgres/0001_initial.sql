-- Runs, their state transitions, their journal of steps and their logs.
--
-- As in SQLite: JSON payloads are text (kept byte for byte), timestamps are Unix
-- seconds as double precision. Ids that are ordered or matched by prefix use the
-- "C" collation, so they sort by code point as SQLite's BINARY does, whatever the
-- database's locale. `seq` and the identity ids give rows their insertion order,
-- which SQLite's rowid gives for free.
CREATE TABLE runs (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    flow_name TEXT NOT NULL,
    entrypoint TEXT NOT NULL,
    parameters TEXT NOT NULL,
    state TEXT NOT NULL,
    state_reason TEXT NOT NULL DEFAULT '',
    parent_id TEXT COLLATE "C" REFERENCES runs (id),
    parent_step_key TEXT,
    attempt INTEGER NOT NULL DEFAULT 1,
    result TEXT,
    error TEXT,
    lease_owner TEXT,
    lease_expires_at DOUBLE PRECISION,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION,
    ended_at DOUBLE PRECISION,
    seq BIGINT GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX runs_created ON runs (created_at DESC, id);
CREATE INDEX runs_active ON runs (state, lease_expires_at)
    WHERE state IN ('Pending', 'Running', 'Waiting');
CREATE INDEX runs_leased ON runs (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX runs_parent ON runs (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE run_transitions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at DOUBLE PRECISION NOT NULL
);

CREATE INDEX run_transitions_run ON run_transitions (run_id, id);

CREATE TABLE steps (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    inputs_digest TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    flow_attempt INTEGER NOT NULL DEFAULT 1,
    child_run_id TEXT,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    step_key TEXT,
    at DOUBLE PRECISION NOT NULL,
    level INTEGER NOT NULL,
    logger TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL
);

CREATE INDEX logs_run ON logs (run_id, id);
