-- The outbox: notifications and mail waiting to leave (`tarry.storage.outbox`).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    wait_id TEXT,
    channel TEXT NOT NULL,
    recipients TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    due_at REAL NOT NULL,
    sent_at REAL,
    claimed_by TEXT,
    claimed_until REAL
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE status = 'pending';
CREATE INDEX outbox_run ON outbox (run_id, id);
