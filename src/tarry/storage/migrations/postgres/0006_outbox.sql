-- The outbox: notifications and mail waiting to leave (`tarry.storage.outbox`).
CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    wait_id TEXT,
    channel TEXT NOT NULL,
    recipients TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    due_at DOUBLE PRECISION NOT NULL,
    sent_at DOUBLE PRECISION,
    claimed_by TEXT,
    claimed_until DOUBLE PRECISION
);

CREATE INDEX outbox_due ON outbox (due_at, id) WHERE status = 'pending';
CREATE INDEX outbox_run ON outbox (run_id, id);
