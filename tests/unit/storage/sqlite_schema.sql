CREATE TABLE tarry_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    flow_name TEXT NOT NULL,
    entrypoint TEXT NOT NULL,
    parameters TEXT NOT NULL,
    state TEXT NOT NULL,
    state_reason TEXT NOT NULL DEFAULT '',
    parent_id TEXT REFERENCES runs (id),
    parent_step_key TEXT,
    attempt INTEGER NOT NULL DEFAULT 1,
    result TEXT,
    error TEXT,
    lease_owner TEXT,
    lease_expires_at REAL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL
);
CREATE INDEX runs_created ON runs (created_at DESC);
CREATE INDEX runs_active ON runs (state, lease_expires_at)
    WHERE state IN ('Pending', 'Running');
CREATE INDEX runs_parent ON runs (parent_id) WHERE parent_id IS NOT NULL;
CREATE TABLE run_transitions (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE INDEX run_transitions_run ON run_transitions (run_id, id);
CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs (id),
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
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE logs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_key TEXT,
    at REAL NOT NULL,
    level INTEGER NOT NULL,
    logger TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL
);
CREATE INDEX logs_run ON logs (run_id, id);
