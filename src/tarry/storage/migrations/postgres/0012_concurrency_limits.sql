-- Global concurrency limits (`concurrency()`, `rate_limit()`, task tags as `tag:NAME`)
-- and the slots their holders lease. A holder row counts while its lease runs, or,
-- with no expiry, while the suspended run it is parked with has not ended. A take
-- locks the limits' rows, so slots are counted by one take at a time per limit.
CREATE TABLE concurrency_limits (
    name TEXT COLLATE "C" PRIMARY KEY,
    slot_limit INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    slot_decay_per_second DOUBLE PRECISION NOT NULL DEFAULT 0,
    decaying_slots DOUBLE PRECISION NOT NULL DEFAULT 0,
    decayed_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    denied_slots BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE concurrency_slots (
    limit_name TEXT COLLATE "C" NOT NULL REFERENCES concurrency_limits (name) ON DELETE CASCADE,
    holder TEXT COLLATE "C" NOT NULL,
    slots INTEGER NOT NULL,
    owner TEXT NOT NULL,
    run_id TEXT COLLATE "C",
    acquired_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION,
    PRIMARY KEY (limit_name, holder)
);
CREATE INDEX concurrency_slots_holder ON concurrency_slots (holder);
CREATE INDEX concurrency_slots_owner ON concurrency_slots (owner);
