-- Work pools and their queues, and what runs and deployments say about them. Every
-- run belongs to a queue of a pool ('default'/'default' unless its deployment names
-- others). A worker serves one pool and claims the highest-priority ready runs of its
-- queues within the pool's, the queues' and the deployments' concurrency limits.
CREATE TABLE work_pools (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    concurrency_limit INTEGER,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE work_queues (
    pool TEXT NOT NULL REFERENCES work_pools (name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    concurrency_limit INTEGER,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (pool, name)
);
INSERT INTO work_pools (name, description, created_at, updated_at)
VALUES ('default', 'Where runs go unless their deployment names another pool.',
        extract(epoch FROM now()), extract(epoch FROM now()));
INSERT INTO work_queues (pool, name, priority, description, created_at, updated_at)
VALUES ('default', 'default', 1, 'Where runs of the pool go unless they name another queue.',
        extract(epoch FROM now()), extract(epoch FROM now()));
ALTER TABLE runs ADD COLUMN deployment TEXT;
ALTER TABLE runs ADD COLUMN work_pool TEXT NOT NULL DEFAULT 'default';
ALTER TABLE runs ADD COLUMN work_queue TEXT NOT NULL DEFAULT 'default';
ALTER TABLE deployments ADD COLUMN work_pool TEXT NOT NULL DEFAULT 'default';
ALTER TABLE deployments ADD COLUMN work_queue TEXT NOT NULL DEFAULT 'default';
ALTER TABLE deployments ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE deployments ADD COLUMN collision_strategy TEXT NOT NULL DEFAULT 'ENQUEUE';
-- A claim reads each queue's oldest Pending top-level runs, and counts the runs that
-- hold a slot (leased, Running or resident Waiting) per queue and per deployment.
CREATE INDEX runs_queue_pending ON runs (work_pool, work_queue, created_at, seq)
    WHERE state = 'Pending' AND parent_id IS NULL;
CREATE INDEX runs_queue_busy ON runs (work_pool, work_queue)
    WHERE state IN ('Running', 'Waiting') AND lease_owner IS NOT NULL AND parent_id IS NULL;
CREATE INDEX runs_deployment ON runs (deployment, created_at) WHERE deployment IS NOT NULL;
