-- Waits: what a run waits for (an input, a timer), and answers sent before the
-- run reached its wait.
CREATE TABLE waits (
    id TEXT COLLATE "C" PRIMARY KEY,
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    step_key TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    alt INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    spec TEXT,
    on_timeout TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    deadline DOUBLE PRECISION,
    answer TEXT,
    closed_at DOUBLE PRECISION,
    responder TEXT,
    channel TEXT,
    prompt TEXT,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    UNIQUE (run_id, step_key, attempt, alt)
);

CREATE INDEX waits_due ON waits (deadline) WHERE status = 'open' AND deadline IS NOT NULL;
CREATE INDEX waits_closed ON waits (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX waits_open ON waits (run_id) WHERE status = 'open';
CREATE INDEX waits_open_inputs ON waits (created_at, id) WHERE status = 'open' AND kind = 'input';

CREATE TABLE early_inputs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    sent_at DOUBLE PRECISION NOT NULL,
    responder TEXT,
    channel TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    detail TEXT
);

CREATE INDEX early_inputs_pending ON early_inputs (run_id, name) WHERE status = 'pending';
