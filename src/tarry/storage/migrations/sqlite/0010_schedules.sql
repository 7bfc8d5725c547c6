-- Schedules of deployments, and the runs made ahead for their slots. A slot is
-- keyed (deployment, slot_at): two schedulers (two servers on one database) that
-- make the same slot insert one row, and only the one that inserted makes the run.
CREATE TABLE schedules (
    deployment TEXT NOT NULL REFERENCES deployments (name),
    slug TEXT NOT NULL,
    schedule TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    parameters TEXT NOT NULL DEFAULT '{}',
    missed TEXT NOT NULL DEFAULT 'latest',
    made_until REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (deployment, slug)
);
CREATE TABLE scheduled_runs (
    deployment TEXT NOT NULL,
    slot_at REAL NOT NULL,
    slug TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id),
    released INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment, slot_at)
);
-- The scheduler reads the slots that come due through this index: released slots
-- stay (they keep the key) but leave the index.
CREATE INDEX scheduled_runs_due ON scheduled_runs (slot_at) WHERE released = 0;
