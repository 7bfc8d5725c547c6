-- Global concurrency limits (`concurrency()`, `rate_limit()`, task tags as `tag:NAME`)
-- and the slots their holders lease. A holder row counts while its lease runs, or,
-- with no expiry, while the suspended run it is parked with has not ended.
CREATE TABLE concurrency_limits (
    name TEXT PRIMARY KEY,
    slot_limit INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    slot_decay_per_second REAL NOT NULL DEFAULT 0,
    decaying_slots REAL NOT NULL DEFAULT 0,
    decayed_at REAL NOT NULL DEFAULT 0,
    denied_slots INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE concurrency_slots (
    limit_name TEXT NOT NULL REFERENCES concurrency_limits (name) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    slots INTEGER NOT NULL,
    owner TEXT NOT NULL,
    run_id TEXT,
    acquired_at REAL NOT NULL,
    expires_at REAL,
    PRIMARY KEY (limit_name, holder)
);
CREATE INDEX concurrency_slots_holder ON concurrency_slots (holder);
CREATE INDEX concurrency_slots_owner ON concurrency_slots (owner);
