-- Waits: what a run waits for (an input, a timer), and answers sent before the
-- run reached its wait.
CREATE TABLE waits (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_key TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    alt INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    spec TEXT,
    on_timeout TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    deadline REAL,
    answer TEXT,
    closed_at REAL,
    responder TEXT,
    channel TEXT,
    prompt TEXT,
    UNIQUE (run_id, step_key, attempt, alt)
);

CREATE INDEX waits_due ON waits (deadline) WHERE status = 'open' AND deadline IS NOT NULL;
CREATE INDEX waits_closed ON waits (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX waits_open ON waits (run_id) WHERE status = 'open';

CREATE TABLE early_inputs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    sent_at REAL NOT NULL,
    responder TEXT,
    channel TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    detail TEXT
);

CREATE INDEX early_inputs_pending ON early_inputs (run_id, name) WHERE status = 'pending';
