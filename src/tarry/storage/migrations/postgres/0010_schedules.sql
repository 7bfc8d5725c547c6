-- Schedules of deployments, and the runs made ahead for their slots. A slot is
-- keyed (deployment, slot_at): two schedulers (two servers on one database) that
-- make the same slot insert one row, and only the one that inserted makes the run.
CREATE TABLE schedules (
    deployment TEXT COLLATE "C" NOT NULL REFERENCES deployments (name),
    slug TEXT COLLATE "C" NOT NULL,
    schedule TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    parameters TEXT NOT NULL DEFAULT '{}',
    missed TEXT NOT NULL DEFAULT 'latest',
    made_until DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (deployment, slug)
);
CREATE TABLE scheduled_runs (
    deployment TEXT COLLATE "C" NOT NULL,
    slot_at DOUBLE PRECISION NOT NULL,
    slug TEXT COLLATE "C" NOT NULL,
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    released BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (deployment, slot_at)
);
-- The scheduler reads the slots that come due through this index: released slots
-- stay (they keep the key) but leave the index.
CREATE INDEX scheduled_runs_due ON scheduled_runs (slot_at) WHERE NOT released;
